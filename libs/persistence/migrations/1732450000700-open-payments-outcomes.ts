import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Open Payments outcomes against real wallets: a write-ahead mark before an outgoing payment is
 * requested (a later attempt knows the wallet may have it and looks it up first), when Clearway
 * completed the incoming payment it created, and the audit trail of operators resolving an
 * outcome that stayed unknown.
 */
export class OpenPaymentsOutcomes1732450000700 implements MigrationInterface {
  name = 'OpenPaymentsOutcomes1732450000700';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['op_transfers', 'op_mandate_payments']) {
      await q.query(`ALTER TABLE ${table} ADD COLUMN payment_requested_at timestamptz`);
      await q.query(`ALTER TABLE ${table} ADD COLUMN incoming_payment_closed_at timestamptz`);
    }
    await q.query(`
      CREATE TABLE op_outcome_resolutions (
        id bigserial PRIMARY KEY,
        -- One row per ruling: the unknown episode it answers (a retried write records it once).
        resolution_key varchar(200) NOT NULL UNIQUE,
        tenant_id varchar(100) NOT NULL,
        transfer_id uuid REFERENCES op_transfers(id) ON DELETE CASCADE,
        mandate_id uuid REFERENCES op_mandates(id) ON DELETE CASCADE,
        period_start timestamptz,
        decision varchar(16) NOT NULL CHECK (decision IN ('paid', 'not_paid')),
        outgoing_payment_url varchar,
        operator varchar(200) NOT NULL,
        note varchar(2000) NOT NULL,
        decided_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((transfer_id IS NULL) <> (mandate_id IS NULL)),
        CHECK ((mandate_id IS NULL) = (period_start IS NULL)),
        CHECK ((decision = 'paid') = (outgoing_payment_url IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX op_outcome_resolutions_transfer_idx ON op_outcome_resolutions (transfer_id) WHERE transfer_id IS NOT NULL`);
    await q.query(`CREATE INDEX op_outcome_resolutions_mandate_idx ON op_outcome_resolutions (mandate_id, period_start) WHERE mandate_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS op_outcome_resolutions`);
    for (const table of ['op_transfers', 'op_mandate_payments']) {
      await q.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS incoming_payment_closed_at`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN IF EXISTS payment_requested_at`);
    }
  }
}
