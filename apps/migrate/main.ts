import { loadConfig } from '../../libs/config/config';
import { createLogger } from '../../libs/observability/logger';
import { connectAndMigrate } from '../../libs/persistence/data-source';

/**
 * `npm run migrate` (or `node dist/apps/migrate/main.js` in the image): applies pending database
 * migrations, each in its own transaction, and exits. Production runs it once per release (a
 * release step, an init container, compose's `migrate` service) before the API replicas start;
 * the API then only checks in `/health/ready` that nothing is pending (MIGRATIONS_ON_BOOT=false,
 * the default with NODE_ENV=production). `npm run dev` applies them itself.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('migrate');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required');
  const dataSource = await connectAndMigrate({ url: config.databaseUrl, poolSize: 1, applicationName: 'clearway-migrate' });
  try {
    const rows: { name: string }[] = await dataSource.query(`SELECT name FROM "${dataSource.options.migrationsTableName}" ORDER BY id`);
    logger.info({ applied: rows.length, latest: rows.at(-1)?.name }, 'database migrations applied');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
