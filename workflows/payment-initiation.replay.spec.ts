import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { RECORD_HISTORY, activitiesOf, commandSequence, installQuietRuntime, localActivitiesOf, patchesOf, readHistoryFixture, writeHistoryFixture, type History } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { Worker } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
import type { BankTransactionStatus } from '../libs/domain/transaction-status';
import { PAYMENT_PATCH_GATE, cancelPaymentUpdate, initiationResultUpdate, newPaymentInput, paymentWorkflowId, resolveInitiationUpdate, type PaymentTimings } from './payment-initiation.api';
import { startCancellationAuthorisationUpdate } from './shared/cancellation-authorisation';
import type { paymentInitiationWorkflow } from './payment-initiation.workflow';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';
import { TransactionStatus as TransactionStatusAttr } from '../libs/temporal/search-attributes';

/**
 * Determinism guard: real histories, recorded once and committed, must replay against the current
 * workflow code. A change that reorders or drops a command fails here (DeterminismViolationError);
 * such a change needs `patched()` or a new workflow type.
 *
 * - `payment-decoupled-history.json`: the decoupled happy path, recorded before the unknown-outcome
 *   design; it must keep replaying (that design only added branches, behind `patched()` where an
 *   old history could reach them).
 * - `payment-unknown-outcome-history.json`: the bank's answer to the initiation is lost and the
 *   payment may be SCA-exempt, so the outcome is recorded unknown; an operator resolves it with
 *   the bank's payment id (`resolveInitiation`); SCA is followed through the payment's status.
 *   Recorded again with patch `initiation-outcome-search-attribute` (the outcome as the
 *   `InitiationOutcome` search attribute); the run recorded before it is kept as
 *   `payment-unknown-outcome-before-search-attribute-history.json` and must keep replaying.
 * - `payment-sca-timeout-cancel-failed-history.json`: the PSU never decides, the bank refuses the
 *   cancellation, so the payment is followed until the bank itself rejects it (patch
 *   `sca-timeout-cancel-outcome`).
 * - `payment-cancellation-authorisation-history.json`: authorised and waiting for its date (ACCP),
 *   DELETE answered 202, the cancellation authorisation started, its SCA status followed until
 *   finalised, then the bank reports CANC (patch `payment-cancellation-sca-status`). Recorded with a
 *   6 s first status wait, past the search attributes' 5 s bound (`POLL_PAST_LAG`).
 *
 * - Patch `local-status-records` (issue 12): every status record is a local activity (a marker in
 *   the history, no activity task and no workflow task of its own). All four fixtures above were
 *   recorded again with it; the runs recorded before are kept as `*-before-local-status-records-history.json`
 *   and must keep replaying with their `recordPaymentStatus` activity tasks.
 * - Patch `payment-local-bank-calls` (issue 12): the initiation's first attempt and the bank's
 *   SCA and payment status reads are local activities too (the decoupled payment: 50 → 32
 *   events, 7 → 3 workflow tasks). The four fixtures were recorded again; the runs recorded before
 *   are kept as `*-before-local-bank-calls-history.json` and must keep replaying.
 * - Patch `payment-read-records` (issue 12): the SCA wait's and the status poll's reads record
 *   what they found in the same local activity (the decoupled payment: 7 → 4 local activities).
 *   The four fixtures were recorded again; the runs recorded before are kept as
 *   `*-before-read-records-history.json` and must keep replaying.
 *
 * - Gate `payment-patches-2026-12-02` (issue 12, `workflows/shared/patch-gate.ts`): a run records
 *   one marker for every patch above instead of one per patch it reaches, and under it
 *   `payment-rcvd-from-start` (no RCVD upsert the start made; the decoupled payment: 29 → 26 events). The four fixtures were recorded again; the runs recorded before are kept as
 *   `*-before-patch-gate-history.json` and must keep replaying, asking each patch.
 * - Gate `payment-patches-2026-12-04`, the 2026-12-02 gate's patches and
 *   `payment-status-attributes-together` (issue 7): a finalised SCA's `ScaStatus` goes in one upsert
 *   with the transaction status the poll's first read finds (the decoupled payment: 26 → 25 events,
 *   4 → 3 upserts). The four fixtures were recorded again; the runs recorded under the 2026-12-02
 *   gate are kept as `*-before-status-attributes-together-history.json` and must keep replaying.
 * - Gate `payment-patches-2026-12-04b`, the 2026-12-04 gate's patches and
 *   `payment-status-attributes-lag` (issue 7): the poll holds the status search attributes it
 *   finds while they stay at most 5 s behind, so they go with the next change (the decoupled
 *   payment, recorded with a 2 s first wait: 25 → 24 events, 3 → 2 upserts). The four fixtures were
 *   recorded again; the runs recorded under the 2026-12-04 gate are kept as
 *   `*-before-status-attributes-lag-history.json` and must keep replaying.
 * - Since the eighteenth pass (issue 7) every starter names the gate in the input (`patchGate`):
 *   a run takes its patches with no marker and no `TemporalChangeVersion` upsert (the decoupled
 *   payment: 24 → 22 events). The four fixtures were recorded again, naming it; the runs recorded
 *   before (the gate's marker) are kept as `*-before-gate-named-history.json` and must keep
 *   replaying, also with the name put into their input (a worker that did not read the name began
 *   the run and recorded the marker).
 *
 * The replay needs no server (only the recorder starts one). To re-record (only for a change that
 * ships behind `patched()`, keeping the older fixtures): `RECORD_HISTORY=1 npx jest workflows/payment-initiation.replay.spec.ts`.
 */

