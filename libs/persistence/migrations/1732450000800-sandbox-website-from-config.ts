import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sandbox bank's website was seeded as http://127.0.0.1:3001/berlin-group, whatever port and
 * host the deployment gives it. It now comes from configuration (SANDBOX_BG_PUBLIC_URL, else
 * SANDBOX_BG_URL), so the row no longer carries one.
 */
export class SandboxWebsiteFromConfig1732450000800 implements MigrationInterface {
  name = 'SandboxWebsiteFromConfig1732450000800';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE aspsps SET website_url = NULL WHERE is_sandbox`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE aspsps SET website_url = 'http://127.0.0.1:3001/berlin-group' WHERE bic_fi = 'SANDDEB0XXX'`);
  }
}
