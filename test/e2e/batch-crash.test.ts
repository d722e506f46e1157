import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { isFinalTransactionStatus, type TransactionStatus } from '../../libs/domain/transaction-status';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { paymentWorkflowId, resolveInitiationUpdate, type OperatorDecision } from '../../workflows/payment-initiation.api';
import { initiationRequestId } from '../support/operator';
import { TestStack, eventually } from '../support/stack';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * A worker crash in the middle of a batch's fan-out: 2,000 credit transfers from a debtor at
 * SANDNL2AXXX, a bank without bulk payments, so 2,000 single payments (decoupled SCA) started by
 * the batch workflow as children, 100 at a time, against a bank that does NOT deduplicate
 * X-Request-ID. The real worker (a child process, `dist/`) is SIGKILLed while bank calls are slow
 * and hundreds of payments are in flight; a fresh worker takes over. Every payment reaches a final
 * status (initiations that were on the wire at the kill become `unknown` and are resolved by an
 * operator, as in worker-crash.test.ts: one the bank never received ends RJCT, never resent), and
 * the bank created and executed each settled payment exactly once. `BATCH_CRASH_TRANSACTIONS` sets the size (default 200 in the suite; 2,000 as issue 7 asks).
 */
// The suite runs 200 (about 4 minutes on a loaded 2-core machine); issue 7's 2,000: BATCH_CRASH_TRANSACTIONS=2000.
const TRANSACTIONS = Number(process.env.BATCH_CRASH_TRANSACTIONS ?? 200);
const SETTLE_TIMEOUT_MS = 20 * 60_000;
jest.setTimeout(SETTLE_TIMEOUT_MS + 120_000);

let stack: TestStack;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await TestStack.start({ worker: false, env: { BATCH_CONCURRENCY: '100', BATCH_CHILDREN_PER_RUN: '500', BATCH_PROGRESS_INTERVAL_MS: '2000' } });
});
afterAll(async () => {
  for (const w of workers) await w.kill();
  await stack?.close();
});

it(`kill -9 during a ${TRANSACTIONS}-payment fan-out: every payment final, none created twice at the bank`, async () => {
  const nl = stack.sandbox.nl.bank;
  const first = await startWorker('worker-1');
  await withWorkerLogsOnFailure(workers, async () => {
    const client = await stack.newClient();
    const token = await stack.token(client);
    const msgId = `MSG-CRASH-${randomUUID().slice(0, 8)}`;
    const file = await pain001Bytes({
      version: 'pain.001.001.09',
      msgId,
      paymentInformations: [{ pmtInfId: 'PMT-NL', debtorIban: 'NL91ABNA0417164300', debtorAgentBic: 'SANDNL2AXXX', transactions: TRANSACTIONS }],
    });
    const res = await fetch(`${stack.baseUrl}/batches/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'Content-Type': 'application/xml', 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'decoupled' },
      body: file,
    });
    expect(res.status).toBe(201);
    const batchId = ((await res.json()) as { batchId: string }).batchId;

    // Kill once a good part is in flight, with every bank call slowed so some are surely mid-call.
    const paymentsOf = () =>
      stack.dataSource.query<{ id: string; transaction_status: TransactionStatus; initiation_outcome: string | null }[]>(
        `SELECT p.id, p.transaction_status, p.initiation_outcome FROM batch_transactions t JOIN payments p ON p.id = t.payment_id WHERE t.batch_id = $1`,
        [batchId],
      );
    await eventually(async () => (await paymentsOf()).length >= Math.min(300, TRANSACTIONS / 2), 5 * 60_000, 500);
    nl.setFaults({ latencyMs: 1000 });
    await new Promise((r) => setTimeout(r, 1500));
    await first.kill();
    nl.setFaults({ latencyMs: 0 });
    const atKill = (await paymentsOf()).length;
    await startWorker('worker-2');

    // Initiations that were on the wire at the kill: unknown outcomes, resolved by an operator.
    const resolved = new Set<string>();
    const done = await eventually(
      async () => {
        const rows = await paymentsOf();
        for (const p of rows.filter((r) => r.initiation_outcome === 'unknown' && !resolved.has(r.id))) {
          resolved.add(p.id);
          await resolveAsOperator(p.id).catch(() => resolved.delete(p.id));
        }
        const batch = await stack.call('GET', `/batches/v1/batches/${batchId}`, { token });
        const final = ['completed', 'partially_completed'].includes(batch.body.status);
        return final && rows.length === TRANSACTIONS && rows.every((r) => isFinalTransactionStatus(r.transaction_status)) && { batch: batch.body, rows };
      },
      SETTLE_TIMEOUT_MS,
      2000,
    );

    // A request lost with the worker may never have reached the bank: the operator's lookup says so,
    // the payment is RJCT (not initiated), and nothing is sent again. Everything else settled, once.
    const settled = done.rows.filter((r) => r.transaction_status === 'ACSC');
    const notInitiated = done.rows.filter((r) => r.transaction_status === 'RJCT');
    expect(settled.length + notInitiated.length).toBe(TRANSACTIONS);
    expect(notInitiated.every((r) => r.initiation_outcome === 'resolved')).toBe(true);
    expect(done.batch).toMatchObject({
      status: notInitiated.length ? 'partially_completed' : 'completed',
      progress: { total: TRANSACTIONS, settled: settled.length, rejected: notInitiated.length },
    });
    const stats = nl.stats();
    expect(stats.totals.paymentsCreated).toBe(settled.length);
    expect(stats.totals.paymentsExecuted).toBe(settled.length);
    expect(settled.filter((r) => nl.findPaymentsByRequestId(initiationRequestId(r.id)).filter((b) => b.executed).length !== 1)).toEqual([]);
    expect(notInitiated.filter((r) => nl.findPaymentsByRequestId(initiationRequestId(r.id)).length !== 0)).toEqual([]);
    process.stdout.write(
      `[batch-crash] ${TRANSACTIONS} payments; ${atKill} created before the kill; unknown outcomes resolved by an operator: ${resolved.size}; ` +
        `settled ${settled.length}, not initiated (lost with the worker, RJCT) ${notInitiated.length}; ` +
        `bank: initiationRequests=${stats.totals.initiationRequests} created=${stats.totals.paymentsCreated} executed=${stats.totals.paymentsExecuted}\n`,
    );
  });
});

async function resolveAsOperator(paymentId: string): Promise<void> {
  const atBank = stack.sandbox.nl.bank.findPaymentsByRequestId(initiationRequestId(paymentId));
  if (atBank.length > 1) throw new Error(`the bank holds ${atBank.length} payments for ${paymentId}`);
  const decision: OperatorDecision = atBank[0]
    ? { operator: 'ops:e2e', decision: 'initiated', bankPaymentId: atBank[0].paymentId, reason: 'Found by its X-Request-ID' }
    : { operator: 'ops:e2e', decision: 'not_initiated', reason: 'No payment with this X-Request-ID' };
  await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).executeUpdate(resolveInitiationUpdate, { args: [decision] });
}

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
  await Promise.race([eventually(() => isPolling(worker.pid), 60_000, 100), worker.unexpectedExit]);
  return worker;
}

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
