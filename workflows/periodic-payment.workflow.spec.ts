import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { PaymentActivities, StatusRecordAt } from '../activities/payment.activities';
import type { PeriodicPaymentActivities } from '../activities/periodic-payment.activities';
import { bookingDeadline, resolveExecutions, type BookedDebit, type ResolvedExecution } from '../libs/domain/periodic-observation';
import { addDays, dayNumberOf, isoDateOf, nextExecutions, type PeriodicSchedule } from '../libs/domain/target2-calendar';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';
import { cancelPeriodicPaymentUpdate, periodicStateQuery, startCancellationAuthorisationUpdate, type PeriodicTimings } from './periodic-payment.api';
import type { periodicPaymentWorkflow } from './periodic-payment.workflow';
import { cancelPaymentUpdate, initiationResultUpdate, type PaymentTimings } from './payment-initiation.api';
import type { paymentInitiationWorkflow } from './payment-initiation.workflow';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { resolveInitiationUpdate } from './payment-initiation.api';

/**
 * A standing order on the time-skipping server with the bank stubbed at the activity boundary. The
 * stub bank runs on the workflow's clock: it books each execution the day after its TARGET2 date
 * (refusing the ones listed), ends the order after its last date, and shows bookings through the
 * same pure matching (`resolveExecutions`) the real activity uses.
 */
const DAY = 86_400_000;
const TIMINGS: PeriodicTimings = { scaTimeoutMs: 10 * 60_000, scaPollInitialMs: 1000, scaPollMaxMs: 5000, observeEveryMs: 4 * DAY, graceBusinessDays: 2, executionsPerRun: 4 };

type Acts = PeriodicPaymentActivities & Pick<PaymentActivities, 'recordPaymentStatus' | 'recordOperatorDecision' | 'adoptBankPayment'>;

function stubBank(schedule: PeriodicSchedule, opts: { refused?: number[]; cancellationNeedsAuthorisation?: boolean; approvedBetweenReads?: boolean; answerLost?: boolean } = {}) {
  const initiations: number[] = [];
  const decisions: string[] = [];
  const adopted: string[] = [];
  const statuses: string[] = [];
  const executions: ResolvedExecution[] = [];
  const runIds = new Set<string>();
  let cancelledOn: string | undefined;
  let cancellationApproved = false;
  let cancellationChecks = 0;
  /** The bank runs on the workflow's (skipped) clock, not the process's. */
  const today = async () => isoDateOf(Math.floor((await env.currentTimeMs()) / DAY));
  const all = nextExecutions(schedule, { limit: 1000 });
  const lastDate = all.length ? all[all.length - 1].executionDate : undefined;
  const bankStatus = async () => {
    if (cancelledOn) return { raw: 'CANC', normalised: 'CANC' as const };
    return lastDate && (await today()) > lastDate ? { raw: 'ACSC', normalised: 'ACSC' as const } : { raw: 'ACCP', normalised: 'ACCP' as const };
  };
  const activities = {
    initiatePeriodicPaymentAtBank: async () => {
      initiations.push(await env.currentTimeMs());
      // The bank's answer is lost: it may hold the order (it could have been exempted), and does not deduplicate X-Request-ID.
      if (opts.answerLost) return { outcome: 'ambiguous' as const, reason: 'POST /v1/periodic-payments → timeout', lastAttempt: 1, facts: { scaExemptionsPossible: true, bankMayPromptPsu: true } };
      return { bankPaymentId: 'bank-1', transactionStatus: 'RCVD' as const, rawTransactionStatus: 'RCVD', scaApproach: 'DECOUPLED' as const, authorisationId: 'auth-1' };
    },
    confirmBankPeriodicPayment: async (_id: string, bankPaymentId: string) => {
      if (bankPaymentId !== 'bank-found') throw ApplicationFailure.create({ type: 'DecisionRefused', message: `The bank does not know periodic payment ${bankPaymentId}`, nonRetryable: true });
      return bankStatus();
    },
    recordOperatorDecision: async (_id: string, _updateId: string, d: { decision: string; operator: string }) => void decisions.push(`${d.operator}:${d.decision}`),
    adoptBankPayment: async (_id: string, bankPaymentId: string) => void adopted.push(bankPaymentId),
    getPeriodicScaStatusAtBank: async () => ({ raw: 'finalised', normalised: 'finalised' as const }),
    getPeriodicStatusAtBank: async () => bankStatus(),
    startPeriodicAuthorisationAtBank: async () => {
      throw new Error('not used');
    },
    cancelPeriodicPaymentAtBank: async () => {
      if (!opts.cancellationNeedsAuthorisation) {
        cancelledOn = await today();
        return { transactionStatus: 'CANC' as const, authorisationRequired: false };
      }
      return { transactionStatus: 'ACCP' as const, authorisationRequired: true };
    },
    startCancellationAuthorisationAtBank: async () => ({ authorisationId: 'cancel-1', scaStatus: 'started' as const, scaApproach: 'DECOUPLED' as const }),
    getCancellationScaStatusAtBank: async () => {
      cancellationChecks += 1;
      // The PSU approves in the app; the bank cancels from that day on. approvedBetweenReads: the
      // first check still sees `started`, the PSU approves right after it (before the status read).
      const seenBefore = opts.approvedBetweenReads && cancellationChecks === 1;
      cancellationApproved = true;
      cancelledOn ??= await today();
      return seenBefore ? { raw: 'started', normalised: 'started' as const } : { raw: 'finalised', normalised: 'finalised' as const };
    },
    observePeriodicPayment: async (_id: string, o: { pending: typeof all; taken: string[]; graceBusinessDays: number }) => {
      runIds.add(activityInfo().workflowExecution?.runId ?? '');
      const now = await today();
      const booked: BookedDebit[] = all
        .filter((e) => e.executionDate < now && !(opts.refused ?? []).includes(e.index) && (!cancelledOn || e.executionDate < cancelledOn))
        .map((e) => ({ transactionId: `B-${e.index}`, bookingDate: e.executionDate, amount: '-50.00', currency: 'EUR', creditorIban: 'NL91ABNA0417164300' }));
      const resolved = resolveExecutions({
        pending: o.pending,
        instructedAmount: { currency: 'EUR', amount: '50.00' },
        creditorIban: 'NL91ABNA0417164300',
        booked,
        closedThrough: addDays(now, -1),
        graceBusinessDays: o.graceBusinessDays,
        taken: new Set(o.taken),
      });
      return { transactionStatus: await bankStatus(), observable: true, accountId: 'acc-1', executions: resolved };
    },
    recordPeriodicExecution: async (_id: string, e: ResolvedExecution) => void executions.push(e),
    recordPaymentStatus: async (change: { kind: string; status: string }) => void statuses.push(`${change.kind}:${change.status}`),
  } satisfies Partial<Acts>;
  return { activities, statuses, executions, runIds, all, cancelled: () => cancellationApproved, cancellationChecks: () => cancellationChecks, initiations, decisions, adopted };
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [env, workflowBundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('./index'));
}, 120_000);
afterAll(() => env?.teardown());

