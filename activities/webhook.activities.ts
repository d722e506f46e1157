import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { OutboundPolicy } from '../libs/security/outbound-url';
import type { SecretBox } from '../libs/security/secret-box';
import type { WebhookEndpointEntity } from '../libs/persistence/entities/webhook.entity';
import type { AttemptOutcome, DueDelivery, WebhookRepository } from '../libs/persistence/webhook.repository';
import { localDispatchWakeups, wakeDispatcher, type DispatcherSettings } from '../libs/webhooks/dispatchers';
import { NO_WEBHOOK_METRICS, type WebhookMetrics } from '../libs/webhooks/metrics';
import { signingSecrets } from '../libs/webhooks/secrets';
import { sendWebhook, type AttemptResult } from '../libs/webhooks/sender';
import type { DeliveryRoundRequest, DeliveryRoundResult } from '../workflows/webhook.api';

export interface WebhookActivityDeps {
  webhooks: WebhookRepository;
  secrets: SecretBox;
  outboundPolicy: OutboundPolicy;
  logger: Logger;
  temporalClient: () => Promise<Client>;
  webhookDispatch: DispatcherSettings;
  webhookMetrics?: WebhookMetrics;
}

/** How many endpoints one sweep wakes at most; the next sweep takes the rest. */
const SWEEP_LIMIT = 1_000;

/**
 * Webhook activities. `deliverDueWebhooks` is one round of an endpoint's dispatcher: it sends what is
 * due (oldest first, one per resource at a time, `concurrency` at once), records every attempt, and
 * tells the workflow when to come back. HTTP failures are outcomes, not activity failures: the retry
 * schedule is the workflow's, carried in the request.
 */
