import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel, type WorkflowBundle } from '@temporalio/worker';
import { PeriodicPaymentRepository } from '../../libs/persistence/periodic-payment.repository';
import { Client, Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { createActivities } from '../../activities';
import { createAdapterRegistry } from '../../libs/adapters/registry';
import { PAYSERA_SANDBOX_BIC } from '../../libs/config/sandbox-banks';
import { bankAdaptersFor } from './bank-adapters';
import type { ClearwayConfig } from '../../libs/config/config';
import type { Logger } from '../../libs/observability/logger';
import { CachedDirectoryRepository } from '../../libs/persistence/cached-directory.repository';
import { ConsentRepository } from '../../libs/persistence/consent.repository';
import { OpTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { OpMandateRepository } from '../../libs/persistence/op-mandate.repository';
import { OpOutcomeResolutionRepository } from '../../libs/persistence/op-outcome-resolution.repository';
import { OpenPaymentsHttpAdapter, loadIdentity } from '../../libs/adapters/open-payments';
import { PaymentRepository } from '../../libs/persistence/payment.repository';
import { BulkPaymentRepository } from '../../libs/persistence/bulk-payment.repository';
import { InitiationAttemptRepository, OperatorDecisionRepository } from '../../libs/persistence/initiation-attempt.repository';
import { HandoffRepository } from '../../libs/persistence/handoff.repository';
import { HmacSigner } from '../../libs/security/hmac-signer';
import { SecretBox } from '../../libs/security/secret-box';
import { SensitiveHandoffs } from '../../libs/security/sensitive-handoffs';
import { BankGrants } from '../../libs/security/bank-grants';
import { BankGrantRepository } from '../../libs/persistence/bank-grant.repository';
import { startWebhookWakeups, webhookActivityDeps } from './webhooks';
import { WorkerMetrics, type WorkerStatusSource } from '../../libs/observability/metrics';
import { temporalConnectionOptions } from '../../libs/temporal/connection-options';
import { temporalWorkerTracing } from '../../libs/observability/tracing';
import { observedAdapters, paymentStatusCounter, rememberWorkerMetrics } from './observability';
import { bundleWorkflows } from './workflow-bundle';
import { ukObieAdapter } from './uk-obie';
import { BatchRepository } from '../../libs/persistence/batch.repository';

export { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from './process-settings';
export { bundleWorkflows } from './workflow-bundle';

export interface WorkerDeps {
  config: ClearwayConfig;
  dataSource: DataSource;
  connection: NativeConnection;
  logger: Logger;
  workflowBundle?: WorkflowBundle;
  /** Tuning knobs for tests and benchmarks. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Prometheus metrics of this worker (libs/observability/metrics.ts); a fresh set by default. */
  metrics?: WorkerMetrics;
}

export async function createClearwayWorker(deps: WorkerDeps): Promise<Worker> {
  const { config } = deps;
  const schedules = lazyTemporalClient(config);
  const secrets = new SecretBox(config.keys.encryption);
  const metrics = deps.metrics ?? new WorkerMetrics();
  const payments = new PaymentRepository(deps.dataSource);
  // Every protocol, banks and wallets, through the one registry.
  const adapters = createAdapterRegistry({ ...bankAdaptersFor(config), 'uk-obie': ukObieAdapter(config, deps.dataSource), 'open-payments': openPaymentsAdapter(config) });
  const activities = createActivities({
    payments,
    bulkPayments: new BulkPaymentRepository(deps.dataSource),
    consents: new ConsentRepository(deps.dataSource),
    periodicPayments: new PeriodicPaymentRepository(deps.dataSource),
    handoffs: new SensitiveHandoffs(new HandoffRepository(deps.dataSource), secrets),
    directory: new CachedDirectoryRepository(deps.dataSource),
    adapterFor: observedAdapters(metrics, adapters.adapterFor),
    walletAdapters: adapters.walletAdapters,
    sandboxUrls: { 'berlin-group': config.sandbox.bgUrl, 'uk-obie': config.ukObie.sandboxUrl, byBic: { [PAYSERA_SANDBOX_BIC]: config.sandbox.payseraUrl } },
    publicBaseUrl: config.api.publicBaseUrl,
    callbackSigner: new HmacSigner(config.keys.hmac),
    transfers: new OpTransferRepository(deps.dataSource),
    secrets,
    logger: deps.logger,
    mandates: new OpMandateRepository(deps.dataSource),
    resolutions: new OpOutcomeResolutionRepository(deps.dataSource),
    temporalClient: schedules.get,
    taskQueue: config.temporal.taskQueue,
    initiationAttempts: new InitiationAttemptRepository(deps.dataSource),
    operatorDecisions: new OperatorDecisionRepository(deps.dataSource),
    grants: new BankGrants(new BankGrantRepository(deps.dataSource), secrets),
    ...webhookActivityDeps(config, deps.dataSource),
    webhookMetrics: metrics.webhookMetrics(),
    batches: new BatchRepository(deps.dataSource),
    quoteExpiryMarginMs: config.openPayments.quoteExpiryMarginMs,
    statusRecorded: paymentStatusCounter(metrics, payments, deps.logger),
    // Only bench/floor.bench.ts's probe workflow uses it (and its table, which only that bench creates).
    floor: { dataSource: deps.dataSource, bankUrl: config.sandbox.bgUrl },
  });
  const workflowBundle = deps.workflowBundle ?? (await bundleWorkflows());
  // Two queues, each with the cache its workflows need (libs/temporal/task-queues.ts): busy,
  // short-lived payments must all stay cached; idle, long-lived consents need no slot.
  const common = {
    connection: deps.connection,
    namespace: config.temporal.namespace,
    workflowBundle,
    activities,
    maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivityTaskExecutions ?? 100,
    ...temporalWorkerTracing(),
  };
  const worker = await Worker.create({ ...common, taskQueue: config.temporal.taskQueue, maxCachedWorkflows: config.temporal.maxCachedWorkflows });
  const longLived = await Worker.create({ ...common, taskQueue: config.temporal.longLivedTaskQueue, maxCachedWorkflows: config.temporal.longLivedMaxCachedWorkflows });
  // One process, one worker in the metrics: slots and caches summed, RUNNING only while both run.
  metrics.watch(bothWorkers(worker, longLived));
  rememberWorkerMetrics(worker, metrics);
  // The returned worker stands for both: shutting it down shuts both down, and its run() lasts as
  // long as both run (if either stops, the other is shut down too).
  const shutdown = worker.shutdown.bind(worker);
  worker.shutdown = () => {
    if (longLived.getState() === 'RUNNING') longLived.shutdown();
    shutdown();
  };
  // The client connection (Schedules, webhook wakeups) lives as long as the worker runs.
  const run = worker.run.bind(worker);
  worker.run = async () => {
    const stopWebhookWakeups = await startWebhookWakeups({ config, dataSource: deps.dataSource, client: schedules.get, logger: deps.logger });
    const longLivedRun = longLived.run().finally(() => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    });
    try {
      return await run();
    } finally {
      if (longLived.getState() === 'RUNNING') longLived.shutdown();
      try {
        await longLivedRun;
      } finally {
        stopWebhookWakeups();
        await schedules.close();
      }
    }
  };
  return worker;
}

/** The status of a process's two workers as one: counts summed, RUNNING only while both run. */
export function bothWorkers(a: WorkerStatusSource, b: WorkerStatusSource): WorkerStatusSource {
  return {
    getStatus: () => {
      const [x, y] = [a.getStatus(), b.getStatus()];
      return {
        runState: x.runState === 'RUNNING' ? y.runState : x.runState,
        numCachedWorkflows: x.numCachedWorkflows + y.numCachedWorkflows,
        numInFlightActivities: x.numInFlightActivities + y.numInFlightActivities,
        numInFlightWorkflowActivations: x.numInFlightWorkflowActivations + y.numInFlightWorkflowActivations,
      };
    },
  };
}

/**
 * Schedules are a client API (mandate activities create, pause and delete them): a Client on its
 * own connection to the worker's server, opened on first use.
 */
function lazyTemporalClient(config: ClearwayConfig): { get: () => Promise<Client>; close: () => Promise<void> } {
  let client: Promise<Client> | undefined;
  return {
    get: () =>
      (client ??= Connection.connect(temporalConnectionOptions(config.temporal.address)).then(
        (connection) => new Client({ connection, namespace: config.temporal.namespace }),
        (err) => {
          client = undefined;
          throw err;
        },
      )),
    close: async () => {
      const current = client;
      client = undefined;
      if (current) await (await current.catch(() => undefined))?.connection.close();
    },
  };
}

/** Clearway as an Open Payments client, when this deployment has an identity configured. */
function openPaymentsAdapter(config: ClearwayConfig): OpenPaymentsHttpAdapter | undefined {
  const { walletAddress, keyId, privateKeyPem } = config.openPayments;
  if (!walletAddress || !keyId || !privateKeyPem) return undefined;
  return new OpenPaymentsHttpAdapter(loadIdentity({ walletAddress, keyId, privateKeyPem }), {
    extraCaPem: config.openPayments.extraCaPem,
    // Wallet addresses may be http where the API accepts them (dev); loopback as for every outbound call.
    policy: { allowHttp: config.openPayments.allowHttp, allowLoopback: config.outbound.allowLoopback },
  });
}

/**
 * Route the SDK's own logs (worker lifecycle, workflow `log.*` calls) into our structured logger,
 * at WARN and above by default. Call once per process, before creating workers.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'WARN', metricsBindAddress?: string | null): void {
  const sdkLogger = new DefaultLogger(level, ({ level: lvl, message, meta }) => {
    const method = lvl === 'ERROR' ? 'error' : lvl === 'WARN' ? 'warn' : lvl === 'INFO' ? 'info' : 'debug';
    logger[method]({ ...meta }, message);
  });
  const install = (metrics: string | null | undefined) =>
    Runtime.install({
      logger: sdkLogger,
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level }) },
        // The SDK's runtime metrics (slots, sticky cache, latencies), appended to the worker's /metrics.
        ...(metrics ? { metrics: { prometheus: { bindAddress: metrics, countersTotalSuffix: true, useSecondsForDurations: true } } } : {}),
      },
    });
  try {
    install(metricsBindAddress);
  } catch (err) {
    // Already installed in this process (tests create several workers).
    if (!metricsBindAddress || /already/i.test(String((err as Error)?.message))) return;
    // A metrics port in use must not stop the worker: run without the SDK's metrics, loudly.
    logger.error({ err, bindAddress: metricsBindAddress }, 'Temporal SDK metrics cannot be served; the worker runs without them');
    try {
      install(null);
    } catch {
      // as above
    }
  }
}
