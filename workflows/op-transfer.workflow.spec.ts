import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { TenantId, TransferStatus as TransferStatusAttr } from '../libs/temporal/search-attributes';
import {
  cancelTransferUpdate,
  grantFinishSignal,
  opTransferWorkflowId,
  resolveTransferOutcomeUpdate,
  transferAuthorisationUpdate,
  type TransferAuthorisation,
  type TransferState,
  type TransferTimings,
  type TransferWorkflowInput,
} from './op-transfer.api';
import type { openPaymentsTransferWorkflow } from './op-transfer.workflow';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';

/**
 * The Open Payments transfer workflow against Temporal's time-skipping test server, with the
 * wallets stubbed at the activity boundary. Times asserted here are the server's (skipped) clock,
 * read inside the stub with `env.currentTimeMs()`.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const TIMINGS: TransferTimings = {
  grantWindowMs: 10 * MINUTE,
  sendPollInitialMs: 2 * SECOND,
  sendPollMaxMs: 30 * SECOND,
  sendDeadlineMs: 1 * HOUR,
};

const INTERACT_REDIRECT = 'https://auth.wallet.example/interact/abc123';
const APPROVED = { interactRef: 'interact-ref-1', hash: 'aGFzaA==' };

type ActivityName = keyof OpTransferActivities;
type RecordedChange = Parameters<OpTransferActivities['recordTransferStatus']>[0];
type Progress = Awaited<ReturnType<OpTransferActivities['getOutgoingPaymentProgress']>>;
type CreateOutcome = Awaited<ReturnType<OpTransferActivities['createOutgoingPayment']>>;
type LookupOutcome = Awaited<ReturnType<OpTransferActivities['findOutgoingPayment']>>;

interface ActivityCall {
  name: ActivityName;
  attempt: number;
  args: unknown[];
  /** Server time at which this attempt ran: skipped time, not wall-clock time. */
  at: number;
}

/** Per-activity behaviour; throw to fail the attempt. `call` counts every attempt, 0-based. */
interface WalletScript {
  resolveWalletAddresses?: (attempt: number) => void;
  createQuote?: (call: number) => void;
  continueGrant?: () => void;
  quoteExpired?: () => boolean;
  createOutgoingPayment?: (attempt: number) => CreateOutcome | void;
  findOutgoingPayment?: (call: number) => LookupOutcome;
  progress?: (poll: number) => Progress;
  adoptOutgoingPayment?: (url: string) => void;
}

/** Wallets that record every call made to them and every status change the workflow persists. */
function stubWallets(script: WalletScript = {}) {
  const calls: ActivityCall[] = [];
  const recorded: RecordedChange[] = [];

  async function note(name: ActivityName, args: unknown[]): Promise<ActivityCall> {
    const call = { name, attempt: activityInfo().attempt, args, at: await env.currentTimeMs() };
    calls.push(call);
    return call;
  }
  const callsTo = (name: ActivityName) => calls.filter((c) => c.name === name);
  const count = (name: ActivityName) => callsTo(name).length;

  const activities: OpTransferActivities = {
    async resolveWalletAddresses(...args) {
      const { attempt } = await note('resolveWalletAddresses', args);
      script.resolveWalletAddresses?.(attempt);
    },
    async createIncomingPayment(...args) {
      await note('createIncomingPayment', args);
    },
    async createQuote(...args) {
      await note('createQuote', args);
      script.createQuote?.(count('createQuote') - 1);
    },
    async requestOutgoingPaymentGrant(...args) {
      await note('requestOutgoingPaymentGrant', args);
      return { interactRedirect: INTERACT_REDIRECT };
    },
    async continueGrant(...args) {
      await note('continueGrant', args);
      script.continueGrant?.();
    },
    async quoteExpired(...args) {
      await note('quoteExpired', args);
      return script.quoteExpired?.() ?? false;
    },
    async createOutgoingPayment(...args) {
      const { attempt } = await note('createOutgoingPayment', args);
      return script.createOutgoingPayment?.(attempt) ?? { outcome: 'created' };
    },
    async findOutgoingPayment(...args) {
      await note('findOutgoingPayment', args);
      return script.findOutgoingPayment?.(count('findOutgoingPayment') - 1) ?? { outcome: 'found' };
    },
    async adoptOutgoingPayment(...args) {
      await note('adoptOutgoingPayment', args);
      script.adoptOutgoingPayment?.(args[1]);
    },
    async recordTransferResolution(...args) {
      await note('recordTransferResolution', args);
    },
    async closeIncomingPayment(...args) {
      await note('closeIncomingPayment', args);
    },
    async getOutgoingPaymentProgress(...args) {
      await note('getOutgoingPaymentProgress', args);
      return script.progress?.(count('getOutgoingPaymentProgress') - 1) ?? { complete: true, failed: false };
    },
    async revokeTransferGrant(...args) {
      await note('revokeTransferGrant', args);
    },
    async recordTransferStatus(change) {
      await note('recordTransferStatus', [change]);
      recorded.push(change);
    },
  };

  return {
    activities,
    calls,
    recorded,
    callsTo,
    count,
    names: () => calls.map((c) => c.name),
    /** The statuses in the order the workflow persisted them. */
    timeline: () => recorded.map((c) => c.status),
  };
}
type WalletStub = ReturnType<typeof stubWallets>;

