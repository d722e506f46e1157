/**
 * The Berlin Group adapter against the real BG sandbox bank, over HTTP. Proves the two agree on
 * the wire: SCA flows, idempotent initiation, faults and error classification.
 */
import { randomUUID } from 'node:crypto';
import { startBerlinGroupSandbox } from '../../../apps/sandbox/berlin-group';
import {
  BankError,
  type BankConnection,
  type InitiatePaymentCommand,
  type PaymentRef,
  type PsuContext,
} from '../bank-adapter';
import type { BankScaStatus } from '../../domain/transaction-status';
import { BerlinGroupAdapter } from '.';

type Sandbox = Awaited<ReturnType<typeof startBerlinGroupSandbox>>;

let sandbox: Sandbox;
let conn: BankConnection;
const sut = new BerlinGroupAdapter();
const redirect = { okUri: 'https://tpp.example/callback/ok', nokUri: 'https://tpp.example/callback/nok' };

beforeAll(async () => {
  sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 50 });
  conn = { bicFi: 'SANDDEFFXXX', baseUrl: sandbox.url, timeoutMs: 5_000 };
});

afterAll(async () => {
  await sandbox?.close();
});

afterEach(() => {
  sandbox.bank.resetFaults();
});

function psu(psuId: string): PsuContext {
  return { psuId, psuIpAddress: '192.0.2.10', psuUserAgent: 'clearway-tests' };
}

function initiateCommand(psuId: string, amount = '10.00', idempotencyKey = randomUUID()): InitiatePaymentCommand {
  return {
    idempotencyKey,
    paymentProduct: 'sepa-credit-transfers',
    payment: {
      endToEndIdentification: 'E2E-ADAPTER-TEST',
      debtorAccount: { iban: 'DE89370400440532013000' },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: 'Ada Lovelace',
      instructedAmount: { currency: 'EUR', amount },
      remittanceInformationUnstructured: 'adapter test',
    },
    psu: psu(psuId),
    redirect,
  };
}

function paymentRef(bankPaymentId: string, psuId: string): PaymentRef {
  return { bankPaymentId, paymentProduct: 'sepa-credit-transfers', requestId: randomUUID(), psu: psu(psuId) };
}

async function pollScaUntilFinal(ref: PaymentRef, authorisationId: string): Promise<BankScaStatus> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await sut.getScaStatus(conn, { ...ref, requestId: randomUUID(), authorisationId });
    if (['finalised', 'failed', 'exempted'].includes(status.normalised) || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function caught(p: Promise<unknown>): Promise<BankError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BankError) return err;
    throw err;
  }
  throw new Error('expected a BankError');
}

