import path from 'node:path';
import * as proto from '@temporalio/proto';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { BatchActivities } from '../activities/batch.activities';
import { emptyProgress } from '../libs/persistence/batch-progress';
import type { ChildStubActivities } from '../test/support/batch-workflow-stubs';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { batchWorkflowId, cancelBatchUpdate, batchProgressQuery, type BatchChild, type BatchWorkflowInput } from './batch.api';
import { BULK_CHILD } from './batch-children';
import { cancelBulkPaymentUpdate } from './bulk-payment.api';
import { cancelPaymentUpdate, paymentWorkflowId } from './payment-initiation.api';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for the batch workflow: one real history (a bulk and three single payments as
 * children, two at a time, progress recorded, the final status), recorded once and committed, must
 * replay against the current code. Re-record only for a change shipped behind `patched()`:
 * `RECORD_HISTORY=1 npx jest workflows/batch.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'batch-history.json');
/** Recorded before the 'batch-bulk-timings' patch (bulk children without the deployment's polling): must keep replaying. */
const FIXTURE_BEFORE_BULK_TIMINGS = path.join(__dirname, '__fixtures__', 'batch-before-bulk-timings-history.json');
/** A batch cancelled after its bulk and one single started ('batch-cancel'): two singles never started. */
const FIXTURE_CANCEL = path.join(__dirname, '__fixtures__', 'batch-cancel-history.json');
/** FIXTURE and FIXTURE_CANCEL as recorded before the 'batch-pages-ahead' patch (a page as large as the room): must keep replaying. */
const FIXTURE_BEFORE_PAGES_AHEAD = path.join(__dirname, '__fixtures__', 'batch-before-pages-ahead-history.json');
const FIXTURE_CANCEL_BEFORE_PAGES_AHEAD = path.join(__dirname, '__fixtures__', 'batch-cancel-before-pages-ahead-history.json');
const BATCH_ID = '00000000-0000-4000-8000-00000000ba7c';

beforeAll(installQuietRuntime);

describe('batchWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordBatch();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const recorded = readHistoryFixture(FIXTURE);
    expect(commandSequence(fresh)).toEqual(commandSequence(recorded));
  }, 120_000);

  it('replays the recorded history with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    const events = history.events!;
    // Pages of one (the fixture's page size), made ahead of the room since 'batch-pages-ahead'.
    expect(patchesOf(history)).toEqual(['batch-bulk-timings', 'batch-pages-ahead']);
    expect(activitiesOf(history)).toEqual(['loadBatchPlan', 'recordBatchProgress', 'prepareBatchSinglePayments', 'prepareBatchSinglePayments', 'prepareBatchSinglePayments', 'recordBatchProgress']);
    expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowType!.name)).toEqual([
      'bulkPaymentWorkflow',
      'paymentInitiationWorkflow',
      'paymentInitiationWorkflow',
      'paymentInitiationWorkflow',
    ]);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    // Ids and counts only: no IBAN or name anywhere in the history.
    expect(JSON.stringify(history)).not.toMatch(/NL91ABNA|DE89370400/);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'batch-fixture')).resolves.toBeUndefined();
  }, 60_000);

  it("replays histories recorded before the 'batch-pages-ahead' patch (each page as large as the room)", async () => {
    for (const [file, name] of [
      [FIXTURE_BEFORE_PAGES_AHEAD, 'batch-fixture-before-pages-ahead'],
      [FIXTURE_CANCEL_BEFORE_PAGES_AHEAD, 'batch-fixture-cancel-before-pages-ahead'],
    ] as const) {
      const history = readHistoryFixture(file);
      expect(patchesOf(history)).not.toContain('batch-pages-ahead');
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, name)).resolves.toBeUndefined();
    }
  }, 60_000);

  it("replays a history recorded before the 'batch-bulk-timings' patch (its bulk child started without timings)", async () => {
    const history = readHistoryFixture(FIXTURE_BEFORE_BULK_TIMINGS);
    const bulkStart = history.events!.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === 'bulkPaymentWorkflow');
    expect(bulkStart).toBeTruthy();
    expect(history.events!.some((e) => e.markerRecordedEventAttributes)).toBe(false);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'batch-fixture-before-bulk-timings')).resolves.toBeUndefined();
  }, 60_000);

  it("a cancelled batch ('batch-cancel'): the fixture is what the current code records, and it replays", async () => {
    const fresh = await recordCancelledBatch();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE_CANCEL, fresh);
    const history = readHistoryFixture(FIXTURE_CANCEL);
    // When the update lands between workflow tasks is real time: compare the workflow's commands only.
    expect(workflowCommands(fresh)).toEqual(workflowCommands(history));
    expect(workflowCommands(history).filter((t) => /START_CHILD|UPDATE_COMPLETED|MARKER/.test(t))).toEqual([
      'EVENT_TYPE_MARKER_RECORDED',
      'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
      'EVENT_TYPE_MARKER_RECORDED',
      'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED',
      'EVENT_TYPE_MARKER_RECORDED',
      'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
    ]);
    expect(patchesOf(history)).toContain('batch-cancel');
    expect(activitiesOf(history)).toContain('cancelUnstartedBatchPayments');
    expect(history.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(2);
    expect(history.events!.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'batch-fixture-cancel')).resolves.toBeUndefined();
  }, 120_000);
});

/** The events the workflow's own commands made, in order (no task bookkeeping, no child or activity progress). */
function workflowCommands(history: History): string[] {
  const names = proto.temporal.api.enums.v1.EventType;
  const commands = /ACTIVITY_TASK_SCHEDULED|TIMER_(STARTED|CANCELED)|START_CHILD_WORKFLOW_EXECUTION_INITIATED|MARKER_RECORDED|UPSERT_WORKFLOW_SEARCH_ATTRIBUTES|UPDATE_COMPLETED|WORKFLOW_EXECUTION_COMPLETED/;
  return history.events!.map((e) => names[Number(e.eventType)] ?? String(e.eventType)).filter((t) => commands.test(t));
}

/** Bulk + 3 singles, 2 at a time; cancelled once 2 started; the started ones cancelled through their own updates. */
async function recordCancelledBatch(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const bulk: BatchChild = { kind: 'bulk', paymentId: '00000000-0000-4000-9000-0000000000c1', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers' };
    const single = (i: number) => `00000000-0000-4000-8000-0000000000c${i}`;
    const started: string[] = [];
    const activities: Pick<BatchActivities, 'loadBatchPlan' | 'prepareBatchSinglePayments' | 'recordBatchProgress' | 'cancelUnstartedBatchPayments'> & ChildStubActivities = {
      loadBatchPlan: async () => ({ bulks: [bulk], firstSingle: { pmtInfIndex: 1, txIndex: 0 }, numberOfTransactions: 5 }),
      prepareBatchSinglePayments: async (_id, cursor) => ({
        children: [{ kind: 'single', paymentId: single(cursor.txIndex), bicFi: 'SANDNL2AXXX', paymentProduct: 'sepa-credit-transfers', at: cursor }],
        next: cursor.txIndex < 2 ? { pmtInfIndex: 1, txIndex: cursor.txIndex + 1 } : null,
      }),
      cancelUnstartedBatchPayments: async (_id, cursor) => ({ unstarted: cursor ? 3 - cursor.txIndex : 0 }),
      recordBatchProgress: async (_id, final) => ({ status: final ? 'cancelled' : 'awaiting_authorisation', progress: { ...emptyProgress(5), ...(final ? { cancelled: 5 } : { awaitingSca: 3, received: 2 }) } }),
      childStarted: async (paymentId) => {
        started.push(paymentId);
        return { waitMs: 15 * 60_000 };
      },
      childFinished: async () => undefined,
    };
    const taskQueue = 'batch-cancel-history-fixture';
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/support/batch-workflow-stubs'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue,
        workflowId: batchWorkflowId('00000000-0000-4000-8000-0000000ca7c1'),
        args: [
          {
            batchId: '00000000-0000-4000-8000-0000000ca7c1',
            tenantId: 'tenant-fixture',
            summary: 'Batch MSG-FIXTURE-CANCEL · 5 tx',
            settings: { concurrency: 2, pageSize: 1, childrenPerRun: 100, progressIntervalMs: 3_600_000 },
            timings: {},
          } satisfies BatchWorkflowInput,
        ],
      });
      for (const deadline = Date.now() + 20_000; (await handle.query(batchProgressQuery)).childrenStarted < 2; ) {
        if (Date.now() > deadline) throw new Error('children did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const answer = await handle.executeUpdate(cancelBatchUpdate);
      if (answer.unstarted !== 2) throw new Error(`unexpected cancel answer ${JSON.stringify(answer)}`);
      await env.client.workflow.getHandle(BULK_CHILD.workflowId(bulk.paymentId)).executeUpdate(cancelBulkPaymentUpdate);
      await env.client.workflow.getHandle(paymentWorkflowId(single(0))).executeUpdate(cancelPaymentUpdate);
      await handle.result();
      if (started.length !== 2) throw new Error(`unexpected children ${started.join(',')}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}

