import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The status the bank answered the initiation with, kept apart from the payment's current status.
 * An initiation run again after its workflow task was lost (a local activity, patch
 * `payment-local-bank-calls`) hands back the recorded answer; by then the lost task may already
 * have recorded later statuses (an SCA-exempt payment's first poll), and handing back the current
 * status sent the workflow down another path (found by the small chaos run: an exempt payment
 * answered ACSP, polled PDNG, was handed back PDNG and waited for an SCA that never comes).
 * Null for payments initiated before this column: their hand-back falls back to the current status.
 */
export class PaymentInitiationStatus1732450001500 implements MigrationInterface {
  name = 'PaymentInitiationStatus1732450001500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments ADD COLUMN initiation_status varchar(4) NULL, ADD COLUMN raw_initiation_status varchar NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments DROP COLUMN raw_initiation_status, DROP COLUMN initiation_status`);
  }
}
