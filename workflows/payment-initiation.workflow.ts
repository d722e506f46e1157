import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment.activities';
import {
  AUTHORISED_TRANSACTION_STATUSES,
  isFinalTransactionStatus,
  type BankScaStatus,
  type BankTransactionStatus,
} from '../libs/domain/transaction-status';
import { ScaStatus as ScaStatusAttr, TransactionStatus as TransactionStatusAttr } from '../libs/temporal/search-attributes';
import { findApplicationFailure, readOrUndefined } from './shared/failures';
import { RETRY } from './shared/retry-policies';
import type { PsuDataUpdateRequest } from './shared/psu-data';
import { ScaWait } from './shared/sca-wait';
import {
  cancelPaymentUpdate,
  initiationResultUpdate,
  paymentStateQuery,
  scaCallbackSignal,
  startAuthorisationUpdate,
  updatePaymentPsuDataUpdate,
  type InitiationError,
  type PaymentWorkflowInput,
  type PaymentWorkflowState,
} from './payment-initiation.api';

/**
 * Bank calls time out after 15 s (the adapter's own HTTP timeout is 10 s), so a call lost with a
 * crashed worker is retried well within the 25 s a POST waits for the bank's answer.
 *
 * Initiation: retried for up to 5 minutes (5xx, timeouts, 429 after the bank's Retry-After).
 * Safe because every attempt carries the same idempotency key, derived from the payment id.
 */
const initiation = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: RETRY.bankStep,
});

/** Commands on an existing payment (start authorisation, cancel): the caller is waiting, so fail faster. */
const commands = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});

/** Status reads: a failed read is simply retried by the next poll, so few attempts here. */
const reads = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

/** Our own database: retried until it works, a status change must never be lost. */
const records = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/**
 * One single payment, from initiation at the bank to a final status:
 * initiate → await SCA (redirect callback or bank status, racing a timeout) → poll until final.
 */
