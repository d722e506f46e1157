import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Batches: an uploaded pain.001, its PmtInf blocks and its transactions. Workflows carry only the
 * batch id and counts; everything a 100,000-transaction file says lives here.
 */
export class Batches1732450000250 implements MigrationInterface {
  name = 'Batches1732450000250';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE batches (
        id uuid PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        client_id varchar(100) NOT NULL,
        msg_id varchar(35) NOT NULL,
        file_sha256 char(64) NOT NULL,
        pain_version varchar(20) NOT NULL,
        request_id uuid NOT NULL,
        number_of_transactions integer NOT NULL,
        number_of_payment_infos integer NOT NULL,
        control_sum varchar(40) NOT NULL,
        totals jsonb NOT NULL,
        status varchar(24) NOT NULL,
        status_reason varchar,
        psu_id varchar,
        psu_ip_address varchar,
        client_redirect_uri varchar,
        client_nok_redirect_uri varchar,
        completed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX batches_tenant_msg_uq ON batches (tenant_id, msg_id)`);
    await q.query(`CREATE INDEX batches_tenant_created_idx ON batches (tenant_id, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE batch_payment_infos (
        batch_id uuid NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        pmt_inf_index integer NOT NULL,
        pmt_inf_id varchar(35) NOT NULL,
        route varchar(8) NOT NULL,
        bic_fi varchar(11) NOT NULL,
        payment_product varchar(64) NOT NULL,
        payment_id uuid,
        debtor_iban varchar(34) NOT NULL,
        debtor_name varchar,
        requested_execution_date varchar(10) NOT NULL,
        batch_booking boolean,
        number_of_transactions integer NOT NULL,
        control_sum varchar(40) NOT NULL,
        totals jsonb NOT NULL,
        PRIMARY KEY (batch_id, pmt_inf_index),
        UNIQUE (batch_id, pmt_inf_id)
      )`);
    await q.query(`
      CREATE TABLE batch_transactions (
        batch_id uuid NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        pmt_inf_index integer NOT NULL,
        tx_index integer NOT NULL,
        end_to_end_id varchar(35) NOT NULL,
        instruction_id varchar(35),
        amount varchar(20) NOT NULL,
        currency char(3) NOT NULL,
        amount_minor bigint NOT NULL,
        creditor_name varchar,
        creditor_iban varchar(34) NOT NULL,
        creditor_agent_bic varchar(11),
        remittance_information varchar,
        payment_id uuid,
        PRIMARY KEY (batch_id, pmt_inf_index, tx_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE batch_transactions`);
    await q.query(`DROP TABLE batch_payment_infos`);
    await q.query(`DROP TABLE batches`);
  }
}
