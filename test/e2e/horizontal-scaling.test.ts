import { randomUUID } from 'node:crypto';
import { isFinalTransactionStatus, type TransactionStatus } from '../../libs/domain/transaction-status';
import { METRIC_NAMES } from '../../libs/observability/metrics';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment, type TestClient } from '../support/factories';
import { freePort, isPolling, scrape, sum, workerEnv } from '../support/observability';
import { initiationRequestId } from '../support/operator';
import { BIC, PIS } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { API_MAIN, WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * Past one machine (docs/deployment.md): two API processes and two worker processes, the
 * production entry points from dist/, against one Temporal server and one database. Payments go
 * in through both APIs; one worker is killed (SIGKILL) while they are under way. Every payment
 * reaches its final status, nothing is done twice (one initiation per payment at a bank that does
 * not deduplicate, each status recorded once), and the workflow histories show work done by both
 * workers, including payments the survivor took over.
 */
const PAYMENTS = 16;
const SETTLE_TIMEOUT_MS = 120_000;

let stack: TestStack;
let client: TestClient;
const apis: { process: WorkerProcess; url: string }[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // Decoupled SCA takes 1.5 s: payments are still under way when a worker dies.
  stack = await TestStack.start({ worker: false, sandbox: { decoupledDelayMs: 1_500 } });
  client = await stack.newClient();
  for (const name of ['api-1', 'api-2']) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = workerEnv(stack, {
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      PUBLIC_BASE_URL: url,
      // As in production: migrations are a release step, not every replica's boot.
      MIGRATIONS_ON_BOOT: 'false',
      RATE_LIMIT_PER_CLIENT: '100000',
      TOKEN_RATE_LIMIT_PER_ADDRESS: '100000',
      TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
    });
    apis.push({ process: WorkerProcess.spawn(name, env, API_MAIN), url });
  }
  for (const name of ['worker-1', 'worker-2']) workers.push(WorkerProcess.spawn(name, workerEnv(stack)));
  const all = [...apis.map((a) => a.process), ...workers];
  await Promise.race([
    Promise.all([
      ...apis.map((a) => eventually(async () => (await fetch(`${a.url}/health/ready`)).ok, 90_000, 250)),
      ...workers.map((w) => eventually(() => isPolling(stack, w.pid), 90_000, 250)),
    ]),
    ...all.map((p) => p.unexpectedExit),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...apis.map((a) => a.process.kill()), ...workers.map((w) => w.kill())]);
  await stack?.close();
});

