import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BulkPaymentActivities } from '../activities/bulk-payment.activities';
import {
  AUTHORISED_TRANSACTION_STATUSES,
  isFinalTransactionStatus,
  type BankScaStatus,
  type BankTransactionStatus,
  type TransactionStatus,
} from '../libs/domain/transaction-status';
import {
  BatchId as BatchIdAttr,
  BicFi as BicFiAttr,
  ScaStatus as ScaStatusAttr,
  TenantId as TenantIdAttr,
  TransactionStatus as TransactionStatusAttr,
} from '../libs/temporal/search-attributes';
import {
  bulkInitiationResultUpdate,
  bulkPaymentStateQuery,
  bulkScaCallbackSignal,
  cancelBulkPaymentUpdate,
  DEFAULT_BULK_TIMINGS,
  resolveBulkInitiationUpdate,
  startBulkAuthorisationUpdate,
  startCancellationAuthorisationUpdate,
  type BulkPaymentTimings,
  type BulkPaymentWorkflowInput,
  type BulkPaymentWorkflowState,
  type BulkTransactionCounts,
  type InitiationError,
} from './bulk-payment.api';
import type { InitiationSummary } from './payment-initiation.api';
import { createWithoutDuplicates, type CreationOutcome } from './shared/create-once';
import { handleOperatorDecisions, type AcceptedDecision } from './shared/operator-decision';
import { findApplicationFailure, readOrUndefined } from './shared/failures';
import { FailureType, RETRY } from './shared/retry-policies';
import { ScaWait } from './shared/sca-wait';

/** Failures that prove the bank did not create the bulk: refused, or never processed. */
const NOT_CREATED_FAILURES: ReadonlySet<string> = new Set([
  FailureType.BankRejected,
  FailureType.BankUnavailable,
  FailureType.BankRateLimited,
  FailureType.PaymentNotFound,
]);

/**
 * DELETE answered 202 (an authorised bulk waiting for its execution date): the workflow keeps the
 * cancellation, starts its authorisation on request and follows its SCA at the bank while polling.
 */
const PATCH_CANCELLATION_AUTHORISATION = 'bulk-cancellation-authorisation';

/** Statuses that say "some transactions were accepted, some not" (BG PATC as the issue names it; ISO PART). */
const PARTIAL_STATUSES: ReadonlySet<TransactionStatus> = new Set(['PATC', 'PART']);

/**
 * Initiation sends the whole bulk (10,000 transactions are a few MB): 60 s per attempt, retried
 * for up to 5 minutes, and only what provably never reached the bank (see
 * `activities/initiation-guard.ts`); an attempt that may have reached it is never sent again here.
 */
const initiation = proxyActivities<BulkPaymentActivities>({
  startToCloseTimeout: '60s',
  scheduleToCloseTimeout: '5m',
  retry: RETRY.bankStep,
});

/** Commands the caller waits for (start authorisation, cancel). */
const commands = proxyActivities<BulkPaymentActivities>({ startToCloseTimeout: '15s', retry: RETRY.bankCommand });

/** Status reads (a pain.002 of a large bulk takes a while); a failed read is retried by the next poll. */
const reads = proxyActivities<BulkPaymentActivities>({ startToCloseTimeout: '60s', retry: RETRY.bankRead });

/** Our own database: retried until it works. */
const records = proxyActivities<BulkPaymentActivities>({ startToCloseTimeout: '60s', retry: RETRY.ownDatabase });

/**
 * One bulk payment (one debtor account, one SCA, many transactions), from initiation at the bank
 * to a final status of every transaction: initiate (→ outcome unknown, resolved by an operator:
 * never sent twice) → await the one SCA (racing a timeout) → poll until final, per transaction
 * where the bank reports it. Transactions never pass through history: activities read and write
 * them in PostgreSQL by the bulk's id; the workflow carries statuses and counts.
 */
