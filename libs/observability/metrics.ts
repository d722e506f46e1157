import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CollectFunction } from 'prom-client';
import type { DataSource } from 'typeorm';
import { BankError, type BankAdapter, type BankConnection } from '../adapters/bank-adapter';
import type { WebhookAttemptOutcome, WebhookMetrics } from '../webhooks/metrics';

/**
 * Prometheus metrics (prom-client 15). Every series Clearway exports is declared here, with its
 * name, labels and where it is served; docs/observability.md lists them for operators.
 *
 * Labels never carry personal data: a bank is labelled by its BIC (a public identifier of the
 * bank, not of a person), statuses by their ISO 20022 / Berlin Group code, operations by the
 * adapter method. No tenant, PSU, IBAN, amount or resource id is ever a label.
 *
 * Served by
 * - the API (`GET /metrics` on the API port): {@link ApiMetrics} + {@link processRegistry};
 * - the worker (`GET /metrics` on WORKER_METRICS_PORT): {@link WorkerMetrics} +
 *   {@link processRegistry} + the Temporal SDK's own runtime metrics (`temporal_*`), which the
 *   SDK's core serves on a loopback port and the worker's listener appends to its answer.
 */

/** The metric names, for docs and tests. */
export const METRIC_NAMES = {
  // API, read from the database at scrape time (the whole deployment's state, the same from every replica).
  payments: 'clearway_payments',
  consents: 'clearway_consents',
  paymentAuthorisations: 'clearway_payment_authorisations',
  consentAuthorisations: 'clearway_consent_authorisations',
  // API, per process.
  httpRequests: 'clearway_http_requests_total',
  httpDuration: 'clearway_http_request_duration_seconds',
  // Worker, per process.
  bankRequestDuration: 'clearway_bank_request_duration_seconds',
  bankErrors: 'clearway_bank_errors_total',
  paymentStatusChanges: 'clearway_payment_status_changes_total',
  scaOutcomes: 'clearway_sca_outcomes_total',
  timeToSca: 'clearway_time_to_sca_seconds',
  webhookAttempts: 'clearway_webhook_delivery_attempts_total',
  webhookLatency: 'clearway_webhook_delivery_latency_seconds',
  webhookEndpointsDisabled: 'clearway_webhook_endpoints_disabled_total',
  workerCachedWorkflows: 'clearway_worker_cached_workflows',
  workerInFlightActivities: 'clearway_worker_inflight_activities',
  workerInFlightActivations: 'clearway_worker_inflight_workflow_activations',
  workerRunning: 'clearway_worker_running',
} as const;

/** Bank calls: 10 ms … 30 s (sandbox answers in milliseconds, real banks in hundreds, a timeout at 15 s). */
const BANK_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
/** API requests: POST /payments waits for the bank's answer (up to 25 s). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];
/** Time to SCA: a decoupled approval takes seconds, a redirect minutes, the timeout is 15 minutes. */
const SCA_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800];

let processRegistryInstance: Registry | undefined;

/** Node.js process metrics (`process_*`, `nodejs_*`): one set per process, shared by API and worker. */
export function processRegistry(): Registry {
  if (!processRegistryInstance) {
    processRegistryInstance = new Registry();
    collectDefaultMetrics({ register: processRegistryInstance });
  }
  return processRegistryInstance;
}

