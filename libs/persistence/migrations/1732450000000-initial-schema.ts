import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1732450000000 implements MigrationInterface {
  name = 'InitialSchema1732450000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE countries (
        id uuid PRIMARY KEY,
        iso_country_code char(2) NOT NULL UNIQUE,
        name varchar(140) NOT NULL
      )`);
    await q.query(`
      CREATE TABLE cities (
        id uuid PRIMARY KEY,
        name varchar(140) NOT NULL,
        country_id uuid NOT NULL REFERENCES countries(id),
        iso_country_code char(2) NOT NULL
      )`);
    await q.query(`
      CREATE TABLE aspsps (
        id uuid PRIMARY KEY,
        bic_fi varchar(11) NOT NULL UNIQUE,
        name varchar(140) NOT NULL,
        city_id uuid NOT NULL REFERENCES cities(id),
        iso_country_code char(2) NOT NULL,
        company_number varchar,
        postal_code varchar(20),
        street_address varchar(140),
        phone varchar,
        website_url varchar,
        logo_url varchar,
        protocol varchar(32) NOT NULL,
        api_base_url varchar,
        is_sandbox boolean NOT NULL DEFAULT false,
        payment_products text[] NOT NULL,
        sca_approaches text[] NOT NULL,
        sca_timeout_seconds integer NOT NULL DEFAULT 900,
        CHECK (api_base_url IS NOT NULL OR is_sandbox)
      )`);
    await q.query(`
      CREATE TABLE api_clients (
        client_id varchar(100) PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        secret_hash varchar NOT NULL,
        allowed_scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL REFERENCES api_clients(client_id),
        request_id uuid NOT NULL,
        request_hash char(64) NOT NULL,
        bic_fi varchar(11) NOT NULL REFERENCES aspsps(bic_fi),
        payment_service varchar(32) NOT NULL DEFAULT 'payments',
        payment_product varchar(64) NOT NULL,
        body jsonb NOT NULL,
        currency char(3) NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        psu_id varchar,
        psu_ip_address varchar,
        client_redirect_uri varchar,
        client_nok_redirect_uri varchar,
        bank_payment_id varchar,
        transaction_status varchar(4) NOT NULL,
        raw_transaction_status varchar,
        status_reason varchar,
        sca_approach varchar(16),
        sca_status varchar(32),
        sca_redirect_url varchar,
        psu_message varchar,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
      )`);
    await q.query(`CREATE UNIQUE INDEX payments_tenant_request_uq ON payments (tenant_id, request_id)`);
    await q.query(`CREATE INDEX payments_tenant_created_idx ON payments (tenant_id, created_at DESC)`);
    await q.query(`
      CREATE TABLE payment_authorisations (
        payment_id uuid NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
        authorisation_id varchar NOT NULL,
        sca_status varchar(32) NOT NULL,
        raw_sca_status varchar NOT NULL,
        sca_approach varchar(16) NOT NULL,
        sca_redirect_url varchar,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (payment_id, authorisation_id)
      )`);
    await q.query(`
      CREATE TABLE payment_events (
        id bigserial PRIMARY KEY,
        payment_id uuid NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind varchar(32) NOT NULL,
        status varchar(32) NOT NULL,
        raw_status varchar,
        reason varchar,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX payment_events_payment_seq_uq ON payment_events (payment_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['payment_events', 'payment_authorisations', 'payments', 'api_clients', 'aspsps', 'cities', 'countries']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
