import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { decideBatchStatus, type BatchActivities } from '../activities/batch.activities';
import { emptyProgress } from '../libs/persistence/batch-progress';
import type { BatchStatus } from '../libs/persistence/entities/batch.entity';
import type { ChildStubActivities } from '../test/support/batch-workflow-stubs';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';
import { BULK_CHILD } from './batch-children';
import { cancelBulkPaymentUpdate } from './bulk-payment.api';
import { cancelPaymentUpdate, paymentWorkflowId } from './payment-initiation.api';
import { batchProgressQuery, batchWorkflowId, cancelBatchUpdate, type BatchChild, type BatchCounts, type BatchWorkflowInput, type BatchWorkflowState, type PreparedSingle } from './batch.api';

/**
 * The batch workflow on Temporal's time-skipping server, with its children replaced by stand-ins
 * (test/support/batch-workflow-stubs.ts) and its activities by an in-memory ledger of the batch:
 * which payments exist, which children started and ended, with what outcome. The status decision
 * is the real activity's (`decideBatchStatus`).
 */
const MINUTE = 60_000;
const BULK_BANK_TIMINGS = { scaTimeoutMs: 20 * MINUTE, scaPollInitialMs: 1000, scaPollMaxMs: 15_000, statusPollInitialMs: 500, statusPollMaxMs: 30_000, statusDeadlineMs: 86_400_000 };
const TIMINGS = { scaTimeoutMs: 15 * MINUTE, scaPollInitialMs: 1000, scaPollMaxMs: 15_000, statusPollInitialMs: 1000, statusPollMaxMs: 60_000, statusDeadlineMs: 86_400_000 };

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  [env, bundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('../test/support/batch-workflow-stubs'));
}, 120_000);
afterAll(() => env?.teardown());

/** What a child ends with: its transactions' counts by outcome, after how long. */
interface ChildPlan {
  transactions: number;
  waitMs: number;
  rejected?: number;
  cancelled?: number;
}

class BatchLedger {
  readonly started: string[] = [];
  readonly finished = new Set<string>();
  running = 0;
  maxRunning = 0;
  recorded: BatchStatus = 'received';
  readonly statuses: BatchStatus[] = [];
  finalCalls = 0;
  readonly plans = new Map<string, ChildPlan>();
  readonly timings = new Map<string, unknown>();
  /** The batch cancel: its request, the singles it cancelled unstarted, the children their own cancel ended. */
  cancelRequested = false;
  readonly cancelledUnstarted = new Set<string>();
  readonly cancelledChildren = new Set<string>();
  /** The pages made: their sizes, in order. */
  readonly pages: number[] = [];

  constructor(
    readonly bulks: BatchChild[],
    readonly singles: number,
    plan: (paymentId: string) => ChildPlan,
  ) {
    for (const b of bulks) this.plans.set(b.paymentId, plan(b.paymentId));
    for (let i = 0; i < singles; i++) this.plans.set(singleId(i), plan(singleId(i)));
  }

  progress(): BatchCounts {
    const p = emptyProgress();
    for (const [id, plan] of this.plans) {
      p.total += plan.transactions;
      if (!this.started.includes(id)) p[this.cancelledUnstarted.has(id) ? 'cancelled' : 'received'] += plan.transactions;
      else if (!this.finished.has(id)) p.awaitingSca += plan.transactions;
      else if (this.cancelledChildren.has(id)) p.cancelled += plan.transactions;
      else {
        p.rejected += plan.rejected ?? 0;
        p.cancelled += plan.cancelled ?? 0;
        p.settled += plan.transactions - (plan.rejected ?? 0) - (plan.cancelled ?? 0);
      }
    }
    return p;
  }

