import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { isFinalTransferStatus, type TransferStatus } from '../../libs/domain/open-payments';
import { opTransferWorkflowId } from '../../workflows/op-transfer.api';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import { TestStack, eventually } from '../support/stack';
import { WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * The ASE's ledger across a worker crash. Six approved transfers are on their way from approval to
 * completion (continue grant → outgoing payment → progress polls) when the worker, a child process
 * running `dist/apps/worker/main.js`, is SIGKILLed; every ASE call is slowed to widen that window and
 * payments settle only after a delay. The ASE behaves like a real wallet: https only (the worker
 * trusts its dev CA through OPEN_PAYMENTS_EXTRA_CA_FILE), a fee on every payment, no
 * `Idempotency-Key` deduplication, and the answers to two outgoing-payment creates are lost. A
 * fresh worker takes over: every transfer completes, each has exactly one outgoing payment and one
 * ledger entry (plus its fee) at the ASE, every incoming payment Clearway created is completed,
 * money is conserved (the fees sit in the ASE's fee account) and no wallet goes negative.
 *
 * The kill comes after every grant continuation has returned: a continuation that is mid-call at
 * the kill is spent at the ASE, and its retry is refused (401 invalid_continuation), so that
 * transfer fails without paying. That path is not covered here (see the report that added this test).
 *
 * Timing: an activity mid-call at the kill is retried only after its 15 s startToCloseTimeout, so
 * the test takes about 30 s.
 */
const TRANSFERS = '/openpayments/v1/transfers';
const TRANSFER_COUNT = 6;
/** Around the kill: every resource-server and AS call takes this long, so some are surely on the wire. */
const CRASH_LATENCY_MS = 1_000;
/** Outgoing payments stay pending this long before they settle: progress polls see them unfinished. */
const SETTLEMENT_DELAY_MS = 1_500;
const SETTLE_TIMEOUT_MS = 90_000;
/** Between the two waves of approvals: about one ASE call. */
const WAVE_GAP_MS = 700;
const ACTIVITIES_AFTER_APPROVAL = ['continueGrant', 'createOutgoingPayment', 'getOutgoingPaymentProgress'];

let ase: TestAse;
let stack: TestStack;
let token: string;
let opEnv: Record<string, string>;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  ase = await startTestAse({ settlementDelayMs: SETTLEMENT_DELAY_MS, https: true });
  const identity = generateIdentityKey('clearway-crash-key');
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  opEnv = {
    OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
    OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
    OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
    OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '200',
    OPEN_PAYMENTS_SEND_POLL_MAX_MS: '1000',
    OPEN_PAYMENTS_EXTRA_CA_FILE: ase.ca!.file,
  };
  stack = await TestStack.start({ worker: false, env: opEnv });
  token = await stack.token(await stack.newClient(), 'paymentinitiation private');
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await stack?.close();
  await ase?.dispose();
});

const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
const sum = (b: Record<string, bigint>) => Object.values(b).reduce((a, v) => a + v, 0n);
/** The sandbox ASE's default fee (5 + 30 bps, rounded down) and where it goes. */
const fee = (amount: bigint) => 5n + (amount * 30n) / 10_000n;
const FEE_ACCOUNT = 'ase-fees-eur-2';

