import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk payments (one debtor account, one SCA, many transactions) and what each bank offers:
 * - `bulk_payments` (a batch may own one: `batch_id`, `pmt_inf_id`), its transactions, authorisations, events;
 * - `aspsps.bulk_payment_products`: the bulk products a bank offers (empty: no bulk payments);
 * - `aspsps.sandbox_path`: where a sandbox bank is served below its protocol's sandbox URL;
 * - a second sandbox bank, SANDNL2AXXX (NL, SEPA single payments only, no bulk).
 */
export class BulkPayments1732450000200 implements MigrationInterface {
  name = 'BulkPayments1732450000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bulk_payments (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL,
        request_id uuid,
        request_hash char(64),
        bic_fi varchar(11) NOT NULL,
        payment_product varchar(64) NOT NULL,
        debtor_iban varchar(34) NOT NULL,
        debtor_currency char(3),
        debtor_name varchar(140),
        requested_execution_date date,
        batch_booking_preferred boolean,
        currency char(3) NOT NULL,
        number_of_transactions integer NOT NULL CHECK (number_of_transactions > 0),
        control_sum numeric NOT NULL,
        transaction_status varchar(4) NOT NULL,
        raw_transaction_status varchar,
        status_reason varchar,
        sca_approach varchar(16),
        sca_status varchar(32),
        sca_redirect_url varchar,
        psu_message varchar,
        bank_payment_id varchar,
        initiation_outcome varchar(16),
        batch_id uuid,
        pmt_inf_id varchar(35),
        psu_id varchar,
        psu_ip_address varchar,
        client_redirect_uri varchar,
        client_nok_redirect_uri varchar,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1
      )`);
    await q.query(`CREATE UNIQUE INDEX bulk_payments_tenant_request_uq ON bulk_payments (tenant_id, request_id) WHERE request_id IS NOT NULL`);
    await q.query(`CREATE INDEX bulk_payments_batch_idx ON bulk_payments (batch_id) WHERE batch_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE bulk_payment_transactions (
        bulk_payment_id uuid NOT NULL REFERENCES bulk_payments(id) ON DELETE CASCADE,
        idx integer NOT NULL CHECK (idx >= 0),
        end_to_end_id varchar(35) NOT NULL,
        instruction_id varchar(35),
        amount numeric NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        creditor_name varchar(140) NOT NULL,
        creditor_iban varchar(34) NOT NULL,
        creditor_agent varchar(11),
        creditor_address jsonb,
        remittance_information_unstructured varchar(140),
        transaction_status varchar(4) NOT NULL,
        raw_transaction_status varchar,
        reason_code varchar(35),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bulk_payment_id, idx)
      )`);
    await q.query(`
      CREATE TABLE bulk_payment_authorisations (
        bulk_payment_id uuid NOT NULL REFERENCES bulk_payments(id) ON DELETE CASCADE,
        authorisation_id varchar NOT NULL,
        sca_status varchar(32) NOT NULL,
        raw_sca_status varchar NOT NULL,
        sca_approach varchar(16) NOT NULL,
        sca_redirect_url varchar,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bulk_payment_id, authorisation_id)
      )`);
    await q.query(`
      CREATE TABLE bulk_payment_events (
        bulk_payment_id uuid NOT NULL REFERENCES bulk_payments(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind varchar(32) NOT NULL,
        status varchar(32) NOT NULL,
        raw_status varchar,
        reason varchar,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bulk_payment_id, seq)
      )`);

    await q.query(`ALTER TABLE aspsps ADD COLUMN bulk_payment_products text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE aspsps ADD COLUMN sandbox_path varchar`);
    await q.query(
      `UPDATE aspsps SET bulk_payment_products = $1 WHERE bic_fi = 'SANDDEB0XXX'`,
      [['sepa-credit-transfers', 'instant-sepa-credit-transfers', 'pain.001-sepa-credit-transfers', 'pain.001-instant-sepa-credit-transfers']],
    );

    await q.query(`INSERT INTO countries (id, iso_country_code, name) VALUES ($1, 'NL', 'Netherlands') ON CONFLICT DO NOTHING`, [NL_COUNTRY]);
    const [country] = (await q.query(`SELECT id FROM countries WHERE iso_country_code = 'NL'`)) as { id: string }[];
    await q.query(`INSERT INTO cities (id, name, country_id, iso_country_code) VALUES ($1, 'Amsterdam', $2, 'NL')`, [AMSTERDAM, country!.id]);
    // SANDNL2AXXX: a Dutch EUR bank with SEPA single payments only. Served by the same sandbox
    // process under `/nl`; it answers bulk payments as a bank without the service does.
    await q.query(
      `INSERT INTO aspsps (id, bic_fi, name, city_id, iso_country_code, company_number, postal_code, street_address,
         phone, website_url, logo_url, protocol, api_base_url, is_sandbox, payment_products, sca_approaches, sca_timeout_seconds,
         bulk_payment_products, sandbox_path)
       VALUES ($1, 'SANDNL2AXXX', 'Clearway Sandbox Bank NL (Berlin Group)', $2, 'NL', 'KvK 00000000', '1012 AB',
         'Sandboxstraat 2', '+31-20-0000000', NULL, NULL, 'berlin-group', NULL, true, $3, $4, 900, '{}', '/nl')`,
      [NL_BANK, AMSTERDAM, ['sepa-credit-transfers', 'instant-sepa-credit-transfers'], ['REDIRECT', 'DECOUPLED']],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM aspsps WHERE id = $1`, [NL_BANK]);
    await q.query(`DELETE FROM cities WHERE id = $1`, [AMSTERDAM]);
    await q.query(`DELETE FROM countries WHERE id = $1`, [NL_COUNTRY]);
    await q.query(`ALTER TABLE aspsps DROP COLUMN sandbox_path`);
    await q.query(`ALTER TABLE aspsps DROP COLUMN bulk_payment_products`);
    for (const table of ['bulk_payment_events', 'bulk_payment_authorisations', 'bulk_payment_transactions', 'bulk_payments']) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}

const NL_COUNTRY = '5f0c2f36-8a0e-4d65-9d31-0b1f1b4c0d10';
const AMSTERDAM = '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a10';
const NL_BANK = '9b1d3c7e-4f2a-4c1b-9e8d-7f6a5b4c3d10';
