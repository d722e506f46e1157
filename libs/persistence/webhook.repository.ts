import type { DataSource, EntityManager } from 'typeorm';
import type { WebhookEventType } from '../webhooks/events';
import {
  ResourceNotificationSubscriptionEntity,
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookEndpointEntity,
  type NotificationContent,
  type WebhookDeliveryFormat,
  type WebhookDeliveryStatus,
} from './entities/webhook.entity';

export type NewEndpoint = Pick<WebhookEndpointEntity, 'id' | 'tenantId' | 'url' | 'description' | 'eventTypes' | 'secretSealed'>;
export type EndpointChanges = Partial<Pick<WebhookEndpointEntity, 'url' | 'description' | 'eventTypes' | 'enabled'>>;

/** A delivery the dispatcher is about to send, with the event it carries. */
export interface DueDelivery {
  id: string;
  eventId: string;
  format: WebhookDeliveryFormat;
  targetUrl: string | null;
  scheduleStep: number;
  type: WebhookEventType;
  tenantId: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** What one attempt did, as the dispatcher records it. */
export interface AttemptOutcome {
  deliveryId: string;
  attemptedAt: Date;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  /** Pending again at this time, or null when delivered or given up. */
  nextAttemptAt: Date | null;
  /** After a failure: true when the schedule is exhausted. */
  gaveUp: boolean;
}

/**
 * The delivery is the oldest pending one of its resource for its target: the endpoint's URL (format
 * `event`) or the resource's TPP-Notification-URI (`bg_notification`), so a failing notification URI
 * never holds back the endpoint's own webhooks.
 */
const HEAD_OF_SUBJECT = `NOT EXISTS (
  SELECT 1 FROM webhook_deliveries earlier
   WHERE earlier.endpoint_id = d.endpoint_id AND earlier.subject_id = d.subject_id AND earlier.status = 'pending'
     AND earlier.format = d.format AND earlier.id < d.id)`;

/**
 * Webhook endpoints, their deliveries and Berlin Group notification subscriptions. What the API
 * reads and changes is scoped by tenant first; the dispatcher (worker) addresses an endpoint by id,
 * as the workflow that owns it.
 */
export class WebhookRepository {
  constructor(private readonly ds: DataSource) {}

  async createEndpoint(e: NewEndpoint): Promise<WebhookEndpointEntity> {
    await this.ds.getRepository(WebhookEndpointEntity).insert({ ...e, enabled: true });
    return this.ds.getRepository(WebhookEndpointEntity).findOneByOrFail({ tenantId: e.tenantId, id: e.id });
  }

  listEndpoints(tenantId: string): Promise<WebhookEndpointEntity[]> {
    return this.ds.getRepository(WebhookEndpointEntity).find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  findEndpoint(tenantId: string, id: string): Promise<WebhookEndpointEntity | null> {
    return this.ds.getRepository(WebhookEndpointEntity).findOneBy({ tenantId, id });
  }

  /** Enabling clears the failure record; disabling by the client records who did it. */
  async updateEndpoint(tenantId: string, id: string, changes: EndpointChanges): Promise<WebhookEndpointEntity | null> {
    const fields: Partial<WebhookEndpointEntity> = { ...changes };
    if (changes.enabled === true) Object.assign(fields, { disabledReason: null, disabledAt: null, failingSince: null });
    if (changes.enabled === false) Object.assign(fields, { disabledReason: 'Disabled by the client', disabledAt: new Date() });
    if (Object.keys(fields).length) await this.ds.getRepository(WebhookEndpointEntity).update({ tenantId, id }, fields);
    return this.findEndpoint(tenantId, id);
  }

  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    const result = await this.ds.getRepository(WebhookEndpointEntity).delete({ tenantId, id });
    return (result.affected ?? 0) > 0;
  }

  /** The new secret signs from now on; the current one keeps signing beside it until `previousExpiresAt`. */
  async rotateSecret(tenantId: string, id: string, newSealed: string, previousExpiresAt: Date): Promise<WebhookEndpointEntity | null> {
    await this.ds
      .createQueryBuilder()
      .update(WebhookEndpointEntity)
      .set({ previousSecretSealed: () => 'secret_sealed', previousSecretExpiresAt: previousExpiresAt, secretSealed: newSealed })
      .where('tenant_id = :tenantId AND id = :id', { tenantId, id })
      .execute();
    return this.findEndpoint(tenantId, id);
  }

  async listDeliveries(
    tenantId: string,
    endpointId: string,
    opts: { limit: number; before?: string; status?: WebhookDeliveryStatus },
  ): Promise<{ delivery: WebhookDeliveryEntity; eventType: string }[]> {
    const qb = this.ds
      .getRepository(WebhookDeliveryEntity)
      .createQueryBuilder('d')
      .where('d.tenantId = :tenantId AND d.endpointId = :endpointId', { tenantId, endpointId });
    if (opts.before) qb.andWhere('d.id < :before', { before: opts.before });
    if (opts.status) qb.andWhere('d.status = :status', { status: opts.status });
    const deliveries = await qb.orderBy('d.id', 'DESC').limit(opts.limit).getMany();
    const types = await this.eventTypes(deliveries.map((d) => d.eventId));
    return deliveries.map((delivery) => ({ delivery, eventType: types.get(delivery.eventId) ?? 'unknown' }));
  }