  activities(): Pick<BatchActivities, 'loadBatchPlan' | 'prepareBatchSinglePayments' | 'recordBatchProgress' | 'cancelUnstartedBatchPayments'> & ChildStubActivities {
    return {
      loadBatchPlan: async () => ({ bulks: this.bulks, firstSingle: this.singles ? { pmtInfIndex: 1, txIndex: 0 } : null, numberOfTransactions: this.progress().total }),
      prepareBatchSinglePayments: async (_batchId, cursor, limit) => {
        const end = Math.min(cursor.txIndex + limit, this.singles);
        const children: PreparedSingle[] = [];
        for (let i = cursor.txIndex; i < end; i++) children.push({ kind: 'single', paymentId: singleId(i), bicFi: 'SANDNL2AXXX', paymentProduct: 'sepa-credit-transfers', at: { pmtInfIndex: 1, txIndex: i } });
        this.pages.push(children.length);
        return { children, next: end < this.singles ? { pmtInfIndex: 1, txIndex: end } : null };
      },
      recordBatchProgress: async (_batchId, final) => {
        if (final) this.finalCalls += 1;
        const progress = this.progress();
        const decided = decideBatchStatus(progress, this.recorded, final, this.cancelRequested);
        if (decided.record) {
          this.recorded = decided.status;
          this.statuses.push(decided.status);
        }
        return { status: this.recorded, progress };
      },
      childStarted: async (paymentId, timings) => {
        this.started.push(paymentId);
        if (timings !== undefined) this.timings.set(paymentId, timings);
        this.running += 1;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        return { waitMs: this.plans.get(paymentId)!.waitMs };
      },
      cancelUnstartedBatchPayments: async (_batchId, cursor) => {
        this.cancelRequested = true;
        if (!cursor) return { unstarted: 0 };
        for (let i = cursor.txIndex; i < this.singles; i++) {
          if (this.started.includes(singleId(i))) throw new Error(`single ${i} after the cursor was started`);
          this.cancelledUnstarted.add(singleId(i));
        }
        return { unstarted: this.singles - cursor.txIndex };
      },
      childFinished: async (paymentId, cancelled) => {
        if (cancelled) this.cancelledChildren.add(paymentId);
        this.finished.add(paymentId);
        this.running -= 1;
      },
    };
  }
}

// Child workflow ids are the payment ids: unique per test, as a batch's are.
let prefix = '';
beforeEach(() => {
  prefix = randomUUID().slice(0, 8);
});

