/**
 * Webhook delivery counters, behind an interface so the metrics exporter (prom-client) can be wired
 * in without touching the dispatcher. Suggested names:
 * `clearway_webhook_delivery_attempts_total{outcome="delivered|failed|gave_up"}`,
 * `clearway_webhook_delivery_latency_seconds` (receiver answer time, histogram),
 * `clearway_webhook_endpoints_disabled_total`.
 */
export type WebhookAttemptOutcome = 'delivered' | 'failed' | 'gave_up';

export interface WebhookMetrics {
  attempt(outcome: WebhookAttemptOutcome, latencyMs: number | null): void;
  endpointDisabled(): void;
}

export const NO_WEBHOOK_METRICS: WebhookMetrics = { attempt: () => undefined, endpointDisabled: () => undefined };

/** In-process counts (tests, benchmarks, or a quick look from a debugger). */
export class CountingWebhookMetrics implements WebhookMetrics {
  readonly attempts: Record<WebhookAttemptOutcome, number> = { delivered: 0, failed: 0, gave_up: 0 };
  disabled = 0;
  attempt(outcome: WebhookAttemptOutcome): void {
    this.attempts[outcome]++;
  }
  endpointDisabled(): void {
    this.disabled++;
  }
}
