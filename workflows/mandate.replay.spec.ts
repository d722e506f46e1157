import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { MandateActivities } from '../activities/mandate.activities';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { randomUUID } from 'node:crypto';
import { MANDATE_FIRST_PERIOD_PATCH, MANDATE_INTERVAL_PERIODS_PATCH, MANDATE_PERIOD_OUTCOMES_PATCH, grantFinishSignal } from './mandate.api';
import type { mandatePaymentWorkflow, mandateWorkflow } from './mandate.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for a mandate period's run (`mandatePaymentWorkflow`, started by the mandate's
 * Schedule): one real history of a period paid on the second progress poll, recorded once and
 * committed, must replay against the current code. Re-record (only for a change shipped behind
 * `patched()`, keeping this fixture as the old shape): `RECORD_HISTORY=1 npx jest workflows/mandate.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'mandate-period-history.json');
/** The mandate itself (`mandateWorkflow`): approved, active for its two periods (R1), expired. */
const MANDATE_FIXTURE = path.join(__dirname, '__fixtures__', 'mandate-history.json');

beforeAll(installQuietRuntime);

describe('mandatePaymentWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordPaidPeriod();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    expect(commandSequence(fresh)).toEqual(commandSequence(readHistoryFixture(FIXTURE)));
  }, 60_000);

  it('replays the recorded period with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    expect(activitiesOf(history)).toEqual([
      'settleUnknownMandatePeriods',
      'beginMandatePeriod',
      'createMandateIncomingPayment',
      'createMandateQuote',
      'createMandateOutgoingPayment',
      'getMandatePaymentProgress',
      'getMandatePaymentProgress',
      'closeMandateIncomingPayment',
      'recordMandatePeriod',
    ]);
    expect(patchesOf(history)).toEqual([MANDATE_PERIOD_OUTCOMES_PATCH]);
    expect(history.events!.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();

    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'mandate-period-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

describe('mandateWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordExpiredMandate();
    if (RECORD_HISTORY) writeHistoryFixture(MANDATE_FIXTURE, fresh);
    expect(commandSequence(fresh)).toEqual(commandSequence(readHistoryFixture(MANDATE_FIXTURE)));
  }, 60_000);

  it('replays the recorded mandate, the Rn = n + 1 periods patch included, with the current workflow code', async () => {
    const history = readHistoryFixture(MANDATE_FIXTURE);
    expect(patchesOf(history)).toEqual([MANDATE_FIRST_PERIOD_PATCH, MANDATE_INTERVAL_PERIODS_PATCH]);
    expect(history.events!.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'mandate-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

/** A mandate `R1/<now>/PT1H` approved at once, on the time-skipping server: active, then expired after two hours. */
async function recordExpiredMandate(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const activities: Partial<MandateActivities> = {
      resolveMandateWallets: async () => undefined,
      requestMandateGrant: async () => ({ interactRedirect: 'https://wallet.example/interact/1' }),
      continueMandateGrant: async () => undefined,
      createMandateSchedule: async () => ({ scheduleId: 'mandate-fixture' }),
      runMandatePeriodUnderWay: async () => ({ periodStart: null }),
      deleteMandateSchedule: async () => undefined,
      revokeMandateGrant: async () => undefined,
      recordMandateStatus: async () => undefined,
    };
    const taskQueue = 'mandate-history-fixture';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    const start = new Date(Math.floor((await env.currentTimeMs()) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof mandateWorkflow>('mandateWorkflow', {
        workflowId: `mandate-${randomUUID()}`,
        taskQueue,
        args: [{ mandateId: '00000000-0000-4000-8000-0000000000f3', tenantId: 'sandbox', interval: `R1/${start}/PT1H`, timings: { grantWindowMs: 600_000, sendPollInitialMs: 2_000, sendPollMaxMs: 30_000, sendDeadlineMs: 3_600_000 } }],
      });
      await handle.signal(grantFinishSignal, { interactRef: 'ref-1', hash: 'hash-1' });
      const result = await handle.result();
      if (result.status !== 'expired') throw new Error(`unexpected mandate status ${result.status}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}

/** One period paid on the second poll, on the time-skipping server (outside a Schedule: the run's start time is its period). */
async function recordPaidPeriod(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    let polls = 0;
    const activities: Partial<MandateActivities> = {
      settleUnknownMandatePeriods: async () => ({ settled: 0, unknown: 0 }),
      beginMandatePeriod: async () => ({ proceed: true, status: 'sending', reason: null }),
      createMandateIncomingPayment: async () => undefined,
      createMandateQuote: async () => undefined,
      createMandateOutgoingPayment: async () => ({ outcome: 'created' }),
      getMandatePaymentProgress: async () => ({ complete: ++polls >= 2, failed: false }),
      closeMandateIncomingPayment: async () => undefined,
      recordMandatePeriod: async () => undefined,
    };
    const taskQueue = 'mandate-period-history-fixture';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof mandatePaymentWorkflow>('mandatePaymentWorkflow', {
        workflowId: 'mandate-payment-00000000-0000-4000-8000-0000000000f2-2027-01-31T09:00:00Z',
        taskQueue,
        args: [{ mandateId: '00000000-0000-4000-8000-0000000000f2', timings: { grantWindowMs: 600_000, sendPollInitialMs: 2_000, sendPollMaxMs: 30_000, sendDeadlineMs: 3_600_000 } }],
      });
      const result = await handle.result();
      if (result.status !== 'completed') throw new Error(`unexpected period status ${result.status}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
