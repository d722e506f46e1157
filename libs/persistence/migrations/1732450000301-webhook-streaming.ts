import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * While a dispatcher streams an endpoint's deliveries (a busy, healthy endpoint), it advertises so
 * here: outbox commits then skip the Temporal signal, which the streaming round does not need.
 */
export class WebhookStreaming1732450000301 implements MigrationInterface {
  name = 'WebhookStreaming1732450000301';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_endpoints ADD COLUMN streaming_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_endpoints DROP COLUMN IF EXISTS streaming_until`);
  }
}
