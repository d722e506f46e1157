import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OpenPaymentsMandates1732450000004 implements MigrationInterface {
  name = 'OpenPaymentsMandates1732450000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE op_mandates (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL REFERENCES api_clients(client_id),
        request_id uuid NOT NULL,
        request_hash char(64) NOT NULL,
        sender_wallet_address varchar NOT NULL,
        receiver varchar NOT NULL,
        debit_amount jsonb NOT NULL,
        interval varchar NOT NULL,
        redirect_uri varchar,
        metadata jsonb,
        status varchar(32) NOT NULL,
        status_reason varchar,
        schedule_id varchar,
        -- GNAP state. Tokens are sealed (AES-256-GCM); they never enter workflow history.
        interact_redirect varchar,
        client_nonce varchar,
        finish_nonce varchar,
        grant_endpoint varchar,
        continue_uri varchar,
        continue_token_sealed text,
        access_token_sealed text,
        access_token_manage_url varchar,
        access_token_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX op_mandates_tenant_request_uq ON op_mandates (tenant_id, request_id)`);
    await q.query(`CREATE INDEX op_mandates_tenant_created_idx ON op_mandates (tenant_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE op_mandate_payments (
        id bigserial PRIMARY KEY,
        mandate_id uuid NOT NULL REFERENCES op_mandates(id) ON DELETE CASCADE,
        period_start timestamptz NOT NULL,
        status varchar(32) NOT NULL,
        reason varchar,
        incoming_payment_url varchar,
        quote_url varchar,
        quote_expires_at timestamptz,
        outgoing_payment_url varchar,
        sent_amount jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX op_mandate_payments_period_uq ON op_mandate_payments (mandate_id, period_start)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS op_mandate_payments`);
    await q.query(`DROP TABLE IF EXISTS op_mandates`);
  }
}
