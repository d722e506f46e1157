import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../libs/config/config';
import { createLogger } from '../../libs/observability/logger';
import { createDataSource } from '../../libs/persistence/data-source';
import { createClearwayWorker, installTemporalRuntime } from './worker';

/** The worker process: hosts the payment workflows and the activities that wrap the bank adapters. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required (npm run dev sets it for the embedded database)');
  installTemporalRuntime(logger.child({ component: 'temporal-sdk' }));
  // The API process owns migrations; the worker only connects.
  const dataSource = await createDataSource({ url: config.databaseUrl, poolSize: config.databasePoolSize, applicationName: 'clearway-worker' }).initialize();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createClearwayWorker({ config, dataSource, connection, logger });

  // Once, and only while running: the SDK's Runtime also shuts workers down on SIGINT/SIGTERM, and
  // a second shutdown() throws IllegalStateError ("Not running. Current state: DRAINING").
  const stop = (signal: string) => {
    if (worker.getState() !== 'RUNNING') return;
    logger.info({ signal }, 'worker shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  logger.info({ taskQueue: config.temporal.taskQueue, temporal: config.temporal.address }, 'worker started');
  try {
    await worker.run();
  } finally {
    await connection.close();
    await dataSource.destroy();
    logger.info('worker stopped');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