export async function bulkPaymentWorkflow(input: BulkPaymentWorkflowInput): Promise<BulkPaymentWorkflowState> {
  const { paymentId } = input;
  const state: BulkPaymentWorkflowState = input.resume ?? {
    phase: 'initiating',
    transactionStatus: 'RCVD',
    counts: {},
    allTransactionsFinal: false,
    eventSeq: 0,
  };
  const sca = new ScaWait();
  let cancelled = state.transactionStatus === 'CANC';
  /** A callback or a cancellation command arrived: the status poll looks again now. */
  let woken = false;
  let timings: BulkPaymentTimings | undefined;
  let decision: AcceptedDecision | undefined;
  /** The bank's answer to the initiation, for the `initiationResult` update (declared before any handler reads it). */
  let initiated: InitiationSummary | undefined;

  setHandler(bulkPaymentStateQuery, () => state);

  setHandler(bulkInitiationResultUpdate, async () => {
    await condition(() => state.initiationError !== undefined || state.initiationOutcome !== undefined || initiated !== undefined);
    if (state.initiationError) throw initiationFailure(state.initiationError);
    if (initiated) return initiated;
    return { outcome: 'unknown' as const, reason: state.unknownReason ?? 'the bank did not answer clearly' };
  });

  setHandler(bulkScaCallbackSignal, () => {
    // The PSU is back from the cancellation's SCA page: look now (only with a followed cancellation,
    // which old histories never have).
    if (cancellationPending()) woken = true;
    sca.wakeUp();
  });

  setHandler(
    cancelBulkPaymentUpdate,
    async () => {
      const result = await commands.cancelBulkPaymentAtBank(paymentId);
      if (result.transactionStatus === 'CANC' && !result.authorisationRequired) {
        cancelled = true;
        await recordTransactionStatus({ raw: 'CANC', normalised: 'CANC' }, 'Cancelled by the TPP', { applyToOpenTransactions: true });
      } else if (result.authorisationRequired) {
        state.cancellation ??= {};
      }
      return result;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca' && state.phase !== 'polling_status') {
          throw new Error(`Bulk payment cannot be cancelled while ${state.phase.replace('_', ' ')}`);
        }
        if (isFinalTransactionStatus(state.transactionStatus)) throw new Error(`Bulk payment is already final (${state.transactionStatus})`);
      },
    },
  );

  setHandler(
    startBulkAuthorisationUpdate,
    async () => {
      const started = await commands.startBulkAuthorisationAtBank(paymentId);
      state.authorisationId = started.authorisationId;
      sca.wakeUp();
      return started;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca') throw new Error('Bulk payment is not awaiting authorisation');
      },
    },
  );

  setHandler(
    startCancellationAuthorisationUpdate,
    async () => {
      const started = await commands.startBulkCancellationAuthorisationAtBank(paymentId);
      state.cancellation = { cancellationId: started.authorisationId, scaStatus: started.scaStatus, scaApproach: started.scaApproach };
      woken = true;
      return started;
    },
    {
      validator: () => {
        if (!state.cancellation) throw new Error('No cancellation awaits authorisation: send DELETE first');
        if (isFinalTransactionStatus(state.transactionStatus)) throw new Error(`Bulk payment is already final (${state.transactionStatus})`);
      },
    },
  );

  handleOperatorDecisions(resolveBulkInitiationUpdate, {
    outcomeUnknown: () => state.phase === 'outcome_unknown',
    initiationOutcome: () => state.initiationOutcome,
    confirmAtBank: (bankPaymentId) => commands.confirmBankBulkPayment(paymentId, bankPaymentId),
    record: (updateId, d) => records.recordBulkOperatorDecision(paymentId, updateId, d),
    accept: (d) => {
      decision = d;
    },
    resolved: () => state.initiationOutcome === 'resolved',
    transactionStatus: () => state.transactionStatus,
  });

  async function recordTransactionStatus(
    status: BankTransactionStatus,
    reason?: string,
    opts: { applyToOpenTransactions?: boolean; reasonCode?: string } = {},
  ): Promise<void> {
    const seq = state.eventSeq++;
    state.transactionStatus = status.normalised;
    state.statusReason = reason;
    upsertSearchAttributes([{ key: TransactionStatusAttr, value: status.normalised }]);
    const result = await records.recordBulkPaymentStatus({
      bulkPaymentId: paymentId,
      seq,
      kind: 'transaction_status',
      status: status.normalised,
      rawStatus: status.raw,
      reason: reason ?? null,
      ...opts,
    });
    setCounts(result.counts, result.allTransactionsFinal);
  }

  async function recordScaStatus(s: BankScaStatus): Promise<void> {
    if (s.normalised === state.scaStatus) return;
    const seq = state.eventSeq++;
    state.scaStatus = s.normalised;
    upsertSearchAttributes([{ key: ScaStatusAttr, value: s.normalised }]);
    await records.recordBulkPaymentStatus({
      bulkPaymentId: paymentId,
      seq,
      kind: 'sca_status',
      status: s.normalised,
      rawStatus: s.raw,
      authorisationId: state.authorisationId,
    });
  }

  async function recordInitiationOutcome(outcome: 'unknown' | 'resolved', reason: string): Promise<void> {
    const seq = state.eventSeq++;
    await records.recordBulkPaymentStatus({ bulkPaymentId: paymentId, seq, kind: 'initiation_outcome', status: outcome, rawStatus: null, reason });
    state.initiationOutcome = outcome;
  }

  function setCounts(counts: BulkTransactionCounts, allFinal: boolean): void {
    state.counts = counts;
    state.allTransactionsFinal = allFinal;
    showProgress();
  }

  /** What an operator sees in the Temporal UI (current details): statuses and counts, never PII. */
  function showProgress(): void {
    const rows = Object.entries(state.counts).map(([status, count]) => `| ${status} | ${count} |`);
    setCurrentDetails(
      [
        `**Bulk payment** · ${state.numberOfTransactions ?? '?'} transactions · ${state.transactionStatus}${state.scaStatus ? ` · SCA ${state.scaStatus}` : ''}`,
        '',
        ...(rows.length ? ['| Transaction status | Count |', '| --- | --- |', ...rows] : ['No transaction status from the bank yet.']),
      ].join('\n'),
    );
  }

  async function continueAsNewIfSuggested(): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof bulkPaymentWorkflow>({ ...input, resume: state });
  }

  /** The bulk is done when the bank says so, or reports a partial acceptance with every transaction final. */
  function isDone(): boolean {
    if (isFinalTransactionStatus(state.transactionStatus)) return true;
    return PARTIAL_STATUSES.has(state.transactionStatus) && state.allTransactionsFinal;
  }

  async function initiate(): Promise<void> {
    let outcome: CreationOutcome<InitiationSummary>;
    try {
      outcome = await createWithoutDuplicates('Bulk initiation', (opts) => initiation.initiateBulkPaymentAtBank(paymentId, opts));
    } catch (err) {
      const failed = findApplicationFailure(err);
      if (!NOT_CREATED_FAILURES.has(failed?.type ?? '')) return markOutcomeUnknown(failed?.message ?? 'the initiation did not complete');
      return rejectInitiation(err);
    }
    if (outcome.kind === 'ambiguous') return markOutcomeUnknown(outcome.reason);
    await accept(outcome.result);
  }

  async function accept(init: InitiationSummary): Promise<void> {
    state.authorisationId = init.authorisationId;
    state.scaApproach = init.scaApproach;
    const status = { raw: init.rawTransactionStatus, normalised: init.transactionStatus };
    if (init.transactionStatus !== 'RCVD') await recordTransactionStatus(status, undefined, { applyToOpenTransactions: true });
    else upsertSearchAttributes([{ key: TransactionStatusAttr, value: 'RCVD' }]);
    if (AUTHORISED_TRANSACTION_STATUSES.has(init.transactionStatus) || isFinalTransactionStatus(init.transactionStatus)) startPolling();
    else {
      state.phase = 'awaiting_sca';
      state.scaDeadline = Date.now() + timings!.scaTimeoutMs;
    }
    initiated = init;
  }

  async function rejectInitiation(err: unknown): Promise<void> {
    const failed = findApplicationFailure(err);
    const details = failed?.details?.[0] as Partial<InitiationError> | undefined;
    state.initiationError = {
      httpStatus: details?.httpStatus ?? 502,
      messages: details?.messages?.length
        ? details.messages
        : [{ category: 'ERROR', code: 'PAYMENT_FAILED', text: failed?.message ?? 'The bank could not be reached' }],
    };
    log.warn('Bulk initiation failed', { paymentId, type: failed?.type });
    await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, `Initiation failed: ${failed?.message ?? 'unknown error'}`, {
      applyToOpenTransactions: true,
    });
  }

  async function markOutcomeUnknown(reason: string): Promise<void> {
    state.phase = 'outcome_unknown';
    state.unknownReason = reason;
    await recordInitiationOutcome('unknown', `Initiation outcome unknown: ${reason}`);
  }

  /** Berlin Group offers no lookup by X-Request-ID: only an operator, who asked the bank, can tell. */
  async function resolveUnknownOutcome(): Promise<void> {
    await condition(() => decision !== undefined);
    if (decision!.decision === 'initiated') {
      await records.adoptBankBulkPayment(paymentId, decision!.bankPaymentId, decision!.status!);
      await recordInitiationOutcome('resolved', `Initiation outcome resolved: confirmed by ${decision!.operator}`);
      const status = decision!.status!;
      if (status.normalised !== state.transactionStatus) await recordTransactionStatus(status, undefined, { applyToOpenTransactions: true });
      if (AUTHORISED_TRANSACTION_STATUSES.has(status.normalised) || isFinalTransactionStatus(status.normalised)) startPolling();
      else {
        state.phase = 'awaiting_sca';
        state.scaDeadline = Date.now() + timings!.scaTimeoutMs;
      }
      return;
    }
    const reason = `Not initiated at the bank, decided by ${decision!.operator}: ${decision!.reason}`;
    await recordInitiationOutcome('resolved', reason);
    await recordTransactionStatus({ raw: 'NOT_INITIATED', normalised: 'RJCT' }, reason, { applyToOpenTransactions: true });
    state.phase = 'completed';
  }

  function awaitScaOrTimeout() {
    return sca.until({
      deadline: state.scaDeadline!,
      pollInitialMs: timings!.scaPollInitialMs,
      pollMaxMs: timings!.scaPollMaxMs,
      interrupted: () => cancelled,
      check: async () => {
        // A bulk adopted after an unknown outcome has no authorisation Clearway knows of: its status tells.
        if (!state.authorisationId) return scaFromBulkStatus();
        const status = await readOrUndefined(() => reads.getBankBulkScaStatus(paymentId, state.authorisationId!));
        if (status && !cancelled) await recordScaStatus(status);
        return status?.normalised;
      },
      afterCheck: continueAsNewIfSuggested,
    });
  }

  async function scaFromBulkStatus(): Promise<'finalised' | 'failed' | undefined> {
    const read = await readOrUndefined(() => reads.pollBulkPaymentStatusAtBank(paymentId));
    if (!read || cancelled) return undefined;
    setCounts(read.counts, read.allTransactionsFinal);
    if (read.transactionStatus !== state.transactionStatus) {
      await recordTransactionStatus({ raw: read.rawTransactionStatus, normalised: read.transactionStatus }, undefined, {
        applyToOpenTransactions: !read.perTransaction || isFinalTransactionStatus(read.transactionStatus),
      });
    }
    if (AUTHORISED_TRANSACTION_STATUSES.has(read.transactionStatus) || PARTIAL_STATUSES.has(read.transactionStatus)) return 'finalised';
    if (isFinalTransactionStatus(read.transactionStatus)) return 'failed';
    return undefined;
  }

  function startPolling(): void {
    state.phase = 'polling_status';
    state.statusDeadline = Date.now() + timings!.statusDeadlineMs;
  }

  async function pollUntilFinal(): Promise<void> {
    let interval = timings!.statusPollInitialMs;
    let first = true;
    for (;;) {
      if (cancelled || isDone()) return;
      if (Date.now() >= state.statusDeadline!) {
        log.warn('Status deadline exceeded', { paymentId, transactionStatus: state.transactionStatus });
        await recordTransactionStatus(
          { raw: state.transactionStatus, normalised: state.transactionStatus },
          'Status deadline exceeded: the bank has not reported a final status',
        );
        return;
      }
      if (!first) {
        // A cancellation the PSU is authorising is looked at as often as an SCA.
        const wait = cancellationPending() ? Math.min(interval, timings!.scaPollMaxMs) : interval;
        woken = false;
        await condition(() => cancelled || woken, Math.min(wait, state.statusDeadline! - Date.now()));
        interval = Math.min(interval * 2, timings!.statusPollMaxMs);
      }
      first = false;
      if (cancelled) return;
      if (cancellationPending() && patched(PATCH_CANCELLATION_AUTHORISATION)) {
        const s = await readOrUndefined(() => reads.getBulkCancellationScaStatusAtBank(paymentId, state.cancellation!.cancellationId!));
        if (s) state.cancellation!.scaStatus = s.normalised;
      }
      const read = await readOrUndefined(() => reads.pollBulkPaymentStatusAtBank(paymentId));
      if (cancelled || !read) continue;
      setCounts(read.counts, read.allTransactionsFinal);
      const changed = read.transactionStatus !== state.transactionStatus;
      // Without per-transaction statuses from the bank, the bulk's status is every open transaction's.
      if (changed) {
        const reason = read.transactionStatus === 'CANC' && state.cancellation ? 'Cancelled by the TPP, authorised by the PSU' : undefined;
        await recordTransactionStatus({ raw: read.rawTransactionStatus, normalised: read.transactionStatus }, reason, {
          applyToOpenTransactions: !read.perTransaction || isFinalTransactionStatus(read.transactionStatus),
        });
      }
      await continueAsNewIfSuggested();
    }
  }

  function cancellationPending(): boolean {
    const c = state.cancellation;
    return c?.cancellationId !== undefined && c.scaStatus !== 'finalised' && c.scaStatus !== 'failed' && c.scaStatus !== 'exempted';
  }

  /** The PSU never decided: withdraw the bulk so it cannot be authorised later; RJCT once the bank confirmed. */
  async function withdrawAfterScaTimeout(): Promise<boolean> {
    const timeout = `SCA timeout: no decision within ${Math.round(timings!.scaTimeoutMs / 1000)}s`;
    const cancel = await readOrUndefined(() => commands.cancelBulkPaymentAtBank(paymentId));
    if (cancel?.transactionStatus === 'CANC' && !cancel.authorisationRequired) {
      await recordTransactionStatus({ raw: 'CANC', normalised: 'RJCT' }, timeout, { applyToOpenTransactions: true });
      return true;
    }
    const read = await readOrUndefined(() => reads.pollBulkPaymentStatusAtBank(paymentId));
    if (read && isFinalTransactionStatus(read.transactionStatus)) {
      await recordTransactionStatus({ raw: read.rawTransactionStatus, normalised: read.transactionStatus }, `${timeout}; the bank reports ${read.transactionStatus}`, {
        applyToOpenTransactions: true,
      });
      return true;
    }
    await recordTransactionStatus(
      { raw: read?.rawTransactionStatus ?? state.transactionStatus, normalised: read?.transactionStatus ?? state.transactionStatus },
      `${timeout}; the bank did not confirm the cancellation, following the bulk until it reports a final status`,
    );
    startPolling();
    return false;
  }

  async function finish(): Promise<BulkPaymentWorkflowState> {
    await condition(allHandlersFinished);
    state.phase = 'completed';
    return state;
  }

  // ── the process ─────────────────────────────────────────────────────────
  const settings = await records.loadBulkPaymentSettings(paymentId);
  timings = { scaTimeoutMs: settings.scaTimeoutMs, ...DEFAULT_BULK_TIMINGS, ...input.timings };
  state.numberOfTransactions = settings.numberOfTransactions;
  showProgress();
  if (!input.resume) {
    upsertSearchAttributes([
      { key: TenantIdAttr, value: input.tenantId },
      { key: BicFiAttr, value: settings.bicFi },
      ...(input.batchId ? [{ key: BatchIdAttr, value: input.batchId }] : []),
    ]);
  }

  const phase = () => state.phase;
  if (phase() === 'initiating') await initiate();
  if (phase() === 'outcome_unknown') await resolveUnknownOutcome();
  if (phase() === 'initiating' || phase() === 'completed') return finish();

  if (phase() === 'awaiting_sca') {
    const outcome = await awaitScaOrTimeout();
    if (outcome === 'interrupted') return finish();
    if (outcome === 'timeout') {
      if (await withdrawAfterScaTimeout()) return finish();
    } else if (outcome === 'failed') {
      if (!isFinalTransactionStatus(state.transactionStatus)) {
        await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, 'SCA failed', { applyToOpenTransactions: true });
      }
      return finish();
    } else {
      startPolling();
    }
  }

  if (phase() === 'polling_status') await pollUntilFinal();
  return finish();
}

function initiationFailure(error: InitiationError): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InitiationRejected',
    message: error.messages.map((m) => m.text ?? m.code).join('; '),
    nonRetryable: true,
    details: [error],
  });
}
