import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { BankError } from '../libs/adapters/bank-adapter';
import { createDataSource } from '../libs/persistence/data-source';
import { InitiationAttemptRepository } from '../libs/persistence/initiation-attempt.repository';
import { createAtMostOnce, type GuardedCreation } from './initiation-guard';

/**
 * The write-ahead guard against the real test database: what a retry may do after each kind of
 * failure, including a worker that died mid-call (an attempt left `sending`).
 */
let ds: DataSource;
let attempts: InitiationAttemptRepository;

beforeAll(async () => {
  ds = createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 2 });
  await ds.initialize();
  attempts = new InitiationAttemptRepository(ds);
});
afterAll(() => ds?.destroy());

interface Created {
  bankId: string;
}

interface Bank {
  sent: string[];
  recorded: Created[];
  creation: (answer: () => string) => GuardedCreation<Created>;
}

const FACTS = { scaExemptionsPossible: true, bankMayPromptPsu: false };

/** A creation whose bank answers with `answer()` (a bank id, or a thrown failure). */
function bank(resourceId = randomUUID()): Bank & { resourceId: string } {
  const sent: string[] = [];
  const recorded: Created[] = [];
  return {
    resourceId,
    sent,
    recorded,
    creation: (answer) => ({
      resourceType: 'payment',
      resourceId,
      requestId: '7f0c1b4e-0000-4000-8000-000000000001',
      recorded: async () => recorded[0],
      send: async (requestId) => {
        sent.push(requestId);
        return { bankId: answer() };
      },
      record: async (created) => void recorded.push(created),
      bankIdOf: (created) => created.bankId,
      facts: FACTS,
    }),
  };
}

const ambiguous = (reason: string, lastAttempt: number) => ({ outcome: 'ambiguous', reason, lastAttempt, facts: FACTS });

const fail = (err: BankError) => () => {
  throw err;
};

