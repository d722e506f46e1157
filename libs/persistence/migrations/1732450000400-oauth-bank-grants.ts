import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Sealed OAuth tokens per payment or consent (OAuth/OIDC SCA: UK Open Banking, Berlin Group OAuth). */
export class OAuthBankGrants1732450000400 implements MigrationInterface {
  name = 'OAuthBankGrants1732450000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bank_grants (
        resource_type varchar NOT NULL CHECK (resource_type IN ('payment', 'consent')),
        resource_id uuid NOT NULL,
        tenant_id varchar NOT NULL,
        ciphertext text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (resource_type, resource_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE bank_grants`);
  }
}
