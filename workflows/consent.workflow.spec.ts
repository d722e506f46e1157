import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { ConsentActivities } from '../activities/consent.activities';
import type { ConsentStatus } from '../libs/domain/consent';
import type { ScaStatus } from '../libs/domain/transaction-status';
import {
  BicFi,
  ConsentStatus as ConsentStatusAttr,
  ScaStatus as ScaStatusAttr,
  TenantId,
} from '../libs/temporal/search-attributes';
import {
  consentCreationUpdate,
  consentStateQuery,
  consentWorkflowId,
  readAccountDataUpdate,
  terminateConsentUpdate,
  type AccountReadRequest,
  type AccountReadResult,
  type ConsentCreationAttempt,
  type ConsentCreationSummary,
  type ConsentGrants,
  type ConsentRefusal,
  type ConsentTimings,
  type ConsentWorkflowInput,
  type ConsentWorkflowState,
} from './consent.api';
import type { consentWorkflow } from './consent.workflow';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * The consent entity workflow against Temporal's time-skipping test server, with the bank stubbed
 * at the activity boundary. Times asserted here are the server's (skipped) clock.
 *
 * The test server skips time on its own only while the client awaits a workflow result; while we
 * send updates it does not, so the tests move the clock with `env.sleep(...)`.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const TIMINGS: ConsentTimings = {
  scaTimeoutMs: 15 * MINUTE,
  scaPollInitialMs: 2 * SECOND,
  scaPollMaxMs: 30 * SECOND,
  statusCheckIntervalMs: 1 * DAY,
  expiringNoticeMs: 7 * DAY,
  maxHistoryEvents: 1_000,
};

const ALL_GRANTS: ConsentGrants = { accounts: true, balances: true, transactions: true };

const DECOUPLED_CREATION: ConsentCreationSummary = {
  bankConsentId: 'bank-consent-1',
  consentStatus: 'received',
  scaApproach: 'DECOUPLED',
  authorisationId: 'auth-1',
  psuMessage: 'Please confirm the consent in your banking app',
};

type ActivityName = keyof ConsentActivities;
type RecordedChange = Parameters<ConsentActivities['recordConsentStatus']>[0];
type EmittedEvent = Parameters<ConsentActivities['emitConsentEvent']>[0];

interface ActivityCall {
  name: ActivityName;
  attempt: number;
  /** Server time at which this attempt ran: skipped time, not wall-clock time. */
  at: number;
  read?: AccountReadRequest;
}

interface BankScript {
  /** Per creation (0-based), with the options the workflow passed. */
  create?: (n: number, opts: { createAgainAfterAttempt?: number }) => Promise<ConsentCreationAttempt> | ConsentCreationAttempt;
  /** Per SCA status check (0-based). */
  scaStatus?: (check: number) => ScaStatus;
  /** Per consent status check (0-based): what the bank says the consent is. */
  consentStatus?: (check: number) => ConsentStatus;
  /** What the bank granted: validUntil is this many days after the day SCA completed. */
  validDays?: number;
  frequencyPerDay?: number;
  /** Hold the answer to getBankConsent (the activation) until this resolves. */
  grantGate?: Promise<void>;
  deleteGate?: Promise<void>;
  /** Hold recordConsentStatus for this status until the gate opens. */
  recordGate?: { status: ConsentStatus; opened: Promise<void> };
  /** Per read (0-based, over all reads); throw to fail the attempt. */
  read?: (req: AccountReadRequest, n: number) => void;
}

