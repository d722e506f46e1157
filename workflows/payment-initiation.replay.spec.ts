import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
import { temporalTestServerExecutable } from '../libs/temporal/cli-binary';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../libs/temporal/search-attributes';
import { initiationResultUpdate, paymentWorkflowId } from './payment-initiation.api';
import type { paymentInitiationWorkflow } from './payment-initiation.workflow';

/**
 * Determinism guard: a real history of the decoupled happy path, recorded once and committed, must
 * replay against the current workflow code. A change that reorders or drops a command fails here
 * (DeterminismViolationError); such a change needs `patched()` or a new workflow type.
 *
 * The replay needs no server (only the recorder starts one). To re-record the fixture (only when a change is meant to be incompatible and is
 * shipped with versioning): `RECORD_HISTORY=1 npx jest workflows/payment-initiation.replay.spec.ts`.
 */

const FIXTURE = path.join(__dirname, '__fixtures__', 'payment-decoupled-history.json');
const RECORD = process.env.RECORD_HISTORY === '1';

type History = proto.temporal.api.history.v1.IHistory;

/**
 * Proto3 JSON, the format `temporal workflow show --output json` writes. Not the SDK's historyToJSON /
 * historyFromJSON (which Worker.runReplayHistory also calls for JSON input): in this install npm keeps
 * two copies of protobufjs 8.8.1 (under @temporalio/common and @temporalio/proto), so their protojson
 * `instanceof Type` check throws "type must be a Type". Use the copy @temporalio/proto's types were
 * built with; `npm dedupe` would let the SDK helpers work again.
 */
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

describe('paymentInitiationWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordDecoupledHappyPath();
    if (RECORD) writeFixture(fresh);
    const commands = (h: History) =>
      h.events!.map((e) => String(e.eventType)).filter((t) => !/WORKFLOW_TASK|ACTIVITY_TASK_(STARTED|COMPLETED)/.test(t));
    const recorded = historyFromJson(JSON.parse(readFileSync(FIXTURE, 'utf8')));
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(10);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it('replays the recorded decoupled happy path with the current workflow code', async () => {
    const history = historyFromJson(JSON.parse(readFileSync(FIXTURE, 'utf8')));

    // A replay of a truncated fixture would prove little: check it is the whole story first.
    const events = history.events!;
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(activities).toEqual([
      'initiatePaymentAtBank',
      'getBankScaStatus',
      'recordPaymentStatus',
      'getBankPaymentStatus',
      'recordPaymentStatus',
      'getBankPaymentStatus',
      'recordPaymentStatus',
    ]);
    expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();

    await expect(
      Worker.runReplayHistory({ workflowsPath: require.resolve('./index') }, history, 'payment-decoupled-fixture'),
    ).resolves.toBeUndefined();
  }, 30_000);
});

function writeFixture(history: History): void {
  mkdirSync(path.dirname(FIXTURE), { recursive: true });
  writeFileSync(FIXTURE, historyToJson(history) + '\n');
}

/** One decoupled payment on the time-skipping server, started as the API starts it (update-with-start). */
async function recordDecoupledHappyPath(): Promise<History> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalTestServerExecutable() } });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.keys(CUSTOM_SEARCH_ATTRIBUTES).map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    let statusPolls = 0;
    const activities: PaymentActivities = {
      initiatePaymentAtBank: async () => ({
        bankPaymentId: 'bank-pmt-fixture',
        transactionStatus: 'RCVD',
        rawTransactionStatus: 'RCVD',
        scaApproach: 'DECOUPLED',
        authorisationId: 'auth-fixture',
        psuMessage: 'Please confirm the payment in your banking app',
      }),
      getBankScaStatus: async () => ({ raw: 'finalised', normalised: 'finalised' }),
      getBankPaymentStatus: async () => (statusPolls++ === 0 ? { raw: 'ACSP', normalised: 'ACSP' } : { raw: 'ACSC', normalised: 'ACSC' }),
      startAuthorisationAtBank: async () => {
        throw new Error('not part of this scenario');
      },
      cancelPaymentAtBank: async () => {
        throw new Error('not part of this scenario');
      },
      updatePaymentPsuDataAtBank: async () => {
        throw new Error('not part of this scenario');
      },
      recordPaymentStatus: async () => undefined,
    };
    const taskQueue = 'payment-history-fixture';
    const paymentId = '00000000-0000-4000-8000-000000000001';
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('./index'), activities });
    return await worker.runUntil(async () => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
        workflowId: paymentWorkflowId(paymentId),
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [
          {
            paymentId,
            tenantId: 'tenant-fixture',
            bicFi: 'SANDDEFFXXX',
            paymentProduct: 'sepa-credit-transfers',
            timings: {
              scaTimeoutMs: 15 * 60_000,
              scaPollInitialMs: 2_000,
              scaPollMaxMs: 30_000,
              statusPollInitialMs: 5_000,
              statusPollMaxMs: 300_000,
              statusDeadlineMs: 24 * 3_600_000,
            },
          },
        ],
      });
      await env.client.workflow.executeUpdateWithStart(initiationResultUpdate, { startWorkflowOperation });
      const handle = await startWorkflowOperation.workflowHandle();
      const state = await handle.result();
      if (state.transactionStatus !== 'ACSC') throw new Error(`unexpected final status ${state.transactionStatus}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
