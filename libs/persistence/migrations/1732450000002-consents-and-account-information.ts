import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsentsAndAccountInformation1732450000002 implements MigrationInterface {
  name = 'ConsentsAndAccountInformation1732450000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE consents (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL REFERENCES api_clients(client_id),
        request_id uuid NOT NULL,
        request_hash char(64) NOT NULL,
        bic_fi varchar(11) NOT NULL REFERENCES aspsps(bic_fi),
        access jsonb NOT NULL,
        recurring_indicator boolean NOT NULL,
        requested_valid_until date NOT NULL,
        valid_until date,
        frequency_per_day integer NOT NULL CHECK (frequency_per_day >= 1),
        combined_service_indicator boolean NOT NULL,
        psu_id varchar,
        psu_ip_address varchar,
        client_redirect_uri varchar,
        client_nok_redirect_uri varchar,
        bank_consent_id varchar,
        consent_status varchar(32) NOT NULL,
        raw_consent_status varchar,
        status_reason varchar,
        sca_approach varchar(16),
        sca_status varchar(32),
        sca_redirect_url varchar,
        psu_message varchar,
        last_action_date date,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX consents_tenant_request_uq ON consents (tenant_id, request_id)`);
    await q.query(`
      CREATE TABLE consent_authorisations (
        consent_id uuid NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
        authorisation_id varchar NOT NULL,
        sca_status varchar(32) NOT NULL,
        raw_sca_status varchar NOT NULL,
        sca_approach varchar(16) NOT NULL,
        sca_redirect_url varchar,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consent_id, authorisation_id)
      )`);
    await q.query(`
      CREATE TABLE consent_events (
        id bigserial PRIMARY KEY,
        consent_id uuid NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind varchar(32) NOT NULL,
        status varchar(32) NOT NULL,
        raw_status varchar,
        reason varchar,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX consent_events_consent_seq_uq ON consent_events (consent_id, seq)`);
    // Events for clients (webhooks pick them up from here). dedupe_key makes emitting idempotent.
    await q.query(`
      CREATE TABLE domain_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id varchar(100) NOT NULL,
        type varchar(64) NOT NULL,
        subject_id uuid NOT NULL,
        dedupe_key varchar(200) NOT NULL UNIQUE,
        payload jsonb NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX domain_events_tenant_time_idx ON domain_events (tenant_id, occurred_at)`);
    // Hands a bank's answer from the worker to the API without putting account data in workflow history.
    await q.query(`
      CREATE TABLE ais_read_results (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        consent_id uuid NOT NULL REFERENCES consents(id) ON DELETE CASCADE,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX ais_read_results_expiry_idx ON ais_read_results (expires_at)`);
    // Secrets a PSU types (embedded SCA passwords, OTPs) on their way from the API to an activity:
    // encrypted, short-lived, deleted once used; never in workflow history.
    await q.query(`
      CREATE TABLE sensitive_handoffs (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        purpose varchar(64) NOT NULL,
        ciphertext text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['sensitive_handoffs', 'ais_read_results', 'domain_events', 'consent_events', 'consent_authorisations', 'consents']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
