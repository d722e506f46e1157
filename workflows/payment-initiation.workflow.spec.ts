import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
import type { BankScaStatus, BankTransactionStatus, ScaStatus, TransactionStatus } from '../libs/domain/transaction-status';
import {
  BicFi,
  PaymentProduct,
  ScaStatus as ScaStatusAttr,
  TenantId,
  TransactionStatus as TransactionStatusAttr,
} from '../libs/temporal/search-attributes';
import {
  cancelPaymentUpdate,
  initiationResultUpdate,
  updatePaymentPsuDataUpdate,
  PAYMENT_PATCH_GATE,
  newPaymentInput,
  paymentWorkflowId,
  scaCallbackSignal,
  resolveInitiationUpdate,
  paymentStateQuery,
  type CancellationResult,
  type InitiationAnswer,
  type InitiationAttemptResult,
  type InitiationLookup,
  type InitiationSummary,
  type OperatorDecision,
  type PaymentTimings,
  type PaymentWorkflowInput,
  type PaymentWorkflowState,
} from './payment-initiation.api';
import { startCancellationAuthorisationUpdate } from './shared/cancellation-authorisation';
import type { paymentInitiationWorkflow } from './payment-initiation.workflow';
import type { AmbiguousCreation, InitiationSafetyFacts } from '../libs/domain/initiation-safety';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * The payment workflow against Temporal's time-skipping test server, with the bank stubbed at the
 * activity boundary. Times asserted here are the server's (skipped) clock, read inside the stub
 * with `env.currentTimeMs()` or from the execution's start/close times.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const TIMINGS: PaymentTimings = {
  scaTimeoutMs: 15 * MINUTE,
  scaPollInitialMs: 2 * SECOND,
  scaPollMaxMs: 30 * SECOND,
  statusPollInitialMs: 5 * SECOND,
  statusPollMaxMs: 5 * MINUTE,
  statusDeadlineMs: 24 * HOUR,
};

type ActivityName = keyof PaymentActivities;
type RecordedChange = Parameters<PaymentActivities['recordPaymentStatus']>[0];

interface ActivityCall {
  name: ActivityName;
  attempt: number;
  /** Run as a local activity (the initiation's first attempt and the status reads since `payment-local-bank-calls`). */
  local: boolean;
  /** Server time at which this attempt ran: skipped time, not wall-clock time. */
  at: number;
}

interface BankScript {
  /**
   * Called once per attempt with its number among all the initiation's calls (1: the first, a
   * local activity; then the regular activity's attempts) and the workflow's options; throw to fail it.
   */
  initiate?: (attempt: number, opts: { createAgainAfterAttempt?: number }) => Promise<InitiationAttemptResult> | InitiationAttemptResult;
  /** Called per lookup after an unknown outcome (0-based). Default: the bank offers none. */
  lookup?: (n: number) => InitiationLookup;
  /** The bank's answer when an operator names a bank payment id. */
  confirm?: (bankPaymentId: string) => BankTransactionStatus;
  /** Called per SCA status check (0-based); the normalised SCA status the bank reports. */
  scaStatus?: (check: number) => ScaStatus;
  /** Called per status poll (0-based) with the poll's server time. */
  paymentStatus?: (poll: number, at: number) => TransactionStatus;
  /** Awaited per status poll (0-based) before the bank answers: holds a read in flight. */
  statusGate?: (poll: number) => Promise<void> | undefined;
  cancel?: () => CancellationResult;
  /** Called per Update PSU Data attempt; throw to fail it. */
  psuData?: (attempt: number) => void;
}

const DECOUPLED_INITIATION: InitiationSummary = {
  bankPaymentId: 'bank-pmt-1',
  transactionStatus: 'RCVD',
  rawTransactionStatus: 'RCVD',
  scaApproach: 'DECOUPLED',
  authorisationId: 'auth-1',
  psuMessage: 'Please confirm the payment in your banking app',
};

/** A bank that records every call made to it and every status change the workflow persists. */
function stubBank(script: BankScript = {}) {
  const calls: ActivityCall[] = [];
  const recorded: RecordedChange[] = [];
  const initiateOptions: { createAgainAfterAttempt?: number }[] = [];
  const decisions: { updateId: string; decision: OperatorDecision }[] = [];
  const adopted: string[] = [];

  async function note(name: ActivityName): Promise<ActivityCall> {
    const info = activityInfo();
    // The test server's clock, not Date.now(): skipped time is only visible there. (The test server's
    // activityInfo().currentAttemptScheduledTimestampMs leaves out the retry backoff, so it cannot be used.)
    const call = { name, attempt: info.attempt, local: info.isLocal, at: await env.currentTimeMs() };
    calls.push(call);
    return call;
  }
  const callsTo = (name: ActivityName) => calls.filter((c) => c.name === name);
  /** The bank's SCA and payment status reads, whether or not the read also recorded the change. */
  const scaReads = () => calls.filter((c) => c.name === 'getBankScaStatus' || c.name === 'readAndRecordScaStatus');
  const statusReads = () => calls.filter((c) => c.name === 'getBankPaymentStatus' || c.name === 'readAndRecordPaymentStatus');
  function scaRead(): BankScaStatus {
    const status = script.scaStatus?.(scaReads().length - 1) ?? 'finalised';
    return { raw: status.toUpperCase(), normalised: status };
  }
  function statusRead(at: number): BankTransactionStatus {
    const status = script.paymentStatus?.(statusReads().length - 1, at) ?? 'ACSC';
    return { raw: `raw-${status}`, normalised: status };
  }

  const activities: PaymentActivities = {
    async initiatePaymentAtBank(_paymentId, opts = {}) {
      await note('initiatePaymentAtBank');
      initiateOptions.push(opts);
      return script.initiate ? script.initiate(callsTo('initiatePaymentAtBank').length, opts) : DECOUPLED_INITIATION;
    },
    async lookUpInitiationAtBank() {
      await note('lookUpInitiationAtBank');
      return script.lookup?.(callsTo('lookUpInitiationAtBank').length - 1) ?? { kind: 'unsupported' };
    },
    async confirmBankPayment(_paymentId, bankPaymentId) {
      await note('confirmBankPayment');
      const status = script.confirm?.(bankPaymentId);
      if (!status) throw ApplicationFailure.create({ type: 'DecisionRefused', message: `The bank does not know payment ${bankPaymentId}` });
      return status;
    },
    async adoptBankPayment(_paymentId, bankPaymentId) {
      await note('adoptBankPayment');
      adopted.push(bankPaymentId);
    },
    async recordOperatorDecision(_paymentId, updateId, decision) {
      await note('recordOperatorDecision');
      decisions.push({ updateId, decision });
    },
    async cancelOrphanedInitiations() {
      await note('cancelOrphanedInitiations');
      return { cancelled: 1, failed: 0 };
    },
    async getBankScaStatus() {
      await note('getBankScaStatus');
      return scaRead();
    },
    async getBankPaymentStatus() {
      const { at } = await note('getBankPaymentStatus');
      await script.statusGate?.(statusReads().length - 1);
      return statusRead(at);
    },
    // The reads that record what they found (`payment-read-records`), as the real activity does.
    async readAndRecordScaStatus(paymentId, authorisationId, where) {
      await note('readAndRecordScaStatus');
      const status = scaRead();
      if (status.normalised !== where.known) {
        const { bicFi, scaStartedAt } = where;
        recorded.push({ paymentId, seq: where.seq, kind: 'sca_status', status: status.normalised, rawStatus: status.raw, authorisationId, bicFi, scaStartedAt });
      }
      return status;
    },
    async readAndRecordPaymentStatus(paymentId, where) {
      const { at } = await note('readAndRecordPaymentStatus');
      await script.statusGate?.(statusReads().length - 1);
      const status = statusRead(at);
      if (status.normalised !== where.known) {
        recorded.push({ paymentId, seq: where.seq, kind: 'transaction_status', status: status.normalised, rawStatus: status.raw, reason: where.reasons?.[status.normalised] ?? null, bicFi: where.bicFi });
      }
      return status;
    },
    async startAuthorisationAtBank() {
      await note('startAuthorisationAtBank');
      return { authorisationId: 'auth-2', scaStatus: 'received', scaApproach: 'REDIRECT' };
    },
    async cancelPaymentAtBank() {
      await note('cancelPaymentAtBank');
      return script.cancel?.() ?? { transactionStatus: 'CANC', authorisationRequired: false };
    },
    async updatePaymentPsuDataAtBank() {
      const { attempt } = await note('updatePaymentPsuDataAtBank');
      script.psuData?.(attempt);
      return { scaStatus: 'started' };
    },
    async recordPaymentStatus(change) {
      await note('recordPaymentStatus');
      recorded.push(change);
    },
  };

  return {
    activities,
    calls,
    recorded,
    initiateOptions,
    decisions,
    adopted,
    callsTo,
    scaReads,
    statusReads,
    count: (name: ActivityName) => callsTo(name).length,
    /** The status changes as `kind:status`, in the order the workflow persisted them. */
    timeline: () => recorded.map((c) => `${c.kind}:${c.status}`),
  };
}
type BankStub = ReturnType<typeof stubBank>;