describe('createAtMostOnce', () => {
  it('sends once, records, and a retry after a crash following the answer returns what was recorded', async () => {
    const b = bank();
    await expect(createAtMostOnce(attempts, b.creation(() => 'bank-1'))).resolves.toEqual({ bankId: 'bank-1' });
    await expect(createAtMostOnce(attempts, b.creation(() => 'bank-2'))).resolves.toEqual({ bankId: 'bank-1' });
    expect(b.sent).toHaveLength(1);
    expect(await attempts.list('payment', b.resourceId)).toEqual([expect.objectContaining({ attempt: 1, state: 'created', bankResourceId: 'bank-1' })]);
  });

  it('leaves the attempt to a record that marked it created in its own write, and is told which attempt that is', async () => {
    const b = bank();
    const told: number[] = [];
    const creation: GuardedCreation<Created> = {
      ...b.creation(() => 'bank-1'),
      record: async (created, attempt) => {
        told.push(attempt);
        await attempts.finish('payment', b.resourceId, attempt, { state: 'created', bankResourceId: `${created.bankId} (by the record)` });
        return 'attempt-created';
      },
    };
    await expect(createAtMostOnce(attempts, creation)).resolves.toEqual({ bankId: 'bank-1' });
    expect(told).toEqual([1]);
    // The guard did not write over it.
    expect(await attempts.list('payment', b.resourceId)).toEqual([expect.objectContaining({ attempt: 1, state: 'created', bankResourceId: 'bank-1 (by the record)' })]);
  });

  it('provably not processed (connection refused): thrown as retryable, and the retry sends again with the same request id', async () => {
    const b = bank();
    const refused = new BankError('unavailable', 'could not connect (ECONNREFUSED)', { fate: 'not_processed' });
    const err = await createAtMostOnce(attempts, b.creation(fail(refused))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'BankUnavailable', nonRetryable: false });
    await expect(createAtMostOnce(attempts, b.creation(() => 'bank-1'))).resolves.toEqual({ bankId: 'bank-1' });
    expect(new Set(b.sent)).toEqual(new Set(['7f0c1b4e-0000-4000-8000-000000000001']));
    expect((await attempts.list('payment', b.resourceId)).map((a) => a.state)).toEqual(['not_processed', 'created']);
  });

  it('refused (4xx): thrown as non-retryable BankRejected', async () => {
    const b = bank();
    const err = await createAtMostOnce(attempts, b.creation(fail(new BankError('rejected', 'HTTP 400 (FORMAT_ERROR)', { httpStatus: 400 })))).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'BankRejected', nonRetryable: true });
    expect(await attempts.list('payment', b.resourceId)).toEqual([expect.objectContaining({ state: 'refused', httpStatus: 400 })]);
  });

  it('refused: a second call (a local activity run again after its workflow task was lost) hears the same refusal, nothing sent', async () => {
    const b = bank();
    const refusal = new BankError('rejected', 'HTTP 400 (FORMAT_ERROR)', { httpStatus: 400 });
    await createAtMostOnce(attempts, b.creation(fail(refusal))).catch(() => undefined);
    const again = await createAtMostOnce(attempts, b.creation(() => 'bank-1')).catch((e: unknown) => e);
    expect(again).toMatchObject({ type: 'BankRejected', nonRetryable: true, message: 'HTTP 400 (FORMAT_ERROR)', details: [expect.objectContaining({ httpStatus: 400 })] });
    expect(b.sent).toHaveLength(1);
    expect((await attempts.list('payment', b.resourceId)).map((a) => a.state)).toEqual(['refused']);
  });

  it('ambiguous (503 after sending): returned as such, and every later attempt answers ambiguous without sending', async () => {
    const b = bank();
    const lost = new BankError('unavailable', 'POST /v1/payments/x → HTTP 503', { httpStatus: 503 });
    await expect(createAtMostOnce(attempts, b.creation(fail(lost)))).resolves.toEqual(ambiguous('POST /v1/payments/x → HTTP 503', 1));
    await expect(createAtMostOnce(attempts, b.creation(() => 'bank-2'))).resolves.toEqual(ambiguous('POST /v1/payments/x → HTTP 503', 1));
    expect(b.sent).toHaveLength(1);
  });

  it('a worker that died mid-call (attempt left `sending`) makes the retry ambiguous without sending', async () => {
    const b = bank();
    await attempts.beginUnlessBlocked('payment', b.resourceId, '7f0c1b4e-0000-4000-8000-000000000001', 0); // then SIGKILL
    await expect(createAtMostOnce(attempts, b.creation(() => 'bank-1'))).resolves.toEqual(ambiguous('the attempt was interrupted mid-call', 1));
    expect(b.sent).toEqual([]);
    expect(await attempts.list('payment', b.resourceId)).toEqual([expect.objectContaining({ state: 'ambiguous', detail: expect.stringContaining('interrupted') })]);
  });

  it('creates again only past the attempt the workflow judged, and keeps the orphan the bank named', async () => {
    const b = bank();
    const unreadable = new BankError('protocol', '201 without transactionStatus', { httpStatus: 201, resourceId: 'bank-orphan' });
    await expect(createAtMostOnce(attempts, b.creation(fail(unreadable)))).resolves.toMatchObject({ outcome: 'ambiguous', lastAttempt: 1 });
    await expect(createAtMostOnce(attempts, { ...b.creation(() => 'bank-2'), createAgainAfterAttempt: 1 })).resolves.toEqual({ bankId: 'bank-2' });
    expect(b.sent).toHaveLength(2);
    expect((await attempts.orphans('payment', b.resourceId, 'bank-2')).map((o) => o.bankResourceId)).toEqual(['bank-orphan']);
  });

  it('a crash during the new creation blocks a retry of it, even with the same permission', async () => {
    const b = bank();
    await createAtMostOnce(attempts, b.creation(fail(new BankError('unavailable', 'timed out'))));
    await attempts.beginUnlessBlocked('payment', b.resourceId, '7f0c1b4e-0000-4000-8000-000000000001', 1); // attempt 2 sent, worker killed
    await expect(createAtMostOnce(attempts, { ...b.creation(() => 'bank-3'), createAgainAfterAttempt: 1 })).resolves.toMatchObject({ outcome: 'ambiguous', lastAttempt: 2 });
    expect(b.sent).toHaveLength(1);
  });
});

describe('beginUnlessBlocked: the next attempt in one statement, unless an unresolved one may have reached the bank or one was refused', () => {
  const requestId = '7f0c1b4e-0000-4000-8000-000000000002';

  it('numbers attempts from 1, and after resolved ones (failed, created) takes the next', async () => {
    const id = randomUUID();
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 0)).resolves.toBe(1);
    await attempts.finish('payment', id, 1, { state: 'not_processed' });
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 0)).resolves.toBe(2);
    // A refusal ends the creation.
    await attempts.finish('payment', id, 2, { state: 'refused' });
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 0)).resolves.toBeUndefined();
  });

  it('writes nothing while an attempt is sending or ambiguous, unless the workflow judged past it', async () => {
    const id = randomUUID();
    await attempts.beginUnlessBlocked('payment', id, requestId, 0);
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 0)).resolves.toBeUndefined();
    await attempts.finish('payment', id, 1, { state: 'ambiguous' });
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 0)).resolves.toBeUndefined();
    expect(await attempts.list('payment', id)).toHaveLength(1);
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 1)).resolves.toBe(2);
    await expect(attempts.beginUnlessBlocked('payment', id, requestId, 1)).resolves.toBeUndefined();
  });

  it('two callers at once: at most one begins', async () => {
    const id = randomUUID();
    const results = await Promise.allSettled([0, 1, 2].map(() => attempts.beginUnlessBlocked('payment', id, requestId, 0)));
    expect(results.filter((r) => r.status === 'fulfilled' && r.value !== undefined)).toHaveLength(1);
    expect(await attempts.list('payment', id)).toHaveLength(1);
  });
});
