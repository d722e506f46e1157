import type { MigrationInterface, QueryRunner } from 'typeorm';

const GB = { id: '5f0c2f36-8a0e-4d65-9d31-0b1f1b4c0d40', code: 'GB', name: 'United Kingdom' };
const LONDON = { id: '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a40', name: 'London' };

/**
 * UK Open Banking: the OAuth clients Clearway registers at banks (DCR), and the UK sandbox bank
 * `SANDGB2LXXX` (GBP domestic payments and account information, redirect SCA through the FAPI
 * hybrid flow). A UK payment consent executes only when Clearway submits the payment with the
 * PSU's authorisation, so it never executes without SCA: `sca_exemptions_possible` is false.
 */
export class UkOpenBanking1732450000401 implements MigrationInterface {
  name = 'UkOpenBanking1732450000401';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE bank_registrations (
        bic_fi varchar(11) NOT NULL,
        base_url varchar NOT NULL,
        client_id varchar NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bic_fi, base_url)
      )`);
    await q.query(`INSERT INTO countries (id, iso_country_code, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [GB.id, GB.code, GB.name]);
    const [country] = await q.query(`SELECT id FROM countries WHERE iso_country_code = 'GB'`);
    await q.query(`INSERT INTO cities (id, name, country_id, iso_country_code) VALUES ($1, $2, $3, 'GB')`, [LONDON.id, LONDON.name, country.id]);
    await q.query(
      `INSERT INTO aspsps (id, bic_fi, name, city_id, iso_country_code, company_number, postal_code, street_address,
         phone, website_url, logo_url, protocol, api_base_url, is_sandbox, payment_products, sca_approaches, sca_timeout_seconds,
         sca_exemptions_possible)
       VALUES ($1, 'SANDGB2LXXX', 'Clearway Sandbox Bank (UK Open Banking)', $2, 'GB', '00000000', 'EC2V 7HH',
         '1 Sandbox Lane', '+44-20-0000-0000', NULL, NULL, 'uk-obie', NULL, true, $3, $4, 900, false)`,
      ['9b1d3c7e-4f2a-4c1b-9e8d-7f6a5b4c3d40', LONDON.id, ['domestic'], ['REDIRECT']],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM aspsps WHERE bic_fi = 'SANDGB2LXXX'`);
    await q.query(`DELETE FROM cities WHERE id = $1`, [LONDON.id]);
    await q.query(`DELETE FROM countries WHERE id = $1`, [GB.id]);
    await q.query(`DROP TABLE bank_registrations`);
  }
}