/** A bank that records every call made to it and every status change the workflow persists. */
function stubBank(script: BankScript = {}) {
  const calls: ActivityCall[] = [];
  const recorded: RecordedChange[] = [];
  const emitted: (EmittedEvent & { at: number })[] = [];

  async function note(name: ActivityName, read?: AccountReadRequest): Promise<ActivityCall> {
    const call = { name, attempt: activityInfo().attempt, at: await env.currentTimeMs(), read };
    calls.push(call);
    return call;
  }
  const callsTo = (name: ActivityName) => calls.filter((c) => c.name === name);
  const answered = new Map<string, AccountReadResult>();

  const activities: ConsentActivities = {
    async createConsentAtBank(_consentId, opts = {}) {
      await note('createConsentAtBank');
      return script.create ? script.create(callsTo('createConsentAtBank').length - 1, opts) : DECOUPLED_CREATION;
    },
    async deleteOrphanedConsents() {
      await note('deleteOrphanedConsents');
      return { deleted: 1, failed: 0 };
    },
    async getBankConsent() {
      const { at } = await note('getBankConsent');
      await script.grantGate;
      return {
        status: { raw: 'valid', normalised: 'valid' },
        validUntil: isoDay(at + (script.validDays ?? 90) * DAY),
        frequencyPerDay: script.frequencyPerDay ?? 4,
      };
    },
    async getBankConsentStatus() {
      await note('getBankConsentStatus');
      const status = script.consentStatus?.(callsTo('getBankConsentStatus').length - 1) ?? 'valid';
      return { raw: status, normalised: status };
    },
    async getBankConsentScaStatus() {
      await note('getBankConsentScaStatus');
      const status = script.scaStatus?.(callsTo('getBankConsentScaStatus').length - 1) ?? 'finalised';
      return { raw: status, normalised: status };
    },
    async startConsentAuthorisationAtBank() {
      await note('startConsentAuthorisationAtBank');
      return { authorisationId: 'auth-2', scaStatus: 'received', scaApproach: 'REDIRECT' };
    },
    async updateConsentPsuDataAtBank() {
      await note('updateConsentPsuDataAtBank');
      return { scaStatus: 'finalised' };
    },
    async deleteConsentAtBank() {
      await note('deleteConsentAtBank');
      await script.deleteGate;
    },
    async readAccountData(_consentId, req): Promise<AccountReadResult> {
      // As the real activity (activities/consent-read.activities.spec.ts): a read run again for the
      // same update, its workflow task lost, answers what it stored without asking the bank.
      const stored = req.readId === undefined ? undefined : answered.get(req.readId);
      if (stored) return stored;
      await note('readAccountData', req);
      const n = callsTo('readAccountData').length - 1;
      script.read?.(req, n);
      const result = { resultId: `r-${n}` };
      if (req.readId !== undefined) answered.set(req.readId, result);
      return result;
    },
    async recordConsentStatus(change) {
      await note('recordConsentStatus');
      recorded.push(change);
      if (script.recordGate && change.status === script.recordGate.status) await script.recordGate.opened;
    },
    async emitConsentEvent(e) {
      const { at } = await note('emitConsentEvent');
      emitted.push({ ...e, at });
    },
  };

  return {
    activities,
    calls,
    recorded,
    emitted,
    callsTo,
    count: (name: ActivityName) => callsTo(name).length,
    /** The status changes as `kind:status`, in the order the workflow persisted them. */
    timeline: () => recorded.map((c) => `${c.kind}:${c.status}`),
  };
}
type BankStub = ReturnType<typeof stubBank>;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const startOfUtcDay = (ms: number) => Math.floor(ms / DAY) * DAY;

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Real-time wait for something the worker does without the clock moving. */
async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10 * SECOND): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function bankRejected(httpStatus: number, code: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'BankRejected',
    message: `bank answered ${httpStatus} ${code}`,
    details: [{ httpStatus, messages: [{ category: 'ERROR', code, text: `${code} from the bank` }] }],
  });
}

/** The refusal a failed update carries; fails the test if the update succeeded. */
async function refusalOf(update: Promise<unknown>): Promise<ApplicationFailure & { type: ConsentRefusal }> {
  const err = await update.then(
    () => new Error('the update was expected to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure & { type: ConsentRefusal };
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // Refused updates and failed attempts are this file's subject: keep the expected warnings out of the output.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  [env, workflowBundle] = await Promise.all([
    startTimeSkippingEnv(),
    sharedWorkflowBundle(),
  ]);
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

type ConsentHandle = WorkflowHandle<typeof consentWorkflow>;

interface Consent {
  input: ConsentWorkflowInput;
  workflowId: string;
  /** What `POST /consents` does: update-with-start, answering once the bank answered the creation. */
  createLikeTheApi(): { summary: Promise<ConsentCreationSummary>; handle: Promise<ConsentHandle> };
  /** Creates the consent, lets the decoupled SCA finish and waits until it is valid. */
  activate(): Promise<ConsentHandle>;
  /** The latest run of the consent (follows continue-as-new). */
  latest(): ConsentHandle;
  state(): Promise<ConsentWorkflowState>;
  read(req: AccountReadRequest): Promise<AccountReadResult>;
}

interface ConsentOptions {
  timings?: Partial<ConsentTimings>;
  grants?: ConsentGrants;
}

/** Runs `drive` with a worker hosting the workflow and the stubbed bank, on a task queue of its own. */
async function withConsent<T>(bank: BankStub, options: ConsentOptions, drive: (consent: Consent) => Promise<T>): Promise<T> {
  const taskQueue = `consents-${randomUUID()}`;
  const consentId = randomUUID();
  const input: ConsentWorkflowInput = {
    consentId,
    tenantId: 'tenant-1',
    bicFi: 'SANDDEFFXXX',
    frequencyPerDay: 4,
    grants: options.grants ?? ALL_GRANTS,
    timings: { ...TIMINGS, ...options.timings },
  };
  const workflowId = consentWorkflowId(consentId);
  const latest = () => env.client.workflow.getHandle<typeof consentWorkflow>(workflowId);
  const consent: Consent = {
    input,
    workflowId,
    createLikeTheApi() {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof consentWorkflow>('consentWorkflow', {
        workflowId,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: BicFi, value: input.bicFi },
          { key: TenantId, value: input.tenantId },
          { key: ConsentStatusAttr, value: 'received' },
        ],
      });
      const summary = env.client.workflow.executeUpdateWithStart(consentCreationUpdate, { startWorkflowOperation });
      summary.catch(() => undefined); // the caller asserts on it
      return { summary, handle: startWorkflowOperation.workflowHandle() };
    },
    async activate() {
      const { summary } = consent.createLikeTheApi();
      await summary;
      // The first SCA check waits scaPollInitialMs.
      await env.sleep(input.timings.scaPollInitialMs + SECOND);
      await eventually(async () => (await consent.state()).status === 'valid', 'the consent to be valid');
      return latest();
    },
    latest,
    state: () => latest().query(consentStateQuery),
    read: (req) => latest().executeUpdate(readAccountDataUpdate, { args: [req] }),
  };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: bank.activities });
  try {
    return await worker.runUntil(() => drive(consent));
  } finally {
    // A consent left running would keep firing timers with no worker to serve them.
    await latest()
      .terminate('test over')
      .catch(() => undefined);
  }
}

