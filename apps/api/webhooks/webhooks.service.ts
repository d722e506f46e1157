import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { ClearwayConfig } from '../../../libs/config/config';
import type { Logger } from '../../../libs/observability/logger';
import type { WebhookDeliveryStatus, WebhookEndpointEntity } from '../../../libs/persistence/entities/webhook.entity';
import { WebhookRepository } from '../../../libs/persistence/webhook.repository';
import { SecretBox } from '../../../libs/security/secret-box';
import { dispatcherSettings, wakeOrLeaveToSweep } from '../../../libs/webhooks/dispatchers';
import { WEBHOOK_EVENT_TYPES } from '../../../libs/webhooks/events';
import { sealEndpointSecret } from '../../../libs/webhooks/secrets';
import { newSigningSecret } from '../../../libs/webhooks/signing';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import type { HttpResult } from '../common/http-result';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { toDeliveryResponse, toEndpointResponse, WEBHOOKS_BASE } from './webhook.mapper';
import { validateEndpointPatch, validateEndpointRequest, validateReplayWindow } from './webhook-request.validator';

/** Both secrets sign for this long after a rotation, so receivers can switch without losing a message. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 3_600_000;
const DELIVERY_STATUSES = new Set<WebhookDeliveryStatus>(['pending', 'delivered', 'failed']);

/** Webhook endpoints of a tenant, their delivery log, retries and replays. */
@Injectable()
export class WebhooksService {
  constructor(
    @Inject(WebhookRepository) private readonly webhooks: WebhookRepository,
    @Inject(SecretBox) private readonly box: SecretBox,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  eventTypes() {
    return { eventTypes: Object.entries(WEBHOOK_EVENT_TYPES).map(([type, description]) => ({ type, description })) };
  }

  /** The signing secret is in this answer and in no other (until the next rotation). */
  async create(principal: Principal, raw: unknown): Promise<HttpResult<object>> {
    const request = await validateEndpointRequest(raw, this.config.outbound);
    const id = randomUUID();
    const secret = newSigningSecret();
    const endpoint = await this.webhooks.createEndpoint({ id, tenantId: principal.tenantId, ...request, secretSealed: sealEndpointSecret(this.box, id, secret) });
    this.logger.info({ endpointId: id, tenantId: principal.tenantId }, 'webhook endpoint created');
    return { status: 201, body: { ...toEndpointResponse(endpoint), secret }, headers: { Location: `${WEBHOOKS_BASE}/${id}` } };
  }

  async list(principal: Principal) {
    return { endpoints: (await this.webhooks.listEndpoints(principal.tenantId)).map(toEndpointResponse) };
  }

  async get(principal: Principal, id: string) {
    return toEndpointResponse(await this.find(principal, id));
  }

  async update(principal: Principal, id: string, raw: unknown) {
    const before = await this.find(principal, id);
    const patch = await validateEndpointPatch(raw, this.config.outbound);
    const endpoint = (await this.webhooks.updateEndpoint(principal.tenantId, id, patch)) ?? before;
    // Enabled again: what waited while it was disabled goes out now.
    if (patch.enabled && !before.enabled) await this.wake(endpoint);
    return toEndpointResponse(endpoint);
  }

  async delete(principal: Principal, id: string): Promise<HttpResult<object>> {
    if (!(await this.webhooks.deleteEndpoint(principal.tenantId, id))) throw ApiError.notFound(`Webhook endpoint ${id}`);
    return { status: 204 };
  }

  async rotateSecret(principal: Principal, id: string) {
    await this.find(principal, id);
    const secret = newSigningSecret();
    const previousSecretExpiresAt = new Date(Date.now() + SECRET_ROTATION_OVERLAP_MS);
    await this.webhooks.rotateSecret(principal.tenantId, id, sealEndpointSecret(this.box, id, secret), previousSecretExpiresAt);
    return { endpointId: id, secret, previousSecretExpiresAt: previousSecretExpiresAt.toISOString() };
  }

  async deliveries(principal: Principal, id: string, query: { limit?: string; before?: string; status?: string }) {
    await this.find(principal, id);
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw ApiError.format('limit', 'must be an integer from 1 to 200');
    if (query.before !== undefined && !/^\d{1,18}$/.test(query.before)) throw ApiError.format('before', 'must be a deliveryId from a next link');
    if (query.status !== undefined && !DELIVERY_STATUSES.has(query.status as WebhookDeliveryStatus)) throw ApiError.format('status', 'must be pending, delivered or failed');
    const page = await this.webhooks.listDeliveries(principal.tenantId, id, { limit: limit + 1, before: query.before, status: query.status as WebhookDeliveryStatus | undefined });
    const deliveries = page.slice(0, limit).map((r) => toDeliveryResponse(id, r.delivery, r.eventType));
    const next = page.length > limit ? deliveries[limit - 1]!.deliveryId : undefined;
    const filter = query.status ? `&status=${query.status}` : '';
    return {
      deliveries,
      _links: { self: { href: `${WEBHOOKS_BASE}/${id}/deliveries` }, ...(next ? { next: { href: `${WEBHOOKS_BASE}/${id}/deliveries?limit=${limit}&before=${next}${filter}` } } : {}) },
    };
  }

  async delivery(principal: Principal, id: string, deliveryId: string) {
    await this.find(principal, id);
    const delivery = await this.findDelivery(principal, id, deliveryId);
    const types = await this.webhooks.eventTypes([delivery.eventId]);
    return toDeliveryResponse(id, delivery, types.get(delivery.eventId) ?? 'unknown', await this.webhooks.listAttempts(delivery.id));
  }

  /** Sends one delivery again now, from the start of the retry schedule. */
  async retry(principal: Principal, id: string, deliveryId: string): Promise<HttpResult<object>> {
    const endpoint = await this.enabled(principal, id);
    await this.findDelivery(principal, id, deliveryId);
    await this.webhooks.retryDelivery(principal.tenantId, id, deliveryId);
    await this.wake(endpoint);
    return { status: 202, body: { deliveryId, status: 'pending' } };
  }

  /** Queues every event since `since` (until `until`, default now) again, after an outage. Receivers dedupe by webhook-id. */
  async replay(principal: Principal, id: string, since: string | undefined, until: string | undefined): Promise<HttpResult<object>> {
    const endpoint = await this.enabled(principal, id);
    const window = validateReplayWindow(since, until);
    const queued = await this.webhooks.replay(principal.tenantId, id, window.since, window.until);
    if (queued) await this.wake(endpoint);
    this.logger.info({ endpointId: id, tenantId: principal.tenantId, queued }, 'webhook replay queued');
    return { status: 202, body: { endpointId: id, since: window.since.toISOString(), until: window.until.toISOString(), queued } };
  }

  private async find(principal: Principal, id: string): Promise<WebhookEndpointEntity> {
    const endpoint = await this.webhooks.findEndpoint(principal.tenantId, id);
    if (!endpoint) throw ApiError.notFound(`Webhook endpoint ${id}`);
    return endpoint;
  }

  private async enabled(principal: Principal, id: string): Promise<WebhookEndpointEntity> {
    const endpoint = await this.find(principal, id);
    if (!endpoint.enabled) throw new ApiError(ApiErrorCode.StatusInvalid, 'The endpoint is disabled; enable it first (PATCH {"enabled": true})');
    return endpoint;
  }

  private async findDelivery(principal: Principal, id: string, deliveryId: string) {
    const delivery = /^\d{1,18}$/.test(deliveryId) ? await this.webhooks.findDelivery(principal.tenantId, id, deliveryId) : null;
    if (!delivery) throw ApiError.notFound(`Delivery ${deliveryId}`);
    return delivery;
  }

  private wake(endpoint: WebhookEndpointEntity): Promise<void> {
    return wakeOrLeaveToSweep(this.temporal, dispatcherSettings(this.config), { endpointId: endpoint.id, tenantId: endpoint.tenantId }, this.logger);
  }
}
