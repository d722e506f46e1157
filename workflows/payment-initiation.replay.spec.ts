import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { RECORD_HISTORY, commandSequence, installQuietRuntime, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { Worker } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
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

beforeAll(installQuietRuntime);

describe('paymentInitiationWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordDecoupledHappyPath();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const commands = commandSequence;
    const recorded = readHistoryFixture(FIXTURE);
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(10);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it('replays the recorded decoupled happy path with the current workflow code', async () => {
    const history = readHistoryFixture(FIXTURE);

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

/** One decoupled payment on the time-skipping server, started as the API starts it (update-with-start). */
async function recordDecoupledHappyPath(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
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