test('SIGKILL of the worker between approval and completion: every transfer completes, paid exactly once, money conserved', async () => {
  await withWorkerLogsOnFailure(workers, async () => {
    await startWorker('worker-1');
    const before = await ase.ase.balances();

    const amounts = Array.from({ length: TRANSFER_COUNT }, (_, i) => String(1000 + i * 111));
    const transfers = await Promise.all(amounts.map((value) => createTransfer(value)));

    // The PSUs approve in two waves while the ASE is slow, so at the kill the first wave's payments
    // exist (pending settlement, being polled) and the second wave's are still being created.
    ase.ase.setFaults({ latencyMs: CRASH_LATENCY_MS });
    // Two creates reach the wallet but their answers never come back (on top of the crash).
    ase.ase.failOutgoingPaymentCreates({ lostResponses: 2 });
    const waves = [transfers.slice(0, TRANSFER_COUNT / 2), transfers.slice(TRANSFER_COUNT / 2)];
    for (const [i, wave] of waves.entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, WAVE_GAP_MS));
      for (const t of wave) {
        const { location } = await decideOnConsentPage(t.scaRedirect, 'approve', ase.fetch);
        expect((await fetch(location!, { redirect: 'manual' })).status).toBe(200);
      }
    }

    // Kill once every grant is continued (all 'sending'), some payments exist at the ASE and others are on the wire.
    const { midCallAtKill, statusesAtKill } = await eventually(async () => {
      const pending = (await Promise.all(transfers.map((t) => activitiesMidCall(t.transferId)))).flat();
      if (!pending.includes('createOutgoingPayment') || pending.includes('continueGrant')) return undefined;
      const statuses = await Promise.all(transfers.map((t) => statusOf(t.transferId)));
      if (!statuses.every((s) => s === 'sending') || (await aseRows()).payments.length === 0) return undefined;
      return { midCallAtKill: pending, statusesAtKill: statuses };
    }, 20_000, 25);
    await workers[0]!.kill();
    // Requests the dead worker left inside the ASE's latency finish (or are dropped) before we look.
    await new Promise((resolve) => setTimeout(resolve, CRASH_LATENCY_MS + 500));
    const ledgerAtKill = await aseRows();

    // The ASE recovers while no worker runs; payments created before the kill settle meanwhile.
    ase.ase.setFaults({ latencyMs: 50 });
    await startWorker('worker-2');

    const done = await Promise.all(transfers.map((t) => waitForStatus(t.transferId, 'completed')));
    // Sent in full net of the wallet's fee, and completed for it (not failed for falling short of debitAmount).
    done.forEach((d, i) => expect(d.sentAmount).toEqual(eur(String(BigInt(amounts[i]!) - fee(BigInt(amounts[i]!))))));
    await Promise.all(transfers.map((t) => workflowCompleted(t.transferId)));

    // Exactly once at the ASE: one outgoing payment per transfer, settled by one transfer entry of
    // what bob receives and one fee entry, although the wallet deduplicates nothing.
    const { payments, entries, incoming } = await aseRows();
    transfers.forEach((t, i) => {
      const amount = BigInt(amounts[i]!);
      const mine = payments.filter((p) => p.transfer_id === t.transferId);
      expect({ transfer: i, payments: mine.length }).toEqual({ transfer: i, payments: 1 });
      expect(mine[0]!.state).toBe('completed');
      expect(BigInt(mine[0]!.sent_amount)).toBe(amount - fee(amount));
      const ledger = entries.filter((e) => e.outgoing_payment_id === mine[0]!.id).map((e) => [e.kind, BigInt(e.amount)]);
      expect({ transfer: i, entries: ledger }).toEqual({ transfer: i, entries: [['transfer', amount - fee(amount)], ['fee', fee(amount)]] });
    });
    expect(payments).toHaveLength(TRANSFER_COUNT);
    expect(entries).toHaveLength(2 * TRANSFER_COUNT);
    expect(new Set(payments.map((p) => p.idempotency_key)).size).toBe(TRANSFER_COUNT);
    expect(ase.ase.takeOutgoingPaymentFault()).toBeUndefined(); // both lost answers were spent
    // No incoming payment left open at bob's wallet.
    expect(incoming.filter((p) => !p.completed)).toEqual([]);
    expect(incoming).toHaveLength(TRANSFER_COUNT);

    // The ledger: alice paid the total, bob received it less the fees, the ASE's fee account holds
    // the fees; the sum of all balances is unchanged and nothing is negative.
    const total = amounts.reduce((a, v) => a + BigInt(v), 0n);
    const fees = amounts.reduce((a, v) => a + fee(BigInt(v)), 0n);
    const after = await ase.ase.balances();
    expect(after.alice! - before.alice!).toBe(-total);
    expect(after.bob! - before.bob!).toBe(total - fees);
    expect(after[FEE_ACCOUNT]! - before[FEE_ACCOUNT]!).toBe(fees);
    expect(sum(after)).toBe(sum(before));
    for (const [name, balance] of Object.entries(after)) expect({ name, negative: balance < 0n }).toEqual({ name, negative: false });

    process.stdout.write(
      `[op-crash] activities mid-call at the kill: ${JSON.stringify(midCallAtKill)}; statuses at the kill: ${JSON.stringify(statusesAtKill)}; ` +
        `ASE outgoing payments while no worker ran ${ledgerAtKill.payments.length} (ledger entries ${ledgerAtKill.entries.length}), after ${payments.length} (${entries.length}); ` +
        `ledger: alice ${before.alice} → ${after.alice}, bob ${before.bob} → ${after.bob}, fees ${before[FEE_ACCOUNT]} → ${after[FEE_ACCOUNT]}, sum ${sum(before)} → ${sum(after)}\n`,
    );
  });
}, 150_000);

