import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import type { BankAdapter } from '../libs/adapters/bank-adapter';
import type { TransactionStatus } from '../libs/domain/transaction-status';
import { createDataSource } from '../libs/persistence/data-source';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { AspspEntity } from '../libs/persistence/entities/aspsp.entity';
import { InitiationAttemptRepository, type OperatorDecisionRepository } from '../libs/persistence/initiation-attempt.repository';
import { PaymentRepository } from '../libs/persistence/payment.repository';
import { HmacSigner } from '../libs/security/hmac-signer';
import { KeyRing } from '../libs/security/key-ring';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import { createStoredPayment } from '../test/support/factories';
import { createPaymentActivities, type PaymentActivityDeps } from './payment.activities';

/**
 * The payment's bank reads against real PostgreSQL (this run's test database), the bank a stub
 * whose answer moves on. Since `payment-local-bank-calls` the workflow reads as local activities,
 * which run again when their workflow task is lost before it completes. The first run may already
 * have recorded what it found (the status record is a local activity of the same task, under the
 * sequence number the read was told); the run again must hand that back, not the bank's newer
 * answer, or the workflow would take a path whose record meets the row the lost run left (found by
 * the small chaos run: a payment left ACSP in PostgreSQL while its workflow ended ACSC).
 */
let ds: DataSource;
let payments: PaymentRepository;
let bankStatus: TransactionStatus = 'ACSP';
let bankScaStatus: 'started' | 'finalised' = 'started';
let bankCalls = 0;

const BIC = 'SANDDEB0XXX';
const aspsp = { bicFi: BIC, protocol: 'berlin-group', apiBaseUrl: 'https://bank.example', timeoutMs: 1_000, scaApproaches: ['REDIRECT'], scaExemptionsPossible: true } as unknown as AspspEntity;
let initiations = 0;
const bank = {
  // An SCA-exempt payment: accepted for execution at once, no authorisation.
  initiatePayment: async () => {
    initiations += 1;
    return { bankPaymentId: `bank-exempt-${initiations}`, status: { raw: 'ACSP', normalised: 'ACSP' }, scaApproach: 'REDIRECT' };
  },
  getPaymentStatus: async () => {
    bankCalls += 1;
    return { raw: bankStatus, normalised: bankStatus };
  },
  getScaStatus: async () => {
    bankCalls += 1;
    return { raw: bankScaStatus.toUpperCase(), normalised: bankScaStatus };
  },
} as unknown as BankAdapter;

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  payments = new PaymentRepository(ds);
});
afterAll(async () => {
  await ds?.destroy();
});

const deps = (): PaymentActivityDeps => ({
  payments,
  directory: { findAspsp: async () => aspsp } as unknown as DirectoryRepository,
  initiationAttempts: {} as InitiationAttemptRepository,
  operatorDecisions: {} as OperatorDecisionRepository,
  adapterFor: () => bank,
  sandboxUrls: { 'berlin-group': 'https://sandbox.example', 'uk-obie': 'https://sandbox.example' },
  publicBaseUrl: 'https://clearway.example',
  callbackSigner: new HmacSigner(new KeyRing('hmac', [{ id: 'spec', secret: 'payment-read-spec-hmac-0123456789abcdef' }])),
  handoffs: {} as SensitiveHandoffs,
  logger: pino({ level: 'silent' }),
});
const activities = () => createPaymentActivities(deps());

async function initiatedPayment(): Promise<string> {
  const id = await createStoredPayment(ds);
  await payments.recordInitiation(id, { bankPaymentId: `bank-${id}`, status: { raw: 'RCVD', normalised: 'RCVD' }, scaApproach: 'DECOUPLED', scaRedirectUrl: null, psuMessage: null });
  return id;
}

const local = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment({ isLocal: true }).run(fn, ...args);

beforeEach(() => {
  bankCalls = 0;
});

