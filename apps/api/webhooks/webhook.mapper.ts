import type { WebhookDeliveryAttemptEntity, WebhookDeliveryEntity, WebhookEndpointEntity } from '../../../libs/persistence/entities/webhook.entity';

export const WEBHOOKS_BASE = '/webhooks/v1/endpoints';

/** Explicit response: never the sealed secrets. */
export function toEndpointResponse(e: WebhookEndpointEntity) {
  return {
    endpointId: e.id,
    url: e.url,
    description: e.description,
    eventTypes: e.eventTypes,
    enabled: e.enabled,
    ...(e.disabledReason ? { disabledReason: e.disabledReason, disabledAt: e.disabledAt?.toISOString() } : {}),
    ...(e.failingSince ? { failingSince: e.failingSince.toISOString() } : {}),
    ...(e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date() ? { previousSecretExpiresAt: e.previousSecretExpiresAt.toISOString() } : {}),
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    _links: { self: { href: `${WEBHOOKS_BASE}/${e.id}` }, deliveries: { href: `${WEBHOOKS_BASE}/${e.id}/deliveries` } },
  };
}

export function toDeliveryResponse(endpointId: string, d: WebhookDeliveryEntity, eventType: string, attempts?: WebhookDeliveryAttemptEntity[]) {
  return {
    deliveryId: d.id,
    eventId: d.eventId,
    eventType,
    format: d.format,
    ...(d.targetUrl ? { targetUrl: d.targetUrl } : {}),
    status: d.status,
    attempts: d.attempts,
    ...(d.lastAttemptAt ? { lastAttemptAt: d.lastAttemptAt.toISOString() } : {}),
    ...(d.lastStatusCode !== null ? { lastResponseCode: d.lastStatusCode } : {}),
    ...(d.lastLatencyMs !== null ? { lastLatencyMs: d.lastLatencyMs } : {}),
    ...(d.lastError ? { lastError: d.lastError } : {}),
    ...(d.status === 'pending' ? { nextAttemptAt: (d.nextAttemptAt ?? d.createdAt).toISOString() } : {}),
    ...(d.deliveredAt ? { deliveredAt: d.deliveredAt.toISOString() } : {}),
    createdAt: d.createdAt.toISOString(),
    ...(attempts
      ? {
          attemptLog: attempts.map((a) => ({
            attemptedAt: a.attemptedAt.toISOString(),
            ...(a.statusCode !== null ? { responseCode: a.statusCode } : {}),
            ...(a.latencyMs !== null ? { latencyMs: a.latencyMs } : {}),
            ...(a.error ? { error: a.error } : {}),
          })),
        }
      : {}),
    _links: { self: { href: `${WEBHOOKS_BASE}/${endpointId}/deliveries/${d.id}` }, retry: { href: `${WEBHOOKS_BASE}/${endpointId}/deliveries/${d.id}/retry` } },
  };
}
