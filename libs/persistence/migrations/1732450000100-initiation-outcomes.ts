import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exactly once against banks that do not deduplicate (`libs/domain/initiation-safety.ts`):
 * - every attempt to create something at a bank is written down before it is sent
 *   (`bank_initiation_attempts`), so a retry after a crash knows an earlier attempt may have
 *   reached the bank;
 * - a payment whose initiation outcome is unknown says so (`payments.initiation_outcome`);
 * - an operator's decision on such a payment is audited (`operator_decisions`: who, when, what, why);
 * - the directory knows whether a bank may exempt payments from SCA (strict default: it may).
 */
export class InitiationOutcomes1732450000100 implements MigrationInterface {
  name = 'InitiationOutcomes1732450000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aspsps ADD COLUMN sca_exemptions_possible boolean NOT NULL DEFAULT true`);
    await q.query(`ALTER TABLE payments ADD COLUMN initiation_outcome varchar(16)`);
    await q.query(`CREATE INDEX payments_initiation_unknown_idx ON payments (tenant_id, created_at) WHERE initiation_outcome = 'unknown'`);
    await q.query(`
      CREATE TABLE bank_initiation_attempts (
        resource_type varchar(16) NOT NULL,
        resource_id uuid NOT NULL,
        attempt integer NOT NULL CHECK (attempt > 0),
        request_id uuid NOT NULL,
        state varchar(16) NOT NULL CHECK (state IN ('sending', 'created', 'not_processed', 'refused', 'ambiguous')),
        bank_resource_id varchar,
        http_status integer,
        detail varchar(300),
        orphan_state varchar(16) CHECK (orphan_state IN ('cancelled', 'cancel_failed')),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (resource_type, resource_id, attempt)
      )`);
    await q.query(`
      CREATE TABLE operator_decisions (
        id bigserial PRIMARY KEY,
        tenant_id varchar(100) NOT NULL,
        resource_type varchar(16) NOT NULL,
        resource_id uuid NOT NULL,
        update_id varchar(200) NOT NULL,
        operator varchar(200) NOT NULL,
        decision varchar(32) NOT NULL,
        bank_resource_id varchar,
        reason varchar(1000) NOT NULL,
        decided_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (resource_type, resource_id, update_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE operator_decisions`);
    await q.query(`DROP TABLE bank_initiation_attempts`);
    await q.query(`DROP INDEX payments_initiation_unknown_idx`);
    await q.query(`ALTER TABLE payments DROP COLUMN initiation_outcome`);
    await q.query(`ALTER TABLE aspsps DROP COLUMN sca_exemptions_possible`);
  }
}
