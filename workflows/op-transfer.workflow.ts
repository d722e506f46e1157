import { ApplicationFailure, allHandlersFinished, condition, log, proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { OpTransferActivities } from '../activities/op-transfer.activities';
import { isFinalTransferStatus as isFinal, type TransferStatus } from '../libs/domain/open-payments';
import { TransferStatus as TransferStatusAttr } from '../libs/temporal/search-attributes';
import {
  cancelTransferUpdate,
  grantFinishSignal,
  transferAuthorisationUpdate,
  transferStateQuery,
  type GrantFinish,
  type TransferRefusal,
  type TransferState,
  type TransferWorkflowInput,
} from './op-transfer.api';
import { openPaymentsRefusalOf, readOrUndefined } from './shared/failures';
import { RETRY, retryPolicy } from './shared/retry-policies';

/** Steps with the PSU's client waiting (POST returns after the grant request). */
const steps = proxyActivities<OpTransferActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '2m',
  retry: retryPolicy({ initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' }),
});

/** Sending: the outgoing payment carries an Idempotency-Key from the transfer id, so retries are safe. */
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
        if (finish !== undefined && finish.result !== 'grant_rejected') throw new Error('The PSU has already approved the payment');
      },
    },
  );

  /** Persisted first: an update that waits for this status must not answer before `GET` shows it. */
  async function setStatus(status: TransferStatus, reason?: string): Promise<void> {
    const seq = state.eventSeq++;
    await records.recordTransferStatus({ transferId, seq, status, reason: reason ?? null });
    state.status = status;
    state.statusReason = reason;
    upsertSearchAttributes([{ key: TransferStatusAttr, value: status }]);
  }

  /** Ends the transfer; before any payment exists, the grant is revoked so it cannot be used later. */
  async function end(status: TransferStatus, reason?: string, revoke = false): Promise<TransferState> {
    if (revoke) {
      try {
        await records.revokeTransferGrant(transferId);
      } catch (err) {
        log.warn('Grant revocation failed', { transferId, error: (err as Error).message });
      }
    }
    await setStatus(status, reason);
    await condition(allHandlersFinished);
    return state;
  }

  // 1–4: everything up to the PSU's approval.
  try {
    await steps.resolveWalletAddresses(transferId);
    await steps.createIncomingPayment(transferId);
    if (cancelRequested) return end('cancelled', 'Cancelled by the client');
    await steps.createQuote(transferId);
    const grant = await steps.requestOutgoingPaymentGrant(transferId);
    await setStatus('awaiting_authorisation');
    state.interactRedirect = grant.interactRedirect;
  } catch (err) {
    state.refusal = refusalOf(err);
    return end('failed', state.refusal.message, true);
  }

  // 5: the PSU decides at their wallet, within the grant window.
  const decided = await condition(() => finish !== undefined || cancelRequested, timings.grantWindowMs);
  if (cancelRequested) return end('cancelled', 'Cancelled by the client', true);
  if (!decided) return end('expired', `The PSU did not approve within ${Math.round(timings.grantWindowMs / 1000)}s`, true);
  if (finish!.result === 'grant_rejected' || !finish!.interactRef) return end('rejected', 'The PSU denied the payment', true);
  try {
    await steps.continueGrant(transferId, finish!.interactRef, finish!.hash ?? '');
  } catch (err) {
    return end('failed', refusalOf(err).message, true);
  }

  // 6: pay. The quote may have expired while the PSU was deciding: re-quote within the grant.
  await setStatus('sending');
  try {
    if (await steps.quoteExpired(transferId)) await steps.createQuote(transferId);
    await sending.createOutgoingPayment(transferId);
  } catch (err) {
    // No payment was made under the grant: withdraw it so it cannot be used later.
    return end('failed', refusalOf(err).message, true);
  }

  // 7: until fully sent or failed.
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


function refusalOf(err: unknown): TransferRefusal {
  return openPaymentsRefusalOf(err, 'TransferRefused', 'The transfer failed');
}