async function recordBatch(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const bulk: BatchChild = { kind: 'bulk', paymentId: '00000000-0000-4000-9000-000000000001', bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers' };
    const finished = new Set<string>();
    const waits: Record<string, number> = { [bulk.paymentId]: 7 * 60_000 };
    const activities: Pick<BatchActivities, 'loadBatchPlan' | 'prepareBatchSinglePayments' | 'recordBatchProgress'> & ChildStubActivities = {
      loadBatchPlan: async () => ({ bulks: [bulk], firstSingle: { pmtInfIndex: 1, txIndex: 0 }, numberOfTransactions: 8 }),
      prepareBatchSinglePayments: async (_id, cursor) => {
        const id = `00000000-0000-4000-8000-00000000000${cursor.txIndex}`;
        waits[id] = (cursor.txIndex + 1) * 60_000;
        return { children: [{ kind: 'single', paymentId: id, bicFi: 'SANDNL2AXXX', paymentProduct: 'sepa-credit-transfers', at: cursor }], next: cursor.txIndex < 2 ? { pmtInfIndex: 1, txIndex: cursor.txIndex + 1 } : null };
      },
      recordBatchProgress: async (_id, final) => ({ status: final ? 'completed' : 'awaiting_authorisation', progress: { ...emptyProgress(8), ...(final ? { settled: 8 } : { awaitingSca: 8 }) } }),
      childStarted: async (paymentId) => ({ waitMs: waits[paymentId] ?? 60_000 }),
      childFinished: async (paymentId) => void finished.add(paymentId),
    };
    const taskQueue = 'batch-history-fixture';
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../test/support/batch-workflow-stubs'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
    return await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('batchWorkflow', {
        taskQueue,
        workflowId: batchWorkflowId(BATCH_ID),
        args: [
          {
            batchId: BATCH_ID,
            tenantId: 'tenant-fixture',
            summary: 'Batch MSG-FIXTURE · 8 tx · 123.45 EUR',
            settings: { concurrency: 2, pageSize: 1, childrenPerRun: 100, progressIntervalMs: 3_600_000 },
            timings: {},
          } satisfies BatchWorkflowInput,
        ],
      });
      await handle.result();
      if (finished.size !== 4) throw new Error(`unexpected children ${[...finished].join(',')}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