const fixture = (name: string) => path.join(__dirname, '__fixtures__', name);
const PATCH_LOCAL = 'local-status-records';
const PATCH_BANK_CALLS = 'payment-local-bank-calls';
const PATCH_READ_RECORDS = 'payment-read-records';
const PATCH_GATE_2026_12_02 = 'payment-patches-2026-12-02';
const PATCH_GATE_2026_12_04 = 'payment-patches-2026-12-04';
const PATCH_GATE = 'payment-patches-2026-12-04b';
const PATCH_STATUS_ATTRIBUTES_TOGETHER = 'payment-status-attributes-together';
const PATCH_STATUS_ATTRIBUTES_LAG = 'payment-status-attributes-lag';

const TIMINGS: PaymentTimings = {
  scaTimeoutMs: 15 * 60_000,
  scaPollInitialMs: 2_000,
  scaPollMaxMs: 30_000,
  statusPollInitialMs: 5_000,
  statusPollMaxMs: 300_000,
  statusDeadlineMs: 24 * 3_600_000,
};
/** A first status wait within the search attributes' 5 s bound: the decoupled payments record their held upserts. */
const POLL_WITHIN_LAG: Partial<PaymentTimings> = { statusPollInitialMs: 2_000 };
/**
 * A first status wait past the bound: the held values go before it, whatever the recording
 * machine's clock did. (A 5 s wait sits on the bound itself: the values go before it only if a
 * millisecond passed since they were held, which differs from run to run.)
 */
const POLL_PAST_LAG: Partial<PaymentTimings> = { statusPollInitialMs: 6_000 };

const notInScenario = async (): Promise<never> => {
  throw new Error('not part of this scenario');
};

/**
 * Every activity refuses unless the scenario says otherwise. The reads that record what they found
 * (`payment-read-records`) answer as the scenario's reads do (the record is a no-op here, as
 * `recordPaymentStatus` is).
 */
function activitiesFor(overrides: Partial<PaymentActivities>): PaymentActivities {
  const acts: PaymentActivities = {
    initiatePaymentAtBank: notInScenario,
    lookUpInitiationAtBank: notInScenario,
    confirmBankPayment: notInScenario,
    adoptBankPayment: notInScenario,
    recordOperatorDecision: notInScenario,
    cancelOrphanedInitiations: notInScenario,
    getBankScaStatus: notInScenario,
    getBankPaymentStatus: notInScenario,
    startAuthorisationAtBank: notInScenario,
    cancelPaymentAtBank: notInScenario,
    updatePaymentPsuDataAtBank: notInScenario,
    recordPaymentStatus: async () => undefined,
    readAndRecordPaymentStatus: (paymentId) => acts.getBankPaymentStatus(paymentId),
    readAndRecordScaStatus: (paymentId, authorisationId) => acts.getBankScaStatus(paymentId, authorisationId),
    ...overrides,
  };
  return acts;
}

