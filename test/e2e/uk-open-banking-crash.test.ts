import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { authoriseAtSandbox } from '../../libs/adapters/uk-obie/test-helpers';
import type { TestClient } from '../support/factories';
import { PIS } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { ukTestSigningKeyEnv } from '../support/uk-obie';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * Exactly once at a UK bank across a worker crash. The worker (a child process, as in production)
 * is killed with SIGKILL while the bank is answering the submissions of authorised payments
 * (`POST /domestic-payments`): the bank has created them, the worker never hears back. Two more
 * answers are simply lost (503 after the bank created the payment). A fresh worker takes over,
 * submits again with the same `x-idempotency-key` (derived from the payment id, the PSU's tokens
 * kept sealed in PostgreSQL so the single-use code is not needed again), and the bank, as OBIE
 * requires, returns the payment it already made. One payment at the bank per Clearway payment.
 */
const UK = 'SANDGB2LXXX';
const PAYMENTS = 4;
let stack: TestStack;
let client: TestClient;
let token: string;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
  client = await stack.newClient();
  token = await stack.token(client);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await stack?.close();
});

test('SIGKILL while the bank answers the submissions, plus lost answers: every UK payment settles, each created once at the bank', async () => {
  await withWorkerLogsOnFailure(workers, async () => {
    const first = await startWorker('uk-worker-1');
    const created: { paymentId: string; href: string }[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const res = await stack.call('POST', `${PIS}/domestic`, {
        token,
        headers: { 'X-BicFi': UK, 'PSU-IP-Address': '192.0.2.10', 'X-Request-ID': randomUUID(), 'TPP-Redirect-URI': 'https://erp.example/uk/done' },
        body: {
          instructedAmount: { currency: 'GBP', amount: `${30 + i}.00` },
          debtorAccount: { bban: '20000010000000' },
          creditorAccount: { bban: '40400412345678' },
          creditorName: 'Jane Creditor',
          remittanceInformationUnstructured: `ORDER 77${i}1234`,
        },
      });
      expect(res.status).toBe(201);
      created.push({ paymentId: res.body.paymentId, href: res.body._links.scaRedirect.href });
    }

    // The bank will hold its answers to the submissions long enough for the worker to die waiting.
    stack.ukSandbox.state.faults.paymentAnswerDelayMs = 4_000;
    for (const p of created) {
      const fragment = await authoriseAtSandbox(p.href, 'approve');
      const back = await fetch(`${stack.baseUrl}/callbacks/oauth?${new URLSearchParams(fragment)}`, { redirect: 'manual' });
      expect(back.status).toBe(303);
    }
    // Every payment was created at the bank; no answer has come back yet.
    await eventually(async () => stack.ukSandbox.state.payments.size === PAYMENTS, 30_000, 50);
    await first.kill();

    // The next answers are lost outright (503 after the bank created or found the payment).
    stack.ukSandbox.state.faults.paymentAnswerDelayMs = 0;
    stack.ukSandbox.state.faults.lostPaymentAnswers = 2;
    await startWorker('uk-worker-2');

    for (const p of created) {
      await eventually(async () => {
        const res = await stack.call('GET', `${PIS}/domestic/${p.paymentId}/status`, { token, headers: { 'X-BicFi': UK } });
        return res.body.transactionStatus === 'ACSC';
      }, 120_000, 250);
    }

    // One payment at the bank per Clearway payment, although each was submitted more than once.
    const consents = [...stack.ukSandbox.state.paymentConsents.values()];
    expect(consents).toHaveLength(PAYMENTS);
    for (const c of consents) expect(c.paymentIds).toHaveLength(1);
    expect(stack.ukSandbox.state.payments.size).toBe(PAYMENTS);
    const submissions = [...stack.ukSandbox.state.paymentRequestsByKey.values()];
    expect(submissions).toHaveLength(PAYMENTS);
    expect(submissions.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(PAYMENTS + 2);
    const rows: { bank_payment_id: string }[] = await stack.dataSource.query(`SELECT bank_payment_id FROM payments WHERE id = ANY($1)`, [created.map((p) => p.paymentId)]);
    expect(new Set(rows.map((r) => r.bank_payment_id))).toEqual(new Set(stack.ukSandbox.state.payments.keys()));
  });
}, 240_000);

async function startWorker(name: string): Promise<WorkerProcess> {
  const worker = WorkerProcess.spawn(name, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: stack.config.databaseUrl!,
    TEMPORAL_ADDRESS: stack.config.temporal.address,
    TEMPORAL_NAMESPACE: stack.config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: stack.config.temporal.taskQueue,
    SANDBOX_BG_URL: stack.sandbox.url,
    SANDBOX_UK_URL: stack.ukSandbox.url,
    PUBLIC_BASE_URL: stack.baseUrl,
    PAYMENT_POLL_INITIAL_MS: '200',
    PAYMENT_POLL_MAX_MS: '1000',
    ...(await ukTestSigningKeyEnv()),
  });
  workers.push(worker);
  await Promise.race([eventually(() => isPolling(worker.pid), 30_000, 100), worker.unexpectedExit]);
  return worker;
}

async function isPolling(pid: number): Promise<boolean> {
  const { TaskQueueType } = temporal.api.enums.v1;
  for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
    const res = await stack.temporal.workflowService.describeTaskQueue({ namespace: stack.config.temporal.namespace, taskQueue: { name: stack.config.temporal.taskQueue }, taskQueueType });
    if (!res.pollers?.some((p) => p.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}
