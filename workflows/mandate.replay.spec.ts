import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { MandateActivities } from '../activities/mandate.activities';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { MANDATE_PERIOD_OUTCOMES_PATCH } from './mandate.api';
import type { mandatePaymentWorkflow } from './mandate.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for a mandate period's run (`mandatePaymentWorkflow`, started by the mandate's
 * Schedule): one real history of a period paid on the second progress poll, recorded once and
 * committed, must replay against the current code. Re-record (only for a change shipped behind
 * `patched()`, keeping this fixture as the old shape): `RECORD_HISTORY=1 npx jest workflows/mandate.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'mandate-period-history.json');

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
