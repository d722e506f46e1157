import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Berlin Group OAuth + certificate profile (as Paysera serves it):
 * - `client_certificate_ref`: which client certificate Clearway presents to the bank over mTLS
 *   (a reference resolved from configuration: `qwac` is Clearway's QWAC; null: none);
 * - `debtor_account_optional`: the bank lets the PSU pick the debtor account during SCA, so a
 *   payment may be initiated without one;
 * - `oauth_metadata_url`: the bank's OAuth authorisation server metadata (RFC 8414), for the OAuth
 *   SCA approach; null: `/.well-known/oauth-authorization-server` at the origin of its API;
 * - SANDLT21XXX, the Paysera-profile sandbox bank: Lithuania, OAuth SCA only, mTLS with the QWAC.
 */
export class PayseraProfileSandbox1732450001000 implements MigrationInterface {
  name = 'PayseraProfileSandbox1732450001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE aspsps ADD COLUMN client_certificate_ref varchar(64) NULL`);
    await q.query(`ALTER TABLE aspsps ADD COLUMN debtor_account_optional boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE aspsps ADD COLUMN oauth_metadata_url varchar NULL`);
    await q.query(
      `INSERT INTO aspsps (id, bic_fi, name, city_id, iso_country_code, company_number, postal_code, street_address,
         phone, website_url, logo_url, protocol, api_base_url, is_sandbox, payment_products, sca_approaches, sca_timeout_seconds,
         client_certificate_ref, debtor_account_optional)
       VALUES ($1, 'SANDLT21XXX', 'Clearway Sandbox Bank LT (Berlin Group, OAuth SCA)', $2, 'LT', '000000000', 'LT-01100',
         'Smėlio g. 1', '+370-5-0000000', NULL, NULL, 'berlin-group', NULL, true, $3, $4, 900, 'qwac', true)`,
      ['9b1d3c7e-4f2a-4c1b-9e8d-7f6a5b4c3d21', '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a04', ['sepa-credit-transfers', 'instant-sepa-credit-transfers'], ['OAUTH']],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM aspsps WHERE bic_fi = 'SANDLT21XXX'`);
    await q.query(`ALTER TABLE aspsps DROP COLUMN oauth_metadata_url`);
    await q.query(`ALTER TABLE aspsps DROP COLUMN debtor_account_optional`);
    await q.query(`ALTER TABLE aspsps DROP COLUMN client_certificate_ref`);
  }
}
