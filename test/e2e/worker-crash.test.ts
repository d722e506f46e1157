import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { isFinalTransactionStatus, type TransactionStatus } from '../../libs/domain/transaction-status';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment, type TestClient } from '../support/factories';
import { getStatus, initiate, pressScaButton } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * Exactly once across a worker crash. The real worker runs as a child process (`dist/`, built by
 * globalSetup) and is killed with SIGKILL while twelve payments sit between bank initiation and
 * their final status, and three more have been created at the bank without Clearway learning it
 * (the bank's answers are lost). A fresh worker takes over: every payment still reaches its final
 * status, and the bank created each payment exactly once.
 *
 * Timing: an activity that was mid-call at the kill is only retried when its 30 s
 * startToCloseTimeout expires, so the test needs about 45 s, most of it waiting for that.
 */
/** Slow enough that status polls overlap; fast enough to settle quickly afterwards. */
const NORMAL_LATENCY_MS = 150;
/** Around the kill: every bank call takes a second, so some are certainly mid-call when the worker dies. */
const CRASH_LATENCY_MS = 1_000;
const SETTLE_TIMEOUT_MS = 90_000;

interface Scenario {
  label: string;
  psuId: string;
  amount: string;
  /** Redirect SCA: the PSU decides on the bank's page while no worker is running. */
  redirect?: 'approve';
  expected: Extract<TransactionStatus, 'ACSC' | 'RJCT'>;
}

const times = (n: number, s: Scenario): Scenario[] => Array.from({ length: n }, (_, i) => ({ ...s, label: `${s.label} #${i + 1}` }));

/** Initiated before the crash: all have a bank payment id when the worker dies. */
const INITIATED_BEFORE_CRASH: Scenario[] = [
  ...times(5, { label: 'decoupled, cents 42 (pending over several polls)', psuId: 'decoupled', amount: '10.42', expected: 'ACSC' }),
  ...times(3, { label: 'decoupled', psuId: 'decoupled', amount: '25.00', expected: 'ACSC' }),
  { label: 'decoupled, cents 13 (bank rejects after SCA)', psuId: 'decoupled', amount: '99.13', expected: 'RJCT' },
  { label: 'decoupled, PSU denies', psuId: 'decoupled-deny', amount: '25.00', expected: 'RJCT' },
  ...times(2, { label: 'redirect, approved on the bank page', psuId: 'alice', amount: '70.00', redirect: 'approve', expected: 'ACSC' }),
];

/** Created at the bank, but every answer is lost until after the crash: Clearway has no bank id for them. */
const UNCONFIRMED_AT_CRASH: Scenario[] = [
  ...times(2, { label: 'unconfirmed initiation, decoupled', psuId: 'decoupled', amount: '31.00', expected: 'ACSC' }),
  { label: 'unconfirmed initiation, decoupled, cents 42', psuId: 'decoupled', amount: '31.42', expected: 'ACSC' },
];

interface TrackedPayment {
  scenario: Scenario;
  requestId: string;
  paymentId: string;
  scaRedirect?: string;
}

interface PaymentRow {
  id: string;
  bank_payment_id: string | null;
  transaction_status: TransactionStatus;
}

let stack: TestStack;
let client: TestClient;
let token: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // A decoupled PSU takes 1.5 s to approve: some do so while no worker is running.
  // Until initiation tells ambiguous failures apart, this test needs a bank that deduplicates X-Request-ID.
  stack = await TestStack.start({ worker: false, sandbox: { decoupledDelayMs: 1_500, deduplicateRequestIds: true } });
  client = await stack.newClient();
  token = await stack.token(client);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await stack?.close();
});