/** The Prometheus text of several registries (their metric names must not overlap), plus raw text blocks. */
export async function metricsText(registries: Registry[], extra: string[] = []): Promise<string> {
  const parts = await Promise.all(registries.map((r) => r.metrics()));
  return [...parts, ...extra].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

// ─── API ────────────────────────────────────────────────────────────────────────────────────────

/**
 * The API's metrics: request counts and latencies by route template (never the concrete path,
 * which holds ids), and the deployment's payments, consents and SCA outcomes read from the
 * database at scrape time.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(dataSource?: DataSource) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: METRIC_NAMES.httpRequests,
      help: 'HTTP requests answered by the API, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: METRIC_NAMES.httpDuration,
      help: 'Time the API took to answer, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    if (dataSource) this.registerDatabaseGauges(dataSource);
  }

  private registerDatabaseGauges(ds: DataSource): void {
    const registers = [this.registry];
    const fromQuery = (sql: string, labels: string[]): CollectFunction<Gauge<string>> =>
      async function (this: Gauge<string>) {
        this.reset();
        const rows: Record<string, string | number>[] = await ds.query(sql).catch(() => []);
        for (const row of rows) {
          this.set(Object.fromEntries(labels.map((l) => [l, String(row[l] ?? 'none')])), Number(row.count));
        }
      };
    new Gauge({
      name: METRIC_NAMES.payments,
      help: 'Payments in the database, by transaction status and bank (BIC); read at scrape time',
      labelNames: ['status', 'bic'],
      registers,
      collect: fromQuery('SELECT transaction_status AS status, bic_fi AS bic, count(*)::int AS count FROM payments GROUP BY 1, 2', ['status', 'bic']),
    });
    new Gauge({
      name: METRIC_NAMES.consents,
      help: 'Consents in the database, by consent status and bank (BIC); read at scrape time',
      labelNames: ['status', 'bic'],
      registers,
      collect: fromQuery('SELECT consent_status AS status, bic_fi AS bic, count(*)::int AS count FROM consents GROUP BY 1, 2', ['status', 'bic']),
    });
    new Gauge({
      name: METRIC_NAMES.paymentAuthorisations,
      help: 'Payment authorisations (SCA) by SCA status, approach and bank; SCA conversion = finalised / all',
      labelNames: ['sca_status', 'sca_approach', 'bic'],
      registers,
      collect: fromQuery(
        `SELECT a.sca_status, a.sca_approach, p.bic_fi AS bic, count(*)::int AS count
           FROM payment_authorisations a JOIN payments p ON p.id = a.payment_id GROUP BY 1, 2, 3`,
        ['sca_status', 'sca_approach', 'bic'],
      ),
    });
    new Gauge({
      name: METRIC_NAMES.consentAuthorisations,
      help: 'Consent authorisations (SCA) by SCA status, approach and bank; SCA conversion = finalised / all',
      labelNames: ['sca_status', 'sca_approach', 'bic'],
      registers,
      collect: fromQuery(
        `SELECT a.sca_status, a.sca_approach, c.bic_fi AS bic, count(*)::int AS count
           FROM consent_authorisations a JOIN consents c ON c.id = a.consent_id GROUP BY 1, 2, 3`,
        ['sca_status', 'sca_approach', 'bic'],
      ),
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }
}

// ─── Worker ─────────────────────────────────────────────────────────────────────────────────────

/** What the worker metrics read from a running Temporal worker (`Worker.getStatus()`). */
export interface WorkerStatusSource {
  getStatus(): { runState: string; numCachedWorkflows: number; numInFlightActivities: number; numInFlightWorkflowActivations: number };
}

export type ScaOutcome = 'finalised' | 'failed' | 'exempted';

/**
 * The worker's metrics: every bank call (latency by BIC and operation, errors by
 * {@link BankError} kind), payment status changes, SCA outcomes and time to SCA, webhook
 * deliveries, and the worker's slots and workflow cache as the SDK reports them.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly bankDuration: Histogram<'bic' | 'protocol' | 'operation' | 'outcome'>;
  readonly bankErrors: Counter<'bic' | 'protocol' | 'operation' | 'kind' | 'fate'>;
  readonly statusChanges: Counter<'kind' | 'status' | 'bic'>;
  readonly scaOutcomes: Counter<'bic' | 'outcome'>;
  readonly timeToSca: Histogram<'bic' | 'outcome'>;
  private readonly webhookAttempts: Counter<'outcome'>;
  private readonly webhookLatency: Histogram<'outcome'>;
  private readonly webhookDisabled: Counter<string>;
  private readonly workers = new Set<WorkerStatusSource>();

  constructor() {
    const registers = [this.registry];
    this.bankDuration = new Histogram({
      name: METRIC_NAMES.bankRequestDuration,
      help: 'Bank calls by bank (BIC), protocol and operation (adapter method); outcome is ok or the BankError kind',
      labelNames: ['bic', 'protocol', 'operation', 'outcome'],
      buckets: BANK_BUCKETS,
      registers,
    });
    this.bankErrors = new Counter({
      name: METRIC_NAMES.bankErrors,
      help: 'Failed bank calls by bank, operation, error class (BankErrorKind) and request fate',
      labelNames: ['bic', 'protocol', 'operation', 'kind', 'fate'],
      registers,
    });
    this.statusChanges = new Counter({
      name: METRIC_NAMES.paymentStatusChanges,
      help: 'Payment status changes recorded by the worker, by kind (transaction_status, sca_status, initiation_outcome), status and bank',
      labelNames: ['kind', 'status', 'bic'],
      registers,
    });
    this.scaOutcomes = new Counter({
      name: METRIC_NAMES.scaOutcomes,
      help: 'Payment SCAs that ended, by bank and outcome (finalised, failed, exempted)',
      labelNames: ['bic', 'outcome'],
      registers,
    });
    this.timeToSca = new Histogram({
      name: METRIC_NAMES.timeToSca,
      help: 'From the start of the authorisation (else the payment creation) to the end of SCA, by bank and outcome',
      labelNames: ['bic', 'outcome'],
      buckets: SCA_BUCKETS,
      registers,
    });
    this.webhookAttempts = new Counter({
      name: METRIC_NAMES.webhookAttempts,
      help: 'Webhook delivery attempts by outcome (delivered, failed, gave_up)',
      labelNames: ['outcome'],
      registers,
    });
    this.webhookLatency = new Histogram({
      name: METRIC_NAMES.webhookLatency,
      help: "Time the receiver took to answer a webhook delivery, by outcome",
      labelNames: ['outcome'],
      buckets: BANK_BUCKETS,
      registers,
    });
    this.webhookDisabled = new Counter({ name: METRIC_NAMES.webhookEndpointsDisabled, help: 'Webhook endpoints disabled after failing too long', registers });
    const workers = this.workers;
    const statusGauge = (name: string, help: string, read: (s: ReturnType<WorkerStatusSource['getStatus']>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect(this: Gauge<string>) {
          this.set([...workers].reduce((sum, w) => sum + read(w.getStatus()), 0));
        },
      });
    statusGauge(METRIC_NAMES.workerCachedWorkflows, 'Workflow executions cached in this process (sticky cache)', (s) => s.numCachedWorkflows);
    statusGauge(METRIC_NAMES.workerInFlightActivities, 'Activities running in this process (taken activity slots)', (s) => s.numInFlightActivities);
    statusGauge(METRIC_NAMES.workerInFlightActivations, 'Workflow activations being processed in this process (taken workflow slots)', (s) => s.numInFlightWorkflowActivations);
    statusGauge(METRIC_NAMES.workerRunning, 'Workers of this process in state RUNNING', (s) => (s.runState === 'RUNNING' ? 1 : 0));
  }

  /** Report this worker's slots and cache (its status is read at scrape time). */
  watch(worker: WorkerStatusSource): void {
    this.workers.add(worker);
  }

  unwatch(worker: WorkerStatusSource): void {
    this.workers.delete(worker);
  }

  /**
   * The adapter with every call timed: the first argument of each method is the
   * {@link BankConnection} (its BIC labels the series), the method name is the operation.
   */
  instrumentAdapter<A extends BankAdapter>(adapter: A): A {
    const wrapped = new Map<PropertyKey, unknown>();
    return new Proxy(adapter, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || prop === 'constructor' || typeof prop !== 'string') return value;
        if (!wrapped.has(prop)) wrapped.set(prop, this.timed(target.protocol, prop, value.bind(target)));
        return wrapped.get(prop);
      },
    });
  }

  private timed(protocol: string, operation: string, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => Promise<unknown> {
    return async (...args: unknown[]) => {
      const bic = (args[0] as BankConnection | undefined)?.bicFi ?? 'unknown';
      const end = this.bankDuration.startTimer({ bic, protocol, operation });
      try {
        const result = await fn(...args);
        end({ outcome: 'ok' });
        return result;
      } catch (err) {
        const kind = err instanceof BankError ? err.kind : 'error';
        end({ outcome: kind });
        this.bankErrors.inc({ bic, protocol, operation, kind, fate: err instanceof BankError ? err.fate : 'ambiguous' });
        throw err;
      }
    };
  }

  /** A recorded payment status change; `startedAt` is when the SCA began, for a final SCA status. */
  paymentStatusChanged(change: { kind: string; status: string; bic: string; scaStartedAt?: Date; now?: Date }): void {
    this.statusChanges.inc({ kind: change.kind, status: change.status, bic: change.bic });
    if (change.kind !== 'sca_status' || !isScaOutcome(change.status)) return;
    this.scaOutcomes.inc({ bic: change.bic, outcome: change.status });
    if (change.scaStartedAt) {
      const seconds = ((change.now ?? new Date()).getTime() - change.scaStartedAt.getTime()) / 1000;
      this.timeToSca.observe({ bic: change.bic, outcome: change.status }, Math.max(0, seconds));
    }
  }

  /** The {@link WebhookMetrics} the webhook activities report to. */
  webhookMetrics(): WebhookMetrics {
    return {
      attempt: (outcome: WebhookAttemptOutcome, latencyMs: number | null) => {
        this.webhookAttempts.inc({ outcome });
        if (latencyMs !== null) this.webhookLatency.observe({ outcome }, latencyMs / 1000);
      },
      endpointDisabled: () => this.webhookDisabled.inc(),
    };
  }
}

function isScaOutcome(status: string): status is ScaOutcome {
  return status === 'finalised' || status === 'failed' || status === 'exempted';
}
