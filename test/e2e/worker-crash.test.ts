import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { isFinalTransactionStatus, type TransactionStatus } from '../../libs/domain/transaction-status';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment, type TestClient } from '../support/factories';
import { getStatus, initiate, pressScaButton } from '../support/payments';
import { initiationRequestId, resolveAsOperator } from '../support/operator';
import { TestStack, eventually } from '../support/stack';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * Exactly once across a worker crash, against a bank that does NOT deduplicate X-Request-ID (the
 * sandbox's default, as real banks). The real worker runs as a child process (`dist/`, built by
 * globalSetup) and is killed with SIGKILL while
 * - fifteen payments sit between bank initiation and their final status (decoupled, redirect and
 *   SCA-exempt ones, the last executed by the bank without any SCA);
 * - five more were created at the bank but the bank's answers were lost, so Clearway cannot know
 *   whether the bank holds them (two of them SCA-exempt: the bank has already executed them);
 * - three more are on the wire: their initiation request reached the bank, the worker died before
 *   the answer (the write-ahead attempt log shows them `sending`).
 * A fresh worker takes over. Nothing is sent to the bank a second time: the lost and interrupted
 * initiations are reported `unknown` through the API, an operator resolves them (finding each at
 * the bank by its X-Request-ID), and every payment reaches its final status. The bank created
 * exactly one payment per Clearway payment and executed none twice.
 *
 * Timing: an initiation's first attempt is a local activity (patch `payment-local-bank-calls`):
 * one mid-call at the kill runs again when the fresh worker picks up the lost workflow task (after
 * its 10 s timeout), finds the attempt `sending` and answers "ambiguous" without sending.
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
  ...times(2, { label: 'SCA-exempt, executed at once', psuId: 'exempt', amount: '12.00', expected: 'ACSC' }),
  { label: 'SCA-exempt, cents 42', psuId: 'exempt', amount: '12.42', expected: 'ACSC' },
];

/** Created at the bank, but every answer was lost: the outcome is unknown to Clearway. */
const ANSWER_LOST: Scenario[] = [
  ...times(2, { label: 'answer lost, decoupled', psuId: 'decoupled', amount: '31.00', expected: 'ACSC' }),
  { label: 'answer lost, decoupled, cents 42', psuId: 'decoupled', amount: '31.42', expected: 'ACSC' },
  ...times(2, { label: 'answer lost, SCA-exempt (already executed by the bank)', psuId: 'exempt', amount: '33.00', expected: 'ACSC' }),
];

/** On the wire when the worker dies: the bank receives them, nobody records its answer. */
const ON_THE_WIRE_AT_KILL: Scenario[] = [
  ...times(2, { label: 'mid-call at the kill, decoupled', psuId: 'decoupled', amount: '41.00', expected: 'ACSC' }),
  { label: 'mid-call at the kill, SCA-exempt', psuId: 'exempt', amount: '43.00', expected: 'ACSC' },
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
  initiation_outcome: string | null;
}

let stack: TestStack;
let client: TestClient;
let token: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // A decoupled PSU takes 1.5 s to approve: some do so while no worker is running.
  stack = await TestStack.start({ worker: false, sandbox: { decoupledDelayMs: 1_500 } });
  client = await stack.newClient();
  token = await stack.token(client);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await stack?.close();
});