test('SIGKILL of the worker mid-flight: every payment reaches its final status, the bank creates each once', async () => {
  await withWorkerLogsOnFailure(workers, async () => {
    const first = await startWorker('worker-1');
    stack.sandbox.bank.setFaults({ latencyMs: NORMAL_LATENCY_MS });

    const before = await Promise.all(INITIATED_BEFORE_CRASH.map(initiateScenario));
    for (const p of before) expect(p.paymentId).toEqual(expect.any(String));

    // The bank turns slow and loses every answer: three more payments are created there, but
    // their initiation activities only see 503s and keep retrying with the same idempotency key.
    stack.sandbox.bank.setFaults({ latencyMs: CRASH_LATENCY_MS, dropResponseRate: 1 });
    const midRequests = UNCONFIRMED_AT_CRASH.map((scenario) => ({ scenario, requestId: randomUUID() }));
    const midPosts = midRequests.map(({ scenario, requestId }) => initiate(stack, initiateOptions(scenario, requestId)));
    const midIds = await eventually(async () => {
      const ids = await paymentIdsByRequestId(midRequests.map((m) => m.requestId));
      return ids.length === midRequests.length && ids;
    });
    const allIds = () => [...before.map((p) => p.paymentId), ...midIds];
    await eventually(async () => stack.sandbox.bank.stats().totals.paymentsCreated === allIds().length, 20_000, 50);
    // Kill while at least one bank call is on the wire.
    const midCallAtKill = await eventually(async () => (await Promise.all(allIds().map(activitiesMidCall))).reduce((a, b) => a + b, 0), 20_000, 50);

    // The moment of the crash, as the database and the API see it.
    const atKill = await paymentRows();
    const statusesAtKill = await Promise.all(before.map(async (p) => (await getStatus(stack, token, p.paymentId)).body.transactionStatus as TransactionStatus));
    await first.kill();
    for (const p of before) expect(atKill.get(p.paymentId)?.bank_payment_id).toEqual(expect.any(String));
    for (const id of midIds) expect(atKill.get(id)?.bank_payment_id).toBeNull();
    expect(statusesAtKill.filter((s) => !isFinalTransactionStatus(s)).length).toBeGreaterThan(0);

    // While no worker runs: the bank recovers, and the redirect PSUs approve and come back to Clearway.
    stack.sandbox.bank.resetFaults();
    stack.sandbox.bank.setFaults({ latencyMs: NORMAL_LATENCY_MS });
    for (const p of before.filter((b) => b.scenario.redirect)) {
      const { bankRedirect } = await pressScaButton(p.scaRedirect!, p.scenario.redirect!);
      expect((await fetch(bankRedirect, { redirect: 'manual' })).status).toBe(302);
    }

    await startWorker('worker-2');

    // A POST whose initiation attempt was mid-call at the kill outlives the API's 25 s wait (the
    // attempt is retried after its 30 s timeout): the client gets 503 and repeats it with the same
    // X-Request-ID, as the 503 tells it to.
    let repeatedPosts = 0;
    const mid: TrackedPayment[] = await Promise.all(
      midRequests.map(async ({ scenario, requestId }, i) => {
        let res = await midPosts[i]!;
        if (res.status === 503) {
          repeatedPosts += 1;
          res = await initiate(stack, initiateOptions(scenario, requestId));
        }
        expect(res.status).toBe(201);
        return { scenario, requestId, paymentId: res.body.paymentId };
      }),
    );
    expect(mid.map((m) => m.paymentId).sort()).toEqual([...midIds].sort());

    const payments = [...before, ...mid];
    await Promise.all(payments.map((p) => workflowCompleted(p.paymentId)));

    // Final status, through the API and in the database.
    const rows = await paymentRows();
    for (const p of payments) {
      const expected = { label: p.scenario.label, status: p.scenario.expected };
      expect({ label: p.scenario.label, status: (await getStatus(stack, token, p.paymentId)).body.transactionStatus }).toEqual(expected);
      expect({ label: p.scenario.label, status: rows.get(p.paymentId)?.transaction_status }).toEqual(expected);
    }

    // History: one event per sequence number, no gaps, the final status recorded exactly once.
    const events: { payment_id: string; seq: number; kind: string; status: string }[] = await stack.dataSource.query(
      'SELECT payment_id, seq, kind, status FROM payment_events WHERE payment_id = ANY($1) ORDER BY payment_id, seq',
      [payments.map((p) => p.paymentId)],
    );
    for (const p of payments) {
      const history = events.filter((e) => e.payment_id === p.paymentId);
      expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i));
      const finals = history.filter((e) => e.kind === 'transaction_status' && isFinalTransactionStatus(e.status as TransactionStatus));
      expect({ label: p.scenario.label, finals: finals.map((e) => e.status) }).toEqual({ label: p.scenario.label, finals: [p.scenario.expected] });
    }

    // Exactly once at the bank.
    const stats = stack.sandbox.bank.stats();
    expect(stats.totals.paymentsCreated).toBe(payments.length);
    expect(new Set(stats.payments.map((s) => s.requestId)).size).toBe(stats.payments.length);
    const bankIdOf = (p: TrackedPayment) => rows.get(p.paymentId)!.bank_payment_id!;
    expect(new Set(payments.map(bankIdOf)).size).toBe(payments.length);
    const atBank = new Map(stats.payments.map((s) => [s.paymentId, s]));
    for (const p of payments) {
      expect({ label: p.scenario.label, status: atBank.get(bankIdOf(p))?.transactionStatus }).toEqual({ label: p.scenario.label, status: p.scenario.expected });
    }
    // Each unconfirmed payment was asked for again after the crash; the idempotency key made it a replay.
    for (const p of mid) expect(atBank.get(bankIdOf(p))!.initiationRequests).toBeGreaterThan(1);
    const repeated = stats.payments.filter((s) => s.initiationRequests > 1).map((s) => s.initiationRequests);
    process.stdout.write(
      `[worker-crash] bank: paymentsCreated=${stats.totals.paymentsCreated} initiationRequests=${stats.totals.initiationRequests} ` +
        `(payments initiated more than once: ${repeated.length}, requests ${JSON.stringify(repeated)}); ` +
        `activities mid-call at the kill: ${midCallAtKill}; POSTs repeated after 503: ${repeatedPosts}\n`,
    );
  });
}, 150_000);

