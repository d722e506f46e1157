import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Error codes a bank documents as answered before any processing (`aspsps.not_processed_error_codes`):
 * with one of them even a 5xx to an initiation proves nothing was created, so it may be sent
 * again. Empty by default, sandbox included: without the bank's word a 5xx is ambiguous.
 */
export class DocumentedNotProcessedCodes1732450000101 implements MigrationInterface {
  name = 'DocumentedNotProcessedCodes1732450000101';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aspsps ADD COLUMN not_processed_error_codes text[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aspsps DROP COLUMN not_processed_error_codes`);
  }
}