async function createTransfer(value: string): Promise<{ transferId: string; scaRedirect: string }> {
  const res = await stack.call('POST', TRANSFERS, {
    token,
    headers: { 'X-Request-ID': randomUUID() },
    body: { senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: eur(value) },
  });
  if (res.status !== 201) throw new Error(`POST ${TRANSFERS} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { transferId: res.body.transferId, scaRedirect: res.body._links.scaRedirect.href };
}

async function statusOf(transferId: string): Promise<string> {
  return (await stack.call('GET', `${TRANSFERS}/${transferId}`, { token })).body.status;
}

async function waitForStatus(transferId: string, status: string) {
  return eventually(async () => {
    const res = await stack.call('GET', `${TRANSFERS}/${transferId}`, { token });
    if (isFinalTransferStatus(res.body.status as TransferStatus) && res.body.status !== status) throw new Error(`transfer ${transferId} ended ${res.body.status}: ${res.body.reason}`);
    return res.body.status === status ? res.body : undefined;
  }, SETTLE_TIMEOUT_MS, 250);
}

async function workflowCompleted(transferId: string): Promise<void> {
  const handle = stack.temporal.workflow.getHandle(opTransferWorkflowId(transferId));
  await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', SETTLE_TIMEOUT_MS, 250);
}

/** Names of the transfer's post-approval activities that a worker has picked up and not yet finished. */
async function activitiesMidCall(transferId: string): Promise<string[]> {
  const d = await stack.temporal.workflow.getHandle(opTransferWorkflowId(transferId)).describe();
  const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  return (d.raw.pendingActivities ?? [])
    .filter((a) => a.state === started && ACTIVITIES_AFTER_APPROVAL.includes(a.activityType?.name ?? ''))
    .map((a) => a.activityType!.name!);
}

interface AsePayment {
  id: string;
  transfer_id: string | null;
  state: string;
  sent_amount: string;
  idempotency_key: string | null;
}

/** Outgoing payments (tagged with Clearway's transfer id in their metadata), ledger entries and bob's incoming payments in the ASE's schema. */
async function aseRows(): Promise<{ payments: AsePayment[]; entries: { outgoing_payment_id: string; kind: string; amount: string }[]; incoming: { completed: boolean }[] }> {
  const pg = new PgClient({ connectionString: process.env.CLEARWAY_TEST_DATABASE_URL });
  await pg.connect();
  try {
    const payments = await pg.query<AsePayment>(
      `SELECT id, metadata->>'clearwayTransferId' AS transfer_id, state, sent_amount::text, idempotency_key FROM "${ase.schema}".outgoing_payments ORDER BY seq`,
    );
    const entries = await pg.query(`SELECT outgoing_payment_id, kind, amount::text FROM "${ase.schema}".ledger_entries ORDER BY id`);
    const incoming = await pg.query(`SELECT completed FROM "${ase.schema}".incoming_payments WHERE wallet_name = 'bob'`);
    return { payments: payments.rows, entries: entries.rows, incoming: incoming.rows };
  } finally {
    await pg.end();
  }
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
    ...opEnv,
  });
  workers.push(worker);
  await Promise.race([eventually(() => isPolling(worker.pid), 30_000, 100), worker.unexpectedExit]);
  return worker;
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