  async eventTypes(eventIds: string[]): Promise<Map<string, string>> {
    if (!eventIds.length) return new Map();
    const rows: { id: string; type: string }[] = await this.ds.query('SELECT id, type FROM domain_events WHERE id = ANY ($1::uuid[])', [eventIds]);
    return new Map(rows.map((r) => [r.id, r.type]));
  }

  findDelivery(tenantId: string, endpointId: string, deliveryId: string): Promise<WebhookDeliveryEntity | null> {
    return this.ds.getRepository(WebhookDeliveryEntity).findOneBy({ tenantId, endpointId, id: deliveryId });
  }

  listAttempts(deliveryId: string): Promise<WebhookDeliveryAttemptEntity[]> {
    return this.ds.getRepository(WebhookDeliveryAttemptEntity).find({ where: { deliveryId }, order: { id: 'ASC' } });
  }

  /** A delivery sent again from the start of the retry schedule (delivered ones too: the receiver dedupes by webhook-id). */
  async retryDelivery(tenantId: string, endpointId: string, deliveryId: string): Promise<boolean> {
    const result = await this.ds
      .getRepository(WebhookDeliveryEntity)
      .update({ tenantId, endpointId, id: deliveryId }, { status: 'pending', scheduleStep: 0, nextAttemptAt: null });
    return (result.affected ?? 0) > 0;
  }

