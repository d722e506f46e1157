import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ASPSP directory Clearway ships with. Sandbox banks have no base URL here: deployment config
 * (SANDBOX_BG_URL) says where they run. Real banks are added by later migrations as they are onboarded.
 */
const COUNTRIES = [
  { id: '5f0c2f36-8a0e-4d65-9d31-0b1f1b4c0d01', code: 'DE', name: 'Germany' },
  { id: '5f0c2f36-8a0e-4d65-9d31-0b1f1b4c0d02', code: 'SE', name: 'Sweden' },
  { id: '5f0c2f36-8a0e-4d65-9d31-0b1f1b4c0d03', code: 'LT', name: 'Lithuania' },
];

const CITIES = [
  { id: '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a01', name: 'Berlin', country: 'DE' },
  { id: '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a02', name: 'Frankfurt am Main', country: 'DE' },
  { id: '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a03', name: 'Stockholm', country: 'SE' },
  { id: '7a3e51c2-2b7d-4f0e-8f6a-3c2d1e0f0a04', name: 'Vilnius', country: 'LT' },
];

export class SeedAspspDirectory1732450000001 implements MigrationInterface {
  name = 'SeedAspspDirectory1732450000001';

  async up(q: QueryRunner): Promise<void> {
    for (const c of COUNTRIES) {
      await q.query(`INSERT INTO countries (id, iso_country_code, name) VALUES ($1, $2, $3)`, [c.id, c.code, c.name]);
    }
    for (const city of CITIES) {
      const country = COUNTRIES.find((c) => c.code === city.country)!;
      await q.query(`INSERT INTO cities (id, name, country_id, iso_country_code) VALUES ($1, $2, $3, $4)`, [
        city.id,
        city.name,
        country.id,
        country.code,
      ]);
    }
    // SANDDEB0XXX: the Berlin Group sandbox bank. A German EUR bank: SEPA, instant SEPA and
    // international; it offers no "domestic" (non-euro) product, as a real German bank would not.
    await q.query(
      `INSERT INTO aspsps (id, bic_fi, name, city_id, iso_country_code, company_number, postal_code, street_address,
         phone, website_url, logo_url, protocol, api_base_url, is_sandbox, payment_products, sca_approaches, sca_timeout_seconds)
       VALUES ($1, 'SANDDEB0XXX', 'Clearway Sandbox Bank (Berlin Group)', $2, 'DE', 'HRB 000000', '10117',
         'Sandboxstraße 1', '+49-30-0000000', 'http://127.0.0.1:3001/berlin-group', NULL, 'berlin-group', NULL, true,
         $3, $4, 900)`,
      [
        '9b1d3c7e-4f2a-4c1b-9e8d-7f6a5b4c3d01',
        CITIES[0].id,
        ['sepa-credit-transfers', 'instant-sepa-credit-transfers', 'international'],
        ['REDIRECT', 'DECOUPLED'],
      ],
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM aspsps WHERE bic_fi = 'SANDDEB0XXX'`);
    await q.query(`DELETE FROM cities WHERE id = ANY($1)`, [CITIES.map((c) => c.id)]);
    await q.query(`DELETE FROM countries WHERE id = ANY($1)`, [COUNTRIES.map((c) => c.id)]);
  }
}
