import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { RECORD_HISTORY, commandSequence, installQuietRuntime, localActivitiesOf, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { Worker } from '@temporalio/worker';
import type { ConsentActivities } from '../activities/consent.activities';
import { consentCreationUpdate, consentStateQuery, consentWorkflowId, readAccountDataUpdate, terminateConsentUpdate } from './consent.api';
import type { consentWorkflow } from './consent.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * Determinism guard for the consent entity workflow: real histories (decoupled SCA → valid →
 * three reads → terminated by the TPP), recorded once and committed, must replay against the
 * current code. Consents live for months, so a run started by an older deployment is replayed by
 * the new one: a change that reorders or drops a command fails here and needs `patched()`.
 *
 * - `consent-history.json`: today's code; the reads run as local activities
 *   (`patched('consent-local-account-reads')`: one marker each, no activity task).
 * - `consent-history-before-local-account-reads.json`: recorded before that patch, the reads as
 *   activities: a consent started then and still alive must keep replaying.
 *
 * The replay needs no server (only the recorder starts one). To re-record the current fixture (only
 * when a change is meant to be incompatible and is shipped with versioning):
 * `RECORD_HISTORY=1 npx jest workflows/consent.replay.spec.ts`.
 */

const FIXTURE = path.join(__dirname, '__fixtures__', 'consent-history.json');
const BEFORE_LOCAL_READS = path.join(__dirname, '__fixtures__', 'consent-history-before-local-account-reads.json');
const PATCH_LOCAL_READS = 'consent-local-account-reads';

beforeAll(installQuietRuntime);

describe('consentWorkflow replay', () => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const fresh = await recordConsentLife();
    if (RECORD_HISTORY) writeHistoryFixture(FIXTURE, fresh);
    const commands = commandSequence;
    const recorded = readHistoryFixture(FIXTURE);
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commands(recorded).length).toBeGreaterThan(15);
    expect(commands(fresh)).toEqual(commands(recorded));
  }, 60_000);

  it.each([
    { fixture: FIXTURE, reads: 'local' as const },
    { fixture: BEFORE_LOCAL_READS, reads: 'activities' as const },
  ])('replays the recorded consent life with the current workflow code ($reads reads)', async ({ fixture, reads }) => {
    const history = readHistoryFixture(fixture);

    // A replay of a truncated fixture would prove little: check it is the whole story first.
    const events = history.events!;
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    const accountReads = reads === 'activities' ? ['readAccountData', 'readAccountData', 'readAccountData'] : [];
    expect(activities).toEqual([
      'createConsentAtBank',
      'getBankConsentScaStatus',
      'recordConsentStatus',
      'getBankConsent',
      'recordConsentStatus',
      ...accountReads,
      'deleteConsentAtBank',
      'recordConsentStatus',
    ]);
    expect(localActivitiesOf(history)).toEqual(reads === 'local' ? ['readAccountData', 'readAccountData', 'readAccountData'] : []);
    expect(patchesOf(history)).toEqual(reads === 'local' ? [PATCH_LOCAL_READS] : []);
    const updates = events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
    expect(updates).toEqual(['consentCreation', 'readAccountData', 'readAccountData', 'readAccountData', 'terminateConsent']);
    expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
    expect(events.some((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toBe(true);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();

    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'consent-fixture')).resolves.toBeUndefined();
  }, 30_000);
});

/** One consent on the time-skipping server, driven as the API drives it. */
async function recordConsentLife(): Promise<History> {
  const env = await startTimeSkippingEnv();
  try {
    let reads = 0;
    const notInThisScenario = async (): Promise<never> => {
      throw new Error('not part of this scenario');
    };
    const activities: ConsentActivities = {
      createConsentAtBank: async () => ({
        bankConsentId: 'bank-consent-fixture',
        consentStatus: 'received',
        scaApproach: 'DECOUPLED',
        authorisationId: 'auth-fixture',
        psuMessage: 'Please confirm the consent in your banking app',
      }),
      getBankConsentScaStatus: async () => ({ raw: 'finalised', normalised: 'finalised' }),
      getBankConsent: async () => ({
        status: { raw: 'valid', normalised: 'valid' },
        validUntil: new Date((await env.currentTimeMs()) + 90 * 24 * 3_600_000).toISOString().slice(0, 10),
        frequencyPerDay: 4,
      }),
      getBankConsentStatus: async () => ({ raw: 'valid', normalised: 'valid' }),
      readAccountData: async () => ({ resultId: `r-${reads++}` }),
      deleteConsentAtBank: async () => undefined,
      recordConsentStatus: async () => undefined,
      emitConsentEvent: async () => undefined,
      deleteOrphanedConsents: notInThisScenario,
      startConsentAuthorisationAtBank: notInThisScenario,
      updateConsentPsuDataAtBank: notInThisScenario,
    };
    const taskQueue = 'consent-history-fixture';
    const consentId = '00000000-0000-4000-8000-0000000000c1';
    const workflowId = consentWorkflowId(consentId);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
    return await worker.runUntil(async () => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof consentWorkflow>('consentWorkflow', {
        workflowId,
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [
          {
            consentId,
            tenantId: 'tenant-fixture',
            bicFi: 'SANDDEFFXXX',
            frequencyPerDay: 4,
            grants: { accounts: true, balances: true, transactions: true },
            timings: {
              scaTimeoutMs: 15 * 60_000,
              scaPollInitialMs: 2_000,
              scaPollMaxMs: 30_000,
              statusCheckIntervalMs: 24 * 3_600_000,
              expiringNoticeMs: 7 * 24 * 3_600_000,
              maxHistoryEvents: 1_000,
            },
          },
        ],
      });
      await env.client.workflow.executeUpdateWithStart(consentCreationUpdate, { startWorkflowOperation });
      const handle = env.client.workflow.getHandle<typeof consentWorkflow>(workflowId);
      await env.sleep(3_000); // past the first SCA check
      for (let i = 0; (await handle.query(consentStateQuery)).status !== 'valid'; i++) {
        if (i > 250) throw new Error('the consent never became valid');
        await new Promise((r) => setTimeout(r, 20));
      }
      await handle.executeUpdate(readAccountDataUpdate, { args: [{ endpoint: 'accounts' }] });
      await handle.executeUpdate(readAccountDataUpdate, { args: [{ endpoint: 'balances', accountId: 'acc-fixture' }] });
      await handle.executeUpdate(readAccountDataUpdate, {
        args: [{ endpoint: 'transactions', accountId: 'acc-fixture', query: { bookingStatus: 'booked' } }],
      });
      await handle.executeUpdate(terminateConsentUpdate);
      const state = await handle.result();
      if (state.status !== 'terminatedByTpp') throw new Error(`unexpected final status ${state.status}`);
      return handle.fetchHistory();
    });
  } finally {
    await env.teardown();
  }
}
