import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batch cancel (`DELETE /batches/v1/batches/{id}`): when the TPP asked (the final status then says
 * `cancelled` or `partially_completed`), and which single payments the batch never started
 * because of it (no payment row exists for them).
 */
export class BatchCancel1732450001400 implements MigrationInterface {
  name = 'BatchCancel1732450001400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batches ADD COLUMN cancel_requested_at timestamptz NULL`);
    await q.query(`ALTER TABLE batch_transactions ADD COLUMN cancelled_at timestamptz NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batch_transactions DROP COLUMN cancelled_at`);
    await q.query(`ALTER TABLE batches DROP COLUMN cancel_requested_at`);
  }
}
