import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
import type { PeriodicPaymentActivities } from '../activities/periodic-payment.activities';
import type { ScheduledExecution } from '../libs/domain/target2-calendar';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import type { periodicPaymentWorkflow } from './periodic-payment.workflow';
import { resolveInitiationUpdate } from './payment-initiation.api';
import { periodicStateQuery } from './periodic-payment.api';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for the standing-order workflow: one real first run (initiation, SCA, two
 * executions observed, continue-as-new), recorded once and committed, must replay against the
 * current code. Re-record (only for a change shipped behind `patched()`):
 * `RECORD_HISTORY=1 npx jest workflows/periodic-payment.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'periodic-payment-history.json');
/** The shape `patched('periodic-unknown-outcome-resolution')` added: answer lost → unknown → an operator says not initiated → RJCT. */
const UNKNOWN_FIXTURE = path.join(__dirname, '__fixtures__', 'periodic-payment-unknown-outcome-history.json');

beforeAll(installQuietRuntime);

describe('periodicPaymentWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordFirstRun();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    expect(commandSequence(fresh)).toEqual(commandSequence(readHistoryFixture(FIXTURE)));
  }, 120_000);

  it('replays the recorded run with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    expect(activitiesOf(history)).toEqual([
      'initiatePeriodicPaymentAtBank',
      'getPeriodicScaStatusAtBank',
      'recordPaymentStatus',
      'getPeriodicStatusAtBank',
      'recordPaymentStatus',
      'observePeriodicPayment',
      'recordPeriodicExecution',
      'observePeriodicPayment',
      'recordPeriodicExecution',
    ]);
    expect(history.events!.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'periodic-fixture')).resolves.toBeUndefined();
  }, 60_000);
});

/** Every observation finds the next execution booked, whatever the date: the run's shape never depends on the calendar. */
async function recordFirstRun(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const activities: Partial<PeriodicPaymentActivities & PaymentActivities> = {
      initiatePeriodicPaymentAtBank: async () => ({ bankPaymentId: 'bank-1', transactionStatus: 'RCVD', rawTransactionStatus: 'RCVD', scaApproach: 'DECOUPLED', authorisationId: 'auth-1' }),
      getPeriodicScaStatusAtBank: async () => ({ raw: 'finalised', normalised: 'finalised' }),
      getPeriodicStatusAtBank: async () => ({ raw: 'ACCP', normalised: 'ACCP' }),
      observePeriodicPayment: async (_id: string, o: { pending: ScheduledExecution[] }) => ({
        transactionStatus: { raw: 'ACCP', normalised: 'ACCP' },
        observable: true,
        accountId: 'acc-1',
        executions: [{ index: o.pending[0].index, executionDate: o.pending[0].executionDate, outcome: 'executed', bookingDate: o.pending[0].executionDate, transactionId: `B-${o.pending[0].index}` }],
      }),
      recordPeriodicExecution: async () => undefined,
      recordPaymentStatus: async () => undefined,
    };
    const taskQueue = 'periodic-history-fixture';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
        workflowId: 'periodic-00000000-0000-4000-8000-0000000000a1',
        taskQueue,
        args: [{
          paymentId: '00000000-0000-4000-8000-0000000000a1',
          tenantId: 'sandbox',
          bicFi: 'SANDDEB0XXX',
          paymentProduct: 'sepa-credit-transfers',
          schedule: { startDate: '2027-01-04', frequency: 'Weekly' },
          timings: { scaTimeoutMs: 600_000, scaPollInitialMs: 1000, scaPollMaxMs: 5000, observeEveryMs: 86_400_000, graceBusinessDays: 2, executionsPerRun: 2 },
        }],
      });
      // The first run ends in continue-as-new after two executions: its history is the fixture.
      const firstRun = env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
      for (let i = 0; i < 200; i++) {
        const history = await firstRun.fetchHistory();
        if (history.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)) return history;
        await env.sleep(86_400_000);
      }
      throw new Error('the first run never continued as new');
    });
  } finally {
    await env.teardown();
  }
}

describe('periodicPaymentWorkflow replay: unknown initiation outcome resolved by an operator', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordUnknownOutcome();
    if (RECORD_HISTORY) writeHistoryFixture(UNKNOWN_FIXTURE, fresh);
    expect(commandSequence(fresh)).toEqual(commandSequence(readHistoryFixture(UNKNOWN_FIXTURE)));
  }, 120_000);

  it('replays with the current workflow code', async () => {
    const history = readHistoryFixture(UNKNOWN_FIXTURE);
    expect(activitiesOf(history)).toEqual(['initiatePeriodicPaymentAtBank', 'recordPaymentStatus', 'recordOperatorDecision', 'recordPaymentStatus', 'recordPaymentStatus']);
    expect(history.events!.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
    expect(history.events!.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'periodic-unknown-fixture')).resolves.toBeUndefined();
  }, 60_000);
});

async function recordUnknownOutcome(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const activities: Partial<PeriodicPaymentActivities & PaymentActivities> = {
      initiatePeriodicPaymentAtBank: async () => ({ outcome: 'ambiguous', reason: 'POST /v1/periodic-payments → timeout', lastAttempt: 1, facts: { scaExemptionsPossible: true, bankMayPromptPsu: true } }),
      recordOperatorDecision: async () => undefined,
      recordPaymentStatus: async () => undefined,
    };
    const taskQueue = 'periodic-unknown-history-fixture';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
        workflowId: 'periodic-00000000-0000-4000-8000-0000000000a2',
        taskQueue,
        args: [{
          paymentId: '00000000-0000-4000-8000-0000000000a2',
          tenantId: 'sandbox',
          bicFi: 'SANDDEB0XXX',
          paymentProduct: 'sepa-credit-transfers',
          schedule: { startDate: '2027-01-04', frequency: 'Weekly' },
          timings: { scaTimeoutMs: 600_000, scaPollInitialMs: 1000, scaPollMaxMs: 5000, observeEveryMs: 86_400_000, graceBusinessDays: 2, executionsPerRun: 2 },
        }],
      });
      // Decide once the unknown outcome is recorded and the workflow is idle, so the event order is stable.
      for (;;) {
        const state = await handle.query(periodicStateQuery);
        if (state.phase === 'outcome_unknown') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 1000));
      await handle.executeUpdate(resolveInitiationUpdate, { args: [{ operator: 'ops:fixture', decision: 'not_initiated', reason: 'Bank has no such order' }], updateId: 'operator-decision-fixture' });
      await handle.result();
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