const balances = (accountId: string, extra: Partial<AccountReadRequest> = {}): AccountReadRequest => ({ endpoint: 'balances', accountId, ...extra });
const transactions = (accountId: string, page?: string): AccountReadRequest => ({
  endpoint: 'transactions',
  accountId,
  query: { bookingStatus: 'booked', ...(page ? { page } : {}) },
});

describe('consentWorkflow', () => {
  it('decoupled: received → SCA finalised → valid; the creation update (update-with-start) returns the bank summary', async () => {
    const bank = stubBank();

    const { summary, again, sameRun, state, attrs, input } = await withConsent(bank, {}, async (consent) => {
      const started = consent.createLikeTheApi();
      const summary = await started.summary;
      // A retried POST (same workflow id, USE_EXISTING) gets the same answer without a second creation.
      const retried = consent.createLikeTheApi();
      const again = await retried.summary;
      const sameRun = (await (await retried.handle).describe()).runId === (await (await started.handle).describe()).runId;
      const handle = await consent.activate();
      const { typedSearchAttributes } = await handle.describe();
      return {
        summary,
        again,
        sameRun,
        state: await consent.state(),
        attrs: { consent: typedSearchAttributes.get(ConsentStatusAttr), sca: typedSearchAttributes.get(ScaStatusAttr) },
        input: consent.input,
      };
    });

    expect(summary).toEqual(DECOUPLED_CREATION);
    expect(again).toEqual(DECOUPLED_CREATION);
    expect(sameRun).toBe(true);
    expect(bank.count('createConsentAtBank')).toBe(1);
    expect(bank.recorded).toEqual([
      { consentId: input.consentId, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'finalised', authorisationId: 'auth-1' },
      { consentId: input.consentId, seq: 1, kind: 'consent_status', status: 'valid', rawStatus: 'valid', reason: null },
    ]);
    expect(state).toMatchObject<Partial<ConsentWorkflowState>>({ phase: 'active', status: 'valid', scaStatus: 'finalised', frequencyPerDay: 4, eventSeq: 2, reads: 0 });
    expect(attrs).toEqual({ consent: 'valid', sca: 'finalised' });
  });

  it.each([
    {
      outcome: 'SCA timeout (the PSU never decides)',
      scaStatus: (): ScaStatus => 'received',
      expected: { timeline: ['sca_status:received', 'consent_status:rejected'], reason: /^SCA timeout: no decision within 900s$/, deletes: 1, minMs: 15 * MINUTE, maxMs: 16 * MINUTE },
    },
    {
      outcome: 'SCA failed (the PSU denies in the app)',
      scaStatus: (check: number): ScaStatus => (check < 1 ? 'started' : 'failed'),
      expected: { timeline: ['sca_status:started', 'sca_status:failed', 'consent_status:rejected'], reason: /^SCA failed$/, deletes: 0, minMs: 0, maxMs: 1 * MINUTE },
    },
  ])('$outcome → rejected', async ({ scaStatus, expected }) => {
    const bank = stubBank({ scaStatus, consentStatus: () => 'rejected' });

    const { state, durationMs } = await withConsent(bank, {}, async (consent) => {
      const started = consent.createLikeTheApi();
      await started.summary;
      const handle = await started.handle;
      const state = await handle.result();
      const { startTime, closeTime } = await handle.describe();
      return { state, durationMs: closeTime!.getTime() - startTime.getTime() };
    });

    expect(state).toMatchObject({ phase: 'ended', status: 'rejected' });
    expect(state.statusReason).toMatch(expected.reason);
    expect(bank.timeline()).toEqual(expected.timeline);
    expect(bank.recorded.at(-1)?.reason).toMatch(expected.reason);
    expect(bank.count('deleteConsentAtBank')).toBe(expected.deletes);
    expect(bank.count('getBankConsent')).toBe(0);
    expect(durationMs).toBeGreaterThanOrEqual(expected.minMs);
    expect(durationMs).toBeLessThanOrEqual(expected.maxMs);
  });

  describe('creation at a bank that does not deduplicate', () => {
    const REDIRECT_CREATION: ConsentCreationSummary = {
      bankConsentId: 'bank-consent-2',
      consentStatus: 'received',
      scaApproach: 'REDIRECT',
      authorisationId: 'auth-2',
      scaRedirectUrl: 'https://bank.example/sca/consents/auth-2',
    };
    const lost = (bankMayPromptPsu: boolean): ConsentCreationAttempt => ({
      outcome: 'ambiguous',
      reason: 'POST /v1/consents → HTTP 503',
      lastAttempt: 1,
      facts: { scaExemptionsPossible: false, bankMayPromptPsu },
    });

    it('answer lost, the PSU can only see Clearway’s link: creates again, deletes the orphan it named, hands out one authorisation', async () => {
      const bank = stubBank({ create: (n) => (n === 0 ? lost(false) : REDIRECT_CREATION), scaStatus: () => 'received' });
      const options: { createAgainAfterAttempt?: number }[] = [];
      const original = bank.activities.createConsentAtBank;
      bank.activities.createConsentAtBank = async (id, opts = {}) => {
        options.push(opts);
        return original(id, opts);
      };

      const summary = await withConsent(bank, { timings: { scaPollInitialMs: 10 * MINUTE } }, async (consent) => consent.createLikeTheApi().summary);

      expect(summary).toEqual(REDIRECT_CREATION);
      expect(options).toEqual([{}, { createAgainAfterAttempt: 1 }]);
      expect(bank.calls.map((c) => c.name).slice(0, 3)).toEqual(['createConsentAtBank', 'createConsentAtBank', 'deleteOrphanedConsents']);
    });

    it('answer lost and the bank may prompt the PSU itself (decoupled): no second consent; rejected with the reason, the client hears 5xx', async () => {
      const bank = stubBank({ create: () => lost(true) });

      const { refusal, state } = await withConsent(bank, {}, async (consent) => {
        const started = consent.createLikeTheApi();
        const refusal = await started.summary.catch((e: unknown) => e);
        return { refusal, state: await (await started.handle).result() };
      });

      expect(bank.count('createConsentAtBank')).toBe(1);
      expect((refusal as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'bank_refused', details: [{ httpStatus: 502, messages: [expect.objectContaining({ code: 'CONSENT_UNKNOWN' })] }] });
      expect(state).toMatchObject({ phase: 'ended', status: 'rejected', statusReason: expect.stringMatching(/answer was lost.*no second consent/) });
    });
  });

  describe('expiry', () => {
    it('a durable timer at the end of the validUntil day ends the consent; consent.expiring once, 7 days before; a late read gets CONSENT_EXPIRED', async () => {
      const recordExpired = gate();
      const bank = stubBank({ validDays: 10, recordGate: { status: 'expired', opened: recordExpired.opened } });

      const { state, lateRead, validUntilMs, validUntil, input, closedRead } = await withConsent(bank, {}, async (consent) => {
        const handle = await consent.activate();
        const { validUntilMs } = await consent.state();
        const validUntil = isoDay(bank.callsTo('getBankConsent')[0].at + 10 * DAY);
        // Skip to just past the end of the validUntil day; the expiry is being recorded (held by the stub).
        // Just past: while an activity runs the test server does not skip, so any remainder is real time.
        await env.sleep(validUntilMs! - (await env.currentTimeMs()) + SECOND);
        await eventually(() => bank.recorded.some((c) => c.status === 'expired'), 'the expiry to be recorded');
        const lateRead = await refusalOf(consent.read(balances('acc-1')));
        recordExpired.open();
        const state = await handle.result();
        const closedRead = await consent.read(balances('acc-1')).catch((e: unknown) => e);
        return { state, lateRead, validUntilMs: validUntilMs!, validUntil, input: consent.input, closedRead };
      });

      expect(validUntilMs).toBe(Date.parse(`${validUntil}T00:00:00Z`) + DAY);
      expect(state).toMatchObject({ phase: 'ended', status: 'expired', statusReason: 'validUntil reached', expiringNoticeSent: true });
      const expiredAt = bank.callsTo('recordConsentStatus').at(-1)!.at;
      expect(expiredAt).toBeGreaterThanOrEqual(validUntilMs);
      expect(expiredAt).toBeLessThan(validUntilMs + MINUTE);

      expect(bank.emitted).toHaveLength(1);
      const [notice] = bank.emitted;
      expect(notice).toMatchObject({
        consentId: input.consentId,
        type: 'consent.expiring',
        dedupeKey: `consent.expiring:${input.consentId}`,
        payload: { consentId: input.consentId, validUntil },
      });
      // In skipped time: 7 days before the end of the validUntil day, to the timer's precision.
      expect(notice.at).toBeGreaterThanOrEqual(validUntilMs - 7 * DAY);
      expect(notice.at).toBeLessThan(validUntilMs - 7 * DAY + 5 * SECOND);

      expect(lateRead.type).toBe('consent_expired');
      expect(bank.count('readAccountData')).toBe(0);
      // Once the workflow has closed the server answers NOT_FOUND; the API maps it (consent-refusal.ts).
      expect(closedRead).toBeInstanceOf(WorkflowNotFoundError);
      // The daily status checks ran along the way (one per statusCheckIntervalMs).
      expect(bank.count('getBankConsentStatus')).toBeGreaterThanOrEqual(10);
    });
  });

  describe('frequencyPerDay (reads without the PSU)', () => {
    it('four unattended reads per account and endpoint in any rolling 24 h; PSU-present reads and later pages are free', async () => {
      const bank = stubBank({
        read: (req) => {
          if (req.accountId === 'acc-broken' && bank.callsTo('readAccountData').filter((c) => c.read?.accountId === 'acc-broken').length === 1) {
            throw bankRejected(404, 'RESOURCE_UNKNOWN');
          }
        },
      });

      await withConsent(bank, {}, async (consent) => {
        await consent.activate();
        const readsAtBank = () => bank.count('readAccountData');

        // t0: one read; t0 + 1 h: three more. The budget of acc-1 balances is spent.
        await expect(consent.read(balances('acc-1'))).resolves.toEqual({ resultId: 'r-0' });
        const firstReadAt = (await consent.state()).unattendedReads['acc-1|balances'][0];
        await env.sleep(HOUR);
        for (let i = 0; i < 3; i++) await consent.read(balances('acc-1'));
        const before = readsAtBank();
        const exceeded = await refusalOf(consent.read(balances('acc-1')));
        expect(exceeded.type).toBe('access_exceeded');
        expect(exceeded.message).toMatch(/frequencyPerDay \(4\)/);
        expect(readsAtBank()).toBe(before); // refused by the validator, before any bank call

        // Never counted: reads with the PSU present, and continuation pages of a listing.
        for (let i = 0; i < 5; i++) await consent.read(balances('acc-1', { psuContextHandoffId: `handoff-${i}` }));
        for (let i = 0; i < 4; i++) await consent.read(transactions('acc-1'));
        for (let i = 0; i < 5; i++) await consent.read(transactions('acc-1', `page-${i + 2}`));
        expect((await refusalOf(consent.read(transactions('acc-1')))).type).toBe('access_exceeded');

        // Another account has a budget of its own.
        for (let i = 0; i < 4; i++) await consent.read(balances('acc-2'));
        expect((await refusalOf(consent.read(balances('acc-2')))).type).toBe('access_exceeded');

        // A read the bank refuses does not use a slot.
        expect((await refusalOf(consent.read(balances('acc-broken')))).type).toBe('resource_unknown');
        for (let i = 0; i < 4; i++) await consent.read(balances('acc-broken'));
        expect((await refusalOf(consent.read(balances('acc-broken')))).type).toBe('access_exceeded');

        // Rolling, not per calendar day: past midnight UTC but within 24 h of t0, still refused.
        const now = await env.currentTimeMs();
        const nextMidnight = startOfUtcDay(now) + DAY;
        if (nextMidnight + MINUTE < firstReadAt + DAY - MINUTE) {
          await env.sleep(nextMidnight + MINUTE - now);
          expect((await refusalOf(consent.read(balances('acc-1')))).type).toBe('access_exceeded');
        }
        // 24 h after t0 the first read leaves the window: exactly one more, then refused again.
        await env.sleep(firstReadAt + DAY + SECOND - (await env.currentTimeMs()));
        await expect(consent.read(balances('acc-1'))).resolves.toHaveProperty('resultId');
        expect((await refusalOf(consent.read(balances('acc-1')))).type).toBe('access_exceeded');

        const state = await consent.state();
        expect(state.unattendedReads['acc-1|balances']).toHaveLength(4);
        expect(state.unattendedReads['acc-1|transactions']).toHaveLength(4);
        expect(state.unattendedReads['acc-broken|balances']).toHaveLength(4);
        // 4 + 5 + 4 + 5 + 4 + 4 + 1 successful reads (the refused ones never count).
        expect(state.reads).toBe(27);
      });
      expect(bank.count('readAccountData')).toBe(28); // 27 successes and the one the bank refused
    });

    it('a bank that is down (5xx, retried then failed) frees the slot', async () => {
      let failing = true;
      const bank = stubBank({
        read: () => {
          if (failing) throw ApplicationFailure.create({ type: 'BankUnavailable', message: 'bank answered 503', details: [{ httpStatus: 503, messages: [] }] });
        },
      });

      await withConsent(bank, {}, async (consent) => {
        await consent.activate();
        // Retried by the read policy (3 attempts; real time, about 1.5 s), then the refusal.
        expect((await refusalOf(consent.read(balances('acc-1')))).type).toBe('bank_refused');
        expect(bank.count('readAccountData')).toBe(3);
        failing = false;
        for (let i = 0; i < 4; i++) await consent.read(balances('acc-1'));
        expect((await refusalOf(consent.read(balances('acc-1')))).type).toBe('access_exceeded');
      });
    });
  });

  it.each([
    { endpoint: 'transactions' as const, grants: { accounts: true, balances: true, transactions: false }, refused: 'service_not_granted', outcome: 'service_not_granted' },
    { endpoint: 'transaction' as const, grants: { accounts: true, balances: true, transactions: false }, refused: 'service_not_granted', outcome: 'service_not_granted' },
    { endpoint: 'balances' as const, grants: { accounts: true, balances: false, transactions: false }, refused: 'service_not_granted', outcome: 'service_not_granted' },
    { endpoint: 'accounts' as const, grants: { accounts: false, balances: false, transactions: true }, refused: undefined, outcome: 'allowed (accounts come with any grant)' },
  ])('scope: $endpoint with grants $grants → $outcome', async ({ endpoint, grants, refused }) => {
    const bank = stubBank();

    await withConsent(bank, { grants }, async (consent) => {
      await consent.activate();
      const read = consent.read({ endpoint, accountId: 'acc-1', transactionId: 'tx-1', query: { bookingStatus: 'booked' } });
      if (refused) expect((await refusalOf(read)).type).toBe(refused);
      else await expect(read).resolves.toHaveProperty('resultId');
    });
    expect(bank.count('readAccountData')).toBe(refused ? 0 : 1);
  });

  describe('revocation by the PSU', () => {
    it('the periodic status check sees revokedByPsu: the consent ends with it', async () => {
      const bank = stubBank({ consentStatus: (check) => (check < 1 ? 'valid' : 'revokedByPsu') });

      const { state, attr } = await withConsent(bank, {}, async (consent) => {
        const handle = await consent.activate();
        const state = await handle.result();
        return { state, attr: (await handle.describe()).typedSearchAttributes.get(ConsentStatusAttr) };
      });

      expect(state).toMatchObject({ phase: 'ended', status: 'revokedByPsu', statusReason: 'Reported by the bank' });
      expect(attr).toBe('revokedByPsu');
      expect(bank.timeline()).toEqual(['sca_status:finalised', 'consent_status:valid', 'consent_status:revokedByPsu']);
      // One check per statusCheckIntervalMs after activation: the second one saw the revocation.
      const activatedAt = bank.callsTo('getBankConsent')[0].at;
      const checks = bank.callsTo('getBankConsentStatus').map((c) => c.at - activatedAt);
      expect(checks).toHaveLength(2);
      checks.forEach((offset, i) => {
        expect(offset).toBeGreaterThanOrEqual((i + 1) * DAY - 5 * SECOND);
        expect(offset).toBeLessThan((i + 1) * DAY + 5 * SECOND);
      });
    });

    it('a read the bank refuses with CONSENT_INVALID fails with CONSENT_INVALID and triggers a status check at once', async () => {
      let revoked = false;
      const bank = stubBank({
        consentStatus: () => (revoked ? 'revokedByPsu' : 'valid'),
        read: () => {
          if (revoked) throw bankRejected(401, 'CONSENT_INVALID');
        },
      });

      const { refusal, state } = await withConsent(bank, {}, async (consent) => {
        const handle = await consent.activate();
        await consent.read(balances('acc-1'));
        revoked = true;
        const refusal = await refusalOf(consent.read(balances('acc-1')));
        // No sleep: the check must not wait for the next interval.
        await eventually(() => bank.count('getBankConsentStatus') > 0, 'the immediate status check');
        return { refusal, state: await handle.result() };
      });

      expect(refusal.type).toBe('consent_invalid');
      expect(refusal.details).toEqual([{ httpStatus: 401, messages: [{ category: 'ERROR', code: 'CONSENT_INVALID', text: 'CONSENT_INVALID from the bank' }] }]);
      const refusedReadAt = bank.callsTo('readAccountData').at(-1)!.at;
      const [check] = bank.callsTo('getBankConsentStatus');
      expect(check.at - refusedReadAt).toBeLessThan(5 * SECOND);
      expect(state).toMatchObject({ status: 'revokedByPsu', reads: 1 });
      expect(bank.timeline().at(-1)).toBe('consent_status:revokedByPsu');
    });
  });

  describe('termination by the TPP', () => {
    it('from valid: deleted at the bank, terminatedByTpp, the workflow ends; a later terminate finds no workflow', async () => {
      const bank = stubBank();

      const { answer, state, late, input } = await withConsent(bank, {}, async (consent) => {
        const handle = await consent.activate();
        const answer = await handle.executeUpdate(terminateConsentUpdate);
        const state = await handle.result();
        const late = await handle.executeUpdate(terminateConsentUpdate).catch((e: unknown) => e);
        return { answer, state, late, input: consent.input };
      });

      expect(answer).toEqual({ consentStatus: 'terminatedByTpp' });
      expect(state).toMatchObject({ phase: 'ended', status: 'terminatedByTpp', statusReason: 'Terminated by the TPP' });
      expect(bank.recorded.at(-1)).toEqual({
        consentId: input.consentId,
        seq: 2,
        kind: 'consent_status',
        status: 'terminatedByTpp',
        rawStatus: 'terminatedByTpp',
        reason: 'Terminated by the TPP',
      });
      expect(bank.count('deleteConsentAtBank')).toBe(1);
      // The server refuses an update to a closed workflow (NOT_FOUND) before any validator runs.
      expect(late).toBeInstanceOf(WorkflowNotFoundError);
    });

    it('the validator refuses a second terminate once the consent is terminatedByTpp (workflow still running)', async () => {
      const recordTerminated = gate();
      const bank = stubBank({ recordGate: { status: 'terminatedByTpp', opened: recordTerminated.opened } });

      const { second, state } = await withConsent(bank, {}, async (consent) => {
        const handle = await consent.activate();
        const first = handle.executeUpdate(terminateConsentUpdate);
        await eventually(() => bank.recorded.some((c) => c.status === 'terminatedByTpp'), 'the termination to be recorded');
        const second = await refusalOf(handle.executeUpdate(terminateConsentUpdate));
        recordTerminated.open();
        await first;
        return { second, state: await handle.result() };
      });

      expect(second.type).toBe('wrong_state');
      expect(second.message).toBe('The consent is already terminatedByTpp');
      expect(bank.count('deleteConsentAtBank')).toBe(1);
      expect(state.status).toBe('terminatedByTpp');
    });

    it('the validator refuses a terminate while the consent is still being created at the bank', async () => {
      const bankAnswers = gate();
      const bank = stubBank({
        create: async () => {
          await bankAnswers.opened;
          return DECOUPLED_CREATION;
        },
      });

      const { refusal, state } = await withConsent(bank, {}, async (consent) => {
        const started = consent.createLikeTheApi();
        // Not started.handle: it resolves only when the update-with-start call returns.
        const handle = consent.latest();
        await eventually(() => bank.count('createConsentAtBank') > 0, 'the creation call');
        const refusal = await refusalOf(handle.executeUpdate(terminateConsentUpdate));
        bankAnswers.open();
        await started.summary;
        return { refusal, state: await consent.state() };
      });

      expect(refusal).toMatchObject({ type: 'wrong_state', message: 'The consent is still being created at the bank' });
      expect(bank.count('deleteConsentAtBank')).toBe(0);
      expect(state.phase).toBe('awaiting_sca');
    });

    it('while awaiting SCA: terminatedByTpp at once, no SCA check', async () => {
      const bank = stubBank({ scaStatus: () => 'received' });

      const { state } = await withConsent(bank, { timings: { scaPollInitialMs: 10 * MINUTE } }, async (consent) => {
        const started = consent.createLikeTheApi();
        await started.summary;
        const handle = await started.handle;
        await handle.executeUpdate(terminateConsentUpdate);
        return { state: await handle.result() };
      });

      expect(state).toMatchObject({ phase: 'ended', status: 'terminatedByTpp' });
      expect(bank.count('getBankConsentScaStatus')).toBe(0);
      expect(bank.count('deleteConsentAtBank')).toBe(1);
      expect(bank.timeline()).toEqual(['consent_status:terminatedByTpp']);
    });
  });

  describe('continue-as-new', () => {
    it('carries the read log, expiringNoticeSent, eventSeq and reads over; the limit holds across the boundary', async () => {
      const PSU_READS = 40;
      const bank = stubBank({ validDays: 10 });
      // Put the expiring notice one hour after activation, so it is sent before the continue-as-new.
      const now = await env.currentTimeMs();
      const validUntilMs = startOfUtcDay(now) + 11 * DAY;
      const timings = { maxHistoryEvents: 200, statusCheckIntervalMs: 6 * HOUR, expiringNoticeMs: validUntilMs - (now + HOUR) };

      const result = await withConsent(bank, { timings }, async (consent) => {
        const first = await (await consent.activate()).describe();
        await env.sleep(HOUR + MINUTE);
        await eventually(() => bank.emitted.length === 1, 'the expiring notice');

        for (let i = 0; i < 4; i++) await consent.read(balances('acc-1'));
        const before = await consent.state();
        // Enough PSU-present reads to pass maxHistoryEvents (200): the run continues as new right
        // away, without waiting for a timer. (A read is about six events: its update, its local
        // activity's marker and its workflow task.)
        for (let i = 0; i < PSU_READS; i++) await consent.read(balances('acc-1', { psuContextHandoffId: `h-${i}` }));
        await eventually(async () => (await consent.latest().describe()).runId !== first.runId, 'the continue-as-new');
        const lengthBefore = (await env.client.workflow.getHandle(first.workflowId, first.runId).describe()).historyLength;
        const second = await consent.latest().describe();
        const after = await consent.state();
        const exceeded = await refusalOf(consent.read(balances('acc-1')));
        await consent.read(balances('acc-2'));
        const attr = (await consent.latest().describe()).typedSearchAttributes.get(ConsentStatusAttr);
        return { first, second, before, after, exceeded, lengthBefore, attr };
      });

      const { first, second, before, after, exceeded, lengthBefore, attr } = result;
      expect(lengthBefore).toBeGreaterThanOrEqual(200);
      expect(lengthBefore).toBeLessThan(260);
      expect(second.runId).not.toBe(first.runId);
      expect(second.raw.workflowExecutionInfo?.firstRunId ?? first.runId).toBe(first.runId);
      // The reads after the boundary went to the new run, which is still below the threshold.
      expect(second.historyLength).toBeLessThan(200);
      expect(after).toMatchObject({
        phase: 'active',
        status: 'valid',
        reads: before.reads + PSU_READS,
        eventSeq: before.eventSeq,
        expiringNoticeSent: true,
        validUntilMs: before.validUntilMs,
        frequencyPerDay: 4,
      });
      expect(after.unattendedReads).toEqual(before.unattendedReads);
      expect(after.unattendedReads['acc-1|balances']).toHaveLength(4);
      expect(exceeded.type).toBe('access_exceeded');
      expect(bank.emitted).toHaveLength(1);
      expect(attr).toBe('valid');
    });
  });

  describe('regressions', () => {
    it('a terminate accepted while getBankConsent runs stands: the consent does not come back as valid', async () => {
      const grantAnswered = gate();
      const bank = stubBank({ grantGate: grantAnswered.opened });

      const { answer, state, running } = await withConsent(bank, {}, async (consent) => {
        const { summary } = consent.createLikeTheApi();
        await summary;
        await env.sleep(TIMINGS.scaPollInitialMs + SECOND);
        await eventually(() => bank.count('getBankConsent') > 0, 'the activation');
        // Still awaiting_sca for the validator: accepted, deleted at the bank, terminatedByTpp.
        const answer = await consent.latest().executeUpdate(terminateConsentUpdate);
        grantAnswered.open();
        await eventually(async () => (await consent.latest().describe()).status.name !== 'RUNNING', 'the workflow to end');
        const { status } = await consent.latest().describe();
        return { answer, state: await consent.state(), running: status.name === 'RUNNING' };
      });

      expect(answer).toEqual({ consentStatus: 'terminatedByTpp' });
      expect(bank.count('deleteConsentAtBank')).toBe(1);
      expect(bank.timeline()).toEqual(['sca_status:finalised', 'consent_status:terminatedByTpp']);
      expect(state.status).toBe('terminatedByTpp');
      expect(running).toBe(false);
    });

    it('reads alone continue-as-new once a run reaches maxHistoryEvents', async () => {
      const bank = stubBank();

      const { firstRunId, latest } = await withConsent(bank, { timings: { maxHistoryEvents: 200 } }, async (consent) => {
        const firstRunId = (await (await consent.activate()).describe()).runId;
        // PSU-present reads are unlimited: 60 of them are ~600 events, with no clock movement.
        for (let i = 0; i < 60; i++) await consent.read(balances('acc-1', { psuContextHandoffId: `h-${i}` }));
        return { firstRunId, latest: await consent.latest().describe() };
      });

      expect(latest.runId).not.toBe(firstRunId);
      expect(latest.runId === firstRunId ? latest.historyLength : 0).toBeLessThan(2 * 200);
    });
  });

  describe('180 days of a busy consent stay far below Temporal history limits', () => {
    const ACCOUNTS = ['acc-1', 'acc-2'];
    const ENDPOINTS = ['balances', 'transactions'] as const;

    // A consent's whole life with its daily reads: 60 days here (several continue-as-new runs, its
    // expiry); PSD2's longest, 180 days, is the same test with CONSENT_LIFE_DAYS=180 (about three
    // times the 15 s): `CONSENT_LIFE_DAYS=180 npx jest workflows/consent.workflow.spec.ts -t 'reads per day'`.
    const days = Number(process.env.CONSENT_LIFE_DAYS ?? 60);
    it(`4 reads per day for 2 accounts × 2 endpoints, daily status checks, ${days} days`, async () => {
      const wallStart = Date.now();
      const bank = stubBank({ validDays: days });

      const { handle, activatedAt, final } = await withConsent(bank, {}, async (consent) => {
        await consent.activate();
        const activatedAt = await env.currentTimeMs();
        for (let day = 0; day < days; day++) {
          // The day's budget, as concurrent updates (the workflow reserves slots one handler at a time).
          const reads = ACCOUNTS.flatMap((accountId) =>
            ENDPOINTS.flatMap((endpoint) => Array.from({ length: 4 }, () => consent.read({ endpoint, accountId, query: { bookingStatus: 'booked' } }))),
          );
          await Promise.all(reads);
          await env.sleep(DAY);
        }
        const handle = consent.latest();
        const final = await handle.result(); // skips to the end of the validUntil day
        return { handle, activatedAt, final };
      });

      const runs = await historyLengths(handle.workflowId);
      const wallMs = Date.now() - wallStart;
      const maxPerRun = Math.max(...runs.map((r) => r.events));
      const totalEvents = runs.reduce((sum, r) => sum + r.events, 0);
      process.stdout.write(
        `\n[consent ${days} days] ${bank.count('readAccountData')} reads, ${bank.count('getBankConsentStatus')} status checks, ` +
          `${runs.length} runs, max ${maxPerRun} events per run, ${totalEvents} events in total, ${wallMs} ms wall time\n`,
      );

      expect(bank.count('readAccountData')).toBe(days * 16);
      // Every read is a local activity carrying its update's id, distinct per read.
      const readIds = bank.callsTo('readAccountData').map((c) => c.read?.readId);
      expect(new Set(readIds).size).toBe(days * 16);
      expect(readIds.every((id) => typeof id === 'string')).toBe(true);
      expect(bank.count('getBankConsentStatus')).toBeGreaterThanOrEqual(days - 1);
      expect(final).toMatchObject({ status: 'expired', reads: days * 16 });
      expect(bank.timeline().at(-1)).toBe('consent_status:expired');
      expect(bank.emitted).toHaveLength(1);
      expect(bank.callsTo('recordConsentStatus').at(-1)!.at - activatedAt).toBeGreaterThan(days * DAY);
      // Limits: 51,200 events per run (warning at 10,240); continue-as-new keeps each run near maxHistoryEvents.
      expect(runs.length).toBeGreaterThan(1);
      expect(maxPerRun).toBeLessThan(2_000);
      expect(wallMs).toBeLessThan(90 * SECOND);
    }, 180_000);
  });
});

/** Every run in the continue-as-new chain, with its history length. */
async function historyLengths(workflowId: string): Promise<{ runId: string; events: number }[]> {
  const runs: { runId: string; events: number }[] = [];
  const latest = await env.client.workflow.getHandle(workflowId).describe();
  let runId: string | undefined = latest.raw.workflowExecutionInfo?.firstRunId ?? undefined;
  if (!runId) throw new Error('no firstRunId in describe()');
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
    runs.push({ runId, events: events.length });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}