const status = (s: 'RCVD' | 'ACCP' | 'ACSP' | 'ACSC' | 'RJCT' | 'CANC'): BankTransactionStatus => ({ raw: s, normalised: s });

interface Scenario {
  file: string;
  /** The activities of the whole story, in order: a truncated fixture would prove little. */
  activities: string[];
  /** The local activities (status records, and the initiation and bank reads since `payment-local-bank-calls`), in order. */
  localActivities: string[];
  updates: string[];
  patches: string[];
  record(env: TestWorkflowEnvironment): Promise<History>;
}

const SCENARIOS: Scenario[] = [
  {
    file: 'payment-decoupled-history.json',
    activities: [],
    localActivities: [
      'initiatePaymentAtBank',
      'readAndRecordScaStatus', // sca_status finalised
      'readAndRecordPaymentStatus', // ACSP
      'readAndRecordPaymentStatus', // ACSC
    ],
    updates: ['initiationResult'],
    patches: [], // the gate named at the start: its patches taken without a marker
    record: (env) => {
      let statusPolls = 0;
      return recordPayment(
        env,
        '00000000-0000-4000-8000-000000000001',
        activitiesFor({
          initiatePaymentAtBank: async () => ({
            bankPaymentId: 'bank-pmt-fixture',
            transactionStatus: 'RCVD',
            rawTransactionStatus: 'RCVD',
            scaApproach: 'DECOUPLED',
            authorisationId: 'auth-fixture',
            psuMessage: 'Please confirm the payment in your banking app',
          }),
          getBankScaStatus: async () => ({ raw: 'finalised', normalised: 'finalised' }),
          getBankPaymentStatus: async () => (statusPolls++ === 0 ? status('ACSP') : status('ACSC')),
        }),
        async () => undefined,
        POLL_WITHIN_LAG,
      );
    },
  },
  {
    file: 'payment-unknown-outcome-history.json',
    activities: [
      'lookUpInitiationAtBank', // unsupported: an operator decides
      'confirmBankPayment',
      'recordOperatorDecision',
      'adoptBankPayment',
    ],
    localActivities: [
      'initiatePaymentAtBank', // ambiguous
      'recordPaymentStatus', // initiation_outcome unknown
      'recordPaymentStatus', // initiation_outcome resolved, after adoptBankPayment
      'readAndRecordPaymentStatus', // SCA followed through the payment's status: ACSP
      'readAndRecordPaymentStatus', // ACSC
    ],
    updates: ['initiationResult', 'resolveInitiation'],
    patches: [], // the gate named at the start: its patches taken without a marker
    record: (env) => {
      let statusPolls = 0;
      return recordPayment(
        env,
        '00000000-0000-4000-8000-000000000002',
        activitiesFor({
          initiatePaymentAtBank: async () => ({
            outcome: 'ambiguous',
            reason: 'POST /v1/payments/sepa-credit-transfers → HTTP 503',
            lastAttempt: 1,
            facts: { scaExemptionsPossible: true, bankMayPromptPsu: true },
          }),
          lookUpInitiationAtBank: async () => ({ kind: 'unsupported' }),
          confirmBankPayment: async () => status('RCVD'),
          adoptBankPayment: async () => undefined,
          recordOperatorDecision: async () => undefined,
          getBankPaymentStatus: async () => (statusPolls++ === 0 ? status('ACSP') : status('ACSC')),
        }),
        async (handle) => {
          // Decide once the workflow is idle after its lookup, so the fixture's event order is stable.
          await untilIdleAfter(handle, 3);
          await handle.executeUpdate(resolveInitiationUpdate, {
            args: [{ operator: 'ops:fixture', decision: 'initiated', bankPaymentId: 'bank-pmt-found', reason: 'Bank support confirmed the payment exists' }],
            updateId: 'operator-decision-fixture',
          });
        },
        POLL_WITHIN_LAG,
      );
    },
  },
  {
    file: 'payment-sca-timeout-cancel-failed-history.json',
    activities: ['cancelPaymentAtBank'], // refused by the bank
    localActivities: [
      'initiatePaymentAtBank',
      'readAndRecordScaStatus', // sca_status received, recorded once; checks with backoff until the timeout
      ...Array<string>(6).fill('readAndRecordScaStatus'),
      'getBankPaymentStatus', // after the refused cancellation: still RCVD, followed, not RJCT
      'recordPaymentStatus',
      'readAndRecordPaymentStatus', // the bank rejects it itself: RJCT
    ],
    updates: ['initiationResult'],
    patches: [], // the gate named at the start: its patches taken without a marker
    record: (env) => {
      let statusPolls = 0;
      return recordPayment(
        env,
        '00000000-0000-4000-8000-000000000003',
        activitiesFor({
          initiatePaymentAtBank: async () => ({
            bankPaymentId: 'bank-pmt-timeout',
            transactionStatus: 'RCVD',
            rawTransactionStatus: 'RCVD',
            scaApproach: 'REDIRECT',
            authorisationId: 'auth-timeout',
            scaRedirectUrl: 'https://bank.example/sca/auth-timeout',
          }),
          getBankScaStatus: async () => ({ raw: 'received', normalised: 'received' }),
          cancelPaymentAtBank: async () => {
            throw ApplicationFailure.create({ type: 'BankRejected', message: 'DELETE → HTTP 405 (CANCELLATION_INVALID)', details: [{ httpStatus: 405, messages: [] }] });
          },
          getBankPaymentStatus: async () => (statusPolls++ === 0 ? status('RCVD') : status('RJCT')),
        }),
        async () => undefined,
        { scaTimeoutMs: 60_000 },
      );
    },
  },
  {
    file: 'payment-cancellation-authorisation-history.json',
    activities: [
      'cancelPaymentAtBank', // 202: the PSU must authorise the cancellation
      'startCancellationAuthorisationAtBank',
      'getCancellationScaStatusAtBank…', // started, then finalised
    ],
    localActivities: [
      'initiatePaymentAtBank',
      'readAndRecordScaStatus', // sca_status finalised
      'readAndRecordPaymentStatus', // ACCP: waiting for its execution date
      'readAndRecordPaymentStatus', // still ACCP, after the cancellation's first check
      'readAndRecordPaymentStatus', // CANC, after its second
    ],
    updates: ['initiationResult', 'cancelPayment', 'startCancellationAuthorisation'],
    patches: [], // the gate named at the start: its patches taken without a marker
    record: (env) => {
      let cancellationChecks = 0;
      let approved = false;
      const activities = {
        ...activitiesFor({
          initiatePaymentAtBank: async () => ({
            bankPaymentId: 'bank-pmt-cancel',
            transactionStatus: 'RCVD',
            rawTransactionStatus: 'RCVD',
            scaApproach: 'DECOUPLED',
            authorisationId: 'auth-cancel',
          }),
          getBankScaStatus: async () => ({ raw: 'finalised', normalised: 'finalised' }),
          getBankPaymentStatus: async () => (approved ? status('CANC') : status('ACCP')),
          cancelPaymentAtBank: async () => ({ transactionStatus: 'ACCP', authorisationRequired: true }),
        }),
        startCancellationAuthorisationAtBank: async () => ({ authorisationId: 'cancel-fixture', scaStatus: 'started', scaApproach: 'DECOUPLED' }),
        getCancellationScaStatusAtBank: async () => {
          if (cancellationChecks++ === 0) return { raw: 'started', normalised: 'started' };
          approved = true;
          return { raw: 'finalised', normalised: 'finalised' };
        },
      } as PaymentActivities;
      return recordPayment(env, '00000000-0000-4000-8000-000000000004', activities, async (handle) => {
        // Cancel while the workflow waits on its first status-poll timer (6 s), so the event order is stable.
        for (;;) {
          const events = (await handle.fetchHistory()).events ?? [];
          if (stepsDone(events) >= 3 && events.at(-1)?.timerStartedEventAttributes) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await handle.executeUpdate(cancelPaymentUpdate, { updateId: 'cancel-fixture' });
        await handle.executeUpdate(startCancellationAuthorisationUpdate, { updateId: 'start-cancellation-fixture' });
      }, POLL_PAST_LAG);
    },
  },
];

beforeAll(installQuietRuntime);

describe.each(SCENARIOS)('paymentInitiationWorkflow replay: $file', (scenario) => {
  it('the fixture is what the current code records (RECORD_HISTORY=1 rewrites it)', async () => {
    const env = await startTimeSkippingEnv();
    let fresh: History;
    try {
      fresh = await scenario.record(env);
    } finally {
      await env.teardown();
    }
    if (RECORD_HISTORY) writeHistoryFixture(fixture(scenario.file), fresh);
    const recorded = readHistoryFixture(fixture(scenario.file));
    // Same sequence of commands: the committed history still describes today's workflow.
    expect(commandSequence(recorded).length).toBeGreaterThan(10);
    expect(commandSequence(fresh)).toEqual(commandSequence(recorded));
  }, 90_000);

  it('replays with the current workflow code', async () => {
    const history = readHistoryFixture(fixture(scenario.file));
    const events = history.events!;
    expect(squashRepeats(activitiesOf(history))).toEqual(scenario.activities);
    expect(localActivitiesOf(history)).toEqual(scenario.localActivities);
    expect(events.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? [])).toEqual(scenario.updates);
    expect(patchesOf(history)).toEqual(scenario.patches);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();

    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, scenario.file)).resolves.toBeUndefined();
  }, 30_000);
});