test('SIGKILL of the worker mid-flight, with lost answers, at a non-deduplicating bank: each payment created and executed once, unknowns reported then resolved', async () => {
  await withWorkerLogsOnFailure(workers, async () => {
    expect(stack.sandbox.bank.deduplicates()).toBe(false);
    const first = await startWorker('worker-1');
    stack.sandbox.bank.setFaults({ latencyMs: NORMAL_LATENCY_MS });

    const before = await Promise.all(INITIATED_BEFORE_CRASH.map((s) => initiateScenario(s)));
    for (const p of before) expect(p.paymentId).toEqual(expect.any(String));

    // The bank loses every answer: five payments are created there, Clearway hears only 503s.
    // Not knowing whether the bank holds them (and some are SCA-exempt), it never sends them again.
    stack.sandbox.bank.setFaults({ latencyMs: NORMAL_LATENCY_MS, dropResponseRate: 1 });
    const lost = await Promise.all(ANSWER_LOST.map((s) => initiateScenario(s)));
    for (const p of lost) expect(p.scaRedirect).toBeUndefined();

    // The bank turns slow: three initiations are on the wire when the worker dies.
    stack.sandbox.bank.setFaults({ latencyMs: CRASH_LATENCY_MS });
    const wireRequests = ON_THE_WIRE_AT_KILL.map((scenario) => ({ scenario, requestId: randomUUID() }));
    const wirePosts = wireRequests.map(({ scenario, requestId }) => initiate(stack, initiateOptions(scenario, requestId)));
    const wireIds = await eventually(async () => {
      const ids = await paymentIdsByRequestId(wireRequests.map((w) => w.requestId));
      return ids.length === wireRequests.length && (await attemptsSending(ids)) === ids.length && ids;
    }, 20_000, 25);
    const midCallAtKill = (await Promise.all([...before.map((p) => p.paymentId), ...wireIds].map(bankCallsMidCall))).reduce((a, b) => a + b, 0);

    // The moment of the crash, as the database and the API see it.
    const statusesAtKill = await Promise.all(before.map(async (p) => (await getStatus(stack, token, p.paymentId)).body.transactionStatus as TransactionStatus));
    await first.kill();
    const atKill = await paymentRows();
    for (const p of before) expect(atKill.get(p.paymentId)?.bank_payment_id).toEqual(expect.any(String));
    for (const p of lost) expect(atKill.get(p.paymentId)).toMatchObject({ bank_payment_id: null, initiation_outcome: 'unknown' });
    for (const id of wireIds) expect(atKill.get(id)).toMatchObject({ bank_payment_id: null, initiation_outcome: null });
    expect(statusesAtKill.filter((s) => !isFinalTransactionStatus(s)).length).toBeGreaterThan(0);

    // While no worker runs: the bank recovers, and the redirect PSUs approve and come back to Clearway.
    stack.sandbox.bank.resetFaults();
    stack.sandbox.bank.setFaults({ latencyMs: NORMAL_LATENCY_MS });
    for (const p of before.filter((b) => b.scenario.redirect)) {
      const { bankRedirect } = await pressScaButton(p.scaRedirect!, p.scenario.redirect!);
      expect((await fetch(bankRedirect, { redirect: 'manual' })).status).toBe(302);
    }

    await startWorker('worker-2');

    // The interrupted initiations are retried after their timeout, find their attempt `sending`,
    // and become unknown without a second request. A POST that outlived the API's 25 s wait got a
    // 503 and is repeated with the same X-Request-ID, as the 503 tells the client to do.
    let repeatedPosts = 0;
    const wire: TrackedPayment[] = await Promise.all(
      wireRequests.map(async ({ scenario, requestId }, i) => {
        let res = await wirePosts[i]!;
        if (res.status === 503) {
          repeatedPosts += 1;
          res = await initiate(stack, initiateOptions(scenario, requestId));
        }
        expect(res.status).toBe(201);
        return { scenario, requestId, paymentId: res.body.paymentId };
      }),
    );
    expect(wire.map((m) => m.paymentId).sort()).toEqual([...wireIds].sort());

    // Unknown outcomes are reported as unknown, never guessed, until someone who knows decides.
    const unknown = [...lost, ...wire];
    for (const p of unknown) {
      const status = await eventually(async () => {
        const res = await getStatus(stack, token, p.paymentId);
        return res.body.clearway?.initiationOutcome === 'unknown' && res.body;
      }, 30_000, 200);
      expect({ label: p.scenario.label, status }).toEqual({
        label: p.scenario.label,
        status: { transactionStatus: 'RCVD', tppMessages: [expect.objectContaining({ category: 'WARNING' })], clearway: { initiationOutcome: 'unknown' } },
      });
    }
    const decisions = await Promise.all(unknown.map((p) => resolveAsOperator(stack, p.paymentId)));
    expect(decisions.map((d) => d.decision)).toEqual(unknown.map(() => 'initiated'));

    const payments = [...before, ...unknown];
    await Promise.all(payments.map((p) => workflowCompleted(p.paymentId)));

    // Final status, through the API and in the database.
    const rows = await paymentRows();
    for (const p of payments) {
      const expected = { label: p.scenario.label, status: p.scenario.expected };
      expect({ label: p.scenario.label, status: (await getStatus(stack, token, p.paymentId)).body.transactionStatus }).toEqual(expected);
      expect({ label: p.scenario.label, status: rows.get(p.paymentId)?.transaction_status }).toEqual(expected);
    }
    for (const p of unknown) expect(rows.get(p.paymentId)?.initiation_outcome).toBe('resolved');

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

    // Exactly once at the bank: per Clearway payment, one initiation request, one bank payment,
    // executed at most once; nothing else at the bank.
    const stats = stack.sandbox.bank.stats();
    const bankIdOf = (p: TrackedPayment) => rows.get(p.paymentId)!.bank_payment_id!;
    for (const p of payments) {
      const atBank = stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(p.paymentId));
      expect({ label: p.scenario.label, created: atBank.map((b) => b.paymentId), requests: atBank[0]?.initiationRequests }).toEqual({
        label: p.scenario.label,
        created: [bankIdOf(p)],
        requests: 1,
      });
      expect({ label: p.scenario.label, status: atBank[0]!.transactionStatus, executed: atBank[0]!.executed }).toEqual({
        label: p.scenario.label,
        status: p.scenario.expected,
        executed: p.scenario.expected === 'ACSC',
      });
    }
    expect(stats.totals.paymentsCreated).toBe(payments.length);
    expect(stats.totals.initiationRequests).toBe(payments.length);
    expect(stats.totals.paymentsExecuted).toBe(payments.filter((p) => p.scenario.expected === 'ACSC').length);
    process.stdout.write(
      `[worker-crash] Clearway payments=${payments.length}; bank: initiationRequests=${stats.totals.initiationRequests} ` +
        `paymentsCreated=${stats.totals.paymentsCreated} paymentsExecuted=${stats.totals.paymentsExecuted} ` +
        `(executed twice: ${payments.filter((p) => stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(p.paymentId)).filter((b) => b.executed).length > 1).length}); ` +
        `unknown outcomes reported and resolved by an operator: ${unknown.length} (answers lost: ${lost.length}, on the wire at the kill: ${wire.length}); ` +
        `workflows with a task or activity running at the kill: ${midCallAtKill}; POSTs repeated after 503: ${repeatedPosts}\n`,
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
/** A bank call may be under way: an activity started, or a workflow task started (bank reads and an initiation's first attempt are local activities). */
async function bankCallsMidCall(paymentId: string): Promise<number> {
  const d = await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).describe();
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const taskStarted = d.raw.pendingWorkflowTask?.state === temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;
  return (d.raw.pendingActivities ?? []).filter((a) => a.state === started).length + (taskStarted ? 1 : 0);
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

/** Payments whose latest initiation attempt is on the wire: written down, not yet answered. */
async function attemptsSending(paymentIds: string[]): Promise<number> {
  const rows: { n: string }[] = await stack.dataSource.query(
    "SELECT count(*) AS n FROM bank_initiation_attempts WHERE resource_type = 'payment' AND resource_id = ANY($1) AND state = 'sending'",
    [paymentIds],
  );
  return Number(rows[0]!.n);
}

async function paymentRows(): Promise<Map<string, PaymentRow>> {
  const rows: PaymentRow[] = await stack.dataSource.query('SELECT id, bank_payment_id, transaction_status, initiation_outcome FROM payments WHERE tenant_id = $1', [
    client.tenantId,
  ]);
  return new Map(rows.map((r) => [r.id, r]));
}