async function token(apiUrl: string): Promise<string> {
  const res = await fetch(`${apiUrl}/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'paymentinitiation private' }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Identities (`pid@host`) of the workers that ran this payment's activities and workflow tasks. */
async function workersOf(paymentId: string): Promise<Set<string>> {
  const history = await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).fetchHistory();
  const ids = new Set<string>();
  for (const e of history.events ?? []) {
    const identity = e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskStartedEventAttributes?.identity;
    if (identity) ids.add(identity.split('@')[0]!);
  }
  return ids;
}

test('two APIs, two workers, one killed mid-run: every payment final, nothing twice, work on both workers', async () => {
  await withWorkerLogsOnFailure([...apis.map((a) => a.process), ...workers], async () => {
    expect(stack.sandbox.bank.deduplicates()).toBe(false);
    stack.sandbox.bank.setFaults({ latencyMs: 100 });
    const tokens = await Promise.all(apis.map((a) => token(a.url)));

    // Through both APIs, alternately; a token of one API is good at the other (shared keys).
    const created = await Promise.all(
      Array.from({ length: PAYMENTS }, async (_, i) => {
        const api = apis[i % 2]!;
        const res = await fetch(`${api.url}${PIS}/sepa-credit-transfers`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${tokens[(i + 1) % 2]}`, 'Content-Type': 'application/json', 'X-Request-ID': randomUUID(), 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'decoupled' },
          body: JSON.stringify(sepaPayment({ instructedAmount: { currency: 'EUR', amount: `${10 + i}.00` } })),
        });
        const body = (await res.json()) as { paymentId: string };
        if (res.status !== 201) throw new Error(`payment ${i} via ${api.process.name}: ${res.status} ${JSON.stringify(body)}`);
        return body.paymentId;
      }),
    );

    // Both workers have taken work before the kill (the task queue spreads it).
    const [first, second] = workers as [WorkerProcess, WorkerProcess];
    await eventually(async () => {
      const seen = new Set<string>();
      for (const id of created) for (const w of await workersOf(id)) seen.add(w);
      return seen.has(String(first.pid)) && seen.has(String(second.pid));
    }, 30_000, 250);
    const statusAtKill = await stack.dataSource.query('SELECT transaction_status FROM payments WHERE id = ANY($1)', [created]);
    await first.kill();
    expect(statusAtKill.filter((r: { transaction_status: TransactionStatus }) => !isFinalTransactionStatus(r.transaction_status)).length).toBeGreaterThan(0);

    // Every payment completes, on the surviving worker, read through either API.
    await eventually(async () => {
      const done = await Promise.all(created.map(async (id) => (await stack.temporal.workflow.getHandle(paymentWorkflowId(id)).describe()).status.name === 'COMPLETED'));
      return done.every(Boolean);
    }, SETTLE_TIMEOUT_MS, 500);
    for (const [i, id] of created.entries()) {
      const api = apis[(i + 1) % 2]!;
      const res = await fetch(`${api.url}${PIS}/sepa-credit-transfers/${id}/status`, { headers: { Authorization: `Bearer ${tokens[i % 2]}`, 'X-Request-ID': randomUUID(), 'X-BicFi': BIC } });
      expect({ id, status: res.status, body: await res.json() }).toEqual({ id, status: 200, body: { transactionStatus: 'ACSC' } });
    }

    // Nothing twice: one initiation per payment at the bank, executed once; each status recorded once.
    for (const id of created) {
      const atBank = stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(id));
      expect({ id, created: atBank.length, requests: atBank[0]?.initiationRequests, executed: atBank[0]?.executed }).toEqual({ id, created: 1, requests: 1, executed: true });
    }
    expect(stack.sandbox.bank.stats().totals.initiationRequests).toBe(PAYMENTS);
    const events: { payment_id: string; seq: number; kind: string; status: string }[] = await stack.dataSource.query(
      'SELECT payment_id, seq, kind, status FROM payment_events WHERE payment_id = ANY($1) ORDER BY payment_id, seq',
      [created],
    );
    for (const id of created) {
      const history = events.filter((e) => e.payment_id === id);
      expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i));
      expect(history.filter((e) => e.kind === 'transaction_status' && e.status === 'ACSC').length).toBe(1);
    }

    // Work spread: both workers ran payments; the survivor took over payments the killed one had started.
    const perPayment = await Promise.all(created.map(workersOf));
    const ranOn = (pid: number) => perPayment.filter((ids) => ids.has(String(pid))).length;
    const takenOver = perPayment.filter((ids) => ids.has(String(first.pid)) && ids.has(String(second.pid))).length;
    expect(ranOn(first.pid)).toBeGreaterThan(0);
    expect(ranOn(second.pid)).toBeGreaterThan(0);
    expect(takenOver).toBeGreaterThan(0);

    // And both APIs answered their half of the POSTs (each replica's own /metrics).
    const route = `${PIS}/:paymentProduct`;
    for (const api of apis) {
      const { samples } = await scrape(`${api.url}/metrics`);
      expect({ api: api.process.name, posts: sum(samples, METRIC_NAMES.httpRequests, { method: 'POST', route, status: '201' }) }).toEqual({ api: api.process.name, posts: PAYMENTS / 2 });
    }
    process.stdout.write(
      `[horizontal] ${PAYMENTS} payments via 2 APIs; worker-1 (killed) ran work of ${ranOn(first.pid)}, worker-2 of ${ranOn(second.pid)}, taken over: ${takenOver}; ` +
        `bank initiations: ${stack.sandbox.bank.stats().totals.initiationRequests}\n`,
    );
  });
}, 240_000);
