import { BerlinGroupSandboxBank, stableStringify, type InitiatePaymentRequest } from './bank';
import { isSandboxError, SandboxErrorCode } from './errors';
import { paymentBody } from './test-helpers';

describe('BerlinGroupSandboxBank (pure logic, injected clock)', () => {
  let now: number;
  let sut: BerlinGroupSandboxBank;
  const product = 'sepa-credit-transfers';

  beforeEach(() => {
    now = 1_000_000;
    sut = new BerlinGroupSandboxBank({ decoupledDelayMs: 1000, pendingPolls: 2, now: () => now });
  });

  function initiate(overrides: Partial<InitiatePaymentRequest> = {}) {
    const outcome = sut.initiatePayment({
      requestId: `key-${Math.random()}`,
      paymentProduct: product,
      payment: paymentBody(),
      tppRedirectUri: 'https://tpp.example/ok',
      baseUrl: 'https://sandbox.example/berlin-group',
      ...overrides,
    });
    if (isSandboxError(outcome)) throw new Error(outcome.messages[0].text);
    return outcome.response.body as { paymentId: string; authorisationId: string };
  }

  it('decides decoupled SCA lazily from timestamps, with no timers', () => {
    const { paymentId, authorisationId } = initiate({ psuId: 'decoupled' });
    now += 999;
    expect(sut.getScaStatus(product, paymentId, authorisationId)).toEqual({ scaStatus: 'started' });
    expect(sut.readStatus(product, paymentId)).toEqual({ transactionStatus: 'RCVD' });
    now += 1;
    expect(sut.getScaStatus(product, paymentId, authorisationId)).toEqual({ scaStatus: 'finalised' });
    expect(sut.getPayment(paymentId)?.transactionStatus).toBe('ACSP');
    expect(sut.readStatus(product, paymentId)).toEqual({ transactionStatus: 'ACSP' });
    expect(sut.readStatus(product, paymentId)).toEqual({ transactionStatus: 'ACSC' });
  });

  it.each([
    ['10.00', ['ACSP', 'ACSC', 'ACSC']],
    ['10.13', ['RJCT', 'RJCT']],
    ['10.42', ['PDNG', 'PDNG', 'ACSC']],
  ])('amount %s settles as %j over status reads', (value, expected) => {
    const { paymentId } = initiate({ psuId: 'decoupled', payment: paymentBody({ instructedAmount: { currency: 'EUR', amount: value } }) });
    now += 1000;
    const reads = expected.map(() => sut.readStatus(product, paymentId));
    expect(reads).toEqual(expected.map((transactionStatus) => ({ transactionStatus })));
  });

  it('looking at a payment (GET, stats) never advances settlement', () => {
    const { paymentId } = initiate({ psuId: 'decoupled', payment: paymentBody({ instructedAmount: { currency: 'EUR', amount: '1.42' } }) });
    now += 1000;
    sut.readPayment(product, paymentId);
    sut.stats();
    sut.getPayment(paymentId);
    expect(sut.readStatus(product, paymentId)).toEqual({ transactionStatus: 'PDNG' });
  });

  it('refuses cancellation once SCA finished', () => {
    const { paymentId } = initiate({ psuId: 'decoupled-deny' });
    now += 1000;
    const result = sut.cancelPayment(product, paymentId);
    expect(isSandboxError(result) && result.error).toBe(SandboxErrorCode.CancellationInvalid);
    expect(sut.getPayment(paymentId)).toMatchObject({ transactionStatus: 'RJCT', scaStatus: 'failed' });
  });

  it('does not deduplicate X-Request-ID by default (as real banks): a repeat creates, and executes, a second payment', () => {
    const exempt = { requestId: 'k', psuId: 'exempt' };
    const first = initiate(exempt);
    const second = initiate(exempt);
    expect(second.paymentId).not.toBe(first.paymentId);
    expect(sut.findPaymentsByRequestId('k').map((p) => p.paymentId)).toEqual([first.paymentId, second.paymentId]);
    expect(sut.stats()).toEqual({
      totals: { paymentsCreated: 2, initiationRequests: 2, paymentsExecuted: 2 },
      payments: [first, second].map(({ paymentId }) => ({
        paymentId,
        requestId: 'k',
        initiationRequests: 2,
        transactionStatus: 'ACSP',
        scaStatus: 'exempted',
        executed: true,
      })),
    });
  });

  it.each([
    { how: 'sandbox-wide (deduplicateRequestIds)', setting: true, perRequest: undefined },
    { how: 'per request (Sandbox-Deduplicate: true)', setting: false, perRequest: true },
  ])('deduplicates when asked $how, counting every request per X-Request-ID', ({ setting, perRequest }) => {
    sut.setDeduplication(setting);
    const { paymentId } = initiate({ requestId: 'k', deduplicate: perRequest });
    expect(initiate({ requestId: 'k', deduplicate: perRequest }).paymentId).toBe(paymentId);
    const conflict = sut.initiatePayment({
      requestId: 'k',
      deduplicate: perRequest,
      paymentProduct: product,
      payment: paymentBody({ creditorName: 'Someone else' }),
      tppRedirectUri: 'https://tpp.example/ok',
      baseUrl: 'https://sandbox.example/berlin-group',
    });
    expect(isSandboxError(conflict) && conflict.error).toBe(SandboxErrorCode.IdempotencyConflict);
    expect(sut.stats()).toEqual({
      totals: { paymentsCreated: 1, initiationRequests: 3, paymentsExecuted: 0 },
      payments: [{ paymentId, requestId: 'k', initiationRequests: 3, transactionStatus: 'RCVD', scaStatus: 'received', executed: false }],
    });
  });

  it('a request saying Sandbox-Deduplicate: false creates a new payment on a deduplicating sandbox', () => {
    sut.setDeduplication(true);
    const { paymentId } = initiate({ requestId: 'k' });
    expect(initiate({ requestId: 'k', deduplicate: false }).paymentId).not.toBe(paymentId);
    expect(sut.stats().totals.paymentsCreated).toBe(2);
  });

  describe('SCA exempted (PSU-ID: exempt)', () => {
    it('executes at once: ACSP in the 201 with no authorisation or SCA link, then ACSC; cannot be cancelled', () => {
      const created = initiate({ psuId: 'exempt', tppRedirectUri: undefined }) as Record<string, any>;
      expect(created).toEqual({
        transactionStatus: 'ACSP',
        paymentId: expect.any(String),
        _links: { self: { href: expect.stringContaining(created.paymentId) }, status: { href: expect.stringMatching(/\/status$/) } },
      });
      expect(sut.getPayment(created.paymentId)).toMatchObject({ scaStatus: 'exempted', authorisationIds: [], executed: true });
      expect(sut.readStatus(product, created.paymentId)).toEqual({ transactionStatus: 'ACSP' });
      expect(sut.readStatus(product, created.paymentId)).toEqual({ transactionStatus: 'ACSC' });
      const cancel = sut.cancelPayment(product, created.paymentId);
      expect(isSandboxError(cancel) && cancel.error).toBe(SandboxErrorCode.CancellationInvalid);
      const authorise = sut.startAuthorisation(product, created.paymentId, { baseUrl: 'https://sandbox.example/berlin-group' });
      expect(isSandboxError(authorise) && authorise.error).toBe(SandboxErrorCode.StatusInvalid);
    });

    it('cents 13: rejected by the bank in the 201 itself, never executed', () => {
      const created = initiate({ psuId: 'exempt', payment: paymentBody({ instructedAmount: { currency: 'EUR', amount: '5.13' } }) }) as Record<string, any>;
      expect(created.transactionStatus).toBe('RJCT');
      expect(sut.getPayment(created.paymentId)).toMatchObject({ transactionStatus: 'RJCT', executed: false });
    });
  });

  it('stableStringify ignores key order and undefined values', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      stableStringify({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
  });
});
