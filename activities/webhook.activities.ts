import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { OutboundPolicy } from '../libs/security/outbound-url';
import type { SecretBox } from '../libs/security/secret-box';
import type { AttemptOutcome, DueDelivery, WebhookRepository } from '../libs/persistence/webhook.repository';
import { wakeDispatcher, type DispatcherSettings } from '../libs/webhooks/dispatchers';
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

  return {
    async deliverDueWebhooks(req: DeliveryRoundRequest): Promise<DeliveryRoundResult> {
      const now = new Date(req.now);
      const idle = { attempted: 0, delivered: 0, failed: 0, gaveUp: 0, more: false, nextDueAt: null, failingSince: null };
      const endpoint = await deps.webhooks.findEndpointForDispatch(req.endpointId);
      if (!endpoint) return { endpoint: 'deleted', ...idle };
      if (!endpoint.enabled) return { endpoint: 'disabled', ...idle, disabledReason: endpoint.disabledReason ?? 'Disabled' };

      const due = await deps.webhooks.dueDeliveries(endpoint.id, now, req.maxBatch);
      const secrets = due.length ? signingSecrets(deps.secrets, endpoint, new Date()) : [];
      const results = await mapWithConcurrency(due, req.concurrency, async (d) => {
        const result = await sendWebhook(
          { eventId: d.eventId, type: d.type, tenantId: d.tenantId, createdAt: d.createdAt, data: d.data, format: d.format, url: d.targetUrl ?? endpoint.url },
          secrets,
          { policy: deps.outboundPolicy, timeoutMs: req.attemptTimeoutMs },
        );
        // Alive: a round with slow receivers lasts minutes, a crashed worker's round is retried within the heartbeat timeout.
        Context.current().heartbeat();
        return result;
      });
      const outcomes = due.map((d, i) => outcomeOf(d, results[i]!, now, req.retryDelaysMs));
      const { failingSince } = await deps.webhooks.recordAttempts(endpoint.id, outcomes, now);
      for (const o of outcomes) metrics.attempt(o.ok ? 'delivered' : o.gaveUp ? 'gave_up' : 'failed', o.latencyMs);

      const round = {
        attempted: outcomes.length,
        delivered: outcomes.filter((o) => o.ok).length,
        failed: outcomes.filter((o) => !o.ok).length,
        gaveUp: outcomes.filter((o) => o.gaveUp).length,
        failingSince: failingSince?.getTime() ?? null,
      };
      if (failingSince && req.now - failingSince.getTime() >= req.disableAfterMs) {
        const last = outcomes.findLast((o) => !o.ok)!;
        const lastDelivery = due.find((d) => d.id === last.deliveryId)!;
        const reason =
          `Disabled on ${now.toISOString()}: every delivery attempt has failed since ${failingSince.toISOString()}. ` +
          `Last attempt: ${last.error ?? 'failed'} for event ${lastDelivery.eventId} (${lastDelivery.type}). ` +
          'Pending deliveries are kept; enable the endpoint (PATCH enabled=true) once it answers 2xx.';
        await deps.webhooks.disableEndpoint(endpoint.id, reason, now);
        metrics.endpointDisabled();
        deps.logger.warn({ endpointId: endpoint.id, tenantId: endpoint.tenantId, failingSince }, 'webhook endpoint disabled after failing for days');
        return { endpoint: 'disabled', ...round, more: false, nextDueAt: null, disabledReason: reason };
      }
      // A full batch means there is likely more now; otherwise ask when the next one is due.
      if (due.length === req.maxBatch) return { endpoint: 'enabled', ...round, more: true, nextDueAt: req.now };
      const next = await deps.webhooks.nextDueAt(endpoint.id);
      const nextDueAt = next ? Math.max(next.getTime(), 0) : null;
      return { endpoint: 'enabled', ...round, more: nextDueAt !== null && nextDueAt <= req.now, nextDueAt };
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
