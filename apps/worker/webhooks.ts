import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { WebhookActivityDeps } from '../../activities/webhook.activities';
import type { ClearwayConfig } from '../../libs/config/config';
import type { Logger } from '../../libs/observability/logger';
import { onEventsCommitted } from '../../libs/persistence/event-outbox';
import { WebhookRepository } from '../../libs/persistence/webhook.repository';
import { DispatcherWaker, dispatcherSettings } from '../../libs/webhooks/dispatchers';
import { WEBHOOK_SWEEP_WORKFLOW_TYPE, webhookSweepScheduleId } from '../../workflows/webhook.api';

/** What the webhook activities need beyond the shared dependencies. */
export function webhookActivityDeps(config: ClearwayConfig, dataSource: DataSource): Pick<WebhookActivityDeps, 'webhooks' | 'outboundPolicy' | 'webhookDispatch'> {
  return {
    webhooks: new WebhookRepository(dataSource),
    outboundPolicy: config.outbound,
    webhookDispatch: dispatcherSettings(config),
  };
}

/**
 * Delivery wiring of a worker process: after every commit that queued deliveries through this
 * DataSource, the endpoints' dispatchers are signalled (coalesced); and the sweep Schedule exists.
 * Returns what stops the wakeups.
 */
export async function startWebhookWakeups(deps: { config: ClearwayConfig; dataSource: DataSource; client: () => Promise<Client>; logger: Logger }): Promise<() => void> {
  const { config } = deps;
  const waker = new DispatcherWaker(deps.client, dispatcherSettings(config), (err, w) =>
    deps.logger.warn({ err, endpointId: w.endpointId }, 'could not wake a webhook dispatcher; the sweep will'),
  );
  const stop = onEventsCommitted(deps.dataSource, (wakeups) => waker.wake(wakeups));
  if (config.webhooks.sweepIntervalSeconds > 0) await ensureSweepSchedule(await deps.client(), config);
  return stop;
}

/** `webhook-sweep-<taskQueue>`: every WEBHOOK_SWEEP_SECONDS, wake dispatchers whose deliveries are due. Creating it twice is a no-op. */
async function ensureSweepSchedule(client: Client, config: ClearwayConfig): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: webhookSweepScheduleId(config.temporal.taskQueue),
      spec: { intervals: [{ every: `${config.webhooks.sweepIntervalSeconds}s` }] },
      action: {
        type: 'startWorkflow',
        workflowType: WEBHOOK_SWEEP_WORKFLOW_TYPE,
        taskQueue: config.temporal.taskQueue,
        args: [],
        workflowExecutionTimeout: '5m',
        staticSummary: 'Wake webhook dispatchers with due deliveries',
      },
      policies: { overlap: 'SKIP', catchupWindow: '1 minute', pauseOnFailure: false },
      state: { note: 'Safety net for webhook delivery: a dispatcher whose wakeup was lost is started here.' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