export function createWebhookActivities(deps: WebhookActivityDeps) {
  const metrics = deps.webhookMetrics ?? NO_WEBHOOK_METRICS;

  /** One batch: what is due now, sent and recorded; disables the endpoint after days of failures. */
  async function deliverBatch(endpoint: WebhookEndpointEntity, now: Date, req: DeliveryRoundRequest) {
    const due = await deps.webhooks.dueDeliveries(endpoint.id, now, req.maxBatch);
    const secrets = due.length ? signingSecrets(deps.secrets, endpoint, new Date()) : [];
    const results = await mapWithConcurrency(due, req.concurrency, async (d) => {
      const result = await sendWebhook(
        { eventId: d.eventId, type: d.type, tenantId: d.tenantId, createdAt: d.createdAt, data: d.data, format: d.format, url: d.targetUrl ?? endpoint.url },
        secrets,
        { policy: deps.outboundPolicy, timeoutMs: req.attemptTimeoutMs },
      );
      // Alive: a batch with slow receivers lasts minutes; a crashed worker's round is retried within the heartbeat timeout.
      Context.current().heartbeat();
      return result;
    });
    const outcomes = due.map((d, i) => outcomeOf(d, results[i]!, now, req.retryDelaysMs));
    const { failingSince } = due.length ? await deps.webhooks.recordAttempts(endpoint.id, outcomes, now) : { failingSince: endpoint.failingSince };
    for (const o of outcomes) metrics.attempt(o.ok ? 'delivered' : o.gaveUp ? 'gave_up' : 'failed', o.latencyMs);
    let disabledReason: string | undefined;
    if (due.length && failingSince && now.getTime() - failingSince.getTime() >= req.disableAfterMs) {
      const last = outcomes.findLast((o) => !o.ok)!;
      const lastDelivery = due.find((d) => d.id === last.deliveryId)!;
      disabledReason =
        `Disabled on ${now.toISOString()}: every delivery attempt has failed since ${failingSince.toISOString()}. ` +
        `Last attempt: ${last.error ?? 'failed'} for event ${lastDelivery.eventId} (${lastDelivery.type}). ` +
        'Pending deliveries are kept; enable the endpoint (PATCH enabled=true) once it answers 2xx.';
      await deps.webhooks.disableEndpoint(endpoint.id, disabledReason, now);
      metrics.endpointDisabled();
      deps.logger.warn({ endpointId: endpoint.id, tenantId: endpoint.tenantId, failingSince }, 'webhook endpoint disabled after failing for days');
    }
    return {
      full: due.length === req.maxBatch,
      attempted: outcomes.length,
      delivered: outcomes.filter((o) => o.ok).length,
      failed: outcomes.filter((o) => !o.ok).length,
      gaveUp: outcomes.filter((o) => o.gaveUp).length,
      failingSince,
      disabledReason,
    };
  }

  return {
    /**
     * One round of an endpoint's dispatcher: batches of what is due, and, while deliveries succeed,
     * streaming: polling for new work (or woken by a commit in this process) until nothing was
     * delivered for `lingerMs` or `streamMs` are over. Due times follow the workflow's clock
     * (`req.now`), advanced by the time the round has run.
     */
    async deliverDueWebhooks(req: DeliveryRoundRequest): Promise<DeliveryRoundResult> {
      const started = Date.now();
      const clock = () => new Date(req.now + (Date.now() - started));
      const total = { attempted: 0, delivered: 0, failed: 0, gaveUp: 0 };
      let failingSince: Date | null = null;
      let lastDeliveryAt = -Infinity;
      let streaming = false;
      let advertisedUntil = 0;
      for (;;) {
        const endpoint = await deps.webhooks.findEndpointForDispatch(req.endpointId);
        if (!endpoint || !endpoint.enabled) {
          if (streaming) await deps.webhooks.setStreamingUntil(req.endpointId, null).catch(() => undefined);
          const state = endpoint ? ('disabled' as const) : ('deleted' as const);
          return { endpoint: state, ...total, more: false, nextDueAt: null, failingSince: failingSince?.getTime() ?? null, ...(endpoint ? { disabledReason: endpoint.disabledReason ?? 'Disabled' } : {}) };
        }
        const batch = await deliverBatch(endpoint, clock(), req);
        total.attempted += batch.attempted;
        total.delivered += batch.delivered;
        total.failed += batch.failed;
        total.gaveUp += batch.gaveUp;
        failingSince = batch.failingSince;
        if (batch.disabledReason) {
          if (streaming) await deps.webhooks.setStreamingUntil(endpoint.id, null);
          return { endpoint: 'disabled', ...total, more: false, nextDueAt: null, failingSince: failingSince?.getTime() ?? null, disabledReason: batch.disabledReason };
        }
        if (batch.delivered) lastDeliveryAt = Date.now();
        const elapsed = Date.now() - started;
        if (batch.full && elapsed < req.streamMs) continue;
        if (!batch.full && elapsed < req.streamMs && Date.now() - lastDeliveryAt < req.lingerMs) {
          // Healthy and busy: keep polling here; commits need not signal the workflow meanwhile.
          if (!streaming || advertisedUntil - Date.now() < req.lingerMs) {
            advertisedUntil = Date.now() + 2 * req.lingerMs + req.pollMs;
            await deps.webhooks.setStreamingUntil(endpoint.id, new Date(advertisedUntil));
          }
          streaming = true;
          Context.current().heartbeat();
          await localDispatchWakeups.wait(endpoint.id, req.pollMs);
          continue;
        }
        if (streaming) {
          // Commits from now on signal the workflow again; one more batch picks up what came in between.
          await deps.webhooks.setStreamingUntil(endpoint.id, null);
          streaming = false;
          lastDeliveryAt = -Infinity;
          continue;
        }
        break;
      }
      const now = clock().getTime();
      const next = await deps.webhooks.nextDueAt(req.endpointId);
      const nextDueAt = next ? Math.max(next.getTime(), 0) : null;
      return { endpoint: 'enabled', ...total, more: nextDueAt !== null && nextDueAt <= now, nextDueAt, failingSince: failingSince?.getTime() ?? null };
    },

    /** The safety net behind the commit-time wakeups: starts or signals every dispatcher with due work. */
    async wakeDueWebhookDispatchers(): Promise<number> {
      const endpoints = await deps.webhooks.endpointsWithDueDeliveries(new Date(), SWEEP_LIMIT);
      const client = await deps.temporalClient();
      for (const w of endpoints) await wakeDispatcher(client, deps.webhookDispatch, w);
      return endpoints.length;
    },
  };
}

/** What to record for one attempt: delivered, pending again at the next step of the schedule, or given up. */
export function outcomeOf(d: Pick<DueDelivery, 'id' | 'scheduleStep'>, r: AttemptResult, now: Date, retryDelaysMs: number[]): AttemptOutcome {
  const delay = r.ok ? undefined : retryDelaysMs[d.scheduleStep];
  return {
    deliveryId: d.id,
    attemptedAt: now,
    ok: r.ok,
    statusCode: r.statusCode,
    latencyMs: r.latencyMs,
    error: r.error,
    nextAttemptAt: delay === undefined ? null : new Date(now.getTime() + delay),
    gaveUp: !r.ok && delay === undefined,
  };
}

async function mapWithConcurrency<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