test('a status read run again after its change was recorded hands back that change, not the bank’s newer answer', async () => {
  const paymentId = await initiatedPayment();
  const a = activities();
  bankStatus = 'ACSP';
  // The lost workflow task: the read, then its record under the sequence number it was told.
  const first = await local(a.getBankPaymentStatus, paymentId, { seq: 1 });
  await local(a.recordPaymentStatus, { paymentId, seq: 1, kind: 'transaction_status', status: first.normalised, rawStatus: first.raw, reason: null });
  // The bank moves on before the task runs again.
  bankStatus = 'ACSC';
  await expect(local(a.getBankPaymentStatus, paymentId, { seq: 1 })).resolves.toEqual({ raw: 'ACSP', normalised: 'ACSP' });
  expect(bankCalls).toBe(1);
  // The next read (the next sequence number) asks the bank.
  await expect(local(a.getBankPaymentStatus, paymentId, { seq: 2 })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
  expect(bankCalls).toBe(2);
});

test('nothing recorded under the sequence number (no change found, or the record was lost too): the bank is asked again', async () => {
  const paymentId = await initiatedPayment();
  const a = activities();
  bankStatus = 'ACSP';
  await local(a.getBankPaymentStatus, paymentId, { seq: 1 });
  bankStatus = 'ACSC';
  await expect(local(a.getBankPaymentStatus, paymentId, { seq: 1 })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
  expect(bankCalls).toBe(2);
  // Without a sequence number (a regular activity, recorded before the patch) it always asks the bank.
  await expect(local(a.getBankPaymentStatus, paymentId)).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
  expect(bankCalls).toBe(3);
});

test('an SCA status read hands back only an SCA change recorded there, never a transaction status', async () => {
  const paymentId = await initiatedPayment();
  const a = activities();
  await local(a.recordPaymentStatus, { paymentId, seq: 0, kind: 'sca_status', status: 'started', rawStatus: 'STARTED', reason: null });
  await local(a.recordPaymentStatus, { paymentId, seq: 1, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP', reason: null });
  bankScaStatus = 'finalised';
  await expect(local(a.getBankScaStatus, paymentId, 'auth-1', { seq: 0 })).resolves.toEqual({ raw: 'STARTED', normalised: 'started' });
  expect(bankCalls).toBe(0);
  await expect(local(a.getBankScaStatus, paymentId, 'auth-1', { seq: 1 })).resolves.toEqual({ raw: 'FINALISED', normalised: 'finalised' });
  expect(bankCalls).toBe(1);
});

describe('reads that record what they found (payment-read-records)', () => {
  const events = (paymentId: string) =>
    ds.query('SELECT seq, kind, status, raw_status, reason FROM payment_events WHERE payment_id = $1 ORDER BY seq', [paymentId]) as Promise<
      { seq: number; kind: string; status: string; raw_status: string; reason: string | null }[]
    >;

  function withHook(told: unknown[], overrides: Partial<PaymentRepository> = {}) {
    return createPaymentActivities({
      ...deps(),
      payments: Object.assign(Object.create(payments) as PaymentRepository, overrides),
      statusRecorded: async (change) => void told.push(change),
    });
  }

  test('a changed status is recorded under the sequence number, with its reason, and the hook is told once', async () => {
    const paymentId = await initiatedPayment();
    const told: unknown[] = [];
    const a = withHook(told);
    bankStatus = 'CANC';
    const at = { seq: 0, known: 'ACCP', reasons: { CANC: 'Cancelled by the TPP, authorised by the PSU' }, bicFi: BIC };
    await expect(local(a.readAndRecordPaymentStatus, paymentId, at)).resolves.toEqual({ raw: 'CANC', normalised: 'CANC' });
    expect(await events(paymentId)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'CANC', raw_status: 'CANC', reason: 'Cancelled by the TPP, authorised by the PSU' }]);
    expect((await payments.findById(paymentId))?.transactionStatus).toBe('CANC');
    expect(told).toEqual([expect.objectContaining({ paymentId, seq: 0, kind: 'transaction_status', status: 'CANC', bicFi: BIC })]);

    // Run again (its workflow task was lost): the recorded change, nothing told twice. This process
    // remembers the payment now, so the bank is asked before the record's check (a read, harmless).
    bankStatus = 'ACSC';
    await expect(local(a.readAndRecordPaymentStatus, paymentId, at)).resolves.toEqual({ raw: 'CANC', normalised: 'CANC' });
    expect(bankCalls).toBe(2);
    expect(told).toHaveLength(1);
    expect(await events(paymentId)).toHaveLength(1);
  });

  test('no change from what the workflow holds: nothing recorded, nothing told', async () => {
    const paymentId = await initiatedPayment();
    const told: unknown[] = [];
    bankStatus = 'RCVD';
    await expect(local(withHook(told).readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'RCVD' })).resolves.toEqual({ raw: 'RCVD', normalised: 'RCVD' });
    expect(await events(paymentId)).toEqual([]);
    expect(told).toEqual([]);
  });

  test('an SCA change is recorded with its authorisation and the metric labels the workflow passed', async () => {
    const paymentId = await initiatedPayment();
    const told: unknown[] = [];
    bankScaStatus = 'finalised';
    const scaStartedAt = Date.now() - 5_000;
    await expect(local(withHook(told).readAndRecordScaStatus, paymentId, 'auth-1', { seq: 0, known: 'started', bicFi: BIC, scaStartedAt })).resolves.toEqual({
      raw: 'FINALISED',
      normalised: 'finalised',
    });
    expect(await events(paymentId)).toEqual([{ seq: 0, kind: 'sca_status', status: 'finalised', raw_status: 'FINALISED', reason: null }]);
    expect(told).toEqual([expect.objectContaining({ kind: 'sca_status', status: 'finalised', authorisationId: 'auth-1', bicFi: BIC, scaStartedAt })]);
  });

  test('a record that fails fails the read (the workflow reads again) and tells the hook nothing', async () => {
    const paymentId = await initiatedPayment();
    const told: unknown[] = [];
    bankStatus = 'ACSP';
    const a = withHook(told, { recordStatusChange: async () => Promise.reject(new Error('database down')) });
    await expect(local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'RCVD' })).rejects.toThrow('database down');
    expect(told).toEqual([]);
    expect(await events(paymentId)).toEqual([]);
  });
});

