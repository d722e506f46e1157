import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cancellation authorisations of bulk payments (BG `cancellation-authorisations` on
 * `bulk-payments`): bulks live in `bulk_payments`, not `payments`, so they get their own table
 * beside `bulk_payment_authorisations` (same columns as `payment_cancellation_authorisations`).
 */
export class BulkPaymentCancellations1732450001100 implements MigrationInterface {
  name = 'BulkPaymentCancellations1732450001100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bulk_payment_cancellation_authorisations (
        bulk_payment_id uuid NOT NULL REFERENCES bulk_payments (id) ON DELETE CASCADE,
        cancellation_id varchar(200) NOT NULL,
        sca_status varchar(32) NOT NULL,
        raw_sca_status varchar(64) NOT NULL,
        sca_approach varchar(16) NOT NULL,
        sca_redirect_url varchar NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bulk_payment_id, cancellation_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE bulk_payment_cancellation_authorisations');
  }
}
