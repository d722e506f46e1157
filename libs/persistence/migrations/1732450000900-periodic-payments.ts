import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Standing orders: the order's own facts beside its `payments` row (payment_service
 * 'periodic-payments'), its observed executions, and its cancellation authorisations (any payment
 * service's, keyed by payment id).
 */
export class PeriodicPayments1732450000900 implements MigrationInterface {
  name = 'PeriodicPayments1732450000900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE periodic_payments (
        payment_id uuid PRIMARY KEY REFERENCES payments (id) ON DELETE CASCADE,
        tenant_id varchar(100) NOT NULL,
        observation_consent_id uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE periodic_payment_executions (
        payment_id uuid NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
        execution_index integer NOT NULL,
        execution_date date NOT NULL,
        outcome varchar(16) NOT NULL,
        reason varchar(200) NULL,
        booking_date date NULL,
        bank_transaction_id varchar(200) NULL,
        observed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (payment_id, execution_index)
      )`);
    await q.query(`
      CREATE TABLE payment_cancellation_authorisations (
        payment_id uuid NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
        cancellation_id varchar(200) NOT NULL,
        sca_status varchar(32) NOT NULL,
        raw_sca_status varchar(64) NOT NULL,
        sca_approach varchar(16) NOT NULL,
        sca_redirect_url varchar NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (payment_id, cancellation_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE payment_cancellation_authorisations');
    await q.query('DROP TABLE periodic_payment_executions');
    await q.query('DROP TABLE periodic_payments');
  }
}
