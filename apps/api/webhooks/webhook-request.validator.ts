import { isWebhookEventType, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../../libs/webhooks/events';
import { checkOutboundUrl, OutboundUrlRefused, type OutboundPolicy, type Resolver } from '../../../libs/security/outbound-url';
import type { NotificationContent } from '../../../libs/persistence/entities/webhook.entity';
import { ApiError } from '../common/api-error';

export interface EndpointRequest {
  url: string;
  description: string | null;
  /** null: every event type. */
  eventTypes: WebhookEventType[] | null;
}

export type EndpointPatch = Partial<EndpointRequest & { enabled: boolean }>;

const CREATE_FIELDS = new Set(['url', 'description', 'eventTypes']);
const PATCH_FIELDS = new Set([...CREATE_FIELDS, 'enabled']);

/** `POST /webhooks/v1/endpoints`: the URL is resolved and every address checked before it is stored. */
export async function validateEndpointRequest(raw: unknown, policy: OutboundPolicy, resolve?: Resolver): Promise<EndpointRequest> {
  const body = object(raw, CREATE_FIELDS);
  if (body.url === undefined) throw ApiError.format('url', 'is required');
  return {
    url: await endpointUrl('url', body.url, policy, resolve),
    description: description(body.description),
    eventTypes: eventTypes(body.eventTypes),
  };
}

export async function validateEndpointPatch(raw: unknown, policy: OutboundPolicy, resolve?: Resolver): Promise<EndpointPatch> {
  const body = object(raw, PATCH_FIELDS);
  const patch: EndpointPatch = {};
  if (body.url !== undefined) patch.url = await endpointUrl('url', body.url, policy, resolve);
  if (body.description !== undefined) patch.description = description(body.description);
  if (body.eventTypes !== undefined) patch.eventTypes = eventTypes(body.eventTypes);
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw ApiError.format('enabled', 'must be true or false');
    patch.enabled = body.enabled;
  }
  if (!Object.keys(patch).length) throw ApiError.format('body', `name at least one of ${[...PATCH_FIELDS].join(', ')}`);
  return patch;
}

/** A URL Clearway will POST to: https to public addresses outside development (libs/security/outbound-url.ts). */
export async function endpointUrl(path: string, raw: unknown, policy: OutboundPolicy, resolve?: Resolver): Promise<string> {
  if (typeof raw !== 'string' || raw.length > 2048) throw ApiError.format(path, 'must be a URL of at most 2,048 characters');
  try {
    return (await checkOutboundUrl(raw, policy, resolve)).href;
  } catch (err) {
    if (err instanceof OutboundUrlRefused) throw ApiError.format(path, err.message);
    throw err;
  }
}

function description(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || raw.length > 500 || /[\u0000-\u001f\u007f]|[\ud800-\udfff]/.test(raw)) {
    throw ApiError.format('description', 'must be text of at most 500 characters without control characters');
  }
  return raw;
}

function eventTypes(raw: unknown): WebhookEventType[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw) || raw.length === 0) throw ApiError.format('eventTypes', 'must be a non-empty array of event types, or null for all');
  raw.forEach((t, i) => {
    if (!isWebhookEventType(t)) throw ApiError.format(`eventTypes[${i}]`, `unknown event type; known: ${Object.keys(WEBHOOK_EVENT_TYPES).join(', ')}`);
  });
  return [...new Set(raw as WebhookEventType[])];
}

function object(raw: unknown, fields: Set<string>): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw ApiError.format('body', 'must be a JSON object');
  for (const key of Object.keys(raw)) if (!fields.has(key)) throw ApiError.format(key, 'unknown field');
  return raw as Record<string, unknown>;
}

/** `?since=` and `&until=` of a replay: ISO 8601 instants, since before until, at most 30 days back. */
export function validateReplayWindow(since: string | undefined, until: string | undefined, now = new Date()): { since: Date; until: Date } {
  const parse = (name: string, value: string) => {
    const at = /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : new Date(NaN);
    if (Number.isNaN(at.getTime())) throw ApiError.format(name, 'must be an ISO 8601 date-time, e.g. 2026-12-01T08:00:00Z');
    return at;
  };
  if (since === undefined) throw ApiError.format('since', 'is required');
  const window = { since: parse('since', since), until: until === undefined ? now : parse('until', until) };
  if (window.since > window.until) throw ApiError.format('since', 'must be before until');
  if (now.getTime() - window.since.getTime() > 30 * 24 * 3_600_000) throw ApiError.format('since', 'must be within the last 30 days');
  return window;
}

/** Berlin Group `TPP-Notification-Content-Preferred`: `status=X1, ..., Xn` with X in SCA, PROCESS, LAST, none repeated. */
export function parseNotificationContent(raw: string | undefined): NotificationContent[] {
  if (raw === undefined) return ['PROCESS'];
  const match = /^\s*status\s*=\s*(.+)$/i.exec(raw);
  const values = match ? match[1]!.split(',').map((v) => v.trim().toUpperCase()) : [];
  if (!values.length || values.some((v) => v !== 'SCA' && v !== 'PROCESS' && v !== 'LAST') || new Set(values).size !== values.length) {
    throw ApiError.format('TPP-Notification-Content-Preferred', 'must be "status=" followed by SCA, PROCESS and/or LAST, comma-separated, none repeated');
  }
  return values as NotificationContent[];
}