const upsertsOf = (file: string) =>
  readHistoryFixture(fixture(file)).events!.flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return fields ? [Object.keys(fields).sort().join('+')] : [];
  });

describe('paymentInitiationWorkflow replay: runs recorded before a patch', () => {
  /** The runs recorded under the current gate before its starters named it: its marker. */
  const beforeGateNamed = SCENARIOS.map((sc) => sc.file.replace('-history.json', '-before-gate-named-history.json'));
  it.each(beforeGateNamed)('replays %s, recorded under the gate before its starters named it (its marker, then TemporalChangeVersion)', async (file) => {
    const history = readHistoryFixture(fixture(file));
    expect(patchesOf(history)).toEqual([PATCH_GATE]);
    expect(upsertsOf(file)[0]).toBe('TemporalChangeVersion');
    expect(startInput(history).patchGate).toBeUndefined();
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
  }, 30_000);

  it.each(beforeGateNamed)(
    'replays %s with the gate named in its input: a worker that did not read the name began the run and recorded the marker, which is taken',
    async (file) => {
      const history = withStartInput(readHistoryFixture(fixture(file)), { patchGate: PAYMENT_PATCH_GATE });
      expect(startInput(history).patchGate).toBe(PAYMENT_PATCH_GATE);
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
    },
    30_000,
  );

  it('the same run under the 2026-12-04 gate with the current gate named: the older marker is found and its gate taken', async () => {
    const file = 'payment-decoupled-before-status-attributes-lag-history.json';
    const history = withStartInput(readHistoryFixture(fixture(file)), { patchGate: PAYMENT_PATCH_GATE });
    expect(patchesOf(history)).toEqual([PATCH_GATE_2026_12_04]);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
  }, 30_000);

  it('the check is real: a run recorded naming the gate does not replay as one that records the marker', async () => {
    // Its input without the name: the code asks the gate, finds no marker, and takes the 2026-12-02 patches only.
    const file = 'payment-decoupled-history.json';
    const history = withStartInput(readHistoryFixture(fixture(file)), { patchGate: undefined });
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).rejects.toMatchObject({ name: 'DeterminismViolationError' });
  }, 30_000);

  it('naming the gate: the decoupled payment upserts once (finalised with ACSC), 24 → 22 events', () => {
    expect(upsertsOf('payment-decoupled-before-gate-named-history.json')).toEqual(['TemporalChangeVersion', 'ScaStatus+TransactionStatus']);
    expect(upsertsOf('payment-decoupled-history.json')).toEqual(['ScaStatus+TransactionStatus']);
    expect(readHistoryFixture(fixture('payment-decoupled-before-gate-named-history.json')).events).toHaveLength(24);
    expect(readHistoryFixture(fixture('payment-decoupled-history.json')).events).toHaveLength(22);
  });

  /** Runs recorded under an older gate: its marker only, and none for the patch the next gate added. */
  const underOlderGates = [
    { suffix: 'status-attributes-lag', gate: PATCH_GATE_2026_12_04, laterPatch: PATCH_STATUS_ATTRIBUTES_LAG, how: 'each transaction status upserted when found' },
    { suffix: 'status-attributes-together', gate: PATCH_GATE_2026_12_02, laterPatch: PATCH_STATUS_ATTRIBUTES_TOGETHER, how: 'each status in an upsert of its own' },
  ].flatMap((g) => SCENARIOS.map((sc) => ({ ...g, file: sc.file.replace('-history.json', `-before-${g.suffix}-history.json`) })));
  it.each(underOlderGates)('replays $file, recorded under $gate ($how)', async ({ file, gate, laterPatch }) => {
    const history = readHistoryFixture(fixture(file));
    expect(patchesOf(history)).toEqual([gate]);
    expect(patchesOf(history)).not.toContain(laterPatch);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
  }, 30_000);

  it('under the 2026-12-04 gate the decoupled payment upserted finalised + ACSP, then ACSC; now one upsert for the three', () => {
    expect(upsertsOf('payment-decoupled-before-status-attributes-lag-history.json')).toEqual(['TemporalChangeVersion', 'ScaStatus+TransactionStatus', 'TransactionStatus']);
    expect(upsertsOf('payment-decoupled-before-gate-named-history.json')).toEqual(['TemporalChangeVersion', 'ScaStatus+TransactionStatus']);
  });

  it('under the 2026-12-02 gate the decoupled payment upserted the SCA status and the ACSP in two events; under the 2026-12-04 gate in one', () => {
    expect(upsertsOf('payment-decoupled-before-status-attributes-together-history.json')).toEqual(['TemporalChangeVersion', 'ScaStatus', 'TransactionStatus', 'TransactionStatus']);
    expect(upsertsOf('payment-decoupled-before-status-attributes-lag-history.json')).toEqual(['TemporalChangeVersion', 'ScaStatus+TransactionStatus', 'TransactionStatus']);
  });

  it.each(SCENARIOS.map((sc) => sc.file.replace('-history.json', '-before-patch-gate-history.json')))(
    'replays %s, recorded before the patch gate (each patch asked, a marker each)',
    async (file) => {
      const history = readHistoryFixture(fixture(file));
      expect(patchesOf(history)).not.toContain(PATCH_GATE);
      expect(patchesOf(history)).not.toContain(PATCH_GATE_2026_12_04);
      expect(patchesOf(history)).not.toContain(PATCH_GATE_2026_12_02);
      expect(patchesOf(history)).toEqual(expect.arrayContaining([PATCH_BANK_CALLS, PATCH_READ_RECORDS]));
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
    },
    30_000,
  );

  it.each(SCENARIOS.map((sc) => sc.file.replace('-history.json', '-before-read-records-history.json')))(
    'replays %s, recorded before payment-read-records (old branch: a status read, then its record)',
    async (file) => {
      const history = readHistoryFixture(fixture(file));
      expect(patchesOf(history)).toContain(PATCH_BANK_CALLS);
      expect(patchesOf(history)).not.toContain(PATCH_READ_RECORDS);
      expect(localActivitiesOf(history)).toContain('recordPaymentStatus');
      expect(localActivitiesOf(history).some((name) => name.startsWith('readAndRecord'))).toBe(false);
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
    },
    30_000,
  );

  it.each(SCENARIOS.map((sc) => sc.file.replace('-history.json', '-before-local-bank-calls-history.json')))(
    'replays %s, recorded before payment-local-bank-calls (old branch: the initiation and bank reads as activity tasks)',
    async (file) => {
      const history = readHistoryFixture(fixture(file));
      expect(patchesOf(history)).not.toContain(PATCH_BANK_CALLS);
      expect(patchesOf(history)).toContain(PATCH_LOCAL);
      expect(activitiesOf(history)).toContain('initiatePaymentAtBank');
      expect(localActivitiesOf(history).every((name) => name === 'recordPaymentStatus')).toBe(true);
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
    },
    30_000,
  );

  it.each(SCENARIOS.map((sc) => sc.file.replace('-history.json', '-before-local-status-records-history.json')))(
    'replays %s, recorded before local-status-records (old branch: status records as activity tasks)',
    async (file) => {
      const history = readHistoryFixture(fixture(file));
      expect(patchesOf(history)).not.toContain(PATCH_LOCAL);
      expect(localActivitiesOf(history)).toEqual([]);
      expect(activitiesOf(history)).toContain('recordPaymentStatus');
      await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, file)).resolves.toBeUndefined();
    },
    30_000,
  );

  it('replays the unknown outcome recorded before initiation-outcome-search-attribute (old branch: no upsert)', async () => {
    const history = readHistoryFixture(fixture('payment-unknown-outcome-before-search-attribute-history.json'));
    expect(history.events!.some((e) => e.markerRecordedEventAttributes)).toBe(false);
    expect(history.events!.some((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.InitiationOutcome)).toBe(false);
    await expect(Worker.runReplayHistory({ workflowBundle: await sharedWorkflowBundle() }, history, 'before-search-attribute')).resolves.toBeUndefined();
  }, 30_000);

  it('the current run lists the outcome as InitiationOutcome: unknown, then resolved', () => {
    const history = readHistoryFixture(fixture('payment-unknown-outcome-history.json'));
    const values = history.events!.flatMap((e) => {
      const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.InitiationOutcome;
      return field?.data ? [JSON.parse(Buffer.from(field.data).toString('utf8'))] : [];
    });
    expect(values).toEqual(['unknown', 'resolved']);
  });
});