describe('BerlinGroupAdapter ↔ BG sandbox', () => {
  it('decoupled: SCA finalises, then ACSP, then ACSC', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('decoupled'));
    expect(initiated.scaApproach).toBe('DECOUPLED');
    expect(initiated.status.normalised).not.toBe('ACSC');
    const ref = paymentRef(initiated.bankPaymentId, 'decoupled');
    const authorisationId =
      initiated.authorisationId ?? (await sut.startAuthorisation(conn, { ...ref, redirect })).authorisationId;

    expect(await pollScaUntilFinal(ref, authorisationId)).toEqual({ raw: 'finalised', normalised: 'finalised' });
    expect(await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).toEqual({ raw: 'ACSP', normalised: 'ACSP' });
    expect(await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).toEqual({ raw: 'ACSC', normalised: 'ACSC' });
  });

  it('decoupled-deny: SCA fails and the payment is rejected', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('decoupled-deny'));
    const ref = paymentRef(initiated.bankPaymentId, 'decoupled-deny');
    const authorisationId =
      initiated.authorisationId ?? (await sut.startAuthorisation(conn, { ...ref, redirect })).authorisationId;

    expect((await pollScaUntilFinal(ref, authorisationId)).normalised).toBe('failed');
    expect((await sut.getPaymentStatus(conn, ref)).normalised).toBe('RJCT');
  });

  it('redirect: initiation returns the SCA page and the authorisation', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('alice'));
    expect(initiated.scaApproach).toBe('REDIRECT');
    expect(initiated.scaRedirectUrl).toMatch(/^https?:\/\//);
    expect(initiated.authorisationId).toEqual(expect.any(String));

    const sca = await sut.getScaStatus(conn, { ...paymentRef(initiated.bankPaymentId, 'alice'), authorisationId: initiated.authorisationId! });
    expect(['received', 'psuIdentified', 'psuAuthenticated', 'scaMethodSelected', 'started']).toContain(sca.normalised);
  });

  it('redirect: the PSU approves on the bank page, then ACSP, then ACSC', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('alice'));
    const ref = paymentRef(initiated.bankPaymentId, 'alice');
    expect(await decideOnScaPage(initiated.scaRedirectUrl!, 'approve')).toMatch(/^https:\/\/tpp\.example\/callback\/ok/);
    expect(await sut.getScaStatus(conn, { ...ref, authorisationId: initiated.authorisationId! })).toEqual({
      raw: 'finalised',
      normalised: 'finalised',
    });
    expect((await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).normalised).toBe('ACSP');
    expect((await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).normalised).toBe('ACSC');
  });

  it('redirect: the PSU denies, SCA failed and RJCT', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('alice'));
    const ref = paymentRef(initiated.bankPaymentId, 'alice');
    expect(await decideOnScaPage(initiated.scaRedirectUrl!, 'deny')).toMatch(/^https:\/\/tpp\.example\/callback\/nok/);
    expect((await sut.getScaStatus(conn, { ...ref, authorisationId: initiated.authorisationId! })).normalised).toBe('failed');
    expect((await sut.getPaymentStatus(conn, ref)).normalised).toBe('RJCT');
  });

  it.each([
    ['10.13', ['RJCT']],
    ['10.42', ['PDNG', 'PDNG', 'PDNG', 'ACSC']],
  ])('amount %s after decoupled SCA reads %j', async (amount, expected) => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('decoupled', amount));
    const ref = paymentRef(initiated.bankPaymentId, 'decoupled');
    const authorisationId =
      initiated.authorisationId ?? (await sut.startAuthorisation(conn, { ...ref, redirect })).authorisationId;
    expect((await pollScaUntilFinal(ref, authorisationId)).normalised).toBe('finalised');
    const seen: string[] = [];
    for (const _ of expected) seen.push((await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).normalised);
    expect(seen).toEqual(expected);
  });

  it('startAuthorisation creates an authorisation the bank knows', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('bob'));
    const ref = paymentRef(initiated.bankPaymentId, 'bob');
    const started = await sut.startAuthorisation(conn, { ...ref, redirect });
    expect(started.authorisationId).toEqual(expect.any(String));
    expect(started.scaStatus.normalised).not.toBe('finalised');
    const sca = await sut.getScaStatus(conn, { ...ref, requestId: randomUUID(), authorisationId: started.authorisationId });
    expect(sca.raw).toBe(started.scaStatus.raw);
  });

  it('re-initiating with the same idempotencyKey creates a second payment: the bank does not deduplicate X-Request-ID', async () => {
    const cmd = initiateCommand('carol');
    const first = await sut.initiatePayment(conn, cmd);
    const again = await sut.initiatePayment(conn, cmd);
    expect(again.bankPaymentId).not.toBe(first.bankPaymentId);
    expect(paymentsWithKey(cmd.idempotencyKey).map((p) => p.paymentId)).toEqual([first.bankPaymentId, again.bankPaymentId]);
  });

  it('on a bank that deduplicates (opt-in scenario) the same idempotencyKey returns the same payment, created once', async () => {
    sandbox.bank.setDeduplication(true);
    try {
      const before = paymentCount();
      const cmd = initiateCommand('carol');
      const first = await sut.initiatePayment(conn, cmd);
      const replay = await sut.initiatePayment(conn, cmd);
      expect(replay).toEqual(first);
      expect(paymentCount()).toBe(before + 1);
      expect(paymentsWithKey(cmd.idempotencyKey)).toEqual([expect.objectContaining({ paymentId: first.bankPaymentId, initiationRequests: 2 })]);
    } finally {
      sandbox.bank.setDeduplication(false);
    }
  });

  it('a lost response is unavailable and ambiguous: the payment was created', async () => {
    const before = paymentCount();
    const cmd = initiateCommand('dave');
    sandbox.bank.setFaults({ dropResponseRate: 1 });
    const err = await caught(sut.initiatePayment(conn, cmd));
    sandbox.bank.resetFaults();
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true, fate: 'ambiguous' });
    expect(paymentCount()).toBe(before + 1);
    expect(paymentsWithKey(cmd.idempotencyKey)).toHaveLength(1);
  });

  it('an SCA-exempt payment is authorised in the initiation answer, with no authorisation to wait for', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('exempt'));
    expect(initiated).toMatchObject({ status: { raw: 'ACSP', normalised: 'ACSP' } });
    expect(initiated.authorisationId).toBeUndefined();
    expect(initiated.scaRedirectUrl).toBeUndefined();
  });

  it('429 → rate_limited with the Retry-After', async () => {
    sandbox.bank.setFaults({ rateLimitEvery: 1, retryAfterSeconds: 2 });
    const err = await caught(sut.initiatePayment(conn, initiateCommand('erin')));
    expect(err).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429, retryAfterMs: 2_000 } });
  });

  it('cancel before SCA → CANC', async () => {
    const initiated = await sut.initiatePayment(conn, initiateCommand('frank'));
    const ref = paymentRef(initiated.bankPaymentId, 'frank');
    expect(await sut.cancelPayment(conn, ref)).toEqual({ status: { raw: 'CANC', normalised: 'CANC' }, authorisationRequired: false });
    expect((await sut.getPaymentStatus(conn, { ...ref, requestId: randomUUID() })).normalised).toBe('CANC');
  });

  it('an unknown payment → not_found', async () => {
    const err = await caught(sut.getPaymentStatus(conn, paymentRef('no-such-payment', 'alice')));
    expect(err).toMatchObject({ kind: 'not_found', retryable: false });
  });

  it('a payment the bank refuses → rejected with tppMessages', async () => {
    const cmd = initiateCommand('alice');
    cmd.payment.creditorAccount = { iban: 'NL00ABNA0417164300' }; // bad checksum
    const err = await caught(sut.initiatePayment(conn, cmd));
    expect(err.kind).toBe('rejected');
    expect(err.details.messages?.length).toBeGreaterThan(0);
    expect(JSON.stringify(err)).not.toContain('0417164300');
  });
});

function paymentCount(): number {
  return sandbox.bank.stats().totals.paymentsCreated;
}

function paymentsWithKey(idempotencyKey: string) {
  return sandbox.bank.stats().payments.filter((p) => p.requestId === idempotencyKey);
}

/** What the PSU's browser does: open the bank's SCA page, press a button, follow the bank's 302. */
async function decideOnScaPage(scaRedirectUrl: string, decision: 'approve' | 'deny'): Promise<string | null> {
  const page = await fetch(scaRedirectUrl, { signal: AbortSignal.timeout(5_000) });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('name="decision"');
  const submitted = await fetch(scaRedirectUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(5_000),
  });
  expect(submitted.status).toBe(302);
  return submitted.headers.get('location');
}
