import { METRIC_NAMES } from '../../libs/observability/metrics';
import { BIC, finalState, getStatus, initiate } from '../support/payments';
import { freePort, has, isPolling, scrape, sum, workerEnv } from '../support/observability';
import { TestStack, eventually } from '../support/stack';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';
import type { TestClient } from '../support/factories';

/**
 * `/metrics` of the API and of the real worker process (dist/apps/worker/main.js, its own HTTP
 * listener, the Temporal SDK's runtime metrics appended) after one payment through the sandbox
 * bank, with the bank rate-limiting every other request so that errors are counted too.
 */
let stack: TestStack;
let client: TestClient;
let token: string;
let worker: WorkerProcess;
let workerMetricsUrl: string;

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
  client = await stack.newClient();
  token = await stack.token(client);
  const port = await freePort();
  const temporalPort = await freePort();
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = WorkerProcess.spawn('metrics-worker', workerEnv(stack, { WORKER_METRICS_HOST: '127.0.0.1', WORKER_METRICS_PORT: String(port), TEMPORAL_METRICS_PORT: String(temporalPort) }));
  await Promise.race([eventually(() => isPolling(stack, worker.pid), 60_000, 200), worker.unexpectedExit]);
});

afterAll(async () => {
  await worker?.kill();
  await stack?.close();
});

test('API and worker /metrics show one payment: by status and bank, bank latency and errors, SCA, HTTP routes, worker slots and cache', async () => {
  await withWorkerLogsOnFailure([worker], async () => {
    // 429 on every second request: retried (never a duplicate: a 429 is not processed), and counted.
    stack.sandbox.bank.setFaults({ rateLimitEvery: 2, retryAfterSeconds: 0 });
    const res = await initiate(stack, { token, psuId: 'decoupled' });
    expect(res.status).toBe(201);
    const paymentId: string = res.body.paymentId;
    await finalState(stack, paymentId);
    stack.sandbox.bank.resetFaults();
    expect((await getStatus(stack, token, paymentId)).body.transactionStatus).toBe('ACSC');

    // API: the deployment's payments by status and bank, read from the database; requests by route template.
    const api = await scrape(`${stack.baseUrl}/metrics`);
    expect(api.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sum(api.samples, METRIC_NAMES.payments, { status: 'ACSC', bic: BIC })).toBeGreaterThanOrEqual(1);
    expect(api.text).toContain(`# TYPE ${METRIC_NAMES.consents} gauge`);
    expect(api.text).toContain(`# TYPE ${METRIC_NAMES.consentAuthorisations} gauge`);
    expect(sum(api.samples, METRIC_NAMES.paymentAuthorisations, { sca_status: 'finalised', bic: BIC })).toBeGreaterThanOrEqual(1);
    const route = '/psd2/paymentinitiation/v1/payments/:paymentProduct';
    expect(api.text).toContain('clearway_http_requests_total{method="POST",route="/psd2/');
    const posted = api.samples.filter((s) => s.name === METRIC_NAMES.httpRequests && s.labels.method === 'POST' && s.labels.status === '201');
    expect(posted.map((s) => s.labels.route)).toContain(route);
    expect(sum(api.samples, `${METRIC_NAMES.httpDuration}_count`, { method: 'POST', route, status: '201' })).toBeGreaterThanOrEqual(1);
    // Concrete paths (with ids) never become label values.
    expect(api.text).not.toContain(paymentId);
    expect(has(api.samples, 'process_cpu_user_seconds_total')).toBe(true);

    // Worker: bank calls per BIC and operation, errors by class, status changes, SCA, slots and cache.
    const w = await scrape(workerMetricsUrl);
    expect(sum(w.samples, `${METRIC_NAMES.bankRequestDuration}_count`, { bic: BIC, protocol: 'berlin-group', operation: 'initiatePayment', outcome: 'ok' })).toBe(1);
    expect(sum(w.samples, `${METRIC_NAMES.bankRequestDuration}_count`, { bic: BIC, operation: 'getPaymentStatus', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sum(w.samples, METRIC_NAMES.bankErrors, { bic: BIC, kind: 'rate_limited', fate: 'not_processed' })).toBeGreaterThanOrEqual(1);
    expect(sum(w.samples, `${METRIC_NAMES.bankRequestDuration}_count`, { bic: BIC, outcome: 'rate_limited' })).toBe(sum(w.samples, METRIC_NAMES.bankErrors, { bic: BIC, kind: 'rate_limited' }));
    expect(sum(w.samples, METRIC_NAMES.paymentStatusChanges, { kind: 'transaction_status', status: 'ACSC', bic: BIC })).toBe(1);
    expect(sum(w.samples, METRIC_NAMES.scaOutcomes, { bic: BIC, outcome: 'finalised' })).toBe(1);
    expect(sum(w.samples, `${METRIC_NAMES.timeToSca}_count`, { bic: BIC, outcome: 'finalised' })).toBe(1);
    expect(sum(w.samples, `${METRIC_NAMES.timeToSca}_sum`, { bic: BIC, outcome: 'finalised' })).toBeGreaterThan(0);
    expect(sum(w.samples, METRIC_NAMES.workerRunning)).toBe(1);
    expect(has(w.samples, METRIC_NAMES.workerCachedWorkflows)).toBe(true);
    expect(has(w.samples, METRIC_NAMES.workerInFlightActivities)).toBe(true);
    expect(w.text).toContain(`# TYPE ${METRIC_NAMES.webhookAttempts} counter`);
    // The Temporal SDK's runtime metrics, from its own exporter, in the same answer.
    expect(has(w.samples, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBe(true);
    expect(has(w.samples, 'temporal_worker_task_slots_available', { worker_type: 'WorkflowWorker' })).toBe(true);
    expect(has(w.samples, 'temporal_sticky_cache_size')).toBe(true);
    expect(w.text).not.toContain('Temporal runtime metrics unavailable');
    expect(w.text).not.toContain(paymentId);
  });
});

test('the worker listener answers /health/live and nothing else', async () => {
  const base = workerMetricsUrl.replace(/\/metrics$/, '');
  expect((await fetch(`${base}/health/live`)).status).toBe(200);
  expect((await fetch(`${base}/other`)).status).toBe(404);
  expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
});
