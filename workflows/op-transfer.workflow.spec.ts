import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { TenantId, TransferStatus as TransferStatusAttr } from '../libs/temporal/search-attributes';
import {
  cancelTransferUpdate,
  grantFinishSignal,
  opTransferWorkflowId,
  transferAuthorisationUpdate,
  type TransferAuthorisation,
  type TransferState,
  type TransferTimings,
  type TransferWorkflowInput,
} from './op-transfer.api';
import type { openPaymentsTransferWorkflow } from './op-transfer.workflow';
import { startTimeSkippingEnv } from '../test/support/time-skipping';

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
  createOutgoingPayment?: (attempt: number) => void;
  progress?: (poll: number) => Progress;
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
      script.createOutgoingPayment?.(attempt);
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
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  [env, workflowBundle] = await Promise.all([
    startTimeSkippingEnv(),
    bundleWorkflowCode({ workflowsPath: require.resolve('./index'), logger: new DefaultLogger('WARN') }),
  ]);
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
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'recordTransferStatus']);
    expect(wallets.count('continueGrant') + wallets.count('createOutgoingPayment')).toBe(0);
    expect(statusAttribute).toBe('rejected');
  });

  it('grant window expiry: no finish within grantWindowMs → expired after that much skipped time, grant revoked', async () => {
    const wallets = stubWallets();

    const { state, statusAttribute } = await runTransfer(wallets);

    expect(state).toMatchObject({ status: 'expired', statusReason: 'The PSU did not approve within 600s' });
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'expired']);
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'recordTransferStatus']);
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
    expect(wallets.names().slice(-2)).toEqual(['revokeTransferGrant', 'recordTransferStatus']);
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
    expect(wallets.names()).toEqual([...UP_TO_THE_GRANT, 'revokeTransferGrant', 'recordTransferStatus']);
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

  it('send deadline: progress never complete → failed after sendDeadlineMs, the last poll on the deadline', async () => {
    const wallets = stubWallets({ progress: () => ({ complete: false, failed: false }) });

    const { state, statusAttribute } = await runTransfer(wallets, { finish: APPROVED, timings: { sendDeadlineMs: 1 * HOUR, sendPollMaxMs: 5 * MINUTE } });

    expect(state.status).toBe('failed');
    expect(state.statusReason).toMatch(/deadline/i);
    expect(wallets.timeline()).toEqual(['awaiting_authorisation', 'sending', 'failed']);
    const polls = wallets.callsTo('getOutgoingPaymentProgress').map((c) => c.at);
    const sentAt = wallets.callsTo('createOutgoingPayment')[0].at;
    expect(polls.at(-1)! - sentAt).toBeGreaterThanOrEqual(1 * HOUR);
    expect(polls.at(-1)! - sentAt).toBeLessThan(1 * HOUR + TOLERANCE_MS);
    // Doubling from 2 s, capped at 5 min: 2, 4, … 256, then 300 s.
    const waits = gaps(polls);
    expect(waits.slice(0, 3).map((w) => Math.round(w / SECOND))).toEqual([2, 4, 8]);
    expect(Math.max(...waits)).toBeLessThan(5 * MINUTE + TOLERANCE_MS);
    expect(wallets.count('revokeTransferGrant')).toBe(0);
    expect(statusAttribute).toBe('failed');
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

    it('a wallet unreachable while polling ends the transfer with a final status at the deadline, never stuck in "sending"', async () => {
      const wallets = stubWallets({
        progress: () => {
          throw walletUnavailable(503);
        },
      });

      const outcome = await withTransfer(wallets, {}, async (transfer) => {
        const { authorisation, handle } = await transfer.authoriseLikeTheApi();
        await authorisation;
        await handle.signal(grantFinishSignal, APPROVED);
        const result = await handle.result().catch((e: unknown) => e);
        const statusAttribute = (await handle.describe()).typedSearchAttributes.get(TransferStatusAttr);
        return { result, statusAttribute };
      });

      expect(outcome.result).not.toBeInstanceOf(WorkflowFailedError);
      expect(wallets.timeline().at(-1)).toBe('failed');
      expect(outcome.statusAttribute).toBe('failed');
    });
  });

});