describe('an initiation run again after its workflow task was lost (a local activity)', () => {
  test('hands back the bank’s answer to the initiation, not the status the lost task recorded after it', async () => {
    const paymentId = await createStoredPayment(ds);
    const a = createPaymentActivities({ ...deps(), initiationAttempts: new InitiationAttemptRepository(ds) });
    initiations = 0;
    const first = await local(a.initiatePaymentAtBank, paymentId);
    expect(first).toMatchObject({ transactionStatus: 'ACSP', scaApproach: 'REDIRECT' });
    // The lost task went on (SCA-exempt: straight to the status polls) and recorded what it found.
    await local(a.recordPaymentStatus, { paymentId, seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP', reason: null });
    await local(a.recordPaymentStatus, { paymentId, seq: 1, kind: 'transaction_status', status: 'PDNG', rawStatus: 'PDNG', reason: null });
    expect((await payments.findById(paymentId))?.transactionStatus).toBe('PDNG');
    // Run again: the same answer as the first run, so the workflow takes the same path; the bank saw one initiation.
    await expect(local(a.initiatePaymentAtBank, paymentId)).resolves.toEqual(first);
    expect(initiations).toBe(1);
  });
});

describe('a read of a payment this process remembers: the bank first, then one round trip', () => {
  const events = (paymentId: string) => ds.query('SELECT seq, kind, status FROM payment_events WHERE payment_id = $1 ORDER BY seq', [paymentId]) as Promise<unknown[]>;
  const outbox = (paymentId: string) => ds.query('SELECT dedupe_key FROM domain_events WHERE subject_id = $1', [paymentId]) as Promise<unknown[]>;

  /** Round trips to PostgreSQL while `run` runs: each `query` of a pg client is one. */
  async function roundTrips<R>(run: () => Promise<R>): Promise<{ result: R; count: number }> {
    const spy = jest.spyOn(Client.prototype, 'query');
    try {
      const result = await run();
      return { result, count: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  /** A payment this process initiated (and so remembers), with the bank id the stub bank gave it. */
  async function remembered(): Promise<string> {
    const paymentId = await createStoredPayment(ds);
    const repo = new InitiationAttemptRepository(ds);
    const initiating = createPaymentActivities({ ...deps(), initiationAttempts: repo });
    await local(initiating.initiatePaymentAtBank, paymentId);
    expect(payments.recentlyRead(paymentId)?.bankPaymentId).toMatch(/^bank-exempt-/);
    return paymentId;
  }

  const seen: string[] = [];
  const addressing = (): BankAdapter =>
    ({
      ...bank,
      getPaymentStatus: async (_conn: unknown, ref: { bankPaymentId: string }) => {
        seen.push(ref.bankPaymentId);
        return bank.getPaymentStatus(_conn as never, ref as never);
      },
      getScaStatus: async (_conn: unknown, ref: { bankPaymentId: string }) => {
        seen.push(ref.bankPaymentId);
        return bank.getScaStatus(_conn as never, ref as never);
      },
    }) as unknown as BankAdapter;

  beforeEach(() => {
    seen.length = 0;
  });

  test('a change: one round trip after the bank answered, recorded with its event; the hook told once', async () => {
    const told: unknown[] = [];
    const a = createPaymentActivities({ ...deps(), adapterFor: addressing, statusRecorded: async (c) => void told.push(c) });
    const paymentId = await remembered();
    bankStatus = 'ACSC';
    const { result, count } = await roundTrips(() => local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP', bicFi: BIC }));
    expect(result).toEqual({ raw: 'ACSC', normalised: 'ACSC' });
    expect(count).toBe(1);
    expect(seen).toEqual([payments.recentlyRead(paymentId)!.bankPaymentId]);
    expect(await events(paymentId)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACSC' }]);
    expect(await outbox(paymentId)).toEqual([{ dedupe_key: `payment:${paymentId}:0` }]);
    expect(told).toEqual([expect.objectContaining({ paymentId, seq: 0, status: 'ACSC' })]);
  });

  test('no change: one round trip (the lost run\'s check), nothing recorded', async () => {
    const a = createPaymentActivities({ ...deps(), adapterFor: addressing });
    const paymentId = await remembered();
    bankScaStatus = 'started';
    const { result, count } = await roundTrips(() => local(a.readAndRecordScaStatus, paymentId, 'auth-1', { seq: 0, known: 'started' }));
    expect(result).toEqual({ raw: 'STARTED', normalised: 'started' });
    expect(count).toBe(1);
    expect(await events(paymentId)).toEqual([]);
  });

  test('run again after its change was recorded: the recorded change stands (the bank was asked again), nothing written or told twice', async () => {
    const told: unknown[] = [];
    const a = createPaymentActivities({ ...deps(), adapterFor: addressing, statusRecorded: async (c) => void told.push(c) });
    const paymentId = await remembered();
    bankStatus = 'ACSC';
    await local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' });
    // The workflow task was lost; the bank moved on (not as banks do, but the first answer must stand).
    bankStatus = 'RJCT';
    await expect(local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
    bankStatus = 'ACSP';
    await expect(local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
    expect(seen).toHaveLength(3);
    expect(await events(paymentId)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACSC' }]);
    expect(await outbox(paymentId)).toHaveLength(1);
    expect(told).toHaveLength(1);
  });

  test('run again after its change was recorded, and the bank fails now: the recorded change, not the failure', async () => {
    const a = createPaymentActivities({ ...deps(), adapterFor: addressing });
    const paymentId = await remembered();
    bankStatus = 'ACSC';
    await local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' });
    const down = createPaymentActivities({
      ...deps(),
      adapterFor: () => ({ ...bank, getPaymentStatus: async () => Promise.reject(new Error('bank unavailable')) }) as unknown as BankAdapter,
    });
    await expect(local(down.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
    // Nothing recorded there: the bank's failure is the read's.
    await expect(local(down.readAndRecordPaymentStatus, paymentId, { seq: 1, known: 'ACSC' })).rejects.toThrow('bank unavailable');
  });

  test('the payment has a new bank id (another process gave it): the stale answer is dropped and the read made again the long way', async () => {
    const told: unknown[] = [];
    const a = createPaymentActivities({ ...deps(), adapterFor: addressing, statusRecorded: async (c) => void told.push(c) });
    const paymentId = await remembered();
    const old = payments.recentlyRead(paymentId)!.bankPaymentId;
    await new PaymentRepository(ds).recordBankPaymentId(paymentId, `domestic-${paymentId}`);
    bankStatus = 'ACSC';
    await expect(local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' })).resolves.toEqual({ raw: 'ACSC', normalised: 'ACSC' });
    expect(seen).toEqual([old, `domestic-${paymentId}`]);
    expect(await events(paymentId)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACSC' }]);
    expect(await outbox(paymentId)).toEqual([{ dedupe_key: `payment:${paymentId}:0` }]);
    expect(told).toHaveLength(1);
    // Remembered now: the next read addresses the new id directly.
    await local(a.readAndRecordPaymentStatus, paymentId, { seq: 1, known: 'ACSC' });
    expect(seen).toEqual([old, `domestic-${paymentId}`, `domestic-${paymentId}`]);
  });

  test('a record that fails fails the read and tells the hook nothing', async () => {
    const told: unknown[] = [];
    const failing = Object.assign(Object.create(payments) as PaymentRepository, { recordReadAt: async () => Promise.reject(new Error('database down')) });
    const a = createPaymentActivities({ ...deps(), payments: failing, statusRecorded: async (c) => void told.push(c) });
    const paymentId = await remembered();
    bankStatus = 'ACSC';
    await expect(local(a.readAndRecordPaymentStatus, paymentId, { seq: 0, known: 'ACSP' })).rejects.toThrow('database down');
    expect(told).toEqual([]);
    expect(await events(paymentId)).toEqual([]);
  });
});
