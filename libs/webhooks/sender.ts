import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../domain/ids';
import { OutboundRequestFailed, OutboundUrlRefused, outboundRequest, type OutboundPolicy } from '../security/outbound-url';
import { bgNotificationBody, type WebhookEnvelope, type WebhookEventType } from './events';
import { signWebhook } from './signing';

/** A 2xx within this is success (Stripe and Svix allow 15 s too). */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 15_000;
/** We read a receiver's answer only to log its start; the rest is discarded. */
const MAX_RESPONSE_BYTES = 4_096;

/** Keep-alive connections: one endpoint receives many deliveries in a row. */
const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

export interface OutgoingDelivery {
  eventId: string;
  type: WebhookEventType;
  tenantId: string;
  createdAt: Date;
  data: Record<string, unknown>;
  format: 'event' | 'bg_notification';
  url: string;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number | null;
  /** Short and log-safe: a status line, a network error code or a refusal, never the receiver's body. */
  error: string | null;
}

export function envelopeOf(d: Pick<OutgoingDelivery, 'eventId' | 'type' | 'tenantId' | 'createdAt' | 'data'>): WebhookEnvelope {
  return { type: d.type, id: d.eventId, createdAt: d.createdAt.toISOString(), tenantId: d.tenantId, data: d.data };
}

/**
 * The message a delivery sends: the envelope under the event id (the Standard Webhooks message id,
 * identical on every retry and replay), or a Berlin Group notification under an id of its own.
 */
export function messageOf(d: OutgoingDelivery): { id: string; body: string } {
  const envelope = envelopeOf(d);
  if (d.format === 'bg_notification') return { id: deriveUuid(CLEARWAY_ID_NAMESPACE, d.eventId, 'bg-notification'), body: JSON.stringify(bgNotificationBody(envelope)) };
  return { id: d.eventId, body: JSON.stringify(envelope) };
}

/** One signed POST. Never throws: every outcome is a result to record. */
export async function sendWebhook(d: OutgoingDelivery, secrets: readonly string[], opts: { policy: OutboundPolicy; timeoutMs: number }): Promise<AttemptResult> {
  const message = messageOf(d);
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': 'Clearway-Webhooks/1',
    ...signWebhook(secrets, message.id, new Date(), message.body),
  };
  try {
    const res = await outboundRequest({
      url: d.url,
      method: 'POST',
      headers,
      body: message.body,
      policy: opts.policy,
      timeoutMs: opts.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      agents,
    });
    const ok = res.status >= 200 && res.status < 300;
    return { ok, statusCode: res.status, latencyMs: res.latencyMs, error: ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    if (err instanceof OutboundUrlRefused) return { ok: false, statusCode: null, latencyMs: null, error: `refused: ${err.message}`.slice(0, 500) };
    if (err instanceof OutboundRequestFailed) return { ok: false, statusCode: null, latencyMs: null, error: `${err.kind}: ${err.message}`.slice(0, 500) };
    throw err;
  }
}