/** Activities completed so far, local ones (their markers) included. */
function stepsDone(events: NonNullable<History['events']>): number {
  return events.filter((e) => e.activityTaskCompletedEventAttributes || e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
}

/** Waits until `completedActivities` activities (local ones included) completed and the workflow task after them did too. */
async function untilIdleAfter(handle: { fetchHistory(): Promise<History> }, completedActivities: number): Promise<void> {
  for (;;) {
    const events = (await handle.fetchHistory()).events ?? [];
    // The task's commands (local activities' markers among them) follow its completion in the history.
    const lastTask = events.findLast((e) => e.workflowTaskScheduledEventAttributes || e.workflowTaskStartedEventAttributes || e.workflowTaskCompletedEventAttributes);
    if (stepsDone(events) >= completedActivities && lastTask?.workflowTaskCompletedEventAttributes) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A run of the same activity (e.g. SCA checks with backoff) as its first call plus `name…`. */
function squashRepeats(names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const last = out.at(-1);
    if (last === name || last === `${name}…`) out[out.length - 1] = `${name}…`;
    else out.push(name);
  }
  return out;
}

/** One payment on the time-skipping server, started as the API starts it (update-with-start). */
async function recordPayment(
  env: TestWorkflowEnvironment,
  paymentId: string,
  activities: PaymentActivities,
  drive: (handle: Awaited<ReturnType<WithStartWorkflowOperation<typeof paymentInitiationWorkflow>['workflowHandle']>>) => Promise<void> = async () => undefined,
  timings: Partial<PaymentTimings> = {},
): Promise<History> {
  const taskQueue = `payment-history-fixture-${paymentId}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await sharedWorkflowBundle(), activities });
  return worker.runUntil(async () => {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
      workflowId: paymentWorkflowId(paymentId),
      taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [newPaymentInput({ paymentId, tenantId: 'tenant-fixture', bicFi: 'SANDDEFFXXX', paymentProduct: 'sepa-credit-transfers', timings: { ...TIMINGS, ...timings } })],
      // As the API starts a payment (apps/api/payments/payments.service.ts).
      typedSearchAttributes: [{ key: TransactionStatusAttr, value: 'RCVD' }],
    });
    await env.client.workflow.executeUpdateWithStart(initiationResultUpdate, { startWorkflowOperation });
    const handle = await startWorkflowOperation.workflowHandle();
    await drive(handle);
    await handle.result();
    return handle.fetchHistory();
  });
}

/** The workflow's input, as its start event holds it. */
function startInput(history: History): Record<string, unknown> {
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return JSON.parse(Buffer.from(payload.data!).toString('utf8')) as Record<string, unknown>;
}

/** The history with its start event's input changed (`undefined` removes a field). */
function withStartInput(history: History, changes: Record<string, unknown>): History {
  const copy = structuredClone(history);
  const payload = copy.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  payload.data = Buffer.from(JSON.stringify({ ...startInput(history), ...changes }), 'utf8');
  return copy;
}
