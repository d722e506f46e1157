import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OpenPaymentsTransfers1732450000003 implements MigrationInterface {
  name = 'OpenPaymentsTransfers1732450000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE op_transfers (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL REFERENCES api_clients(client_id),
        request_id uuid NOT NULL,
        request_hash char(64) NOT NULL,
        mandate_id uuid,
        sender_wallet_address varchar NOT NULL,
        receiver varchar NOT NULL,
        debit_amount jsonb,
        receive_amount jsonb,
        redirect_uri varchar,
        metadata jsonb,
        status varchar(32) NOT NULL,
        status_reason varchar,
        incoming_payment_url varchar,
        quote_url varchar,
        quote_expires_at timestamptz,
        quote_debit_amount jsonb,
        quote_receive_amount jsonb,
        outgoing_payment_url varchar,
        sent_amount jsonb,
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
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((debit_amount IS NULL) <> (receive_amount IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX op_transfers_tenant_request_uq ON op_transfers (tenant_id, request_id)`);
    await q.query(`CREATE INDEX op_transfers_tenant_created_idx ON op_transfers (tenant_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE op_transfer_events (
        id bigserial PRIMARY KEY,
        transfer_id uuid NOT NULL REFERENCES op_transfers(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        status varchar(32) NOT NULL,
        reason varchar,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX op_transfer_events_seq_uq ON op_transfer_events (transfer_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS op_transfer_events`);
    await q.query(`DROP TABLE IF EXISTS op_transfers`);
  }
}
