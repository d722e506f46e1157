import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { RECORD_HISTORY, commandSequence, installQuietRuntime, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { Worker } from '@temporalio/worker';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { TenantId, TransferStatus } from '../libs/temporal/search-attributes';
import { grantFinishSignal, opTransferWorkflowId, transferAuthorisationUpdate } from './op-transfer.api';
import type { openPaymentsTransferWorkflow } from './op-transfer.workflow';

/**
 * Determinism guard for the Open Payments transfer workflow: one real history of an approved
 * transfer (grant requested → PSU approves → outgoing payment → complete on the second poll),
 * recorded once and committed, must replay against the current code. A change that reorders or
 * drops a command fails here and needs `patched()`.
 *
 * The replay needs no server (only the recorder starts one). To re-record the fixture (only when a
 * change is meant to be incompatible and is shipped with versioning):
 * `RECORD_HISTORY=1 npx jest workflows/op-transfer.replay.spec.ts`.
 */

const FIXTURE = path.join(__dirname, '__fixtures__', 'op-transfer-history.json');

beforeAll(installQuietRuntime);

describe('openPaymentsTransferWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordApprovedTransfer();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const commands = commandSequence;
    const recorded = readHistoryFixture(FIXTURE);
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(15);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it('replays the recorded approved transfer with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);

    // A replay of a truncated fixture would prove little: check it is the whole story first.
    const events = history.events!;
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(activities).toEqual([
      'resolveWalletAddresses',
      'createIncomingPayment',
      'createQuote',
      'requestOutgoingPaymentGrant',
      'recordTransferStatus',
      'continueGrant',
      'recordTransferStatus',
      'quoteExpired',
      'createOutgoingPayment',
      'getOutgoingPaymentProgress',
      'getOutgoingPaymentProgress',
      'recordTransferStatus',
    ]);
    const updates = events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
    expect(updates).toEqual(['transferAuthorisation']);
    const signals = events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
    expect(signals).toEqual(['grantFinish']);
    // The grant window (cancelled by the signal) and one poll interval.
    expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length).toBe(3);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();

    await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('./index') }, history, 'op-transfer-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

/** One approved transfer on the time-skipping server, driven as the API and the finish callback drive it. */
async function recordApprovedTransfer(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    let polls = 0;
    const activities: OpTransferActivities = {
      resolveWalletAddresses: async () => undefined,
      createIncomingPayment: async () => undefined,
      createQuote: async () => undefined,
      requestOutgoingPaymentGrant: async () => ({ interactRedirect: 'https://auth.wallet.example/interact/fixture' }),
      continueGrant: async () => undefined,
      quoteExpired: async () => false,
      createOutgoingPayment: async () => undefined,
      getOutgoingPaymentProgress: async () => ({ complete: ++polls >= 2, failed: false }),
      revokeTransferGrant: async () => undefined,
      recordTransferStatus: async () => undefined,
    };
    const taskQueue = 'op-transfer-history-fixture';
    const transferId = '00000000-0000-4000-8000-0000000000f1';
    const workflowId = opTransferWorkflowId(transferId);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('./index'), activities });
    return await worker.runUntil(async () => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof openPaymentsTransferWorkflow>('openPaymentsTransferWorkflow', {
        workflowId,
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [
          {
            transferId,
            tenantId: 'tenant-fixture',
            timings: { grantWindowMs: 10 * 60_000, sendPollInitialMs: 2_000, sendPollMaxMs: 30_000, sendDeadlineMs: 3_600_000 },
          },
        ],
        typedSearchAttributes: [
          { key: TenantId, value: 'tenant-fixture' },
          { key: TransferStatus, value: 'quoting' },
        ],
      });
      await env.client.workflow.executeUpdateWithStart(transferAuthorisationUpdate, { startWorkflowOperation });
      const handle = env.client.workflow.getHandle<typeof openPaymentsTransferWorkflow>(workflowId);
      await handle.signal(grantFinishSignal, { interactRef: 'interact-ref-fixture', hash: 'hash-fixture' });
      const state = await handle.result();
      if (state.status !== 'completed') throw new Error(`unexpected final status ${state.status}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
