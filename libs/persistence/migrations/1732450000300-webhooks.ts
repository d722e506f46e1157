import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks. `domain_events` (created with consents) becomes the transactional outbox: every status
 * change writes its event in the same transaction, and the same statement fans it out into one
 * `webhook_deliveries` row per subscribed endpoint (and per Berlin Group TPP-Notification-URI).
 * Dispatcher workflows drain those rows; nothing about an event lives in Temporal history but ids.
 */
export class Webhooks1732450000300 implements MigrationInterface {
  name = 'Webhooks1732450000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        url varchar(2048) NOT NULL,
        description varchar(500),
        -- NULL: every event type, including ones added later.
        event_types text[],
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason varchar(1000),
        disabled_at timestamptz,
        -- First failed attempt since the last success; an endpoint failing for 3 days is disabled.
        failing_since timestamptz,
        -- Signing secrets, sealed (AES-256-GCM). The previous one keeps signing until it expires.
        secret_sealed text NOT NULL,
        previous_secret_sealed text,
        previous_secret_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, created_at)`);
    await q.query(`CREATE INDEX domain_events_subject_idx ON domain_events (subject_id, occurred_at)`);
    // Which Berlin Group notification an event is (SCA or PROCESS, and whether it is the last status).
    await q.query(`ALTER TABLE domain_events ADD COLUMN notification_content varchar(8), ADD COLUMN notification_final boolean NOT NULL DEFAULT false`);
    // A Berlin Group TPP-Notification-URI given at initiation: that resource's changes go there,
    // signed with the secret of the tenant's endpoint whose host it belongs to.
    await q.query(`
      CREATE TABLE resource_notification_subscriptions (
        subject_id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        uri varchar(2048) NOT NULL,
        content text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id bigserial PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
        event_id uuid NOT NULL REFERENCES domain_events(id) ON DELETE CASCADE,
        -- Ordering key: a resource's events reach an endpoint in the order they happened.
        subject_id uuid NOT NULL,
        format varchar(16) NOT NULL,
        -- A TPP-Notification-URI; NULL means the endpoint's own URL.
        target_url varchar(2048),
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        schedule_step integer NOT NULL DEFAULT 0,
        -- NULL: due now.
        next_attempt_at timestamptz,
        last_attempt_at timestamptz,
        last_status_code integer,
        last_latency_ms integer,
        last_error varchar(500),
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, id) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX webhook_deliveries_pending_subject_idx ON webhook_deliveries (endpoint_id, subject_id, id) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, id DESC)`);
    await q.query(`
      CREATE TABLE webhook_delivery_attempts (
        id bigserial PRIMARY KEY,
        delivery_id bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempted_at timestamptz NOT NULL,
        status_code integer,
        latency_ms integer,
        error varchar(500)
      )`);
    await q.query(`CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['webhook_delivery_attempts', 'webhook_deliveries', 'resource_notification_subscriptions', 'webhook_endpoints']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DROP INDEX IF EXISTS domain_events_subject_idx`);
    await q.query(`ALTER TABLE domain_events DROP COLUMN IF EXISTS notification_content, DROP COLUMN IF EXISTS notification_final`);
  }
}