export async function paymentInitiationWorkflow(input: PaymentWorkflowInput): Promise<PaymentWorkflowState> {
  const { paymentId, timings } = input;
  const state: PaymentWorkflowState = input.resume ?? { phase: 'initiating', transactionStatus: 'RCVD', eventSeq: 0 };
  const sca = new ScaWait();
  let cancelled = state.transactionStatus === 'CANC';
  let lastRawStatus: string | undefined;

  setHandler(paymentStateQuery, () => state);

  setHandler(initiationResultUpdate, async () => {
    await condition(() => state.initiation !== undefined || state.initiationError !== undefined);
    if (state.initiationError) throw initiationFailure(state.initiationError);
    return state.initiation!;
  });

  setHandler(scaCallbackSignal, () => sca.wakeUp());

  setHandler(
    cancelPaymentUpdate,
    async () => {
      const result = await commands.cancelPaymentAtBank(paymentId);
      if (result.transactionStatus === 'CANC') {
        cancelled = true;
        await recordTransactionStatus({ raw: 'CANC', normalised: 'CANC' }, 'Cancelled by the TPP');
      }
      return result;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca' && state.phase !== 'polling_status') {
          throw new Error(`Payment cannot be cancelled while ${state.phase.replace('_', ' ')}`);
        }
        if (isFinalTransactionStatus(state.transactionStatus)) {
          throw new Error(`Payment is already final (${state.transactionStatus})`);
        }
      },
    },
  );

  setHandler(
    startAuthorisationUpdate,
    async () => {
      const started = await commands.startAuthorisationAtBank(paymentId);
      state.authorisationId = started.authorisationId;
      sca.wakeUp(); // check the new authorisation's status promptly
      return started;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca') throw new Error('Payment is not awaiting authorisation');
      },
    },
  );

  setHandler(
    updatePaymentPsuDataUpdate,
    async (req) => {
      const result = await commands.updatePaymentPsuDataAtBank(paymentId, req);
      state.authorisationId = req.authorisationId;
      sca.wakeUp();
      return result;
    },
    {
      validator: (_req: PsuDataUpdateRequest) => {
        if (state.phase !== 'awaiting_sca') throw new Error('Payment is not awaiting authorisation');
      },
    },
  );

  async function recordTransactionStatus(status: BankTransactionStatus, reason?: string): Promise<void> {
    const seq = state.eventSeq++;
    lastRawStatus = status.raw;
    state.transactionStatus = status.normalised;
    state.statusReason = reason;
    upsertSearchAttributes([{ key: TransactionStatusAttr, value: status.normalised }]);
    await records.recordPaymentStatus({
      paymentId,
      seq,
      kind: 'transaction_status',
      status: status.normalised,
      rawStatus: status.raw,
      reason: reason ?? null,
    });
  }

  async function recordScaStatus(sca: BankScaStatus): Promise<void> {
    if (sca.normalised === state.scaStatus) return;
    const seq = state.eventSeq++;
    state.scaStatus = sca.normalised;
    upsertSearchAttributes([{ key: ScaStatusAttr, value: sca.normalised }]);
    await records.recordPaymentStatus({
      paymentId,
      seq,
      kind: 'sca_status',
      status: sca.normalised,
      rawStatus: sca.raw,
      authorisationId: state.authorisationId,
    });
  }

  async function continueAsNewIfSuggested(): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof paymentInitiationWorkflow>({ ...input, resume: state });
  }

  async function initiate(): Promise<boolean> {
    try {
      const init = await initiation.initiatePaymentAtBank(paymentId);
      state.initiation = init;
      state.authorisationId = init.authorisationId;
      const status = { raw: init.rawTransactionStatus, normalised: init.transactionStatus };
      if (init.transactionStatus !== 'RCVD') await recordTransactionStatus(status);
      else upsertSearchAttributes([{ key: TransactionStatusAttr, value: init.transactionStatus }]);
      // Already authorised (SCA exempted) or already final: there is nothing to wait for.
      if (AUTHORISED_TRANSACTION_STATUSES.has(init.transactionStatus) || isFinalTransactionStatus(init.transactionStatus)) {
        startPolling();
      } else {
        state.phase = 'awaiting_sca';
        state.scaDeadline = Date.now() + timings.scaTimeoutMs;
      }
      return true;
    } catch (err) {
      const failure = findApplicationFailure(err);
      const details = failure?.details?.[0] as Partial<InitiationError> | undefined;
      state.initiationError = {
        httpStatus: details?.httpStatus ?? 502,
        messages: details?.messages?.length
          ? details.messages
          : [{ category: 'ERROR', code: 'PAYMENT_FAILED', text: failure?.message ?? 'The bank could not be reached' }],
      };
      log.warn('Initiation failed', { paymentId, type: failure?.type });
      await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, `Initiation failed: ${failure?.message ?? 'unknown error'}`);
      return false;
    }
  }

  function awaitScaOrTimeout() {
    return sca.until({
      deadline: state.scaDeadline!,
      pollInitialMs: timings.scaPollInitialMs,
      pollMaxMs: timings.scaPollMaxMs,
      interrupted: () => cancelled,
      check: async () => {
        if (!state.authorisationId) return undefined;
        const status = await readOrUndefined(() => reads.getBankScaStatus(paymentId, state.authorisationId!));
        if (status && !cancelled) await recordScaStatus(status);
        return status?.normalised;
      },
      afterCheck: continueAsNewIfSuggested,
    });
  }

  function startPolling(): void {
    state.phase = 'polling_status';
    state.statusDeadline = Date.now() + timings.statusDeadlineMs;
  }

  async function pollUntilFinal(): Promise<void> {
    let interval = timings.statusPollInitialMs;
    let first = true;
    for (;;) {
      if (cancelled || isFinalTransactionStatus(state.transactionStatus)) return;
      if (Date.now() >= state.statusDeadline!) {
        // Flag it where operators and clients look; the last status the bank gave stays.
        log.warn('Status deadline exceeded', { paymentId, transactionStatus: state.transactionStatus });
        await recordTransactionStatus(
          { raw: lastRawStatus ?? state.transactionStatus, normalised: state.transactionStatus },
          'Status deadline exceeded: the bank has not reported a final status',
        );
        return;
      }
      if (!first) {
        // A timer that a cancellation can cut short.
        await condition(() => cancelled, Math.min(interval, state.statusDeadline! - Date.now()));
        interval = Math.min(interval * 2, timings.statusPollMaxMs);
      }
      first = false;
      if (cancelled) return;
      const status = await readOrUndefined(() => reads.getBankPaymentStatus(paymentId));
      if (cancelled) return;
      if (status && status.normalised !== state.transactionStatus) await recordTransactionStatus(status);
      await continueAsNewIfSuggested();
    }
  }

  if (state.phase === 'initiating') {
    if (!(await initiate())) return finish();
  }

  if (state.phase === 'awaiting_sca') {
    const outcome = await awaitScaOrTimeout();
    if (outcome === 'interrupted') return finish();
    if (outcome === 'timeout') {
      // The PSU never decided: withdraw the payment at the bank so it cannot be authorised later.
      const cancel = await readOrUndefined(() => commands.cancelPaymentAtBank(paymentId));
      await recordTransactionStatus(
        { raw: cancel?.transactionStatus ?? state.transactionStatus, normalised: 'RJCT' },
        `SCA timeout: no decision within ${Math.round(timings.scaTimeoutMs / 1000)}s`,
      );
      return finish();
    }
    if (outcome === 'failed') {
      const status = await readOrUndefined(() => reads.getBankPaymentStatus(paymentId));
      await recordTransactionStatus({ raw: status?.raw ?? 'RJCT', normalised: 'RJCT' }, 'SCA failed');
      return finish();
    }
    startPolling();
  }

  if (state.phase === 'polling_status') await pollUntilFinal();
  return finish();

  async function finish(): Promise<PaymentWorkflowState> {
    // Let a cancellation or authorisation update that is still running reply before we close.
    await condition(allHandlersFinished);
    state.phase = 'completed';
    return state;
  }
}

function initiationFailure(error: InitiationError): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InitiationRejected',
    message: error.messages.map((m) => m.text ?? m.code).join('; '),
    nonRetryable: true,
    details: [error],
  });
}