async function startWorker(name: string): Promise<WorkerProcess> {
  const worker = WorkerProcess.spawn(name, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: stack.config.databaseUrl!,
    TEMPORAL_ADDRESS: stack.config.temporal.address,
    TEMPORAL_NAMESPACE: stack.config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: stack.config.temporal.taskQueue,
    SANDBOX_BG_URL: stack.sandbox.url,
    PUBLIC_BASE_URL: stack.baseUrl,
    CLEARWAY_TOKEN_SECRET: stack.config.api.tokenSecret,
    PAYMENT_POLL_INITIAL_MS: '200',
    PAYMENT_POLL_MAX_MS: '1000',
  });
  workers.push(worker);
  await Promise.race([eventually(() => isPolling(worker.pid), 30_000, 100), worker.unexpectedExit]);
  return worker;
}

function initiateOptions(scenario: Scenario, requestId: string) {
  return {
    token,
    requestId,
    psuId: scenario.psuId,
    redirectUri: scenario.redirect ? 'https://shop.example/ok' : undefined,
    body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: scenario.amount } }),
  };
}

async function initiateScenario(scenario: Scenario): Promise<TrackedPayment> {
  const requestId = randomUUID();
  const res = await initiate(stack, initiateOptions(scenario, requestId));
  if (res.status !== 201) throw new Error(`${scenario.label}: POST answered ${res.status} ${JSON.stringify(res.body)}`);
  return { scenario, requestId, paymentId: res.body.paymentId, scaRedirect: res.body._links?.scaRedirect?.href };
}

/** Both the workflow and the activity task queue have a poller from this process. */
async function isPolling(pid: number): Promise<boolean> {
  const { TaskQueueType } = temporal.api.enums.v1;
  for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
    const res = await stack.temporal.workflowService.describeTaskQueue({
      namespace: stack.config.temporal.namespace,
      taskQueue: { name: stack.config.temporal.taskQueue },
      taskQueueType,
    });
    if (!res.pollers?.some((p) => p.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}

/** Activities of the payment's workflow that a worker has picked up and not yet finished. */
async function activitiesMidCall(paymentId: string): Promise<number> {
  const d = await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).describe();
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  return (d.raw.pendingActivities ?? []).filter((a) => a.state === started).length;
}

async function workflowCompleted(paymentId: string): Promise<void> {
  const handle = stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
  await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', SETTLE_TIMEOUT_MS, 250);
}

async function paymentIdsByRequestId(requestIds: string[]): Promise<string[]> {
  const rows: { id: string }[] = await stack.dataSource.query('SELECT id FROM payments WHERE tenant_id = $1 AND request_id = ANY($2)', [
    client.tenantId,
    requestIds,
  ]);
  return rows.map((r) => r.id);
}

async function paymentRows(): Promise<Map<string, PaymentRow>> {
  const rows: PaymentRow[] = await stack.dataSource.query('SELECT id, bank_payment_id, transaction_status FROM payments WHERE tenant_id = $1', [
    client.tenantId,
  ]);
  return new Map(rows.map((r) => [r.id, r]));
}