/** Successive differences: the waits between calls. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

/** Timers fire exactly in skipped time; the activity is scheduled a few real milliseconds later. */
const TOLERANCE_MS = 500;
function expectWaits(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((ms, i) => {
    expect(ms).toBeGreaterThanOrEqual(expected[i]);
    expect(ms).toBeLessThan(expected[i] + TOLERANCE_MS);
  });
}

/** As `activities/bank-failure.ts` throws it: a Retry-After both as the policy's next delay and in the details. */
function bankFailure(type: 'BankRejected' | 'BankRateLimited' | 'BankUnavailable', httpStatus: number, retryAfterMs?: number) {
  return ApplicationFailure.create({
    type,
    message: `bank answered ${httpStatus}`,
    details: [{ httpStatus, messages: [{ category: 'ERROR', code: 'FORMAT_ERROR', text: `HTTP ${httpStatus} from the bank` }], ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }],
    nextRetryDelay: retryAfterMs,
  });
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // Failed attempts are this file's subject: keep the worker's expected warnings out of the output.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  [env, workflowBundle] = await Promise.all([
    startTimeSkippingEnv(),
    sharedWorkflowBundle(),
  ]);
  // The Java test server has no --search-attribute flag and rejects unknown attributes, but it
  // implements OperatorService.AddSearchAttributes (not ListSearchAttributes).
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

function paymentInput(timings: Partial<PaymentTimings> = {}): PaymentWorkflowInput {
  // As every starter does (the API, a batch): the run takes the gate's patches without a marker.
  return newPaymentInput({
    paymentId: randomUUID(),
    tenantId: 'tenant-1',
    bicFi: 'SANDDEFFXXX',
    paymentProduct: 'sepa-credit-transfers',
    timings: { ...TIMINGS, ...timings },
  });
}

function startOptions(input: PaymentWorkflowInput, taskQueue: string) {
  return {
    workflowId: paymentWorkflowId(input.paymentId),
    taskQueue,
    args: [input] as [PaymentWorkflowInput],
    typedSearchAttributes: [
      { key: BicFi, value: input.bicFi },
      { key: TenantId, value: input.tenantId },
      { key: PaymentProduct, value: input.paymentProduct },
      { key: TransactionStatusAttr, value: 'RCVD' },
    ],
  };
}

type PaymentHandle = WorkflowHandle<typeof paymentInitiationWorkflow>;

interface Payment {
  taskQueue: string;
  input: PaymentWorkflowInput;
  /** Starts the workflow without waiting for the bank. */
  start(): Promise<PaymentHandle>;
  /** What `POST /payments` does: update-with-start, answering once the bank answered the initiation. */
  initiateLikeTheApi(): Promise<{ summary: Promise<InitiationAnswer>; handle: Promise<PaymentHandle> }>;
}

/** Runs `drive` with a worker hosting the workflow and the stubbed bank, on a task queue of its own. */
async function withPayment<T>(bank: BankStub, timings: Partial<PaymentTimings>, drive: (payment: Payment) => Promise<T>, inputChanges: Partial<PaymentWorkflowInput> = {}): Promise<T> {
  const taskQueue = `payments-${randomUUID()}`;
  const input = { ...paymentInput(timings), ...inputChanges };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: bank.activities });
  const payment: Payment = {
    taskQueue,
    input,
    start: () => env.client.workflow.start<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', startOptions(input, taskQueue)),
    async initiateLikeTheApi() {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
        ...startOptions(input, taskQueue),
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      const summary = env.client.workflow.executeUpdateWithStart(initiationResultUpdate, { startWorkflowOperation });
      summary.catch(() => undefined); // the caller asserts on it
      return { summary, handle: startWorkflowOperation.workflowHandle() };
    },
  };
  return worker.runUntil(() => drive(payment));
}

/** Starts the payment, waits for its end (skipping time), and returns the final state with the execution's duration. */
async function runToEnd(bank: BankStub, timings: Partial<PaymentTimings> = {}, inputChanges: Partial<PaymentWorkflowInput> = {}) {
  return withPayment(
    bank,
    timings,
    async (payment) => {
      const handle = await payment.start();
      const state = await handle.result();
      const { startTime, closeTime } = await handle.describe();
      return { state, handle, input: payment.input, durationMs: closeTime!.getTime() - startTime.getTime() };
    },
    inputChanges,
  );
}