/** Waits (in real time, while the server skips) until `check` holds. */
async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Successive differences: the waits between calls. */
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

/** Timers fire exactly in skipped time; the activity is scheduled a few real milliseconds later. */
const TOLERANCE_MS = 500;

function refused(code: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'TransferRefused', message, nonRetryable: true, details: [{ httpStatus: 400, code, message }] });
}

function walletUnavailable(httpStatus = 503): ApplicationFailure {
  return ApplicationFailure.create({ type: 'BankUnavailable', message: `wallet answered ${httpStatus}`, details: [{ httpStatus, messages: [] }] });
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // Failed attempts are part of this file's subject: keep the worker's expected warnings out of the output.
  [env, workflowBundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('./index'));
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

type TransferHandle = WorkflowHandle<typeof openPaymentsTransferWorkflow>;

interface Transfer {
  input: TransferWorkflowInput;
  /** What `POST /transfers` does: update-with-start, answered once the interactive grant is requested. */
  authoriseLikeTheApi(): Promise<{ authorisation: Promise<TransferAuthorisation>; handle: TransferHandle }>;
}

/** Runs `drive` with a worker hosting the workflow and the stubbed wallets, on a task queue of its own. */
async function withTransfer<T>(wallets: WalletStub, timings: Partial<TransferTimings>, drive: (transfer: Transfer) => Promise<T>): Promise<T> {
  const taskQueue = `op-transfers-${randomUUID()}`;
  const input: TransferWorkflowInput = { transferId: randomUUID(), tenantId: 'tenant-1', timings: { ...TIMINGS, ...timings } };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: wallets.activities });
  const transfer: Transfer = {
    input,
    async authoriseLikeTheApi() {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof openPaymentsTransferWorkflow>('openPaymentsTransferWorkflow', {
        workflowId: opTransferWorkflowId(input.transferId),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: TenantId, value: input.tenantId },
          { key: TransferStatusAttr, value: 'quoting' },
        ],
      });
      const authorisation = env.client.workflow.executeUpdateWithStart(transferAuthorisationUpdate, { startWorkflowOperation });
      authorisation.catch(() => undefined); // the caller asserts on it
      return { authorisation, handle: await startWorkflowOperation.workflowHandle() };
    },
  };
  return worker.runUntil(() => drive(transfer));
}