function scheduleFromNow(startNowMs: number, terms: Omit<PeriodicSchedule, 'startDate'> & { days?: number }): PeriodicSchedule {
  const start = isoDateOf(Math.floor(startNowMs / DAY) + 1);
  const { days, ...rest } = terms;
  return { startDate: start, ...(days ? { endDate: addDays(start, days) } : {}), ...rest };
}

describe('periodicPaymentWorkflow', () => {
  it('follows a monthly order across a year of TARGET2 days: every execution in order, a refusal reported, continue-as-new, ends with the order', async () => {
    const schedule = scheduleFromNow(await env.currentTimeMs(), { frequency: 'Monthly', dayOfExecution: '31', executionRule: 'following', days: 365 });
    const bank = stubBank(schedule, { refused: [3] });
    const taskQueue = `periodic-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: bank.activities });
    const state = await worker.runUntil(
      env.client.workflow.execute<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
        workflowId: `periodic-${randomUUID()}`,
        taskQueue,
        args: [{ paymentId: randomUUID(), tenantId: 't', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers', schedule, timings: TIMINGS }],
      }),
    );

    expect(bank.all.length).toBe(12);
    expect(bank.executions.map((e) => [e.index, e.executionDate, e.outcome])).toEqual(
      bank.all.map((e) => [e.index, e.executionDate, e.index === 3 ? 'not_booked' : 'executed']),
    );
    // Every execution date is a TARGET2 business day; the 31st falls back to month ends and moves forward.
    for (const e of bank.all) {
      const weekday = (dayNumberOf(e.executionDate)! + 4) % 7;
      expect([e.executionDate, weekday === 0 || weekday === 6]).toEqual([e.executionDate, false]);
    }
    const refused = bank.executions.find((e) => e.index === 3)!;
    expect(refused).toMatchObject({ outcome: 'not_booked', reason: `not booked by ${bookingDeadline(refused.executionDate, 2)}` });
    expect(bank.statuses).toEqual(['sca_status:finalised', 'transaction_status:ACCP', 'transaction_status:ACSC']);
    expect(state).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC', nextIndex: 13, executionsResolved: 12 });
    // 12 executions at 4 per run: the order lived in at least 3 runs, each with a small history.
    expect(bank.runIds.size).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it.each([
    ['the PSU approves before the check', false, 1],
    ['the PSU approves between the check and the status read: the cancellation’s SCA is read once more', true, 2],
  ])('cancellation the bank wants authorised: DELETE → 202, cancellation authorisation, then CANC and nothing executed after it (%s)', async (_case, approvedBetweenReads, checks) => {
    const schedule = scheduleFromNow(await env.currentTimeMs(), { frequency: 'Weekly' });
    const bank = stubBank(schedule, { cancellationNeedsAuthorisation: true, approvedBetweenReads });
    const taskQueue = `periodic-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: bank.activities });
    const workflowId = `periodic-${randomUUID()}`;
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
        workflowId,
        taskQueue,
        args: [{ paymentId: randomUUID(), tenantId: 't', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers', schedule, timings: TIMINGS }],
      });
      // Three weeks of executions.
      await env.sleep(22 * DAY);
      const before = await handle.query(periodicStateQuery);
      expect(before.executionsResolved).toBeGreaterThanOrEqual(2);
      const cancel = await handle.executeUpdate(cancelPeriodicPaymentUpdate);
      expect(cancel).toEqual({ transactionStatus: 'ACCP', authorisationRequired: true });
      const started = await handle.executeUpdate(startCancellationAuthorisationUpdate);
      expect(started).toMatchObject({ authorisationId: 'cancel-1', scaApproach: 'DECOUPLED' });
      const final = await handle.result();
      expect(final.transactionStatus).toBe('CANC');
      expect(final.cancellation).toMatchObject({ cancellationId: 'cancel-1', scaStatus: 'finalised' });
    });
    expect(bank.cancelled()).toBe(true);
    expect(bank.cancellationChecks()).toBe(checks);
    expect(bank.statuses.at(-1)).toBe('transaction_status:CANC');
    // Only executions before the cancellation, all booked.
    expect(bank.executions.every((e) => e.outcome === 'executed')).toBe(true);
    expect(bank.executions.length).toBeGreaterThanOrEqual(2);
    expect(bank.executions.length).toBeLessThanOrEqual(4);
  }, 300_000);
});