function singleId(i: number): string {
  return `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

function bulk(n: number): BatchChild {
  return { kind: 'bulk', paymentId: `${prefix}-0000-4000-9000-${String(n).padStart(12, '0')}`, bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers' };
}

async function run(ledger: BatchLedger, settings: Partial<BatchWorkflowInput['settings']> = {}): Promise<{ state: BatchWorkflowState; events: number }> {
  const taskQueue = `batch-spec-${randomUUID()}`;
  const batchId = randomUUID();
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: ledger.activities() });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start('batchWorkflow', {
      taskQueue,
      workflowId: batchWorkflowId(batchId),
      args: [
        {
          batchId,
          tenantId: 'tenant-spec',
          summary: 'Batch MSG-SPEC · 3 tx · 30.00 EUR',
          settings: { concurrency: 4, pageSize: 3, childrenPerRun: 1000, progressIntervalMs: 5_000, ...settings },
          timings: { SANDNL2AXXX: TIMINGS, SANDDEB0XXX: BULK_BANK_TIMINGS },
        } satisfies BatchWorkflowInput,
      ],
    });
    const state = (await handle.result()) as BatchWorkflowState;
    const history = await handle.fetchHistory();
    return { state, events: history.events?.length ?? 0 };
  });
}

describe('batchWorkflow', () => {
  it('fans out 23 single payments, at most `concurrency` at once, continuing as new every 8 children, each payment started once', async () => {
    const ledger = new BatchLedger([], 23, () => ({ transactions: 1, waitMs: 2 * MINUTE }));
    const { state, events } = await run(ledger, { concurrency: 4, pageSize: 3, childrenPerRun: 8 });
    expect(ledger.started).toHaveLength(23);
    expect(new Set(ledger.started).size).toBe(23);
    expect(ledger.maxRunning).toBeLessThanOrEqual(4);
    expect(ledger.maxRunning).toBeGreaterThan(1);
    expect(state).toMatchObject({ runs: 3, childrenStarted: 23, childrenFinished: 23, childrenFailed: 0, status: 'completed' });
    expect(state.progress).toMatchObject({ total: 23, settled: 23 });
    expect(ledger.finalCalls).toBe(1);
    // Pages are made ahead, whatever the room, up to the run's end: 3, 3, 2 per run.
    expect(ledger.pages).toEqual([3, 3, 2, 3, 3, 2, 3, 3, 1]);

    // History grows per run, not per file: the same fan-out in one run records far more events.
    prefix = randomUUID().slice(0, 8);
    const oneRun = await run(new BatchLedger([], 23, () => ({ transactions: 1, waitMs: 2 * MINUTE })), { concurrency: 4, pageSize: 3, childrenPerRun: 1000 });
    expect(oneRun.state.runs).toBe(1);
    expect(events).toBeLessThan(oneRun.events / 2);
  }, 120_000);

  it('partial acceptance: a bulk with rejected transactions and settled singles end partially_completed', async () => {
    const b = bulk(1);
    const ledger = new BatchLedger([b], 2, (id) => (id === b.paymentId ? { transactions: 10, rejected: 3, waitMs: 3 * MINUTE } : { transactions: 1, waitMs: MINUTE }));
    const { state } = await run(ledger);
    expect(state.status).toBe('partially_completed');
    expect(state.progress).toMatchObject({ total: 12, settled: 9, rejected: 3, cancelled: 0 });
    // Forward only, each status once.
    expect(ledger.statuses).toEqual(['awaiting_authorisation', 'partially_completed']);
    // The bulk polls as the deployment says for its bank, not at the bulk workflow's own defaults.
    expect(ledger.timings.get(b.paymentId)).toEqual(BULK_BANK_TIMINGS);
  }, 120_000);

  it('one bulk whose SCA times out (15 minutes, cancelled) while the other settles: partially_completed, the progress query follows', async () => {
    const [slow, fast] = [bulk(1), bulk(2)];
    const ledger = new BatchLedger([slow, fast], 0, (id) => (id === slow.paymentId ? { transactions: 5, cancelled: 5, waitMs: 15 * MINUTE } : { transactions: 4, waitMs: MINUTE }));
    const taskQueue = `batch-spec-${randomUUID()}`;
    const batchId = randomUUID();
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: ledger.activities() });
    const state = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue,
        workflowId: batchWorkflowId(batchId),
        args: [{ batchId, tenantId: 'tenant-spec', summary: 'Batch MSG-SPEC', settings: { concurrency: 10, pageSize: 10, childrenPerRun: 100, progressIntervalMs: 30_000 }, timings: {} } satisfies BatchWorkflowInput],
      });
      const midway = await handle.query(batchProgressQuery);
      expect(midway.childrenFinished).toBeLessThan(2);
      return (await handle.result()) as BatchWorkflowState;
    });
    expect(state.status).toBe('partially_completed');
    expect(state.progress).toMatchObject({ total: 9, settled: 4, cancelled: 5 });
  }, 120_000);

  describe('cancel (DELETE /batches/v1/batches/{id})', () => {
    /** Starts a batch of a bulk (SCA pending 15 min) and 6 singles, 3 children at a time; `beforeCancel` runs once 3 started. */
    async function cancelRun(
      ledger: BatchLedger,
      b: BatchChild,
      beforeCancel: (handle: { query: () => Promise<BatchWorkflowState> }) => Promise<void> = async () => undefined,
      pageSize = 1,
    ) {
      const taskQueue = `batch-spec-${randomUUID()}`;
      const batchId = randomUUID();
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: ledger.activities() });
      return worker.runUntil(async () => {
        const handle = await env.client.workflow.start('batchWorkflow', {
          taskQueue,
          workflowId: batchWorkflowId(batchId),
          args: [{ batchId, tenantId: 'tenant-spec', summary: 'Batch MSG-CANCEL', settings: { concurrency: 3, pageSize, childrenPerRun: 100, progressIntervalMs: 30_000 }, timings: {} } satisfies BatchWorkflowInput],
        });
        const query = () => handle.query(batchProgressQuery);
        await until(async () => (await query()).childrenStarted === 3);
        await beforeCancel({ query });
        const started = (await query()).childrenStarted;
        const answer = await handle.executeUpdate(cancelBatchUpdate);
        // Idempotent: a repeated cancel answers the same, and starts nothing.
        expect(await handle.executeUpdate(cancelBatchUpdate)).toEqual(answer);
        // What the API then does for each child still open: the update DELETE on that payment sends.
        const open = [b.paymentId, ...ledger.started.filter((id) => id !== b.paymentId && !ledger.finished.has(id))];
        for (const id of open) {
          if (id === b.paymentId) await env.client.workflow.getHandle(BULK_CHILD.workflowId(id)).executeUpdate(cancelBulkPaymentUpdate);
          else await env.client.workflow.getHandle(paymentWorkflowId(id)).executeUpdate(cancelPaymentUpdate);
        }
        const state = (await handle.result()) as BatchWorkflowState;
        // Once final, a cancel is refused (the API answers 409 from the recorded status before that).
        await expect(handle.executeUpdate(cancelBatchUpdate)).rejects.toThrow();
        return { answer, started, state };
      });
    }

    it('a bulk awaiting SCA and singles not started yet: the unstarted are never started, the started are cancelled, the batch ends cancelled', async () => {
      const b = bulk(1);
      const ledger = new BatchLedger([b], 6, (id) => (id === b.paymentId ? { transactions: 10, waitMs: 15 * MINUTE } : { transactions: 1, waitMs: 10 * MINUTE }));
      const { answer, started, state } = await cancelRun(ledger, b);
      expect(started).toBe(3);
      expect(answer).toEqual({ unstarted: 4, childrenStarted: 3 });
      // Children started in one workflow task run their first activity in any order: compare as a set.
      expect(ledger.started).toHaveLength(3);
      expect(new Set(ledger.started)).toEqual(new Set([b.paymentId, singleId(0), singleId(1)]));
      expect([...ledger.cancelledUnstarted]).toEqual([2, 3, 4, 5].map(singleId));
      expect(ledger.cancelledChildren).toEqual(new Set([b.paymentId, singleId(0), singleId(1)]));
      expect(state).toMatchObject({ status: 'cancelled', cancelRequested: true, childrenStarted: 3, childrenFinished: 3 });
      expect(state.progress).toMatchObject({ total: 16, cancelled: 16, settled: 0 });
      expect(ledger.statuses.at(-1)).toBe('cancelled');
      expect(ledger.finalCalls).toBe(1);
    }, 60_000);

    it('a page made ahead and only partly started: the cancel takes the unstarted rest of it, none of it starts', async () => {
      const b = bulk(1);
      const ledger = new BatchLedger([b], 6, (id) => (id === b.paymentId ? { transactions: 10, waitMs: 15 * MINUTE } : { transactions: 1, waitMs: 10 * MINUTE }));
      const { answer, state } = await cancelRun(ledger, b, undefined, 5);
      // One page of 5 made; singles 0 and 1 started (3 at a time with the bulk); 2–4 made, not started.
      expect(ledger.pages).toEqual([5]);
      expect(answer).toEqual({ unstarted: 4, childrenStarted: 3 });
      // Children started in one workflow task run their first activity in any order: compare as a set.
      expect(ledger.started).toHaveLength(3);
      expect(new Set(ledger.started)).toEqual(new Set([b.paymentId, singleId(0), singleId(1)]));
      expect([...ledger.cancelledUnstarted]).toEqual([2, 3, 4, 5].map(singleId));
      expect(state).toMatchObject({ status: 'cancelled', childrenStarted: 3, childrenFinished: 3 });
      expect(state.progress).toMatchObject({ total: 16, cancelled: 16, settled: 0 });
    }, 60_000);

    it('a single that settled before the cancel: partially_completed, the reason says what executed', async () => {
      const b = bulk(1);
      const ledger = new BatchLedger([b], 6, (id) => (id === b.paymentId ? { transactions: 10, waitMs: 15 * MINUTE } : { transactions: 1, waitMs: id === singleId(0) ? MINUTE : 10 * MINUTE }));
      const { answer, state } = await cancelRun(ledger, b, async ({ query }) => {
        await env.sleep(2 * MINUTE); // single 0 settles; the batch starts single 2 in its place
        await until(async () => (await query()).childrenStarted === 4);
      });
      expect(answer).toEqual({ unstarted: 3, childrenStarted: 4 });
      expect(ledger.started).toHaveLength(4);
      expect(state.status).toBe('partially_completed');
      expect(state.progress).toMatchObject({ total: 16, settled: 1, cancelled: 15 });
      expect(decideBatchStatus(state.progress!, 'awaiting_authorisation', true, true)).toEqual({
        record: true,
        status: 'partially_completed',
        reason: 'Cancelled by the TPP after 1 transaction(s) had executed (1 settled, 0 accepted or without a final status); 15 cancelled, 0 rejected',
      });
    }, 60_000);
  });

  it('a batch whose children all ended without the banks calling them final is not "completed"', () => {
    const open = { ...emptyProgress(4), accepted: 1, settled: 3 };
    expect(decideBatchStatus(open, 'processing', false)).toEqual({ record: false });
    expect(decideBatchStatus(open, 'processing', true)).toEqual({ record: true, status: 'partially_completed', reason: '1 transaction(s) without a final status from the bank' });
    expect(decideBatchStatus({ ...emptyProgress(2), settled: 2 }, 'completed', true)).toEqual({ record: false });
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