/** Authorises like the API, then lets the PSU come back with `finish` (or not), and waits for the end. */
async function runTransfer(wallets: WalletStub, opts: { finish?: { interactRef?: string; hash?: string; result?: string }; timings?: Partial<TransferTimings> } = {}) {
  return withTransfer(wallets, opts.timings ?? {}, async (transfer) => {
    const { authorisation, handle } = await transfer.authoriseLikeTheApi();
    const answer = await authorisation;
    if (opts.finish) await handle.signal(grantFinishSignal, opts.finish);
    const state = await handle.result();
    const { typedSearchAttributes } = await handle.describe();
    return { answer, state, input: transfer.input, statusAttribute: typedSearchAttributes.get(TransferStatusAttr) };
  });
}

const UP_TO_THE_GRANT: ActivityName[] = [
  'resolveWalletAddresses',
  'createIncomingPayment',
  'createQuote',
  'requestOutgoingPaymentGrant',
  'recordTransferStatus', // awaiting_authorisation
];

describe('openPaymentsTransferWorkflow', () => {
  it('approval: update-with-start returns the redirect, the finish signal continues the grant, completed on the 2nd poll', async () => {
    const wallets = stubWallets({ progress: (poll) => ({ complete: poll >= 1, failed: false }) });

    const { answer, state, input, statusAttribute } = await runTransfer(wallets, { finish: APPROVED });

    expect(answer).toEqual({ status: 'awaiting_authorisation', interactRedirect: INTERACT_REDIRECT });
    expect(state).toMatchObject<Partial<TransferState>>({ status: 'completed', interactRedirect: INTERACT_REDIRECT, eventSeq: 3 });
    expect(state.statusReason).toBeUndefined();
    expect(state.refusal).toBeUndefined();
    expect(wallets.recorded).toEqual([
      { transferId: input.transferId, seq: 0, status: 'awaiting_authorisation', reason: null },
      { transferId: input.transferId, seq: 1, status: 'sending', reason: null },
      { transferId: input.transferId, seq: 2, status: 'completed', reason: null },
    ]);
    expect(wallets.names()).toEqual([
      ...UP_TO_THE_GRANT,
      'continueGrant',
      'recordTransferStatus', // sending
      'quoteExpired',
      'createOutgoingPayment',
      'getOutgoingPaymentProgress',
      'getOutgoingPaymentProgress',
      'closeIncomingPayment', // nothing more is coming to the receiver's incoming payment
      'recordTransferStatus', // completed
    ]);
    expect(wallets.callsTo('continueGrant')[0].args).toEqual([input.transferId, APPROVED.interactRef, APPROVED.hash]);
    expect(wallets.calls.filter((c) => c.name !== 'recordTransferStatus' && c.name !== 'continueGrant').every((c) => c.args[0] === input.transferId)).toBe(true);
    expect(wallets.count('revokeTransferGrant')).toBe(0);
    // The second poll waits sendPollInitialMs.
    const [wait] = gaps(wallets.callsTo('getOutgoingPaymentProgress').map((c) => c.at));
    expect(wait).toBeGreaterThanOrEqual(TIMINGS.sendPollInitialMs);
    expect(wait).toBeLessThan(TIMINGS.sendPollInitialMs + TOLERANCE_MS);
    expect(statusAttribute).toBe('completed');
  });

  it('denial (result=grant_rejected): rejected, grant revoked, no grant continuation and no outgoing payment', async () => {
    const wallets = stubWallets();

    const { state, input, statusAttribute } = await runTransfer(wallets, { finish: { result: 'grant_rejected' } });

    expect(state).toMatchObject({ status: 'rejected', statusReason: 'The PSU denied the payment' });
    expect(wallets.recorded).toEqual([
      { transferId: input.transferId, seq: 0, status: 'awaiting_authorisation', reason: null },
      { transferId: input.transferId, seq: 1, status: 'rejected', reason: 'The PSU denied the payment' },
    ]);
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
    expect(wallets.count('continueGrant') + wallets.count('createOutgoingPayment')).toBe(0);
    expect(statusAttribute).toBe('rejected');
  });

  it('grant window expiry: no finish within grantWindowMs → expired after that much skipped time, grant revoked', async () => {
    const wallets = stubWallets();

    const { state, statusAttribute } = await runTransfer(wallets);

    expect(state).toMatchObject({ status: 'expired', statusReason: 'The PSU did not approve within 600s' });
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'expired']);
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
    const waited = wallets.callsTo('revokeTransferGrant')[0].at - wallets.callsTo('requestOutgoingPaymentGrant')[0].at;
    expect(waited).toBeGreaterThanOrEqual(TIMINGS.grantWindowMs);
    expect(waited).toBeLessThan(TIMINGS.grantWindowMs + TOLERANCE_MS);
    expect(wallets.count('continueGrant') + wallets.count('createOutgoingPayment')).toBe(0);
    expect(statusAttribute).toBe('expired');
  });

  it('quote expired while the PSU decided: re-quoted after continueGrant and before the outgoing payment', async () => {
    const wallets = stubWallets({ quoteExpired: () => true });

    const { state } = await runTransfer(wallets, { finish: APPROVED });

    expect(state.status).toBe('completed');
    expect(wallets.count('createQuote')).toBe(2);
    expect(wallets.names().slice(UP_TO_THE_GRANT.length)).toEqual([
      'continueGrant',
      'recordTransferStatus', // sending
      'quoteExpired',
      'createQuote',
      'createOutgoingPayment',
      'getOutgoingPaymentProgress',
      'closeIncomingPayment',
      'recordTransferStatus', // completed
    ]);
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'completed']);
  });

  it('re-quote refused (requote_exceeds_grant): failed with that reason, no outgoing payment', async () => {
    const message = 'The new quote (1100) exceeds the authorised 1000';
    const wallets = stubWallets({
      quoteExpired: () => true,
      createQuote: (call) => {
        if (call === 1) throw refused('requote_exceeds_grant', message);
      },
    });

    const { state, statusAttribute } = await runTransfer(wallets, { finish: APPROVED });

    expect(state).toMatchObject({ status: 'failed', statusReason: message });
    expect(wallets.recorded.at(-1)).toMatchObject({ seq: 2, status: 'failed', reason: message });
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'failed']);
    expect(wallets.count('createQuote')).toBe(2); // refusals are not retried
    expect(wallets.count('createOutgoingPayment') + wallets.count('getOutgoingPaymentProgress')).toBe(0);
    expect(statusAttribute).toBe('failed');
  });

  it('hash mismatch: continueGrant refuses (hash_mismatch) → failed with a hash reason, grant revoked, nothing sent', async () => {
    const wallets = stubWallets({
      continueGrant: () => {
        throw refused('hash_mismatch', 'The interaction hash does not match: the finish redirect was not issued for this grant');
      },
    });

    const { state } = await runTransfer(wallets, { finish: { interactRef: 'forged-ref', hash: 'forged' } });

    expect(state.status).toBe('failed');
    expect(state.statusReason).toMatch(/hash/i);
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'failed']);
    expect(wallets.count('continueGrant')).toBe(1);
    expect(wallets.names().slice(-3)).toEqual(['revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
    expect(wallets.count('createOutgoingPayment')).toBe(0);
  });

  it('cancellation before approval: the update returns {status: cancelled}, grant revoked, nothing continued', async () => {
    const wallets = stubWallets();

    const { result, state, input, statusAttribute } = await withTransfer(wallets, {}, async (transfer) => {
      const { authorisation, handle } = await transfer.authoriseLikeTheApi();
      await authorisation;
      const result = await handle.executeUpdate(cancelTransferUpdate);
      const state = await handle.result();
      const statusAttribute = (await handle.describe()).typedSearchAttributes.get(TransferStatusAttr);
      return { result, state, input: transfer.input, statusAttribute };
    });

    expect(result).toEqual({ status: 'cancelled' });
    expect(state).toMatchObject({ status: 'cancelled', statusReason: 'Cancelled by the client' });
    expect(wallets.recorded).toEqual([
      { transferId: input.transferId, seq: 0, status: 'awaiting_authorisation', reason: null },
      { transferId: input.transferId, seq: 1, status: 'cancelled', reason: 'Cancelled by the client' },
    ]);
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
    expect(statusAttribute).toBe('cancelled');
  });

  it('cancellation once sending is refused by the validator; the payment goes on to completed', async () => {
    let cancelTried = false;
    const wallets = stubWallets({ progress: () => ({ complete: cancelTried, failed: false }) });

    const { refusal, state } = await withTransfer(wallets, {}, async (transfer) => {
      const { authorisation, handle } = await transfer.authoriseLikeTheApi();
      await authorisation;
      await handle.signal(grantFinishSignal, APPROVED);
      for (let i = 0; wallets.count('getOutgoingPaymentProgress') === 0; i++) {
        if (i > 250) throw new Error('the transfer never started sending');
        await new Promise((r) => setTimeout(r, 20));
      }
      const refusal = await handle.executeUpdate(cancelTransferUpdate).catch((e: unknown) => e);
      cancelTried = true;
      return { refusal, state: await handle.result() };
    });

    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refusal as WorkflowUpdateFailedError).cause?.message).toBe('A transfer cannot be cancelled once sending');
    expect(state.status).toBe('completed');
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'completed']);
    expect(wallets.count('revokeTransferGrant')).toBe(0);
  });

  it('refusal before the grant (asset_mismatch): the authorisation update fails with the refusal, status failed, no retry', async () => {
    const message = "debitAmount is in EUR/2, the sender's wallet in USD/2";
    const wallets = stubWallets({
      resolveWalletAddresses: () => {
        throw refused('asset_mismatch', message);
      },
    });

    const { err, state, input, statusAttribute } = await withTransfer(wallets, {}, async (transfer) => {
      const { authorisation, handle } = await transfer.authoriseLikeTheApi();
      const err = await authorisation.then(
        () => undefined,
        (e: unknown) => e,
      );
      const state = await handle.result();
      const statusAttribute = (await handle.describe()).typedSearchAttributes.get(TransferStatusAttr);
      return { err, state, input: transfer.input, statusAttribute };
    });

    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'TransferRefused', nonRetryable: true, message });
    expect((cause as ApplicationFailure).details).toEqual([{ httpStatus: 400, code: 'asset_mismatch', message }]);

    expect(state).toMatchObject({ status: 'failed', statusReason: message, refusal: { httpStatus: 400, code: 'asset_mismatch', message } });
    expect(state.interactRedirect).toBeUndefined();
    expect(wallets.recorded).toEqual([{ transferId: input.transferId, seq: 0, status: 'failed', reason: message }]);
    expect(wallets.count('resolveWalletAddresses')).toBe(1);
    expect(wallets.count('createIncomingPayment') + wallets.count('createQuote') + wallets.count('requestOutgoingPaymentGrant')).toBe(0);
    expect(statusAttribute).toBe('failed');
  });

  it('retries createOutgoingPayment after 5xx answers (1 s then 2 s backoff), then completes', async () => {
    const wallets = stubWallets({
      createOutgoingPayment: (attempt) => {
        if (attempt <= 2) throw walletUnavailable(503);
      },
    });

    const { state } = await runTransfer(wallets, { finish: APPROVED });

    expect(state.status).toBe('completed');
    expect(wallets.callsTo('createOutgoingPayment').map((c) => c.attempt)).toEqual([1, 2, 3]);
    const backoff = gaps(wallets.callsTo('createOutgoingPayment').map((c) => c.at));
    expect(backoff[0]).toBeGreaterThanOrEqual(1 * SECOND);
    expect(backoff[1]).toBeGreaterThanOrEqual(2 * SECOND);
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'completed']);
  });

  it('send deadline: not confirmed sent by sendDeadlineMs → unknown (never failed on a guess), still followed, completed when the wallet says so', async () => {
    let late = false;
    const wallets = stubWallets({ progress: () => ({ complete: late, failed: false }) });

    const { state, statusAttribute } = await withTransfer(wallets, { sendDeadlineMs: 1 * HOUR, sendPollMaxMs: 5 * MINUTE }, async (transfer) => {
      const { authorisation, handle } = await transfer.authoriseLikeTheApi();
      await authorisation;
      await handle.signal(grantFinishSignal, APPROVED);
      // Time skips by itself only while a result is awaited: move the server's clock past the deadline.
      await env.sleep(1 * HOUR + 10 * SECOND);
      await until(() => wallets.timeline().includes('unknown'));
      // Still followed after the deadline, at the lookup cadence.
      const polled = wallets.count('getOutgoingPaymentProgress');
      await env.sleep(2 * HOUR);
      await until(() => wallets.count('getOutgoingPaymentProgress') > polled);
      late = true;
      const state = await handle.result();
      return { state, statusAttribute: (await handle.describe()).typedSearchAttributes.get(TransferStatusAttr) };
    });

    expect(state.status).toBe('completed');
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'unknown', 'completed']);
    expect(wallets.recorded[2]!.reason).toMatch(/not confirmed the payment as sent, nor as failed, by the deadline/);
    const polls = wallets.callsTo('getOutgoingPaymentProgress').map((c) => c.at);
    const sentAt = wallets.callsTo('createOutgoingPayment')[0]!.at;
    const unknownAt = wallets.callsTo('recordTransferStatus')[2]!.at;
    expect(unknownAt - sentAt).toBeGreaterThanOrEqual(1 * HOUR);
    expect(unknownAt - sentAt).toBeLessThan(1 * HOUR + TOLERANCE_MS);
    // Doubling from 2 s, capped at 5 min before the deadline.
    const waits = gaps(polls.filter((t) => t <= unknownAt));
    expect(waits.slice(0, 3).map((w) => Math.round(w / SECOND))).toEqual([2, 4, 8]);
    expect(Math.max(...waits)).toBeLessThan(5 * MINUTE + TOLERANCE_MS);
    expect(wallets.count('revokeTransferGrant')).toBe(0);
    expect(wallets.names().slice(-2)).toEqual(['closeIncomingPayment', 'recordTransferStatus']);
    expect(statusAttribute).toBe('completed');
  });

  describe('unknown outcomes: a payment the wallet may hold is looked up, never failed on a guess', () => {
    it('createOutgoingPayment unanswered until its retries run out → unknown, looked up, found → followed to completed; grant never revoked', async () => {
      const wallets = stubWallets({
        createOutgoingPayment: () => {
          throw walletUnavailable(503);
        },
        findOutgoingPayment: (call) => (call === 0 ? { outcome: 'not_yet', retryInMs: 4 * MINUTE, reason: 'quote still valid' } : { outcome: 'found' }),
      });

      const { state } = await runTransfer(wallets, { finish: APPROVED });

      expect(state.status).toBe('completed');
      expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'unknown', 'sending', 'completed']);
      expect(wallets.recorded[2]!.reason).toMatch(/The wallet did not confirm the outgoing payment.*looking it up at the wallet/);
      // The sending policy retries for its 5 minutes (the server stops once the next backoff would pass them).
      const creates = wallets.callsTo('createOutgoingPayment').map((c) => c.at);
      expect(creates.length).toBeGreaterThan(5);
      const gaveUpAfter = wallets.callsTo('findOutgoingPayment')[0]!.at - creates[0]!;
      expect(gaveUpAfter).toBeGreaterThan(4 * MINUTE);
      expect(gaveUpAfter).toBeLessThanOrEqual(5 * MINUTE + TOLERANCE_MS);
      // The second lookup waits for the quote's expiry, as the first one asked.
      const [lookupWait] = gaps(wallets.callsTo('findOutgoingPayment').map((c) => c.at));
      expect(lookupWait).toBeGreaterThanOrEqual(4 * MINUTE);
      expect(wallets.count('revokeTransferGrant')).toBe(0);
    }, 120_000);

    it('an ambiguous refusal, then absent once the quote expired → failed, grant revoked, incoming payment completed', async () => {
      const wallets = stubWallets({
        createOutgoingPayment: () => ({ outcome: 'ambiguous', reason: 'The wallet refused a repeated request (invalid_quote) after an earlier one went unanswered' }),
        findOutgoingPayment: (call) => (call < 2 ? { outcome: 'not_yet', retryInMs: 2 * MINUTE, reason: 'quote still valid' } : { outcome: 'absent', reason: 'The wallet never created the outgoing payment (looked up after its quote expired)' }),
      });

      const { state } = await runTransfer(wallets, { finish: APPROVED });

      expect(state).toMatchObject({ status: 'failed', statusReason: expect.stringMatching(/never created the outgoing payment/) });
      expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'unknown', 'failed']);
      expect(wallets.count('createOutgoingPayment')).toBe(1); // an ambiguous outcome is not retried blindly
      expect(wallets.count('findOutgoingPayment')).toBe(3);
      expect(wallets.names().slice(-3)).toEqual(['revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
      expect(wallets.count('getOutgoingPaymentProgress')).toBe(0);
    });

    it('a refusal of the only request (e.g. 403 over the limit) is final at once: failed, no lookup', async () => {
      const wallets = stubWallets({ createOutgoingPayment: () => ({ outcome: 'refused', code: 'limit_exceeded', message: 'POST /outgoing-payments → HTTP 403 (limit_exceeded)' }) });

      const { state } = await runTransfer(wallets, { finish: APPROVED });

      expect(state).toMatchObject({ status: 'failed', statusReason: expect.stringMatching(/403/) });
      expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'failed']);
      expect(wallets.count('findOutgoingPayment')).toBe(0);
      expect(wallets.names().slice(-3)).toEqual(['revokeTransferGrant', 'closeIncomingPayment', 'recordTransferStatus']);
    });

    it('lookups that never answer: unknown until an operator rules (audit first); the ruling is refused before and after', async () => {
      const wallets = stubWallets({
        createOutgoingPayment: () => ({ outcome: 'ambiguous', reason: 'unanswered' }),
        findOutgoingPayment: () => {
          throw walletUnavailable(503);
        },
      });

      const { early, ruling, late, state } = await withTransfer(wallets, { lookupDeadlineMs: 2 * HOUR }, async (transfer) => {
        const { authorisation, handle } = await transfer.authoriseLikeTheApi();
        await authorisation;
        const early = await handle.executeUpdate(resolveTransferOutcomeUpdate, { args: [{ decision: 'not_paid', operator: 'ops@clearway', note: 'too early' }] }).catch((e: unknown) => e);
        await handle.signal(grantFinishSignal, APPROVED);
        await until(() => wallets.timeline().includes('unknown'));
        await env.sleep(5 * MINUTE);
        await until(() => wallets.count('findOutgoingPayment') >= 6);
        const ruling = await handle.executeUpdate(resolveTransferOutcomeUpdate, {
          args: [{ decision: 'not_paid', operator: 'ops@clearway', note: 'The wallet confirmed by phone: no payment (ticket 42)' }],
        });
        const late = await handle.executeUpdate(resolveTransferOutcomeUpdate, { args: [{ decision: 'not_paid', operator: 'ops', note: 'again' }] }).catch((e: unknown) => e);
        return { early, ruling, late, state: await handle.result() };
      });

      expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((early as WorkflowUpdateFailedError).cause?.message).toMatch(/Only an unknown outcome can be resolved/);
      expect(ruling).toEqual({ status: 'failed' });
      expect(late).toBeInstanceOf(Error); // decided: the transfer is closed to further rulings
      expect(state).toMatchObject({ status: 'failed', statusReason: 'Ruled out by ops@clearway: The wallet confirmed by phone: no payment (ticket 42)' });
      const audit = wallets.callsTo('recordTransferResolution');
      expect(audit).toHaveLength(1);
      expect(audit[0]!.args[0]).toMatchObject({ decision: 'not_paid', operator: 'ops@clearway', seq: 3 });
      expect(wallets.names().indexOf('recordTransferResolution')).toBeLessThan(wallets.names().lastIndexOf('recordTransferStatus'));
      // Looked up with backoff (1 min, doubling), until the operator decided.
      const lookups = gaps(wallets.callsTo('findOutgoingPayment').map((c) => c.at)).filter((g) => g > 30 * SECOND);
      expect(Math.round(lookups[0]! / MINUTE)).toBe(1);
      expect(Math.round(lookups[1]! / MINUTE)).toBe(2);
    });

    it('an operator names the payment ("paid"): it is adopted (checked to be this transfer\'s) and followed to completed', async () => {
      const url = 'https://wallet.example/outgoing-payments/op-42';
      const wallets = stubWallets({
        createOutgoingPayment: () => ({ outcome: 'ambiguous', reason: 'unanswered' }),
        findOutgoingPayment: () => ({ outcome: 'not_yet', retryInMs: HOUR, reason: 'Not among the wallet\'s last 5000 payments' }),
      });

      const { bad, ruling, state } = await withTransfer(wallets, {}, async (transfer) => {
        const { authorisation, handle } = await transfer.authoriseLikeTheApi();
        await authorisation;
        await handle.signal(grantFinishSignal, APPROVED);
        await until(() => wallets.timeline().includes('unknown'));
        const bad = await handle.executeUpdate(resolveTransferOutcomeUpdate, { args: [{ decision: 'paid', operator: 'ops', note: 'no url' } as never] }).catch((e: unknown) => e);
        const ruling = await handle.executeUpdate(resolveTransferOutcomeUpdate, { args: [{ decision: 'paid', outgoingPaymentUrl: url, operator: 'ops', note: 'found it in the wallet UI' }] });
        return { bad, ruling, state: await handle.result() };
      });

      expect(bad).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(ruling).toEqual({ status: 'sending' });
      expect(state.status).toBe('completed');
      expect(wallets.callsTo('adoptOutgoingPayment')[0]!.args).toEqual([expect.any(String), url]);
      expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'unknown', 'sending', 'completed']);
      expect(wallets.count('revokeTransferGrant')).toBe(0);
    });
  });

  describe('regressions', () => {
    it('a refused re-quote (requote_exceeds_grant) revokes the approved grant: no payment exists under it', async () => {
      const wallets = stubWallets({
        quoteExpired: () => true,
        createQuote: (call) => {
          if (call === 1) throw refused('requote_exceeds_grant', 'The new quote (1100) exceeds the authorised 1000');
        },
      });

      const { state } = await runTransfer(wallets, { finish: APPROVED });

      expect(state.status).toBe('failed');
      expect(wallets.count('createOutgoingPayment')).toBe(0);
      expect(wallets.count('revokeTransferGrant')).toBe(1);
    });

    it('a wallet unreachable while polling is never left "sending": unknown at the deadline, then an operator decides', async () => {
      const wallets = stubWallets({
        progress: () => {
          throw walletUnavailable(503);
        },
      });

      const outcome = await withTransfer(wallets, {}, async (transfer) => {
        const { authorisation, handle } = await transfer.authoriseLikeTheApi();
        await authorisation;
        await handle.signal(grantFinishSignal, APPROVED);
        await env.sleep(TIMINGS.sendDeadlineMs + MINUTE);
        await until(() => wallets.timeline().includes('unknown'));
        const statusWhileUnknown = (await handle.describe()).typedSearchAttributes.get(TransferStatusAttr);
        await handle.executeUpdate(resolveTransferOutcomeUpdate, { args: [{ decision: 'not_paid', operator: 'ops', note: 'wallet gone' }] });
        const result = await handle.result().catch((e: unknown) => e);
        return { result, statusWhileUnknown };
      });

      expect(outcome.result).not.toBeInstanceOf(WorkflowFailedError);
      expect(outcome.statusWhileUnknown).toBe('unknown');
      expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'unknown', 'failed']);
    });
  });

});
