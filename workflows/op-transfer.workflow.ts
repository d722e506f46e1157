import { ApplicationFailure, allHandlersFinished, condition, log, patched, proxyActivities, setCurrentDetails, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { isGrantApproved, isFinalTransferStatus as isFinal, type TransferStatus } from '../libs/domain/open-payments';
import { TransferStatus as TransferStatusAttr } from '../libs/temporal/search-attributes';
import {
  LOOKUP_DEFAULTS,
  TRANSFER_OUTCOMES_PATCH,
  cancelTransferUpdate,
  checkOutcomeDecision,
  grantFinishSignal,
  resolveTransferOutcomeUpdate,
  transferAuthorisationUpdate,
  transferStateQuery,
  type GrantFinish,
  type OutcomeDecision,
  type TransferRefusal,
  type TransferState,
  type TransferWorkflowInput,
} from './op-transfer.api';
import { openPaymentsRefusalOf, readOrUndefined } from './shared/failures';
import { RETRY, retryPolicy } from './shared/retry-policies';
import { STATUS_VIEW_DESCRIPTION, statusViewQuery } from './shared/status-view';
import { activitySummary, duration, phrases } from './shared/ui-metadata';

/** Steps with the PSU's client waiting (POST returns after the grant request). */
const steps = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '2m',
  retry: retryPolicy({ initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' }),
});

/**
 * Sending: a retried attempt first looks the payment up among the grant's outgoing payments and only
 * sends the same quote again when it is not there (activities/open-payments-outgoing.ts), so retries are safe.
 */
const sending = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: RETRY.bankStep,
});

/** Progress reads inside a loop that reads again: a failed read is retried by the next poll. */
const progressReads = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

const records = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/** Looking an unanswered payment up: a listing may take many pages; the caller looks again later. */
const lookups = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '2m',
  retry: RETRY.bankRead,
});

/** Completing the receiver's incoming payment: tidying up after the outcome, never changing it. */
const tidying = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '10m',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' }),
});


/**
 * One Interledger Open Payments transfer: resolve the wallets → incoming payment at the receiver →
 * quote at the sender → interactive outgoing-payment grant (the PSU approves at their wallet) →
 * continue the grant → outgoing payment (re-quoting if the quote expired) → poll until sent.
 */
