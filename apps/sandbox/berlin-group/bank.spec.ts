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
      idempotencyKey: `key-${Math.random()}`,
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

  it('counts every initiation request per idempotency key', () => {
    const { paymentId } = initiate({ idempotencyKey: 'k' });
    initiate({ idempotencyKey: 'k' });
    const conflict = sut.initiatePayment({
      idempotencyKey: 'k',
      paymentProduct: product,
      payment: paymentBody({ creditorName: 'Someone else' }),
      tppRedirectUri: 'https://tpp.example/ok',
      baseUrl: 'https://sandbox.example/berlin-group',
    });
    expect(isSandboxError(conflict) && conflict.error).toBe(SandboxErrorCode.IdempotencyConflict);
    expect(sut.stats()).toEqual({
      totals: { paymentsCreated: 1, initiationRequests: 3 },
      payments: [{ paymentId, idempotencyKey: 'k', initiationRequests: 3, transactionStatus: 'RCVD', scaStatus: 'received' }],
    });
  });

  it('stableStringify ignores key order and undefined values', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      stableStringify({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }),
    );
  });
});