describe('paymentInitiationWorkflow', () => {
  it('decoupled happy path: initiate, SCA finalised on the first check, ACSP then ACSC', async () => {
    const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: (poll) => (poll === 0 ? 'ACSP' : 'ACSC') });

    const { state, handle, input } = await runToEnd(bank);

    expect(state).toMatchObject<Partial<PaymentWorkflowState>>({
      phase: 'completed',
      transactionStatus: 'ACSC',
      scaStatus: 'finalised',
      authorisationId: 'auth-1',
      initiation: DECOUPLED_INITIATION,
      eventSeq: 3,
    });
    expect(state.statusReason).toBeUndefined();
    expect(bank.recorded).toEqual([
      // bicFi and scaStartedAt label the worker's metrics without a database read.
      { paymentId: input.paymentId, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'auth-1', bicFi: input.bicFi, scaStartedAt: expect.any(Number) },
      { paymentId: input.paymentId, seq: 1, kind: 'transaction_status', status: 'ACSP', rawStatus: 'raw-ACSP', reason: null, bicFi: input.bicFi },
      { paymentId: input.paymentId, seq: 2, kind: 'transaction_status', status: 'ACSC', rawStatus: 'raw-ACSC', reason: null, bicFi: input.bicFi },
    ]);
    expect(bank.calls.map((c) => c.name)).toEqual([
      'initiatePaymentAtBank',
      'readAndRecordScaStatus', // sca_status finalised
      'readAndRecordPaymentStatus', // ACSP
      'readAndRecordPaymentStatus', // ACSC
    ]);
    // The first SCA check waits scaPollInitialMs; the first status poll is immediate, the next one statusPollInitialMs later.
    const [initiated, scaChecked] = [bank.callsTo('initiatePaymentAtBank')[0], bank.scaReads()[0]];
    expect(scaChecked.at - initiated.at).toBeGreaterThanOrEqual(TIMINGS.scaPollInitialMs);
    const polls = bank.statusReads().map((c) => c.at);
    expect(gaps(polls)[0]).toBeGreaterThanOrEqual(TIMINGS.statusPollInitialMs);

    const { typedSearchAttributes } = await handle.describe();
    expect(typedSearchAttributes.get(TransactionStatusAttr)).toBe('ACSC');
    expect(typedSearchAttributes.get(ScaStatusAttr)).toBe('finalised');
  });

  describe('status search attributes: held for the next upsert while at most 5 s behind', () => {
    /** Each upsert's keys (sorted, joined by +), with the workflow's timers between them. */
    const upsertsAndWaits = async (handle: PaymentHandle) =>
      (await handle.fetchHistory()).events!.flatMap((e) => {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        if (fields) return [Object.keys(fields).sort().join('+')];
        return e.timerStartedEventAttributes ? ['timer'] : [];
      });

    it('a poll that waits 2 s: finalised and ACSP are held and go with ACSC, one upsert for the three', async () => {
      const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: (poll) => (poll === 0 ? 'ACSP' : 'ACSC') });
      const { handle } = await runToEnd(bank, { statusPollInitialMs: 2 * SECOND });
      // The SCA check's wait, the poll's wait, then one upsert.
      expect(await upsertsAndWaits(handle)).toEqual(['timer', 'timer', 'ScaStatus+TransactionStatus']);
      const { typedSearchAttributes } = await handle.describe();
      expect([typedSearchAttributes.get(ScaStatusAttr), typedSearchAttributes.get(TransactionStatusAttr)]).toEqual(['finalised', 'ACSC']);
      // The records are not held: each change was stored when the read found it.
      expect(bank.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSP', 'transaction_status:ACSC']);
    });

    it('a poll that waits 6 s: the held values go before that wait, in one upsert', async () => {
      const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: (poll) => (poll === 0 ? 'ACSP' : 'ACSC') });
      const { handle } = await runToEnd(bank, { statusPollInitialMs: 6 * SECOND });
      expect(await upsertsAndWaits(handle)).toEqual(['timer', 'ScaStatus+TransactionStatus', 'timer', 'TransactionStatus']);
    });

    it('ACSP for a while: held through the 2 s wait, sent before the 4 s one (2 + 4 > 5)', async () => {
      const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: (poll) => (poll < 3 ? 'ACSP' : 'ACSC') });
      const { handle } = await runToEnd(bank, { statusPollInitialMs: 2 * SECOND });
      expect(await upsertsAndWaits(handle)).toEqual(['timer', 'timer', 'ScaStatus+TransactionStatus', 'timer', 'timer', 'TransactionStatus']);
    });

    it('a read that finds no change: the SCA status alone before a wait past the bound, visible while the next read is in flight', async () => {
      let releaseRead!: () => void;
      const readReleased = new Promise<void>((resolve) => (releaseRead = resolve));
      const bank = stubBank({
        scaStatus: () => 'finalised',
        // Still RCVD on the first read (the run was started with it: no change), ACSC on the next, held in flight.
        paymentStatus: (poll) => (poll === 0 ? 'RCVD' : 'ACSC'),
        statusGate: (poll) => (poll === 1 ? readReleased : undefined),
      });
      const found = await withPayment(bank, { statusPollInitialMs: 6 * SECOND }, async (payment) => {
        const handle = await payment.start();
        while (bank.statusReads().length < 2) await new Promise((r) => setTimeout(r, 20));
        // The second read is in flight: operators already find the payment by its SCA status.
        const during = (await handle.describe()).typedSearchAttributes;
        const seen = { sca: during.get(ScaStatusAttr), transaction: during.get(TransactionStatusAttr) };
        releaseRead();
        await handle.result();
        return { seen, upserts: await upsertsAndWaits(handle) };
      });
      expect(found.seen).toEqual({ sca: 'finalised', transaction: 'RCVD' });
      expect(found.upserts).toEqual(['timer', 'ScaStatus', 'timer', 'TransactionStatus']);
    });

    it('a cancellation while values are held: CANC goes in one upsert with them', async () => {
      const bank = stubBank({
        scaStatus: () => 'finalised',
        paymentStatus: () => 'ACSP',
        cancel: () => ({ transactionStatus: 'CANC', authorisationRequired: false }),
      });
      const upserts = await withPayment(bank, { statusPollInitialMs: 4 * SECOND }, async (payment) => {
        const handle = await payment.start();
        // The poll's first read found ACSP and its 4 s wait (in real time: nothing awaits the result) has
        // begun; finalised and ACSP are held (0 + 4 s ≤ 5 s): operators still see the start's values.
        for (;;) {
          const events = (await handle.fetchHistory()).events ?? [];
          if (bank.statusReads().length === 1 && events.filter((e) => e.timerStartedEventAttributes).length === 2) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const during = (await handle.describe()).typedSearchAttributes;
        expect([during.get(ScaStatusAttr), during.get(TransactionStatusAttr)]).toEqual([undefined, 'RCVD']);
        await handle.executeUpdate(cancelPaymentUpdate);
        await handle.result();
        return upsertsAndWaits(handle);
      });
      expect(upserts).toEqual(['timer', 'timer', 'ScaStatus+TransactionStatus']);
      expect(bank.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSP', 'transaction_status:CANC']);
    });
  });

  describe('the patch gate, named by the starter', () => {
    /** The patch markers' ids and the upserted search attributes' keys, in order. */
    const markersAndUpserts = async (handle: PaymentHandle) =>
      (await handle.fetchHistory()).events!.flatMap((e) => {
        const patch = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
        if (patch) return [`marker:${JSON.parse(Buffer.from(patch).toString()).id}`];
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        return fields ? [Object.keys(fields).sort().join('+')] : [];
      });
    const decoupled = () => stubBank({ scaStatus: () => 'finalised', paymentStatus: () => 'ACSC' });

    it('named: no marker and no TemporalChangeVersion; the gate\'s patches are taken all the same', async () => {
      const { handle, state } = await runToEnd(decoupled());
      expect(await markersAndUpserts(handle)).toEqual(['ScaStatus+TransactionStatus']);
      // payment-rcvd-from-start, a patch of the gate: the start's RCVD is not upserted again.
      expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC' });
    });

    it('not named (a run started before starters named it): the newest gate\'s marker, as before', async () => {
      const { handle } = await runToEnd(decoupled(), {}, { patchGate: undefined });
      expect(await markersAndUpserts(handle)).toEqual([`marker:${PAYMENT_PATCH_GATE}`, 'TemporalChangeVersion', 'ScaStatus+TransactionStatus']);
    });

    it('a gate this code does not know (a starter newer than the worker): not taken; the newest gate it knows is recorded', async () => {
      const { handle } = await runToEnd(decoupled(), {}, { patchGate: 'payment-patches-2099-01-01' });
      expect(await markersAndUpserts(handle)).toEqual([`marker:${PAYMENT_PATCH_GATE}`, 'TemporalChangeVersion', 'ScaStatus+TransactionStatus']);
    });
  });

  it('lists RCVD after an initiation answered RCVD: from the start where the run was started with it, else by an upsert', async () => {
    const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: () => 'ACSC' });
    const transactionStatusUpserts = async (handle: PaymentHandle) =>
      (await handle.fetchHistory()).events!.flatMap((e) => {
        const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TransactionStatus;
        return field ? [JSON.parse(Buffer.from(field.data!).toString())] : [];
      });
    await withPayment(bank, {}, async (payment) => {
      // As the API and a batch start it: RCVD is listed from the start, not upserted again.
      const started = await payment.start();
      await started.result();
      expect(await transactionStatusUpserts(started)).toEqual(['ACSC']);
      // Started without the attribute: the initiation's RCVD is upserted, so operators can filter on it.
      const bare = await env.client.workflow.start<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
        workflowId: paymentWorkflowId(randomUUID()),
        taskQueue: payment.taskQueue,
        args: [{ ...payment.input, paymentId: randomUUID() }],
      });
      await bare.result();
      expect(await transactionStatusUpserts(bare)).toEqual(['RCVD', 'ACSC']);
    });
  });

  it('answers the initiation update (update-with-start, as the API calls it) with the bank summary', async () => {
    const bank = stubBank({ scaStatus: () => 'finalised', paymentStatus: () => 'ACSC' });

    await withPayment(bank, {}, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await expect(started.summary).resolves.toEqual(DECOUPLED_INITIATION);
      const handle = await started.handle;
      // The update answered while the workflow goes on waiting for SCA.
      expect(bank.scaReads().length).toBe(0);

      // A retried POST (same workflow id, USE_EXISTING) gets the same answer without a second initiation.
      const again = await payment.initiateLikeTheApi();
      await expect(again.summary).resolves.toEqual(DECOUPLED_INITIATION);
      expect((await (await again.handle).describe()).runId).toBe((await handle.describe()).runId);

      await expect(handle.result()).resolves.toMatchObject({ transactionStatus: 'ACSC' });
    });
    expect(bank.count('initiatePaymentAtBank')).toBe(1);
  });

  it('bank rejects the initiation: the update fails with InitiationRejected and the bank messages, RJCT, no retry', async () => {
    const messages = [{ category: 'ERROR', code: 'FORMAT_ERROR', text: 'creditorAccount.iban is invalid', path: 'creditorAccount.iban' }];
    const bank = stubBank({
      initiate: () => {
        throw ApplicationFailure.create({ type: 'BankRejected', message: 'bank answered 400', details: [{ httpStatus: 400, messages }] });
      },
    });

    const { err, state, input } = await withPayment(bank, {}, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      const err = await started.summary.then(
        () => undefined,
        (e: unknown) => e,
      );
      const state = await (await started.handle).result();
      return { err, state, input: payment.input };
    });

    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InitiationRejected', nonRetryable: true, message: 'creditorAccount.iban is invalid' });
    expect((cause as ApplicationFailure).details).toEqual([{ httpStatus: 400, messages }]);

    expect(bank.count('initiatePaymentAtBank')).toBe(1);
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'RJCT', initiationError: { httpStatus: 400, messages } });
    expect(state.initiation).toBeUndefined();
    expect(bank.recorded).toEqual([
      {
        paymentId: input.paymentId,
        seq: 0,
        kind: 'transaction_status',
        status: 'RJCT',
        rawStatus: 'RJCT',
        reason: 'Initiation failed: bank answered 400',
        bicFi: input.bicFi,
      },
    ]);
    expect(bank.scaReads().length + bank.statusReads().length + bank.count('cancelPaymentAtBank')).toBe(0);
  });

  it('retries the initiation after 5xx answers, then goes on with the payment', async () => {
    const bank = stubBank({
      initiate: (attempt) => {
        if (attempt <= 3) throw bankFailure('BankUnavailable', 503);
        return DECOUPLED_INITIATION;
      },
    });

    const { state } = await runToEnd(bank);

    // The first attempt is local; the regular activity retries it, attempt by attempt.
    expect(bank.callsTo('initiatePaymentAtBank').map((c) => [c.local, c.attempt])).toEqual([[true, 1], [false, 1], [false, 2], [false, 3]]);
    // The policy's initialInterval (1 s) before the regular activity, then its exponential backoff: 1 s, 2 s.
    const backoff = gaps(bank.callsTo('initiatePaymentAtBank').map((c) => c.at));
    expect(backoff[0]).toBeGreaterThanOrEqual(1 * SECOND);
    expect(backoff[1]).toBeGreaterThanOrEqual(1 * SECOND);
    expect(backoff[2]).toBeGreaterThanOrEqual(2 * SECOND);
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC', initiation: DECOUPLED_INITIATION });
    expect(state.initiationError).toBeUndefined();
    expect(bank.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSC']);
  });

  it("honours the bank's Retry-After (429 with nextRetryDelay 20s) in server time", async () => {
    const bank = stubBank({
      initiate: (attempt) => {
        if (attempt === 1) throw bankFailure('BankRateLimited', 429, 20 * SECOND);
        return DECOUPLED_INITIATION;
      },
    });

    const wallClockStart = Date.now();
    const { state } = await runToEnd(bank);

    const [first, retry] = bank.callsTo('initiatePaymentAtBank');
    expect([first.local, retry.local]).toEqual([true, false]);
    // Without nextRetryDelay the policy's initialInterval (1 s) would apply.
    expect(retry.at - first.at).toBeGreaterThanOrEqual(20 * SECOND);
    expect(retry.at - first.at).toBeLessThan(25 * SECOND);
    expect(Date.now() - wallClockStart).toBeLessThan(15 * SECOND); // skipped, not waited
    expect(state.transactionStatus).toBe('ACSC');
  });

  it("a Retry-After beyond the initiation's 5-minute deadline: given up at once, RJCT, the bank asked once", async () => {
    const bank = stubBank({
      initiate: () => {
        throw bankFailure('BankRateLimited', 429, 10 * MINUTE);
      },
    });

    const { state, durationMs } = await runToEnd(bank);

    expect(bank.count('initiatePaymentAtBank')).toBe(1);
    expect(state).toMatchObject({ transactionStatus: 'RJCT', initiationError: { httpStatus: 429 } });
    expect(durationMs).toBeLessThan(1 * MINUTE);
  });

  it.each([
    {
      outcome: 'SCA timeout (the PSU never decides)',
      scaStatus: (): ScaStatus => 'received',
      expected: {
        timeline: ['sca_status:received', 'transaction_status:RJCT'],
        reason: /^SCA timeout: no decision within 900s$/,
        cancelCalls: 1,
        statusPolls: 0,
        minDurationMs: 15 * MINUTE,
        maxDurationMs: 15 * MINUTE + 30 * SECOND,
      },
    },
    {
      outcome: 'SCA failed (decoupled: the PSU denies)',
      scaStatus: (check: number): ScaStatus => (check < 2 ? 'started' : 'failed'),
      expected: {
        timeline: ['sca_status:started', 'sca_status:failed', 'transaction_status:RJCT'],
        reason: /^SCA failed$/,
        cancelCalls: 0,
        statusPolls: 1,
        minDurationMs: 0,
        maxDurationMs: 1 * MINUTE,
      },
    },
  ])('$outcome → RJCT', async ({ scaStatus, expected }) => {
    const bank = stubBank({ scaStatus, paymentStatus: () => 'RJCT' });

    const { state, durationMs } = await runToEnd(bank);

    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'RJCT' });
    expect(state.statusReason).toMatch(expected.reason);
    expect(bank.timeline()).toEqual(expected.timeline);
    expect(bank.recorded.map((c) => c.seq)).toEqual(expected.timeline.map((_, i) => i));
    expect(bank.recorded.at(-1)?.reason).toMatch(expected.reason);
    expect(bank.count('cancelPaymentAtBank')).toBe(expected.cancelCalls);
    expect(bank.statusReads().length).toBe(expected.statusPolls);
    expect(durationMs).toBeGreaterThanOrEqual(expected.minDurationMs);
    expect(durationMs).toBeLessThanOrEqual(expected.maxDurationMs);
  });

  it('backs the SCA checks off (×1.5, capped at scaPollMaxMs) while the PSU has not decided', async () => {
    const bank = stubBank({ scaStatus: () => 'received' });

    await runToEnd(bank, { scaTimeoutMs: 5 * MINUTE, scaPollInitialMs: 2 * SECOND, scaPollMaxMs: 30 * SECOND });

    const checks = [bank.callsTo('initiatePaymentAtBank')[0], ...bank.scaReads()].map((c) => c.at);
    const waits = gaps(checks);
    expectWaits(waits.slice(0, 9), [2_000, 3_000, 4_500, 6_750, 10_125, 15_188, 22_782, 30_000, 30_000]);
    expect(Math.max(...waits)).toBeLessThan(30 * SECOND + TOLERANCE_MS);
  });

  it.each([
    { when: 'the redirect callback signal arrives: SCA is checked at once', callback: true, firstCheckWithinMs: [0, 5 * SECOND] },
    { when: 'no callback arrives: SCA is checked after scaPollInitialMs', callback: false, firstCheckWithinMs: [60 * SECOND, 61 * SECOND] },
  ])('when $when', async ({ callback, firstCheckWithinMs }) => {
    const bank = stubBank({
      initiate: () => ({ ...DECOUPLED_INITIATION, scaApproach: 'REDIRECT', scaRedirectUrl: 'https://bank.example/sca/1' }),
      scaStatus: () => 'finalised',
      paymentStatus: () => 'ACSC',
    });

    const state = await withPayment(bank, { scaPollInitialMs: 60 * SECOND, scaPollMaxMs: 60 * SECOND }, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await started.summary; // the PSU was sent to the bank
      const handle = await started.handle;
      if (callback) await handle.signal(scaCallbackSignal, { outcome: 'ok' });
      return handle.result();
    });

    const initiated = bank.callsTo('initiatePaymentAtBank')[0].at;
    const checks = bank.scaReads();
    expect(checks).toHaveLength(1);
    const delay = checks[0].at - initiated;
    expect(delay).toBeGreaterThanOrEqual(firstCheckWithinMs[0]);
    expect(delay).toBeLessThan(firstCheckWithinMs[1]);
    expect(state).toMatchObject({ transactionStatus: 'ACSC', scaStatus: 'finalised' });
  });

  it('long polling: ACSP for 2 h, then ACSC; poll intervals double and are capped at statusPollMaxMs', async () => {
    let firstPollAt: number | undefined;
    const bank = stubBank({
      paymentStatus: (_poll, at) => {
        firstPollAt ??= at;
        return at - firstPollAt < 2 * HOUR ? 'ACSP' : 'ACSC';
      },
    });

    const { state } = await runToEnd(bank, { statusPollInitialMs: 5 * SECOND, statusPollMaxMs: 5 * MINUTE });

    const waits = gaps(bank.statusReads().map((c) => c.at));
    expectWaits(waits.slice(0, 6), [5, 10, 20, 40, 80, 160].map((s) => s * SECOND));
    // From then on every wait is the cap.
    expectWaits(waits.slice(6), waits.slice(6).map(() => 5 * MINUTE));
    expect(waits.length).toBeGreaterThan(20);
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * HOUR);
    // An unchanged status is not persisted again.
    expect(bank.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSP', 'transaction_status:ACSC']);
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC', eventSeq: 3 });
  });

  it('status deadline: a status that never becomes final ends the workflow in its last status, with a deadline reason', async () => {
    const bank = stubBank({ paymentStatus: () => 'ACSP' });

    const { state } = await runToEnd(bank, { statusDeadlineMs: 1 * HOUR, statusPollMaxMs: 5 * MINUTE });

    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSP' });
    expect(state.statusReason).toMatch(/deadline/i);
    const polls = bank.statusReads().map((c) => c.at);
    // The last poll lands on the deadline itself, not an interval past it.
    expect(Math.abs(polls.at(-1)! - polls[0] - 1 * HOUR)).toBeLessThan(TOLERANCE_MS);
    expect(bank.timeline().slice(0, 2)).toEqual(['sca_status:finalised', 'transaction_status:ACSP']);
    expect(bank.recorded.filter((c) => c.kind === 'transaction_status').every((c) => c.status === 'ACSP')).toBe(true);
  });

  it('cancellation while awaiting SCA: CANC recorded, no SCA check, workflow ends; a later cancel is refused', async () => {
    const bank = stubBank({ scaStatus: () => 'received' });

    const { result, state, lateCancel, input } = await withPayment(bank, { scaPollInitialMs: 10 * MINUTE }, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await started.summary;
      const handle = await started.handle;
      const result = await handle.executeUpdate(cancelPaymentUpdate);
      const state = await handle.result();
      const lateCancel = await handle.executeUpdate(cancelPaymentUpdate).catch((e: unknown) => e);
      return { result, state, lateCancel, input: payment.input };
    });

    expect(result).toEqual({ transactionStatus: 'CANC', authorisationRequired: false });
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'CANC', statusReason: 'Cancelled by the TPP' });
    expect(bank.recorded).toEqual([
      { paymentId: input.paymentId, seq: 0, kind: 'transaction_status', status: 'CANC', rawStatus: 'CANC', reason: 'Cancelled by the TPP', bicFi: input.bicFi },
    ]);
    expect(bank.count('cancelPaymentAtBank')).toBe(1);
    expect(bank.scaReads().length).toBe(0);
    // The workflow is closed: the server refuses the update (NOT_FOUND) before any validator could run.
    expect(lateCancel).toBeInstanceOf(WorkflowNotFoundError);
    expect(bank.count('cancelPaymentAtBank')).toBe(1);
  });

  it('cancellation with authorisation: DELETE → 202, the cancellation SCA is polled at the SCA pace until finalised, then CANC authorised by the PSU', async () => {
    let approved = false;
    const bank = stubBank({ paymentStatus: () => (approved ? 'CANC' : 'ACCP'), cancel: () => ({ transactionStatus: 'ACCP', authorisationRequired: true }) });
    const checks: { id: string; at: number }[] = [];
    Object.assign(bank.activities, {
      async startCancellationAuthorisationAtBank() {
        return { authorisationId: 'cancel-1', scaStatus: 'started', scaApproach: 'DECOUPLED' };
      },
      async getCancellationScaStatusAtBank(_paymentId: string, cancellationId: string) {
        checks.push({ id: cancellationId, at: await env.currentTimeMs() });
        if (checks.length < 3) return { raw: 'started', normalised: 'started' };
        approved = true;
        return { raw: 'finalised', normalised: 'finalised' };
      },
    });
    const { state, early } = await withPayment(bank, {}, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await started.summary;
      const handle = await started.handle;
      await env.sleep(10 * MINUTE); // SCA finalised; the status polls have backed off to minutes
      expect(await handle.query(paymentStateQuery)).toMatchObject({ phase: 'polling_status', transactionStatus: 'ACCP' });
      const early = await handle.executeUpdate(startCancellationAuthorisationUpdate).catch((e: unknown) => e);
      expect(await handle.executeUpdate(cancelPaymentUpdate)).toEqual({ transactionStatus: 'ACCP', authorisationRequired: true });
      expect(await handle.executeUpdate(startCancellationAuthorisationUpdate)).toMatchObject({ authorisationId: 'cancel-1', scaStatus: 'started' });
      return { state: await handle.result(), early };
    });
    expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'CANC', statusReason: 'Cancelled by the TPP, authorised by the PSU', cancellation: { cancellationId: 'cancel-1', scaStatus: 'finalised' } });
    expect(checks.map((c) => c.id)).toEqual(['cancel-1', 'cancel-1', 'cancel-1']);
    // Followed at the SCA pace (scaPollMaxMs), not the status polls' minutes.
    for (const gap of gaps(checks.map((c) => c.at))) expect(gap).toBeLessThanOrEqual(TIMINGS.scaPollMaxMs + TOLERANCE_MS);
    expect(bank.timeline().slice(-1)).toEqual(['transaction_status:CANC']);
  });

  it('the PSU authorises the cancellation between the poll’s two reads: CANC, and the cancellation’s SCA read once more (finalised, not left started)', async () => {
    let approved = false;
    const bank = stubBank({ paymentStatus: () => (approved ? 'CANC' : 'ACCP'), cancel: () => ({ transactionStatus: 'ACCP', authorisationRequired: true }) });
    const checks: string[] = [];
    Object.assign(bank.activities, {
      async startCancellationAuthorisationAtBank() {
        return { authorisationId: 'cancel-1', scaStatus: 'started', scaApproach: 'DECOUPLED' };
      },
      async getCancellationScaStatusAtBank() {
        // The second check still sees `started`; the PSU approves right after it, before the status read.
        const status = approved ? 'finalised' : 'started';
        checks.push(status);
        if (checks.length === 2) approved = true;
        return { raw: status, normalised: status };
      },
    });
    const state = await withPayment(bank, {}, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await started.summary;
      const handle = await started.handle;
      await env.sleep(10 * MINUTE);
      await handle.executeUpdate(cancelPaymentUpdate);
      await handle.executeUpdate(startCancellationAuthorisationUpdate);
      return handle.result();
    });
    expect(state).toMatchObject({ transactionStatus: 'CANC', cancellation: { cancellationId: 'cancel-1', scaStatus: 'finalised' } });
    expect(checks).toEqual(['started', 'started', 'finalised']);
  });

  it('the cancel validator refuses a cancellation while the initiation is still at the bank', async () => {
    let releaseBank!: () => void;
    const bankAnswered = new Promise<void>((resolve) => (releaseBank = resolve));
    const bank = stubBank({
      initiate: async () => {
        await bankAnswered;
        return DECOUPLED_INITIATION;
      },
      scaStatus: () => 'finalised',
      paymentStatus: () => 'ACSC',
    });

    const { refusal, state } = await withPayment(bank, {}, async (payment) => {
      // The initiation is a local activity: the update reaches the workflow when its task heartbeats
      // (at 80 % of the task timeout, 10 s by default), so a short timeout keeps this test short.
      const handle = await env.client.workflow.start<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
        ...startOptions(payment.input, payment.taskQueue),
        workflowTaskTimeout: '2s',
      });
      while (bank.count('initiatePaymentAtBank') === 0) await new Promise((r) => setTimeout(r, 20));
      const refusal = await handle.executeUpdate(cancelPaymentUpdate).catch((e: unknown) => e);
      releaseBank();
      return { refusal, state: await handle.result() };
    });

    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refusal as WorkflowUpdateFailedError).cause?.message).toBe('Payment cannot be cancelled while initiating');
    expect(bank.count('cancelPaymentAtBank')).toBe(0);
    expect(state.transactionStatus).toBe('ACSC');
  });

  it('a cancellation during a status read that records what it finds: CANC is recorded after the read’s change, never under its sequence number', async () => {
    let releaseRead!: () => void;
    const readReleased = new Promise<void>((resolve) => (releaseRead = resolve));
    const bank = stubBank({
      scaStatus: () => 'finalised',
      paymentStatus: () => 'ACSP',
      statusGate: (poll) => (poll === 0 ? readReleased : undefined),
    });

    const state = await withPayment(bank, {}, async (payment) => {
      // The read is a local activity: the update reaches the workflow when its task heartbeats (at
      // 80 % of the task timeout), and its cancellation at the bank runs while the read still waits.
      const handle = await env.client.workflow.start<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
        ...startOptions(payment.input, payment.taskQueue),
        workflowTaskTimeout: '1s',
      });
      while (bank.statusReads().length === 0) await new Promise((r) => setTimeout(r, 20));
      const cancelling = handle.executeUpdate(cancelPaymentUpdate);
      for (let waited = 0; bank.count('cancelPaymentAtBank') === 0 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(bank.count('cancelPaymentAtBank')).toBe(1);
      // The cancellation's answer reaches the handler with the task's next heartbeat (every 0.8 s):
      // give it time to try to record its CANC while the read holds the next sequence number.
      await new Promise((r) => setTimeout(r, 2_500));
      releaseRead();
      await cancelling;
      return handle.result();
    });

    expect(bank.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSP', 'transaction_status:CANC']);
    expect(bank.recorded.map((c) => c.seq)).toEqual([0, 1, 2]);
    expect(state).toMatchObject({ transactionStatus: 'CANC', eventSeq: 3 });
  });

  it('an expired PSU secret (HandoffExpired) is not retried: the shared policy makes it non-retryable for payments too', async () => {
    const bank = stubBank({
      scaStatus: () => 'received',
      // Thrown without nonRetryable: only the workflow's retry policy can stop the retries.
      psuData: () => {
        throw ApplicationFailure.create({ type: 'HandoffExpired', message: 'The PSU data expired before it reached the bank' });
      },
    });

    const refusal = await withPayment(bank, { scaPollInitialMs: 10 * MINUTE }, async (payment) => {
      const started = await payment.initiateLikeTheApi();
      await started.summary;
      const handle = await started.handle;
      const refusal = await handle
        .executeUpdate(updatePaymentPsuDataUpdate, { args: [{ authorisationId: 'auth-1', kind: 'otp', handoffId: 'gone' }] })
        .catch((e: unknown) => e);
      await handle.executeUpdate(cancelPaymentUpdate);
      return refusal;
    });

    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(bank.count('updatePaymentPsuDataAtBank')).toBe(1);
  });

  describe('exactly once against a bank that does not deduplicate', () => {
    const SCA_ALWAYS_REQUIRED: InitiationSafetyFacts = { scaExemptionsPossible: false, bankMayPromptPsu: false };
    const MAYBE_EXEMPT: InitiationSafetyFacts = { scaExemptionsPossible: true, bankMayPromptPsu: false };
    const BANK_PROMPTS_PSU: InitiationSafetyFacts = { scaExemptionsPossible: false, bankMayPromptPsu: true };
    const REDIRECT_INITIATION: InitiationSummary = {
      bankPaymentId: 'bank-pmt-2',
      transactionStatus: 'RCVD',
      rawTransactionStatus: 'RCVD',
      scaApproach: 'REDIRECT',
      authorisationId: 'auth-2',
      scaRedirectUrl: 'https://bank.example/sca/auth-2',
    };
    const ambiguous = (facts: InitiationSafetyFacts, lastAttempt: number): AmbiguousCreation => ({
      outcome: 'ambiguous',
      reason: 'POST /v1/payments/sepa-credit-transfers → HTTP 503 (SERVICE_UNAVAILABLE)',
      lastAttempt,
      facts,
    });
    const decide = (handle: PaymentHandle, d: OperatorDecision, updateId?: string) =>
      handle.executeUpdate(resolveInitiationUpdate, { args: [d], ...(updateId ? { updateId } : {}) });
    /** Waits (in real time) until the workflow reports the phase; time skipping stays off while it polls. */
    async function phaseOf(handle: PaymentHandle, phase: PaymentWorkflowState['phase']): Promise<PaymentWorkflowState> {
      for (;;) {
        const state = await handle.query(paymentStateQuery);
        if (state.phase === phase) return state;
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    /** Ends a test's unknown payment the way production would: an operator decides (and the run completes). */
    async function settleAsNotInitiated(handle: PaymentHandle): Promise<void> {
      await phaseOf(handle, 'outcome_unknown');
      await decide(handle, { operator: 'ops:test', decision: 'not_initiated', reason: 'test over' });
      await handle.result();
    }

    it('ambiguous, and the bank never exempts nor prompts the PSU: initiates again, cancels the orphan it named, goes on', async () => {
      let initiations = 0;
      const bank = stubBank({
        initiate: () => (++initiations === 1 ? ambiguous(SCA_ALWAYS_REQUIRED, 1) : REDIRECT_INITIATION),
        scaStatus: () => 'finalised',
        paymentStatus: () => 'ACSC',
      });

      const { answer, state } = await withPayment(bank, {}, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        const answer = await started.summary;
        return { answer, state: await (await started.handle).result() };
      });

      // The PSU is only ever shown the second payment's authorisation.
      expect(answer).toEqual(REDIRECT_INITIATION);
      expect(bank.initiateOptions).toEqual([{}, { createAgainAfterAttempt: 1 }]);
      expect(bank.calls.map((c) => c.name).slice(0, 3)).toEqual(['initiatePaymentAtBank', 'initiatePaymentAtBank', 'cancelOrphanedInitiations']);
      expect(state).toMatchObject({ transactionStatus: 'ACSC', initiation: REDIRECT_INITIATION });
      expect(state.initiationOutcome).toBeUndefined();
      expect(bank.timeline()).not.toContain('initiation_outcome:unknown');
    });

    it('never initiates more than twice again: after that the outcome is unknown', async () => {
      let attempt = 0;
      const bank = stubBank({ initiate: () => ambiguous(SCA_ALWAYS_REQUIRED, ++attempt) });

      await withPayment(bank, {}, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        await expect(started.summary).resolves.toMatchObject({ outcome: 'unknown' });
        await settleAsNotInitiated(await started.handle);
      });

      expect(bank.initiateOptions).toEqual([{}, { createAgainAfterAttempt: 1 }, { createAgainAfterAttempt: 2 }]);
      expect(bank.count('cancelOrphanedInitiations')).toBe(0);
      expect(bank.timeline()[0]).toBe('initiation_outcome:unknown');
    });

    it('ambiguous and possibly SCA-exempt: no second initiation; the outcome is unknown, then the bank’s lookup finds the payment', async () => {
      const bank = stubBank({
        initiate: () => ambiguous(MAYBE_EXEMPT, 1),
        lookup: (n) => (n === 0 ? { kind: 'inconclusive' } : { kind: 'found', bankPaymentId: 'bank-pmt-1', transactionStatus: 'ACSP', rawTransactionStatus: 'ACSP' }),
        paymentStatus: () => 'ACSC',
      });

      const { answer, whileUnknown, state, input } = await withPayment(bank, {}, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        const answer = await started.summary;
        const handle = await started.handle;
        const whileUnknown = await handle.query(paymentStateQuery);
        return { answer, whileUnknown, state: await handle.result(), input: payment.input };
      });

      expect(answer).toEqual({ outcome: 'unknown', reason: expect.stringContaining('HTTP 503') });
      expect(whileUnknown).toMatchObject({ phase: 'outcome_unknown', initiationOutcome: 'unknown', transactionStatus: 'RCVD' });
      expect(bank.count('initiatePaymentAtBank')).toBe(1);
      // Looked up again after the first lookup found nothing yet (30 s of skipped time).
      const [first, second] = bank.callsTo('lookUpInitiationAtBank');
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(30 * SECOND);
      expect(bank.recorded[0]).toMatchObject({ paymentId: input.paymentId, seq: 0, kind: 'initiation_outcome', status: 'unknown', reason: expect.stringMatching(/^Initiation outcome unknown: .*HTTP 503/) });
      expect(bank.timeline()).toEqual(['initiation_outcome:unknown', 'initiation_outcome:resolved', 'transaction_status:ACSP', 'transaction_status:ACSC']);
      expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC', initiationOutcome: 'resolved', adopted: true });
      expect(bank.count('cancelPaymentAtBank')).toBe(0);
    });

    it('an initiation that failed without a clear answer from the bank (not a refusal) is unknown, never RJCT', async () => {
      const bank = stubBank({
        initiate: () => {
          throw ApplicationFailure.create({ type: 'WorkerLost', message: 'the activity did not complete', nonRetryable: true });
        },
      });

      await withPayment(bank, {}, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        await expect(started.summary).resolves.toMatchObject({ outcome: 'unknown', reason: 'the activity did not complete' });
        await settleAsNotInitiated(await started.handle);
      });
      expect(bank.timeline()[0]).toBe('initiation_outcome:unknown');
      expect(bank.recorded.filter((c) => c.kind === 'transaction_status' && c.status === 'RJCT').map((c) => c.reason)).toEqual([
        expect.stringMatching(/^Not initiated at the bank, decided by/),
      ]);
    });

    it('provably never processed (connection refused, 429) until the deadline: RJCT, the bank never saw it', async () => {
      const bank = stubBank({
        initiate: () => {
          throw bankFailure('BankUnavailable', 503);
        },
      });

      const { state } = await runToEnd(bank);

      expect(bank.count('initiatePaymentAtBank')).toBeGreaterThan(3);
      expect(state).toMatchObject({ transactionStatus: 'RJCT', initiationError: { httpStatus: 503 } });
      expect(state.initiationOutcome).toBeUndefined();
    });

    it('the bank may prompt the PSU itself (decoupled): unknown; an operator’s "not initiated" ends it RJCT, audited', async () => {
      const bank = stubBank({ initiate: () => ambiguous(BANK_PROMPTS_PSU, 1) });

      const { result, state } = await withPayment(bank, {}, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        await started.summary;
        const handle = await started.handle;
        await phaseOf(handle, 'outcome_unknown');
        const result = await decide(handle, { operator: 'ops:alice', decision: 'not_initiated', reason: 'Bank support: no payment with this X-Request-ID' }, 'decision-1');
        return { result, state: await handle.result() };
      });

      expect(bank.count('initiatePaymentAtBank')).toBe(1);
      expect(result).toEqual({ transactionStatus: 'RJCT', initiationOutcome: 'resolved' });
      expect(bank.decisions).toEqual([
        { updateId: 'decision-1', decision: { operator: 'ops:alice', decision: 'not_initiated', reason: 'Bank support: no payment with this X-Request-ID' } },
      ]);
      expect(bank.count('confirmBankPayment')).toBe(0);
      expect(bank.timeline()).toEqual(['initiation_outcome:unknown', 'initiation_outcome:resolved', 'transaction_status:RJCT']);
      expect(state).toMatchObject({ transactionStatus: 'RJCT', statusReason: 'Not initiated at the bank, decided by ops:alice: Bank support: no payment with this X-Request-ID' });
    });

    it('no lookup at the bank: an operator names the bank’s payment; bad decisions are refused; SCA is then followed by its status', async () => {
      const bank = stubBank({
        initiate: () => ambiguous(MAYBE_EXEMPT, 1),
        confirm: (id) => (id === 'bank-pmt-real' ? { raw: 'RCVD', normalised: 'RCVD' } : undefined!),
        paymentStatus: (poll) => (poll === 0 ? 'RCVD' : poll === 1 ? 'ACSP' : 'ACSC'),
      });

      const { refusals, result, state } = await withPayment(bank, { scaPollInitialMs: 5 * SECOND }, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        await started.summary;
        const handle = await started.handle;
        await phaseOf(handle, 'outcome_unknown');
        const refusals = [
          await decide(handle, { operator: 'ops:bob', decision: 'initiated', bankPaymentId: 'bank-pmt-real', reason: '' }).catch((e: unknown) => e),
          await decide(handle, { operator: 'ops:bob', decision: 'maybe', reason: 'x' } as unknown as OperatorDecision).catch((e: unknown) => e),
          await decide(handle, { operator: 'ops:bob', decision: 'initiated', bankPaymentId: 'bank-pmt-typo', reason: 'Bank says it exists' }).catch((e: unknown) => e),
        ];
        expect((await handle.query(paymentStateQuery)).phase).toBe('outcome_unknown');
        const result = await decide(handle, { operator: 'ops:bob', decision: 'initiated', bankPaymentId: 'bank-pmt-real', reason: 'Bank support found it' }, 'decision-2');
        return { refusals, result, state: await handle.result() };
      });

      expect(refusals.map((r) => (r as WorkflowUpdateFailedError).cause?.message)).toEqual([
        expect.stringContaining('reason'),
        expect.stringContaining('decision'),
        expect.stringContaining('does not know payment bank-pmt-typo'),
      ]);
      // Only the accepted decision is audited, before it took effect.
      expect(bank.decisions.map((d) => d.updateId)).toEqual(['decision-2']);
      expect(bank.adopted).toEqual(['bank-pmt-real']);
      expect(result).toMatchObject({ initiationOutcome: 'resolved' });
      const names = bank.calls.map((c) => c.name);
      expect(names.indexOf('recordOperatorDecision')).toBeLessThan(names.indexOf('adoptBankPayment'));
      expect(bank.scaReads().length).toBe(0);
      expect(bank.timeline()).toEqual(['initiation_outcome:unknown', 'initiation_outcome:resolved', 'transaction_status:ACSP', 'transaction_status:ACSC']);
      expect(state).toMatchObject({ transactionStatus: 'ACSC', initiationOutcome: 'resolved', adopted: true });
    });

    it('an operator decision on a payment whose outcome is known is refused', async () => {
      const bank = stubBank({ scaStatus: () => 'received' });

      const refusal = await withPayment(bank, { scaPollInitialMs: 10 * MINUTE }, async (payment) => {
        const started = await payment.initiateLikeTheApi();
        await started.summary;
        const handle = await started.handle;
        const refusal = await decide(handle, { operator: 'ops:eve', decision: 'not_initiated', reason: 'x' }).catch((e: unknown) => e);
        await handle.executeUpdate(cancelPaymentUpdate);
        return refusal;
      });

      expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/Nothing to decide/);
      expect(bank.decisions).toEqual([]);
    });
  });

  describe('SCA timeout: RJCT only once the bank confirmed the cancellation', () => {
    const refusedCancel = () => {
      throw bankFailure('BankRejected', 405);
    };

    it.each([
      { bankSays: ['RCVD', 'RCVD', 'RJCT'] as TransactionStatus[], final: 'RJCT', label: 'still RCVD at the bank: followed until the bank rejects it' },
      { bankSays: ['RCVD', 'ACSP', 'ACSC'] as TransactionStatus[], final: 'ACSC', label: 'the PSU authorised it at the bank after all: it executes, ACSC' },
    ])('cancellation refused, $label', async ({ bankSays, final }) => {
      const bank = stubBank({
        scaStatus: () => 'received',
        cancel: refusedCancel as () => CancellationResult,
        paymentStatus: (poll) => bankSays[Math.min(poll, bankSays.length - 1)]!,
      });

      const { state } = await runToEnd(bank, { scaTimeoutMs: 2 * MINUTE });

      expect(bank.count('cancelPaymentAtBank')).toBe(1);
      const afterTimeout = bank.recorded.filter((c) => c.kind === 'transaction_status');
      expect(afterTimeout[0]).toMatchObject({ status: 'RCVD', reason: expect.stringMatching(/SCA timeout.*did not confirm the cancellation/) });
      expect(afterTimeout.filter((c) => c.status === 'RJCT').length).toBe(final === 'RJCT' ? 1 : 0);
      expect(state.transactionStatus).toBe(final);
    });

    it('cancellation refused but the bank already reports a final status: that status, with the timeout as reason', async () => {
      const bank = stubBank({ scaStatus: () => 'received', cancel: refusedCancel as () => CancellationResult, paymentStatus: () => 'CANC' });

      const { state } = await runToEnd(bank, { scaTimeoutMs: 2 * MINUTE });

      expect(state).toMatchObject({ transactionStatus: 'CANC', statusReason: expect.stringMatching(/^SCA timeout: .*the bank reports CANC$/) });
      expect(bank.statusReads().length).toBe(1);
    });
  });

  describe('regressions', () => {
    it('the status-deadline flag is persisted with the last status, not only returned', async () => {
      const bank = stubBank({ paymentStatus: () => 'ACSP' });

      await runToEnd(bank, { statusDeadlineMs: 1 * HOUR });

      // recordPaymentStatus is the only write to payments.status_reason: the API must show the flag.
      expect(bank.recorded.at(-1)).toMatchObject({ status: 'ACSP', reason: expect.stringMatching(/deadline/i) });
    });

    // A bank may answer the initiation with an authorised or final status (SCA exempted): no SCA wait,
    // and above all no "SCA timeout" cancellation of a payment that is being executed.
    it.each([
      { answer: 'ACSP without an authorisation (SCA exempted)', transactionStatus: 'ACSP' as const, finalStatus: 'ACSC' },
      { answer: 'ACSC (already settled)', transactionStatus: 'ACSC' as const, finalStatus: 'ACSC' },
    ])('initiation answered $answer: no SCA wait, never cancelled, ends $finalStatus', async ({ transactionStatus, finalStatus }) => {
      const bank = stubBank({
        initiate: () => ({ ...DECOUPLED_INITIATION, authorisationId: undefined, transactionStatus, rawTransactionStatus: transactionStatus }),
        paymentStatus: () => 'ACSC',
      });

      const { state, durationMs } = await runToEnd(bank);

      expect(bank.count('cancelPaymentAtBank')).toBe(0);
      expect(state.transactionStatus).toBe(finalStatus);
      expect(durationMs).toBeLessThan(TIMINGS.scaTimeoutMs);
    });
  });
});