  /** Every event of the tenant since `since` that the endpoint subscribes to, queued again. Returns how many. */
  async replay(tenantId: string, endpointId: string, since: Date, until: Date): Promise<number> {
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, subject_id, format)
       SELECT e.tenant_id, w.id, e.id, e.subject_id, 'event'
         FROM domain_events e JOIN webhook_endpoints w ON w.id = $2 AND w.tenant_id = e.tenant_id
        WHERE e.tenant_id = $1 AND e.occurred_at >= $3 AND e.occurred_at <= $4
          AND (w.event_types IS NULL OR e.type = ANY (w.event_types))
        ORDER BY e.occurred_at, e.id
       RETURNING id`,
      [tenantId, endpointId, since, until],
    );
    return rows.length;
  }

  /**
   * Subscribes a resource to Berlin Group notifications and queues the events it already has, in one
   * transaction holding the resource's outbox lock (see appendEvent): no event falls between the two.
   */
  async subscribeNotifications(s: Pick<ResourceNotificationSubscriptionEntity, 'subjectId' | 'tenantId' | 'endpointId' | 'uri' | 'content'>): Promise<string[]> {
    return this.ds.transaction(async (em: EntityManager) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [s.subjectId]);
      const inserted = await em.createQueryBuilder().insert().into(ResourceNotificationSubscriptionEntity).values(s).orIgnore().returning(['subject_id']).execute();
      if (inserted.raw.length === 0) return [];
      const rows: { endpoint_id: string }[] = await em.query(
        `INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, subject_id, format, target_url)
         SELECT e.tenant_id, $2, e.id, e.subject_id, 'bg_notification', $3
           FROM domain_events e
          WHERE e.subject_id = $1 AND e.tenant_id = $4
            AND (e.notification_content = ANY ($5::text[]) OR (e.notification_final AND 'LAST' = ANY ($5::text[])))
          ORDER BY e.occurred_at, e.id
         RETURNING endpoint_id`,
        [s.subjectId, s.endpointId, s.uri, s.tenantId, s.content as NotificationContent[]],
      );
      return rows.map((r) => r.endpoint_id);
    });
  }

  findNotificationSubscription(tenantId: string, subjectId: string): Promise<ResourceNotificationSubscriptionEntity | null> {
    return this.ds.getRepository(ResourceNotificationSubscriptionEntity).findOneBy({ tenantId, subjectId });
  }

  // --- the dispatcher's side -------------------------------------------------------------

  /** The worker's view of an endpoint: by id, since the dispatcher workflow owns it. */
  findEndpointForDispatch(id: string): Promise<WebhookEndpointEntity | null> {
    return this.ds.getRepository(WebhookEndpointEntity).findOneBy({ id });
  }

  /**
   * Due deliveries, each the oldest pending one of its resource: a resource's next event waits until
   * the one before it is delivered or given up, so events of one resource arrive in order.
   */
  async dueDeliveries(endpointId: string, now: Date, limit: number): Promise<DueDelivery[]> {
    const rows: {
      id: string;
      event_id: string;
      format: WebhookDeliveryFormat;
      target_url: string | null;
      schedule_step: number;
      type: WebhookEventType;
      tenant_id: string;
      payload: Record<string, unknown>;
      occurred_at: Date;
    }[] = await this.ds.query(
      `SELECT d.id, d.event_id, d.format, d.target_url, d.schedule_step, e.type, e.tenant_id, e.payload, e.occurred_at
         FROM webhook_deliveries d JOIN domain_events e ON e.id = d.event_id
        WHERE d.endpoint_id = $1 AND d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $2)
          AND ${HEAD_OF_SUBJECT}
        ORDER BY d.id
        LIMIT $3`,
      [endpointId, now, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      format: r.format,
      targetUrl: r.target_url,
      scheduleStep: r.schedule_step,
      type: r.type,
      tenantId: r.tenant_id,
      data: r.payload,
      createdAt: r.occurred_at,
    }));
  }

  /** When the next pending delivery at the head of its resource is due (null: nothing pending). */
  async nextDueAt(endpointId: string): Promise<Date | null> {
    const [row]: { next: Date | null; any_now: boolean | null }[] = await this.ds.query(
      `SELECT min(d.next_attempt_at) AS next, bool_or(d.next_attempt_at IS NULL) AS any_now
         FROM webhook_deliveries d
        WHERE d.endpoint_id = $1 AND d.status = 'pending' AND ${HEAD_OF_SUBJECT}`,
      [endpointId],
    );
    if (row?.any_now) return new Date(0);
    return row?.next ?? null;
  }

  /**
   * Records a round of attempts and the endpoint's health in one transaction. Returns the endpoint's
   * `failingSince` afterwards (null when it answered any attempt with a 2xx).
   */
  async recordAttempts(endpointId: string, outcomes: AttemptOutcome[], now: Date): Promise<{ failingSince: Date | null }> {
    return this.ds.transaction(async (em) => {
      if (outcomes.length) {
        const values: unknown[] = [];
        const tuples = outcomes.map((o, i) => {
          const status: WebhookDeliveryStatus = o.ok ? 'delivered' : o.gaveUp ? 'failed' : 'pending';
          values.push(o.deliveryId, status, o.attemptedAt, o.statusCode, o.latencyMs, o.error, o.nextAttemptAt, o.ok ? o.attemptedAt : null);
          const p = i * 8;
          return `($${p + 1}::bigint, $${p + 2}::varchar, $${p + 3}::timestamptz, $${p + 4}::int, $${p + 5}::int, $${p + 6}::varchar, $${p + 7}::timestamptz, $${p + 8}::timestamptz)`;
        });
        await em.query(
          `UPDATE webhook_deliveries d
              SET status = v.status, attempts = d.attempts + 1, schedule_step = d.schedule_step + 1,
                  last_attempt_at = v.attempted_at, last_status_code = v.status_code, last_latency_ms = v.latency_ms,
                  last_error = v.error, next_attempt_at = v.next_attempt_at, delivered_at = COALESCE(v.delivered_at, d.delivered_at)
             FROM (VALUES ${tuples.join(', ')}) AS v(id, status, attempted_at, status_code, latency_ms, error, next_attempt_at, delivered_at)
            WHERE d.id = v.id AND d.endpoint_id = $${values.length + 1}`,
          [...values, endpointId],
        );
        await em
          .createQueryBuilder()
          .insert()
          .into(WebhookDeliveryAttemptEntity)
          .values(outcomes.map((o) => ({ deliveryId: o.deliveryId, attemptedAt: o.attemptedAt, statusCode: o.statusCode, latencyMs: o.latencyMs, error: o.error })))
          .execute();
      }
      const anyOk = outcomes.some((o) => o.ok);
      const anyFailed = outcomes.some((o) => !o.ok);
      const endpoints = em.getRepository(WebhookEndpointEntity);
      if (anyOk) await endpoints.update({ id: endpointId }, { failingSince: null });
      else if (anyFailed) {
        await em
          .createQueryBuilder()
          .update(WebhookEndpointEntity)
          .set({ failingSince: () => 'COALESCE(failing_since, :now)' })
          .setParameter('now', now)
          .where('id = :id', { id: endpointId })
          .execute();
      }
      const endpoint = await endpoints.findOneBy({ id: endpointId });
      return { failingSince: endpoint?.failingSince ?? null };
    });
  }

  /** While set (and in the future), outbox commits do not signal this endpoint's dispatcher: it polls. */
  async setStreamingUntil(endpointId: string, until: Date | null): Promise<void> {
    await this.ds.getRepository(WebhookEndpointEntity).update({ id: endpointId }, { streamingUntil: until });
  }

  /** Disables an endpoint that kept failing; pending deliveries wait for it to be enabled again. */
  async disableEndpoint(endpointId: string, reason: string, at: Date): Promise<void> {
    await this.ds.getRepository(WebhookEndpointEntity).update({ id: endpointId }, { enabled: false, disabledReason: reason.slice(0, 1000), disabledAt: at });
  }

  /** For the sweep: enabled endpoints with a delivery due now. */
  async endpointsWithDueDeliveries(now: Date, limit: number): Promise<{ endpointId: string; tenantId: string }[]> {
    const rows: { endpoint_id: string; tenant_id: string }[] = await this.ds.query(
      `SELECT w.id AS endpoint_id, w.tenant_id
         FROM webhook_endpoints w
        WHERE w.enabled AND EXISTS (
          SELECT 1 FROM webhook_deliveries d
           WHERE d.endpoint_id = w.id AND d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $1))
        LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => ({ endpointId: r.endpoint_id, tenantId: r.tenant_id }));
  }
}
