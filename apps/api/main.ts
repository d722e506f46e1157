import './tracing';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../libs/config/config';
import { createLogger } from '../../libs/observability/logger';
import { loadObservabilityConfig } from '../../libs/observability/config';
import { activeTracing, temporalClientInterceptors } from '../../libs/observability/tracing';
import { temporalConnectionOptions } from '../../libs/temporal/connection-options';
import { connectAndMigrate, createDataSource } from '../../libs/persistence/data-source';
import { createApiApp } from './app';

/** The API process: validates, authorises, and starts or queries workflows. It never calls a bank. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required (npm run dev sets it for the embedded database)');
  // Production applies migrations with `npm run migrate`; /health/ready reports any still pending.
  const database = { url: config.databaseUrl, poolSize: config.databasePoolSize, applicationName: 'clearway-api' };
  const dataSource = loadObservabilityConfig(process.env, config).migrationsOnBoot ? await connectAndMigrate(database) : await createDataSource(database).initialize();
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal.address));
  const temporal = new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors() });
  const app = await createApiApp({ config, dataSource, temporal, logger });
  await app.listen(config.api.port, config.api.host);
  logger.info({ url: `http://${config.api.host}:${config.api.port}` }, 'api listening');

  const stop = async (signal: string) => {
    logger.info({ signal }, 'api shutting down');
    await app.close();
    await connection.close();
    await dataSource.destroy();
    await activeTracing()?.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
