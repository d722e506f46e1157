import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { BankAdapter, BankProtocol } from '../../libs/adapters/bank-adapter';
import type { Logger } from '../../libs/observability/logger';
import { METRICS_CONTENT_TYPE, WorkerMetrics, metricsText, processRegistry } from '../../libs/observability/metrics';
import type { RecordedStatusChange } from '../../activities/payment.activities';
import type { PaymentRepository } from '../../libs/persistence/payment.repository';

/**
 * The worker's observability wiring: bank adapters timed per BIC and operation, webhook deliveries
 * counted, payment status changes (and SCA outcomes, time to SCA) counted after they are recorded,
 * and the worker's slots and cache read from `Worker.getStatus()`. See libs/observability/metrics.ts.
 */
export function observedAdapters(metrics: WorkerMetrics, adapterFor: (protocol: BankProtocol) => BankAdapter): (protocol: BankProtocol) => BankAdapter {
  const cache = new Map<BankProtocol, BankAdapter>();
  return (protocol) => {
    let adapter = cache.get(protocol);
    if (!adapter) cache.set(protocol, (adapter = metrics.instrumentAdapter(adapterFor(protocol))));
    return adapter;
  };
}

/**
 * Counts each payment status change once it is stored (the payment activities' `statusRecorded`
 * hook). The bank and the SCA's start come with the change (the workflow knows both); only a change
 * scheduled by an older workflow version, or by a periodic payment, without them reads them from the
 * payment's row. Never rejects: a change that could not be counted is still stored.
 */
export function paymentStatusCounter(
  metrics: WorkerMetrics,
  payments: Pick<PaymentRepository, 'findById' | 'findAuthorisation'>,
  logger: Logger,
): (change: RecordedStatusChange) => Promise<void> {
  return async (change) => {
    if (change.bicFi) {
      const scaStartedAt = change.kind === 'sca_status' && change.scaStartedAt !== undefined ? new Date(change.scaStartedAt) : undefined;
      metrics.paymentStatusChanged({ kind: change.kind, status: change.status, bic: change.bicFi, scaStartedAt });
      return;
    }
    try {
      const payment = await payments.findById(change.paymentId);
      if (!payment) return;
      let scaStartedAt: Date | undefined;
      if (change.kind === 'sca_status') {
        const authorisation = change.authorisationId ? await payments.findAuthorisation(payment.tenantId, payment.id, change.authorisationId) : null;
        scaStartedAt = authorisation?.createdAt ?? payment.createdAt;
      }
      metrics.paymentStatusChanged({ kind: change.kind, status: change.status, bic: payment.bicFi, scaStartedAt });
    } catch (err) {
      logger.debug({ err }, 'could not count a payment status change');
    }
  };
}

export interface WorkerMetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics`: this process's metrics and, appended, the Temporal SDK's runtime metrics from its
 * loopback exporter (`temporal_*`: task slots, sticky cache, poll and schedule-to-start latencies).
 * `GET /health/live`: 200 while the process runs.
 */
export async function startWorkerMetricsServer(opts: {
  host: string;
  port: number;
  registries: Registry[];
  temporalMetricsUrl?: string;
  logger: Logger;
}): Promise<WorkerMetricsServer> {
  const registries = [processRegistry(), ...opts.registries];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/health/live') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"up"}');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      const temporal = opts.temporalMetricsUrl ? await temporalRuntimeMetrics(opts.temporalMetricsUrl) : undefined;
      const text = await metricsText(registries, temporal === undefined ? [] : [temporal]);
      res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(text);
    })().catch((err) => {
      opts.logger.warn({ err }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The SDK core's exposition, or a comment saying why it is missing (a scrape never fails for it). */
async function temporalRuntimeMetrics(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return `# Temporal runtime metrics unavailable: HTTP ${res.status}\n`;
    return await res.text();
  } catch (err) {
    return `# Temporal runtime metrics unavailable: ${(err as Error).message}\n`;
  }
}

/** A worker's metrics, by worker (the worker main and tests read them from here). */
const metricsByWorker = new WeakMap<object, WorkerMetrics>();

export function rememberWorkerMetrics(worker: object, metrics: WorkerMetrics): void {
  metricsByWorker.set(worker, metrics);
}

export function workerMetricsOf(worker: object): WorkerMetrics | undefined {
  return metricsByWorker.get(worker);
}
