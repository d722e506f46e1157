import path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { WebhookActivities } from '../activities/webhook.activities';
import { wakeDispatcher } from '../libs/webhooks/dispatchers';
import { RECORD_HISTORY, commandSequence, installQuietRuntime, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import type { webhookDispatcherWorkflow } from './webhook-dispatcher.workflow';
import { webhookDispatcherWorkflowId, type DeliveryRoundRequest, type DeliveryRoundResult } from './webhook.api';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for the webhook dispatcher: one real history (a round whose delivery failed, the
 * retry timer, a round that delivers, the idle wait, completion), recorded once and committed, must
 * replay against the current code. Re-record only for a change shipped behind `patched()`:
 * `RECORD_HISTORY=1 npx jest workflows/webhook-dispatcher.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'webhook-dispatcher-history.json');

beforeAll(installQuietRuntime);

describe('webhookDispatcherWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordRetryThenDelivery();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const recorded = readHistoryFixture(FIXTURE);
    expect(commandSequence(recorded).length).toBeGreaterThan(8);
    expect(commandSequence(fresh)).toEqual(commandSequence(recorded));
  }, 60_000);

  it('replays the recorded history with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    const events = history.events!;
    expect(events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [])).toEqual(['deliverDueWebhooks', 'deliverDueWebhooks']);
    expect(events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? [])).toEqual(['webhookWakeUp']);
    // The retry timer and the idle wait.
    expect(events.filter((e) => e.timerStartedEventAttributes).length).toBe(2);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'webhook-dispatcher-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

async function recordRetryThenDelivery(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    let round = 0;
    const base = { attempted: 1, more: false, failingSince: null };
    const activities: Pick<WebhookActivities, 'deliverDueWebhooks' | 'wakeDueWebhookDispatchers'> = {
      async deliverDueWebhooks(req: DeliveryRoundRequest): Promise<DeliveryRoundResult> {
        if (round++ === 0) return { endpoint: 'enabled', ...base, delivered: 0, failed: 1, gaveUp: 0, nextDueAt: req.now + req.retryDelaysMs[0]!, failingSince: req.now };
        return { endpoint: 'enabled', ...base, delivered: 1, failed: 0, gaveUp: 0, nextDueAt: null };
      },
      wakeDueWebhookDispatchers: async () => 0,
    };
    const taskQueue = 'webhook-dispatcher-history-fixture';
    const endpointId = '00000000-0000-4000-8000-0000000000f1';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    return await worker.runUntil(async () => {
      await wakeDispatcher(env.client, { taskQueue }, { endpointId, tenantId: 'tenant-fixture' });
      const handle = env.client.workflow.getHandle<typeof webhookDispatcherWorkflow>(webhookDispatcherWorkflowId(endpointId));
      const state = await handle.result();
      if (state.delivered !== 1) throw new Error(`unexpected state ${JSON.stringify(state)}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