export async function openPaymentsTransferWorkflow(input: TransferWorkflowInput): Promise<TransferState> {
  const { transferId, timings } = input;
  const state: TransferState = { status: 'quoting', eventSeq: 0 };
  let finish: GrantFinish | undefined;
  let cancelRequested = false;

  setHandler(transferStateQuery, () => state);

  /** The Temporal UI's current details: the live phase in words (never PII). */
  let details = '';
  let grantWaitSince: number | undefined;
  const show = (extra?: string) => {
    details = describeStatus() + (extra ? `; ${extra}` : '');
    setCurrentDetails(details);
  };
  const label = (what: string, attempt?: number) => ({ summary: activitySummary(what, { attempt }) });
  setHandler(
    statusViewQuery,
    () => ({
      resource: 'transfer',
      id: transferId,
      phase: state.status,
      details,
      api: { status: state.status, reason: state.statusReason },
      href: `/openpayments/v1/transfers/${transferId}`,
    }),
    { description: STATUS_VIEW_DESCRIPTION },
  );
  show();

  function describeStatus(): string {
    switch (state.status) {
      case 'quoting':
        return phrases.text('Preparing: wallets, incoming payment at the receiver, quote, grant request');
      case 'awaiting_authorisation':
        return phrases.waitingForSca({ sinceMs: grantWaitSince ?? Date.now(), timesOutAtMs: (grantWaitSince ?? Date.now()) + timings.grantWindowMs, approach: 'interactive grant at the wallet' });
      case 'sending':
        return phrases.text('Sending: following the outgoing payment at the sender\'s wallet');
      case 'unknown':
        return phrases.outcomeUnknown({ reason: state.statusReason ?? 'the wallet did not confirm', resolution: "looking it up at the wallet, or waiting for an operator's resolveTransferOutcome update" });
      default:
        return phrases.final(state.status, state.statusReason);
    }
  }

  setHandler(transferAuthorisationUpdate, async () => {
    await condition(() => state.interactRedirect !== undefined || state.refusal !== undefined || isFinal(state.status));
    if (state.refusal) {
      throw ApplicationFailure.create({ type: 'TransferRefused', message: state.refusal.message, nonRetryable: true, details: [state.refusal] });
    }
    if (!state.interactRedirect) throw ApplicationFailure.create({ type: 'TransferRefused', message: `Transfer is ${state.status}`, nonRetryable: true });
    return { status: state.status, interactRedirect: state.interactRedirect };
  });

  setHandler(grantFinishSignal, (f) => {
    finish ??= f;
  });

  setHandler(
    cancelTransferUpdate,
    async () => {
      cancelRequested = true;
      await condition(() => isFinal(state.status));
      return { status: state.status };
    },
    {
      validator: () => {
        if (state.status !== 'quoting' && state.status !== 'awaiting_authorisation') {
          throw new Error(`A transfer cannot be cancelled once ${state.status.replace('_', ' ')}`);
        }
        // Approved and being continued: the payment is on its way, the cancel would only wait for it.
        if (finish !== undefined && isGrantApproved(finish)) throw new Error('The PSU has already approved the payment');
      },
    },
  );

  /** Persisted first: an update that waits for this status must not answer before `GET` shows it. */
  async function setStatus(status: TransferStatus, reason?: string): Promise<void> {
    const seq = state.eventSeq++;
    await records.recordTransferStatus.executeWithOptions(label(`Record status ${status}`), [{ transferId, seq, status, reason: reason ?? null }]);
    state.status = status;
    state.statusReason = reason;
    if (status === 'awaiting_authorisation') grantWaitSince = Date.now();
    show();
    upsertSearchAttributes([{ key: TransferStatusAttr, value: status }]);
  }

  // Runs started before the change keep the old commands when replayed; new runs take the new path.
  const outcomes = patched(TRANSFER_OUTCOMES_PATCH);
  const lookupTimings = { ...LOOKUP_DEFAULTS, ...timings };
  let decision: OutcomeDecision | undefined;

  setHandler(
    resolveTransferOutcomeUpdate,
    async (d) => {
      if (d.decision === 'paid') await records.adoptOutgoingPayment.executeWithOptions(label('Adopt the operator\'s outgoing payment'), [transferId, d.outgoingPaymentUrl]);
      await records.recordTransferResolution.executeWithOptions(label('Record the operator\'s decision'), [{ transferId, seq: state.eventSeq, ...d }]);
      decision = d;
      await condition(() => state.status !== 'unknown');
      return { status: state.status };
    },
    {
      validator: (d) => {
        checkOutcomeDecision(d);
        if (state.status !== 'unknown' || decision !== undefined) throw new Error(`Only an unknown outcome can be resolved; the transfer is ${state.status.replace('_', ' ')}`);
      },
    },
  );

  /**
   * Ends the transfer; before any payment exists, the grant is revoked so it cannot be used later.
   * `close`: nothing is, or will be, on its way to the receiver's incoming payment, so the one
   * Clearway created there is completed (new runs only).
   */
  async function end(status: TransferStatus, reason?: string, revoke = false, close = false): Promise<TransferState> {
    if (revoke) {
      try {
        await records.revokeTransferGrant.executeWithOptions(label('Revoke the grant'), [transferId]);
      } catch (err) {
        log.warn('Grant revocation failed', { transferId, error: (err as Error).message });
      }
    }
    if (close && outcomes) {
      try {
        await tidying.closeIncomingPayment.executeWithOptions(label('Complete the incoming payment'), [transferId]);
      } catch (err) {
        log.warn('Completing the incoming payment failed; it will expire at the wallet', { transferId, error: (err as Error).message });
      }
    }
    await setStatus(status, reason);
    await condition(allHandlersFinished);
    return state;
  }

  // 1–4: everything up to the PSU's approval.
  try {
    await steps.resolveWalletAddresses.executeWithOptions(label('Resolve the wallet addresses'), [transferId]);
    await steps.createIncomingPayment.executeWithOptions(label('Create the incoming payment at the receiver'), [transferId]);
    if (cancelRequested) return end('cancelled', 'Cancelled by the client', false, true);
    await steps.createQuote.executeWithOptions(label('Quote at the sender'), [transferId]);
    const grant = await steps.requestOutgoingPaymentGrant.executeWithOptions(label('Request the interactive grant'), [transferId]);
    await setStatus('awaiting_authorisation');
    state.interactRedirect = grant.interactRedirect;
  } catch (err) {
    state.refusal = refusalOf(err);
    return end('failed', state.refusal.message, true, true);
  }

  // 5: the PSU decides at their wallet, within the grant window.
  const decided = await condition(() => finish !== undefined || cancelRequested, timings.grantWindowMs, { summary: 'Grant window (PSU approval timeout)' });
  if (cancelRequested) return end('cancelled', 'Cancelled by the client', true, true);
  if (!decided) return end('expired', `The PSU did not approve within ${Math.round(timings.grantWindowMs / 1000)}s`, true, true);
  const approval = finish!;
  if (!isGrantApproved(approval)) return end('rejected', 'The PSU denied the payment', true, true);
  try {
    await steps.continueGrant.executeWithOptions(label('Continue the grant'), [transferId, approval.interactRef, approval.hash ?? '']);
  } catch (err) {
    return end('failed', refusalOf(err).message, true, true);
  }

  if (!outcomes) return legacyPayAndFollow();

  // 6: pay. The quote may have expired while the PSU was deciding: re-quote within the grant.
  await setStatus('sending');
  try {
    if (await steps.quoteExpired.executeWithOptions(label('Check the quote'), [transferId])) await steps.createQuote.executeWithOptions(label('Quote again'), [transferId]);
  } catch (err) {
    return end('failed', refusalOf(err).message, true, true);
  }
  let created: Awaited<ReturnType<OpTransferActivities['createOutgoingPayment']>> | undefined;
  let unanswered = 'The wallet did not confirm the outgoing payment';
  try {
    created = await sending.createOutgoingPayment.executeWithOptions(label('Create the outgoing payment'), [transferId]);
  } catch (err) {
    unanswered = `${unanswered} (${refusalOf(err).message})`;
  }
  if (created?.outcome === 'refused') return end('failed', created.message, true, true);
  if (created?.outcome !== 'created') {
    // The wallet may hold the payment: look before failing, and never revoke a grant that may have paid.
    const found = await settleCreation(created?.outcome === 'ambiguous' ? created.reason : unanswered);
    if (found !== 'found') return end('failed', found, true, true);
    await setStatus('sending');
  }

  // 7: follow the payment at the wallet until it says sent in full or failed.
  return followPayment();

  /** Looks the payment up until it is found or ruled out; returns 'found' or why nothing was paid. */
  async function settleCreation(reason: string): Promise<'found' | string> {
    await setStatus('unknown', `${reason}; looking it up at the wallet`);
    const until = Date.now() + lookupTimings.lookupDeadlineMs;
    let wait = lookupTimings.lookupInitialMs;
    let n = 0;
    for (;;) {
      n += 1;
      const found = decision ? undefined : await readOrUndefined(() => lookups.findOutgoingPayment.executeWithOptions(label('Look up the outgoing payment', n), [transferId]));
      if (found?.outcome === 'found') return 'found';
      if (found?.outcome === 'absent') return found.reason;
      if (decision) {
        const ruling = decision;
        decision = undefined; // consumed: a later unknown outcome gets its own ruling
        return ruling.decision === 'paid' ? 'found' : `Ruled out by ${ruling.operator}: ${ruling.note}`;
      }
      const next = found?.outcome === 'not_yet' ? Math.max(found.retryInMs, wait) : wait;
      // Past the lookup deadline, only an operator decides (see the README, "Unknown outcomes").
      if (Date.now() + next > until) await condition(() => decision !== undefined);
      else await condition(() => decision !== undefined, next, { summary: `Wait before lookup ${n + 1}` });
      wait = Math.min(wait * 2, lookupTimings.lookupMaxMs);
    }
  }

  /**
   * Polls the payment until the wallet says it failed or it was sent in full (its own fields,
   * never a comparison a fee would break). Past the send deadline the outcome is `unknown`: still
   * followed, more slowly, and open to an operator's ruling.
   */
  async function followPayment(): Promise<TransferState> {
    const deadline = Date.now() + timings.sendDeadlineMs;
    let interval = timings.sendPollInitialMs;
    let n = 0;
    for (;;) {
      n += 1;
      const progress = decision ? undefined : await readOrUndefined(() => progressReads.getOutgoingPaymentProgress.executeWithOptions(label('Check the outgoing payment', n), [transferId]));
      if (progress?.failed) return end('failed', 'The outgoing payment failed at the sender’s wallet', true, true);
      if (progress?.complete) return end('completed', undefined, false, true);
      if (decision) {
        if (decision.decision === 'paid') return end('completed', `Confirmed by ${decision.operator}: ${decision.note}`, false, true);
        return end('failed', `Ruled out by ${decision.operator}: ${decision.note}`, true);
      }
      if (Date.now() >= deadline && state.status !== 'unknown') {
        await setStatus('unknown', 'The wallet has not confirmed the payment as sent, nor as failed, by the deadline; still following it');
      }
      const late = state.status === 'unknown';
      if (late && Date.now() >= deadline + lookupTimings.lookupDeadlineMs) {
        show('only an operator can decide now');
        await condition(() => decision !== undefined);
      } else {
        const wait = late ? interval : Math.min(interval, Math.max(1, deadline - Date.now()));
        show(`next check in ${duration(wait)}`);
        await condition(() => decision !== undefined, wait, { summary: `Wait before check ${n + 1}` });
      }
      interval = Math.min(interval * 2, late ? lookupTimings.lookupMaxMs : timings.sendPollMaxMs);
    }
  }

  /** Runs started before TRANSFER_OUTCOMES_PATCH: exactly the commands they recorded. Remove with deprecatePatch. */
  async function legacyPayAndFollow(): Promise<TransferState> {
    await setStatus('sending');
    try {
      if (await steps.quoteExpired(transferId)) await steps.createQuote(transferId);
      const created = await sending.createOutgoingPayment(transferId);
      // Histories recorded before the change hold no result (undefined): the payment was created.
      if (created && created.outcome !== 'created') return end('failed', created.outcome === 'refused' ? created.message : created.reason, true);
    } catch (err) {
      return end('failed', refusalOf(err).message, true);
    }
    const deadline = Date.now() + timings.sendDeadlineMs;
    let interval = timings.sendPollInitialMs;
    for (;;) {
      const progress = await readOrUndefined(() => progressReads.getOutgoingPaymentProgress(transferId));
      if (progress?.failed) return end('failed', 'The outgoing payment failed at the sender’s wallet');
      if (progress?.complete) return end('completed');
      if (Date.now() >= deadline) return end('failed', 'The payment was not fully sent before the deadline');
      await sleep(Math.min(interval, deadline - Date.now()));
      interval = Math.min(interval * 2, timings.sendPollMaxMs);
    }
  }
}

function refusalOf(err: unknown): TransferRefusal {
  return openPaymentsRefusalOf(err, 'TransferRefused', 'The transfer failed');
}