describe('unknown initiation outcome (the bank\'s answer lost; it does not deduplicate X-Request-ID)', () => {
  async function lostAnswer(drive: (handle: Awaited<ReturnType<typeof env.client.workflow.start<typeof periodicPaymentWorkflow>>>) => Promise<void>) {
    const schedule = scheduleFromNow(await env.currentTimeMs(), { frequency: 'Weekly', days: 20 });
    const bank = stubBank(schedule, { answerLost: true });
    const taskQueue = `periodic-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: bank.activities });
    const final = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
        workflowId: `periodic-${randomUUID()}`,
        taskQueue,
        args: [{ paymentId: randomUUID(), tenantId: 't', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers', schedule, timings: TIMINGS }],
      });
      await drive(handle);
      return handle.result();
    });
    return { bank, final };
  }

  it('recorded unknown and waits (days) for an operator, never initiating again; the operator names the bank\'s order: checked at the bank, adopted, followed to its end', async () => {
    const { bank, final } = await lostAnswer(async (handle) => {
      await env.sleep(3 * DAY);
      expect(await handle.query(periodicStateQuery)).toMatchObject({ phase: 'outcome_unknown', initiationOutcome: 'unknown' });
      // A bank id the bank does not know is refused; the outcome stays unknown.
      const refused = await handle.executeUpdate(resolveInitiationUpdate, { args: [{ operator: 'ops:anna', decision: 'initiated', bankPaymentId: 'bank-typo', reason: 'support call' }] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await handle.query(periodicStateQuery)).toMatchObject({ phase: 'outcome_unknown' });
      // Incomplete decisions are refused by the validator.
      await expect(handle.executeUpdate(resolveInitiationUpdate, { args: [{ operator: 'ops:anna', decision: 'initiated', reason: 'x' } as never] })).rejects.toThrow(WorkflowUpdateFailedError);
      const resolved = await handle.executeUpdate(resolveInitiationUpdate, { args: [{ operator: 'ops:anna', decision: 'initiated', bankPaymentId: 'bank-found', reason: 'Bank support confirmed the order' }] });
      expect(resolved).toEqual({ transactionStatus: 'ACCP', initiationOutcome: 'resolved' });
    });
    expect(bank.initiations).toHaveLength(1);
    expect(bank.adopted).toEqual(['bank-found']);
    expect(bank.decisions).toEqual(['ops:anna:initiated']);
    expect(bank.statuses.slice(0, 3)).toEqual(['initiation_outcome:unknown', 'initiation_outcome:resolved', 'transaction_status:ACCP']);
    expect(final).toMatchObject({ phase: 'completed', transactionStatus: 'ACSC', initiationOutcome: 'resolved', adopted: true });
    expect(bank.executions.length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('the operator learns it was not initiated: RJCT with the reason, nothing sent to the bank again', async () => {
    const { bank, final } = await lostAnswer(async (handle) => {
      await env.sleep(DAY);
      await handle.executeUpdate(resolveInitiationUpdate, { args: [{ operator: 'ops:ben', decision: 'not_initiated', reason: 'Bank has no such order' }] });
    });
    expect(bank.initiations).toHaveLength(1);
    expect(bank.adopted).toEqual([]);
    expect(final).toMatchObject({ phase: 'completed', transactionStatus: 'RJCT', statusReason: 'Not initiated at the bank, decided by ops:ben: Bank has no such order' });
    expect(bank.statuses).toEqual(['initiation_outcome:unknown', 'initiation_outcome:resolved', 'transaction_status:RJCT']);
  }, 120_000);
});

describe('cancellation authorisation of a single payment (same update, same activity)', () => {
  it('a future-dated payment the bank wants the PSU to cancel: DELETE → 202, cancellation authorisation, then CANC from the bank status', async () => {
    let cancellationStarted = false;
    const calls: string[] = [];
    const activities = {
      initiatePaymentAtBank: async () => ({ bankPaymentId: 'bank-9', transactionStatus: 'RCVD' as const, rawTransactionStatus: 'RCVD', scaApproach: 'DECOUPLED' as const, authorisationId: 'auth-9' }),
      getBankScaStatus: async () => ({ raw: 'finalised', normalised: 'finalised' as const }),
      // Accepted and waiting for its execution date, until the PSU authorised the cancellation.
      getBankPaymentStatus: async () => (cancellationStarted ? { raw: 'CANC', normalised: 'CANC' as const } : { raw: 'ACCP', normalised: 'ACCP' as const }),
      cancelPaymentAtBank: async () => (calls.push('cancel'), { transactionStatus: 'ACCP' as const, authorisationRequired: true }),
      startCancellationAuthorisationAtBank: async (paymentId: string) => {
        calls.push(`start-cancellation:${paymentId}`);
        cancellationStarted = true;
        return { authorisationId: 'cancel-9', scaStatus: 'started' as const, scaApproach: 'DECOUPLED' as const };
      },
      // The cancellation's SCA, followed with the payment's status (patch payment-cancellation-sca-status).
      getCancellationScaStatusAtBank: async () => (calls.push('cancellation-sca-status'), { raw: 'finalised', normalised: 'finalised' as const }),
      recordPaymentStatus: async (change: { kind: string; status: string }) => void calls.push(`${change.kind}:${change.status}`),
    };
    // The reads that record what they found (patch payment-read-records), as the real activities do.
    const recordingReads = {
      readAndRecordScaStatus: async (_paymentId: string, _authorisationId: string, at: StatusRecordAt) => {
        const status = await activities.getBankScaStatus();
        if (status.normalised !== at.known) await activities.recordPaymentStatus({ kind: 'sca_status', status: status.normalised });
        return status;
      },
      readAndRecordPaymentStatus: async (_paymentId: string, at: StatusRecordAt) => {
        const status = await activities.getBankPaymentStatus();
        if (status.normalised !== at.known) await activities.recordPaymentStatus({ kind: 'transaction_status', status: status.normalised });
        return status;
      },
    };
    const timings: PaymentTimings = { scaTimeoutMs: 600_000, scaPollInitialMs: 1000, scaPollMaxMs: 5000, statusPollInitialMs: 60_000, statusPollMaxMs: 3_600_000, statusDeadlineMs: 30 * DAY };
    const taskQueue = `single-cancel-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: { ...activities, ...recordingReads } });
    const paymentId = randomUUID();
    const final = await worker.runUntil(async () => {
      await env.client.workflow.executeUpdateWithStart(initiationResultUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
          workflowId: `payment-${paymentId}`,
          taskQueue,
          args: [{ paymentId, tenantId: 't', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers', timings }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      const handle = env.client.workflow.getHandle(`payment-${paymentId}`);
      // Before any DELETE, no cancellation authorisation.
      const early = await handle.executeUpdate(startCancellationAuthorisationUpdate).catch((e: Error) => e);
      expect((early as Error & { cause?: Error }).cause?.message).toBe('No cancellation awaits authorisation: send DELETE first');
      await env.sleep(120_000);
      expect(await handle.executeUpdate(cancelPaymentUpdate)).toEqual({ transactionStatus: 'ACCP', authorisationRequired: true });
      expect(await handle.executeUpdate(startCancellationAuthorisationUpdate)).toMatchObject({ authorisationId: 'cancel-9' });
      return handle.result();
    });
    expect(final).toMatchObject({ phase: 'completed', transactionStatus: 'CANC' });
    expect(calls).toContain(`start-cancellation:${paymentId}`);
    expect(calls).toContain('cancellation-sca-status');
    expect(calls.at(-1)).toBe('transaction_status:CANC');
  }, 120_000);
});
