import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { activitiesOf, commandSequence, installQuietRuntime, readHistoryFixture, RECORD_HISTORY, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { stubBulkBank } from '../test/support/bulk-activities-stub';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { bulkInitiationResultUpdate, bulkPaymentWorkflowId, cancelBulkPaymentUpdate, startCancellationAuthorisationUpdate } from './bulk-payment.api';
import type { bulkPaymentWorkflow } from './bulk-payment.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for the bulk payment workflow: one real history (initiated by update-with-start
 * → decoupled SCA → ACSP → PATC with every transaction final), recorded once and committed, must
 * replay against the current code. A change that reorders or drops a command fails here and
 * needs `patched()`. Re-record only for such a change: `RECORD_HISTORY=1 npx jest workflows/bulk-payment.replay.spec.ts`.
 */
const FIXTURE = path.join(__dirname, '__fixtures__', 'bulk-payment-history.json');
/** The shape `patched('bulk-cancellation-authorisation')` added: DELETE → 202, cancellation authorised, CANC. */
const CANCELLATION_FIXTURE = path.join(__dirname, '__fixtures__', 'bulk-payment-cancellation-history.json');

beforeAll(installQuietRuntime);

async function recordBulkLife(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    const stub = stubBulkBank(() => env.currentTimeMs(), {
      poll: (n) =>
        n === 0
          ? { transactionStatus: 'ACSP', rawTransactionStatus: 'ACSP', perTransaction: true, allTransactionsFinal: false, counts: { ACSP: 3, RJCT: 1 } }
          : { transactionStatus: 'PATC', rawTransactionStatus: 'PATC', perTransaction: true, allTransactionsFinal: true, counts: { ACSC: 3, RJCT: 1 } },
    });
    const taskQueue = `bulk-replay-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities: stub.activities });
    const paymentId = '3f1c1f0e-5d7b-4c59-9a51-6a2f0c3b7d10';
    return await worker.runUntil(async () => {
      await env.client.workflow.executeUpdateWithStart(bulkInitiationResultUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof bulkPaymentWorkflow>('bulkPaymentWorkflow', {
          workflowId: bulkPaymentWorkflowId(paymentId),
          taskQueue,
          args: [{ tenantId: 'tenant-1', paymentId, batchId: '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d' }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(paymentId));
      await handle.result();
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}

describe('bulkPaymentWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordBulkLife();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const recorded = readHistoryFixture(FIXTURE);
    expect(commandSequence(recorded).length).toBeGreaterThan(10);
    expect(commandSequence(fresh)).toEqual(commandSequence(recorded));
  }, 120_000);

  it('replays the recorded bulk life with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    expect(activitiesOf(history)).toEqual([
      'loadBulkPaymentSettings',
      'initiateBulkPaymentAtBank',
      'getBankBulkScaStatus',
      'recordBulkPaymentStatus',
      'pollBulkPaymentStatusAtBank',
      'recordBulkPaymentStatus',
      'pollBulkPaymentStatusAtBank',
      'recordBulkPaymentStatus',
    ]);
    const events = history.events!;
    expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    // Ids, statuses and counts only: no transaction data in the history.
    expect(JSON.stringify(history)).not.toMatch(/iban|creditor/i);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'bulk-fixture')).resolves.toBeUndefined();
  }, 60_000);
});

/** Authorised bulk waiting for its date → DELETE answered 202 → cancellation authorisation → its SCA followed → CANC. */
async function recordBulkCancellation(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    let approved = false;
    const stub = stubBulkBank(() => env.currentTimeMs(), {
      poll: () =>
        approved
          ? { transactionStatus: 'CANC', rawTransactionStatus: 'CANC', perTransaction: true, allTransactionsFinal: true, counts: { CANC: 4 } }
          : { transactionStatus: 'ACCP', rawTransactionStatus: 'ACCP', perTransaction: true, allTransactionsFinal: false, counts: { ACCP: 4 } },
      cancel: () => ({ transactionStatus: 'ACCP', authorisationRequired: true }),
      cancellationScaStatus: (n) => {
        if (n < 1) return 'started';
        approved = true;
        return 'finalised';
      },
    });
    const taskQueue = `bulk-replay-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities: stub.activities });
    const paymentId = '5b2d7e1a-0c4f-4e8a-b1d2-9f3e6a7c8d40';
    return await worker.runUntil(async () => {
      await env.client.workflow.executeUpdateWithStart(bulkInitiationResultUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof bulkPaymentWorkflow>('bulkPaymentWorkflow', {
          workflowId: bulkPaymentWorkflowId(paymentId),
          taskQueue,
          args: [{ tenantId: 'tenant-1', paymentId, timings: { statusPollInitialMs: 5_000, statusPollMaxMs: 60_000 } }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(paymentId));
      await env.sleep(60_000);
      await handle.executeUpdate(cancelBulkPaymentUpdate);
      await handle.executeUpdate(startCancellationAuthorisationUpdate);
      await handle.result();
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}

describe('bulkPaymentWorkflow replay: cancellation authorisation', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordBulkCancellation();
    if (RECORD_HISTORY) writeHistoryFixture(CANCELLATION_FIXTURE, fresh);
    const recorded = readHistoryFixture(CANCELLATION_FIXTURE);
    const activities = activitiesOf(recorded);
    expect(activities).toContain('cancelBulkPaymentAtBank');
    expect(activities).toContain('startBulkCancellationAuthorisationAtBank');
    expect(activities).toContain('getBulkCancellationScaStatusAtBank');
    expect(commandSequence(fresh)).toEqual(commandSequence(recorded));
  }, 120_000);

  it('replays the recorded cancellation with the current workflow code', async () => {
    const history = readHistoryFixture(CANCELLATION_FIXTURE);
    // The patch marker of `bulk-cancellation-authorisation` is in the history.
    expect(history.events!.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
    expect(history.events!.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'bulk-cancellation-fixture')).resolves.toBeUndefined();
  }, 60_000);
});
