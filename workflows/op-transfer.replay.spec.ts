import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { Worker } from '@temporalio/worker';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { TenantId, TransferStatus } from '../libs/temporal/search-attributes';
import { TRANSFER_OUTCOMES_PATCH, grantFinishSignal, opTransferWorkflowId, transferAuthorisationUpdate } from './op-transfer.api';
import type { openPaymentsTransferWorkflow } from './op-transfer.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

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

/** Recorded before `op-transfer-outcomes` (TRANSFER_OUTCOMES_PATCH): a run started on that code must still replay. */
const FIXTURE_BEFORE_OUTCOMES = path.join(__dirname, '__fixtures__', 'op-transfer-history.json');
/** Today's shape: patch marker, and the receiver's incoming payment completed at the end. */
const FIXTURE = path.join(__dirname, '__fixtures__', 'op-transfer-outcomes-history.json');

beforeAll(installQuietRuntime);

describe('openPaymentsTransferWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordApprovedTransfer();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const commands = commandSequence;
    const recorded = readHistoryFixture(FIXTURE);
    // The old fixture stays as recorded: it is what runs started before the patch replay.
    expect(commands(recorded)).not.toEqual(commands(readHistoryFixture(FIXTURE_BEFORE_OUTCOMES)));
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(15);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it('replays the approved transfer recorded before op-transfer-outcomes (old branch of the patch)', async () => {
    const history = readHistoryFixture(FIXTURE_BEFORE_OUTCOMES);
    expect(activitiesOf(history)).toEqual([...UP_TO_THE_PAYMENT, 'recordTransferStatus']);
    expect(patchesOf(history)).toEqual([]);
    expectWholeStory(history, 3); // TransferStatus three times
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'op-transfer-fixture-v1')).resolves.toBeUndefined();
  }, 30_000);

  it('replays the recorded approved transfer with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);
    expect(activitiesOf(history)).toEqual([...UP_TO_THE_PAYMENT, 'closeIncomingPayment', 'recordTransferStatus']);
    expect(patchesOf(history)).toEqual([TRANSFER_OUTCOMES_PATCH]);
    expectWholeStory(history, 4); // and TemporalChangeVersion, which patched() sets
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'op-transfer-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

/** Up to the payment: the same in both shapes. */
const UP_TO_THE_PAYMENT = [
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
];

/** A replay of a truncated fixture would prove little: check it is the whole story first. */
function expectWholeStory(history: History, searchAttributeUpserts: number): void {
  const events = history.events!;
  const updates = events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
  expect(updates).toEqual(['transferAuthorisation']);
  const signals = events.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
  expect(signals).toEqual(['grantFinish']);
  // The grant window (cancelled by the signal) and one poll interval.
  expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
  expect(events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length).toBe(searchAttributeUpserts);
  expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
}

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
      createOutgoingPayment: async () => ({ outcome: 'created' as const }),
      findOutgoingPayment: async () => ({ outcome: 'found' as const }),
      getOutgoingPaymentProgress: async () => ({ complete: ++polls >= 2, failed: false }),
      adoptOutgoingPayment: async () => undefined,
      recordTransferResolution: async () => undefined,
      closeIncomingPayment: async () => undefined,
      revokeTransferGrant: async () => undefined,
      recordTransferStatus: async () => undefined,
    };
    const taskQueue = 'op-transfer-history-fixture';
    const transferId = '00000000-0000-4000-8000-0000000000f1';
    const workflowId = opTransferWorkflowId(transferId);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
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
