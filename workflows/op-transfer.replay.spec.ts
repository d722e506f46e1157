import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { temporalTestServerExecutable } from '../libs/temporal/cli-binary';
import { CUSTOM_SEARCH_ATTRIBUTES, TenantId, TransferStatus } from '../libs/temporal/search-attributes';
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
const RECORD = process.env.RECORD_HISTORY === '1';

type History = proto.temporal.api.history.v1.IHistory;

/** Proto3 JSON with @temporalio/proto's own protobufjs copy: see payment-initiation.replay.spec.ts. */
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [path.dirname(require.resolve('@temporalio/proto'))] })) as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown): History | null;
};
const historyType = (patchProtobufRoot(proto as Record<string, unknown>) as { lookupType?(name: string): unknown }).lookupType!(
  'temporal.api.history.v1.History',
);
const historyToJson = (history: History) =>
  JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
function historyFromJson(json: unknown): History {
  const history = protojson.fromJson(historyType, json);
  if (!history?.events?.length) throw new TypeError('Invalid history fixture');
  return history;
}

beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' } } } });
});

describe('openPaymentsTransferWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordApprovedTransfer();
    if (RECORD) writeFixture(fresh);
    const commands = (h: History) =>
      h.events!.map((e) => String(e.eventType)).filter((t) => !/WORKFLOW_TASK|ACTIVITY_TASK_(STARTED|COMPLETED)/.test(t));
    const recorded = historyFromJson(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(15);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it('replays the recorded approved transfer with the current workflow code', async () => {
    const history = historyFromJson(JSON.parse(readFileSync(FIXTURE, 'utf8')));

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

function writeFixture(history: History): void {
  mkdirSync(path.dirname(FIXTURE), { recursive: true });
  writeFileSync(FIXTURE, historyToJson(history) + '\n');
}

/** One approved transfer on the time-skipping server, driven as the API and the finish callback drive it. */
async function recordApprovedTransfer(): Promise<History> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalTestServerExecutable() } });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.keys(CUSTOM_SEARCH_ATTRIBUTES).map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
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
