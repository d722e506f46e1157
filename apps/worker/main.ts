import './tracing';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../libs/config/config';
import { createLogger } from '../../libs/observability/logger';
import { createDataSource } from '../../libs/persistence/data-source';
import { loadObservabilityConfig } from '../../libs/observability/config';
import { activeTracing } from '../../libs/observability/tracing';
import { temporalConnectionOptions } from '../../libs/temporal/connection-options';
import { startWorkerMetricsServer, workerMetricsOf } from './observability';
import { createClearwayWorker, installTemporalRuntime } from './worker';
import { bundleWorkflowsInChildProcess } from './workflow-bundle';

/** The worker process: hosts the payment workflows and the activities that wrap the bank adapters. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker');
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required (npm run dev sets it for the embedded database)');
  // Bundled in a child process (webpack's heap does not stay in this one's RSS), while we connect.
  const bundling = bundleWorkflowsInChildProcess();
  bundling.catch(() => undefined); // awaited below; a failed connection first must not leave it unhandled
  const observability = loadObservabilityConfig(process.env, config);
  installTemporalRuntime(logger.child({ component: 'temporal-sdk' }), 'WARN', observability.temporalMetricsBindAddress);
  // The API process owns migrations; the worker only connects.
  const dataSource = await createDataSource({ url: config.databaseUrl, poolSize: config.databasePoolSize, applicationName: 'clearway-worker' }).initialize();
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal.address));
  const worker = await createClearwayWorker({ config, dataSource, connection, logger, workflowBundle: await bundling });
  // A metrics port in use must not stop the worker: it runs without its listener, loudly.
  const metricsServer = observability.workerMetrics
    ? await startWorkerMetricsServer({
        ...observability.workerMetrics,
        registries: [workerMetricsOf(worker)!.registry],
        temporalMetricsUrl: observability.temporalMetricsBindAddress ? `http://${observability.temporalMetricsBindAddress}/metrics` : undefined,
        logger,
      }).catch((err) => {
        logger.error({ err, port: observability.workerMetrics!.port }, 'worker metrics cannot be served; the worker runs without them');
        return undefined;
      })
    : undefined;
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'worker metrics listening');

  // Once, and only while running: the SDK's Runtime also shuts workers down on SIGINT/SIGTERM, and
  // a second shutdown() throws IllegalStateError ("Not running. Current state: DRAINING").
  const stop = (signal: string) => {
    if (worker.getState() !== 'RUNNING') return;
    logger.info({ signal }, 'worker shutting down');
    worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  logger.info({ taskQueue: config.temporal.taskQueue, longLivedTaskQueue: config.temporal.longLivedTaskQueue, temporal: config.temporal.address }, 'worker started');
  try {
    await worker.run();
  } finally {
    await metricsServer?.close();
    await connection.close();
    await dataSource.destroy();
    await activeTracing()?.shutdown();
    logger.info('worker stopped');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
