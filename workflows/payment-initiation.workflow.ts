import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment.activities';
import type { PeriodicPaymentActivities } from '../activities/periodic-payment.activities';
import { startCancellationAuthorisationUpdate } from './shared/cancellation-authorisation';
import {
  AUTHORISED_TRANSACTION_STATUSES,
  isFinalTransactionStatus,
  type BankScaStatus,
  type BankTransactionStatus,
  type ScaStatus,
  type TransactionStatus,
} from '../libs/domain/transaction-status';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { InitiationOutcome as InitiationOutcomeAttr, ScaStatus as ScaStatusAttr, TransactionStatus as TransactionStatusAttr } from '../libs/temporal/search-attributes';
import { handleOperatorDecisions, type AcceptedDecision } from './shared/operator-decision';
import { findApplicationFailure, readOrUndefined } from './shared/failures';
import { FailureType, NON_RETRYABLE_FAILURES, RETRY } from './shared/retry-policies';
import type { PsuDataUpdateRequest } from './shared/psu-data';
import { createWithoutDuplicates, type CreationOutcome } from './shared/create-once';
import { ScaWait } from './shared/sca-wait';
import { activitySummary, phrases } from './shared/ui-metadata';
import { STATUS_VIEW_DESCRIPTION, statusViewQuery } from './shared/status-view';
import type { OAuthAuthorisationActivities } from '../activities/oauth-authorisation.activities';
import { completeOAuthAuthorisationSignal, PATCH_OAUTH_AUTHORISATION } from './shared/oauth-authorisation';
import { patchGate, type PatchGate } from './shared/patch-gate';
import {
  PAYMENT_PATCH_GATE,
  cancelPaymentUpdate,
  initiationResultUpdate,
  paymentStateQuery,
  resolveInitiationUpdate,
  scaCallbackSignal,
  startAuthorisationUpdate,
  updatePaymentPsuDataUpdate,
  type InitiationAttemptResult,
  type InitiationError,
  type InitiationSummary,
  type PaymentWorkflowInput,
  type PaymentWorkflowState,
} from './payment-initiation.api';

/**
 * Versioning (see README "Versioning long-lived workflows"): runs that recorded the old commands
 * replay the old branch.
 * - An initiation that failed without a clear answer from the bank (the activity timed out) is an
 *   unknown outcome, no longer RJCT.
 * - At the SCA timeout, a cancellation the bank did not confirm is not RJCT: the bank's status is read.
 */
const PATCH_UNKNOWN_OUTCOME = 'initiation-unknown-outcome';
const PATCH_SCA_TIMEOUT_CANCEL = 'sca-timeout-cancel-outcome';
/**
 * A started cancellation authorisation is kept in state and its SCA status polled with the
 * payment's status (at the SCA pace) until final; the callback or the start wakes the poll.
 */
const PATCH_CANCELLATION_SCA_STATUS = 'payment-cancellation-sca-status';
/** The initiation outcome (`unknown`, then `resolved`) as a search attribute, so operators can list unknown outcomes. */
const PATCH_OUTCOME_SEARCH_ATTRIBUTE = 'initiation-outcome-search-attribute';
/**
 * Status records run as local activities: one database write each, inside the workflow task that
 * decided it, instead of an activity task and a workflow task of their own (issue 12: three
 * activity tasks, three workflow tasks and 13 events fewer per payment; the Temporal server's CPU
 * per payment fell 12–15 %, docs/benchmarks.md). Runs recorded before keep their activity tasks.
 */
const PATCH_LOCAL_STATUS_RECORDS = 'local-status-records';
/**
 * The initiation and the bank reads of the SCA wait and the status polls run as local activities:
 * each in the workflow task that decided it, instead of an activity task and a second workflow
 * task (issue 12; docs/benchmarks.md, seventh pass). The POST answers after one workflow task.
 * Safe for money because the initiation is guarded in the database, not by Temporal: a local
 * activity run again after its workflow task was lost finds the bank's answer recorded (and hands
 * it back), its attempt unresolved (`ambiguous`, never a second send) or its refusal (the same
 * refusal; activities/initiation-guard.ts). A status read run again hands back the change the lost
 * run recorded under its sequence number (`readPaymentStatus`). Runs recorded before keep their activity tasks.
 */
const PATCH_LOCAL_BANK_CALLS = 'payment-local-bank-calls';
/**
 * The SCA wait's and the status poll's reads record what they found in the same local activity
 * (`readAndRecordPaymentStatus`, `readAndRecordScaStatus`): a change costs one local activity, not
 * a read and then a record (issue 12: a decoupled payment's seven local activities become four;
 * docs/benchmarks.md, eighth pass). The workflow applies the change the read recorded. Such a read
 * holds the next sequence number while it runs, so a cancellation's record waits for it, and none
 * starts once the payment is cancelled.
 */
const PATCH_READ_RECORDS = 'payment-read-records';
/**
 * The payment turned CANC while its cancellation's SCA was last seen unfinished: the PSU authorised
 * the cancellation between the poll's two reads (the cancellation's SCA, then the payment's status).
 * One more read of the cancellation's SCA, so the API does not show it `started` forever.
 */
const PATCH_CANCELLATION_SCA_AT_CANC = 'cancellation-sca-after-canc';
/**
 * The bank answered the initiation RCVD and the run was started with `TransactionStatus = RCVD` (as
 * the API and a batch start it): no upsert to say so again (one event fewer per payment).
 */
const PATCH_RCVD_FROM_START = 'payment-rcvd-from-start';
/**
 * A finalised SCA found by the SCA wait's read is upserted (`ScaStatus`) together with the
 * transaction status the status poll's first read finds, one upsert for both instead of two in
 * the same workflow task (or alone, before the poll waits or the run ends); docs/benchmarks.md,
 * sixteenth pass.
 */
const PATCH_STATUS_ATTRIBUTES_TOGETHER = 'payment-status-attributes-together';
/**
 * The status poll holds the search attributes of what it finds (a non-final transaction status, the
 * finalised SCA before it) while that keeps them at most {@link SEARCH_ATTRIBUTES_MAX_LAG_MS} behind:
 * they go in one upsert with the next change (the final status, as a rule), or alone before a wait
 * that would take them past the bound, a continue-as-new or the run's end. A decoupled payment: one
 * upsert for `ScaStatus`, then `TransactionStatus` ACSC, instead of one for finalised + ACSP and one
 * for ACSC; docs/benchmarks.md, seventeenth pass.
 */
const PATCH_STATUS_ATTRIBUTES_LAG = 'payment-status-attributes-lag';
/**
 * How far the status search attributes may trail the workflow's state in Temporal's visibility
 * (since {@link PATCH_STATUS_ATTRIBUTES_LAG}). Operators filter on them (`TransactionStatus = "RJCT"`);
 * the workflow's current details, its queries and the API (PostgreSQL) are never behind. Changing
 * it changes the commands of running workflows: only behind a new patch.
 */
const SEARCH_ATTRIBUTES_MAX_LAG_MS = 5_000;
/**
 * Runs started since a gate record one patch marker for the patches it covers instead of one per
 * patch reached (two events and a visibility write each; a decoupled payment reached two: with
 * `payment-rcvd-from-start`, 29 → 26 events; docs/benchmarks.md, ninth pass). Runs recorded before
 * the first gate ask each patch as they always did; newest gate first (`workflows/shared/patch-gate.ts`).
 * Since the eighteenth pass every starter names the newest gate in the input (`patchGate`,
 * {@link PAYMENT_PATCH_GATE}): a new run records no marker and no `TemporalChangeVersion` upsert
 * (a decoupled payment: 24 → 22 events, one upsert).
 */
const PATCH_GATE_2026_12_02 = {
  id: 'payment-patches-2026-12-02',
  covers: [
    PATCH_UNKNOWN_OUTCOME,
    PATCH_SCA_TIMEOUT_CANCEL,
    PATCH_CANCELLATION_SCA_STATUS,
    PATCH_OUTCOME_SEARCH_ATTRIBUTE,
    PATCH_LOCAL_STATUS_RECORDS,
    PATCH_LOCAL_BANK_CALLS,
    PATCH_READ_RECORDS,
    PATCH_CANCELLATION_SCA_AT_CANC,
    PATCH_OAUTH_AUTHORISATION,
    PATCH_RCVD_FROM_START,
  ],
} as const;
const PATCH_GATE_2026_12_04 = {
  id: 'payment-patches-2026-12-04',
  covers: [...PATCH_GATE_2026_12_02.covers, PATCH_STATUS_ATTRIBUTES_TOGETHER],
} as const;
/** Newest first; a second gate cut on one day takes a letter. */
const PATCH_GATES: readonly PatchGate[] = [
  { id: PAYMENT_PATCH_GATE, covers: [...PATCH_GATE_2026_12_04.covers, PATCH_STATUS_ATTRIBUTES_LAG] },
  PATCH_GATE_2026_12_04,
  PATCH_GATE_2026_12_02,
];
const CANCELLED_BY_PSU: Partial<Record<TransactionStatus, string>> = { CANC: 'Cancelled by the TPP, authorised by the PSU' };
/**
 * A local activity's retry waits on a durable timer, never in the worker: a backoff of 1 s or a
 * bank's Retry-After must not hold the workflow task, and is visible in the history as a timer.
 */
const LOCAL_RETRY_AS_TIMER = '1ms';

/** Failures that prove the bank did not create the payment: refused, or never processed (connection refused, 429). */
const NOT_CREATED_FAILURES: ReadonlySet<string> = new Set([
  FailureType.BankRejected,
  FailureType.BankUnavailable,
  FailureType.BankRateLimited,
  FailureType.PaymentNotFound,
]);

/** Lookups after an unknown outcome, where the bank offers one: soon at first, then rarely. */
const LOOKUP_INITIAL_MS = 30_000;
const LOOKUP_MAX_MS = 3_600_000;

/** How long an initiation is retried before it is given up (RJCT) when the bank was never reached. */
const INITIATION_DEADLINE_MS = 5 * 60_000;

/**
 * Bank calls time out after 15 s (the adapter's own HTTP timeout is 10 s), so a call lost with a
 * crashed worker is retried well within the 25 s a POST waits for the bank's answer.
 *
 * Initiation: retried for up to 5 minutes, but only what provably did not reach the bank
 * (connection refused, DNS, 429 after its Retry-After): the activity writes every attempt down
 * before sending, and an attempt that may have reached the bank (timeout, 5xx, lost answer, a
 * worker that died mid-call) makes every retry answer "ambiguous" without sending
 * (`activities/initiation-guard.ts`). What then happens is decided below, in `initiate()`.
 */
const initiation = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: INITIATION_DEADLINE_MS,
  retry: RETRY.bankStep,
});

/**
 * The initiation's first attempt as a local activity ({@link PATCH_LOCAL_BANK_CALLS}); its retries
 * are `initiation`'s (see `initiateAtBank` in the workflow).
 */
const localInitiation = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.firstAttemptOnly,
});

/** Commands on an existing payment (start authorisation, cancel): the caller is waiting, so fail faster. */
const commands = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});

/** Starting a cancellation authorisation (shared with every payment service). */
const cancellationCommands = proxyActivities<Pick<PeriodicPaymentActivities, 'startCancellationAuthorisationAtBank'>>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});

/** The cancellation authorisation's SCA status at the bank (shared with every payment service). */
const cancellationReads = proxyActivities<Pick<PeriodicPaymentActivities, 'getCancellationScaStatusAtBank'>>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

/** Status reads: a failed read is simply retried by the next poll, so few attempts here. */
const reads = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

/** Status reads as local activities ({@link PATCH_LOCAL_BANK_CALLS}): the same timeouts and retries, each retry after a timer. */
const localReads = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
  localRetryThreshold: LOCAL_RETRY_AS_TIMER,
});

/** Our own database: retried until it works, a status change must never be lost. */
const records = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/**
 * Status records as local activities (behind {@link PATCH_LOCAL_STATUS_RECORDS}): the same
 * idempotent write (by payment and sequence number), retried until it works like `records`.
 */
const localRecords = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/** Redeeming an OAuth/OIDC authorisation code: the PSU is waiting on the redirect, so fail fast like commands. */
const oauth = proxyActivities<OAuthAuthorisationActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});

/**
 * One single payment, from initiation at the bank to a final status:
 * initiate (→ if the bank's answer is missing: outcome unknown → resolved by the bank's lookup or
 * an operator) → await SCA (redirect callback or bank status, racing a timeout) → poll until final.
 */
export async function paymentInitiationWorkflow(input: PaymentWorkflowInput): Promise<PaymentWorkflowState> {
  // First, before any command: see PATCH_GATES. Its starter names the gate (no marker) since the eighteenth pass.
  const isPatched = patchGate(PATCH_GATES, input.patchGate);
  const { paymentId, timings, bicFi } = input;
  const state: PaymentWorkflowState = input.resume ?? { phase: 'initiating', transactionStatus: 'RCVD', eventSeq: 0 };
  /** The Temporal UI's current details: the live phase in words (never PII). */
  let details = '';
  const show = (text: string) => {
    details = text;
    setCurrentDetails(text);
  };
  /** Activity and timer summaries for the UI. */
  const label = (what: string, attempt?: number) => ({ summary: activitySummary(what, { attempt }) });
  const atBank = (what: string) => ({ summary: activitySummary(what, { at: bicFi }) });
  const sca = new ScaWait();
  let cancelled = state.transactionStatus === 'CANC';
  let lastRawStatus: string | undefined;
  /** An operator's decision on an unknown outcome, checked and audited, waiting to be applied. */
  let decision: AcceptedDecision | undefined;
  /** When the authorisation under way was started by the TPP (startAuthorisation), for the time-to-SCA metric. */
  let authorisationStartedAt: number | undefined;
  /** A read that records what it finds is running ({@link PATCH_READ_RECORDS}): it holds the next sequence number. */
  let readRecording = false;

  setHandler(paymentStateQuery, () => state);
  setHandler(statusViewQuery, () => ({
    resource: 'payment',
    id: paymentId,
    phase: state.phase,
    details,
    api: {
      transactionStatus: state.transactionStatus,
      scaStatus: state.scaStatus,
      statusReason: state.statusReason,
      initiationOutcome: state.initiationOutcome,
    },
    href: `/psd2/paymentinitiation/v1/payments/${input.paymentProduct}/${paymentId}`,
  }), { description: STATUS_VIEW_DESCRIPTION });
  show(input.resume ? describePhase() : phrases.initiating(bicFi));

  setHandler(initiationResultUpdate, async () => {
    await condition(() => state.initiation !== undefined || state.initiationError !== undefined || state.initiationOutcome !== undefined);
    if (state.initiationError) throw initiationFailure(state.initiationError);
    if (state.initiation) return state.initiation;
    // Unknown (or resolved since): the API reads the payment's current state from PostgreSQL.
    return { outcome: 'unknown' as const, reason: state.unknownReason ?? 'the bank did not answer clearly' };
  });

  handleOperatorDecisions(resolveInitiationUpdate, {
    outcomeUnknown: () => state.phase === 'outcome_unknown',
    initiationOutcome: () => state.initiationOutcome,
    // `initiated`: the bank must know the payment the operator names.
    confirmAtBank: (bankPaymentId) => commands.confirmBankPayment.executeWithOptions(atBank('Confirm the operator\'s bank payment id'), [paymentId, bankPaymentId]),
    record: (updateId, d) => records.recordOperatorDecision.executeWithOptions(label('Record the operator\'s decision'), [paymentId, updateId, d]),
    accept: (d) => {
      decision = d;
    },
    resolved: () => state.initiationOutcome === 'resolved',
    transactionStatus: () => state.transactionStatus,
  });

  setHandler(scaCallbackSignal, () => {
    // The PSU is back from the cancellation's SCA page: look now (only with a followed cancellation).
    if (cancellationPending()) woken = true;
    sca.wakeUp();
  });

  /** OAuth/OIDC SCA: hand-off ids of the PSU's answers (code or error), redeemed by the SCA wait. */
  const oauthReturns = () => (state.oauthReturns ??= []);
  setHandler(completeOAuthAuthorisationSignal, ({ handoffId }) => {
    if (state.phase !== 'awaiting_sca' || typeof handoffId !== 'string') return;
    oauthReturns().push(handoffId);
    sca.wakeUp();
  });

  // The bank answered DELETE with 202: the PSU authorises the cancellation (BG cancellation-authorisations);
  // the status polls then see CANC. No new commands unless a client asks, so old histories replay as before.
  let cancellationAwaitsAuthorisation = false;
  /** The cancellation's start or the PSU's return woke the status poll. */
  let woken = false;
  setHandler(
    startCancellationAuthorisationUpdate,
    async () => {
      const started = await cancellationCommands.startCancellationAuthorisationAtBank.executeWithOptions(atBank('Start cancellation authorisation'), [paymentId]);
      if (isPatched(PATCH_CANCELLATION_SCA_STATUS)) {
        state.cancellation = { cancellationId: started.authorisationId, scaStatus: started.scaStatus };
        woken = true;
      }
      return started;
    },
    {
    validator: () => {
      if (!cancellationAwaitsAuthorisation) throw new Error('No cancellation awaits authorisation: send DELETE first');
      if (isFinalTransactionStatus(state.transactionStatus)) throw new Error(`Payment is already final (${state.transactionStatus})`);
    },
  });

  setHandler(
    cancelPaymentUpdate,
    async () => {
      const result = await commands.cancelPaymentAtBank.executeWithOptions(atBank('Cancel (TPP request)'), [paymentId]);
      if (result.authorisationRequired) cancellationAwaitsAuthorisation = true;
      if (result.transactionStatus === 'CANC') {
        cancelled = true;
        // A read in flight may record what it found under the next sequence number: CANC comes after it.
        if (readRecording) await condition(() => !readRecording);
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
      const started = await commands.startAuthorisationAtBank.executeWithOptions(atBank('Start an authorisation'), [paymentId]);
      state.authorisationId = started.authorisationId;
      authorisationStartedAt = Date.now();
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
      const result = await commands.updatePaymentPsuDataAtBank.executeWithOptions(atBank('Update PSU data'), [paymentId, req]);
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

  // The record helpers return the activity's own promise (no async wrapper, one promise fewer per call).
  function recordTransactionStatus(status: BankTransactionStatus, reason?: string): Promise<void> {
    const seq = applyTransactionStatus(status, reason);
    return storeStatus(`Record status ${status.normalised}`, {
      paymentId,
      seq,
      kind: 'transaction_status',
      status: status.normalised,
      rawStatus: status.raw,
      reason: reason ?? null,
      bicFi,
    });
  }

  /**
   * The workflow's side of a status change: its sequence number (returned), state and search
   * attribute. `hold`: a non-final status's search attribute waits for the next upsert (see
   * `heldAttributes`); a final one is never held.
   */
  function applyTransactionStatus(status: BankTransactionStatus, reason?: string, hold = false): number {
    const seq = state.eventSeq++;
    lastRawStatus = status.raw;
    state.transactionStatus = status.normalised;
    state.statusReason = reason;
    const pair = { key: TransactionStatusAttr, value: status.normalised };
    if (hold && !isFinalTransactionStatus(status.normalised)) holdAttribute(pair);
    else upsertSearchAttributes(withHeldAttributes(pair));
    return seq;
  }

  /**
   * Search attribute values held back to go with the next upsert: a finalised SCA on its way to the
   * status poll ({@link PATCH_STATUS_ATTRIBUTES_TOGETHER}) and, since {@link PATCH_STATUS_ATTRIBUTES_LAG},
   * the non-final transaction statuses the poll finds. Whatever comes first sends them: the next
   * upsert (a final status, as a rule), a wait of the poll's that would take the oldest past
   * {@link SEARCH_ATTRIBUTES_MAX_LAG_MS} (before that patch: the poll's first wait), a
   * continue-as-new, the end of the run.
   */
  const heldAttributes = new Map<string, SearchAttributeUpdatePair>();
  /** Workflow time at which the oldest held value was learnt. */
  let heldSince = 0;
  function holdAttribute(pair: SearchAttributeUpdatePair): void {
    if (!heldAttributes.size) heldSince = Date.now();
    heldAttributes.set(pair.key.name, pair);
  }
  /** The held values and `pair` (its key's value, if one was held too), for one upsert; none held after. */
  function withHeldAttributes(pair: SearchAttributeUpdatePair): SearchAttributeUpdatePair[] {
    if (!heldAttributes.size) return [pair];
    heldAttributes.set(pair.key.name, pair);
    const pairs = [...heldAttributes.values()];
    heldAttributes.clear();
    return pairs;
  }
  function upsertHeldAttributes(): void {
    if (!heldAttributes.size) return;
    upsertSearchAttributes([...heldAttributes.values()]);
    heldAttributes.clear();
  }

  function recordScaStatus(sca: BankScaStatus): Promise<void> | undefined {
    if (sca.normalised === state.scaStatus) return undefined;
    return storeStatus(`Record SCA status ${sca.normalised}`, {
      paymentId,
      seq: applyScaStatus(sca),
      kind: 'sca_status',
      status: sca.normalised,
      rawStatus: sca.raw,
      authorisationId: state.authorisationId,
      bicFi,
      scaStartedAt: scaStartedAt(),
    });
  }

  /** `hold`: the search attribute waits for the next upsert (see `heldAttributes`). */
  function applyScaStatus(sca: BankScaStatus, hold = false): number {
    state.scaStatus = sca.normalised;
    const pair = { key: ScaStatusAttr, value: sca.normalised };
    if (hold) holdAttribute(pair);
    else upsertSearchAttributes(withHeldAttributes(pair));
    return state.eventSeq++;
  }

  /** The worker's time-to-SCA metric: since this authorisation started, else since SCA was awaited. */
  function scaStartedAt(): number | undefined {
    return authorisationStartedAt ?? (state.scaDeadline === undefined ? undefined : state.scaDeadline - timings.scaTimeoutMs);
  }

  /**
   * The bank's status reads: local activities since {@link PATCH_LOCAL_BANK_CALLS}, told the
   * sequence number a change they find will be recorded under. A read run again after its workflow
   * task was lost hands back the change the lost run recorded there (`getBankPaymentStatus`), so
   * this run takes the path that run took. Undefined when the read failed (the next round reads again).
   */
  function readPaymentStatus(options: { summary: string }): Promise<BankTransactionStatus | undefined> {
    return readOrUndefined(() =>
      isPatched(PATCH_LOCAL_BANK_CALLS)
        ? localReads.getBankPaymentStatus.executeWithOptions(options, [paymentId, { seq: state.eventSeq }])
        : reads.getBankPaymentStatus.executeWithOptions(options, [paymentId]),
    );
  }

  /**
   * The payment's status at the bank, a change recorded: since {@link PATCH_READ_RECORDS} by the
   * read itself, before that by a record after it (unless the payment was cancelled meanwhile).
   * Undefined when the read failed, or (since the patch) the payment is cancelled.
   * `reasons`: a change's reason by the status found, read when the read starts (before the patch:
   * when it answered, as then). `hold`: see `applyTransactionStatus`.
   */
  async function followPaymentStatus(
    options: { summary: string },
    reasons: () => Partial<Record<TransactionStatus, string>> | undefined = () => undefined,
    hold = false,
  ): Promise<BankTransactionStatus | undefined> {
    if (!isPatched(PATCH_READ_RECORDS)) {
      const status = await readPaymentStatus(options);
      if (status && !cancelled && status.normalised !== state.transactionStatus) await recordTransactionStatus(status, reasons()?.[status.normalised]);
      return status;
    }
    if (cancelled) return undefined;
    const at = { seq: state.eventSeq, known: state.transactionStatus, reasons: reasons(), bicFi };
    readRecording = true;
    const status = await readOrUndefined(() => localReads.readAndRecordPaymentStatus.executeWithOptions(options, [paymentId, at]));
    readRecording = false;
    if (status && status.normalised !== at.known) applyTransactionStatus(status, at.reasons?.[status.normalised], hold);
    return status;
  }

  /** The authorisation's SCA status at the bank, a change recorded: as {@link followPaymentStatus}. */
  async function followScaStatus(options: { summary: string }, authorisationId: string): Promise<BankScaStatus | undefined> {
    if (!isPatched(PATCH_READ_RECORDS)) {
      const status = await readScaStatus(options, authorisationId);
      const recording = status && !cancelled ? recordScaStatus(status) : undefined;
      if (recording) await recording;
      return status;
    }
    if (cancelled) return undefined;
    const at = { seq: state.eventSeq, known: state.scaStatus, bicFi, scaStartedAt: scaStartedAt() };
    readRecording = true;
    const status = await readOrUndefined(() => localReads.readAndRecordScaStatus.executeWithOptions(options, [paymentId, authorisationId, at]));
    readRecording = false;
    // A finalised SCA goes on to the status poll, whose first read upserts the transaction status: one upsert for both.
    if (status && status.normalised !== at.known) applyScaStatus(status, status.normalised === 'finalised' && isPatched(PATCH_STATUS_ATTRIBUTES_TOGETHER));
    return status;
  }

  function readScaStatus(options: { summary: string }, authorisationId: string): Promise<BankScaStatus | undefined> {
    return readOrUndefined(() =>
      isPatched(PATCH_LOCAL_BANK_CALLS)
        ? localReads.getBankScaStatus.executeWithOptions(options, [paymentId, authorisationId, { seq: state.eventSeq }])
        : reads.getBankScaStatus.executeWithOptions(options, [paymentId, authorisationId]),
    );
  }

  /** One status change, stored (idempotently, by its sequence number) before the workflow moves on. */
  function storeStatus(summary: string, change: Parameters<PaymentActivities['recordPaymentStatus']>[0]): Promise<void> {
    if (isPatched(PATCH_LOCAL_STATUS_RECORDS)) return localRecords.recordPaymentStatus.executeWithOptions(label(summary), [change]);
    return records.recordPaymentStatus.executeWithOptions(label(summary), [change]);
  }

  /**
   * Synchronous unless continue-as-new is suggested: the SDK's promise hook traces every promise a
   * workflow creates (docs/benchmarks.md, issue 12), so helpers on the hot path create none they do not need.
   */
  function continueAsNewIfSuggested(): Promise<void> | undefined {
    if (!workflowInfo().continueAsNewSuggested) return undefined;
    return continueAsNewNow();
  }

  async function continueAsNewNow(): Promise<void> {
    await condition(allHandlersFinished);
    upsertHeldAttributes(); // the next run starts with this run's search attributes
    // The next run is a new one: under the newest gate, named, as its starter would.
    await continueAsNew<typeof paymentInitiationWorkflow>({ ...input, patchGate: PAYMENT_PATCH_GATE, resume: state });
  }

  /**
   * Initiates at the bank. Afterwards the phase says how it went: `awaiting_sca` or
   * `polling_status` (initiated), `outcome_unknown` (the bank may hold the payment), still
   * `initiating` (refused, or provably never processed: recorded RJCT).
   */
  async function initiate(): Promise<void> {
    let outcome: CreationOutcome<InitiationSummary>;
    try {
      // After an ambiguous attempt the bank may hold a payment from it: initiating again is safe
      // only where such a payment can never execute without an SCA the PSU is never shown.
      outcome = await createWithoutDuplicates('Initiation', initiateAtBank);
    } catch (err) {
      const failed = findApplicationFailure(err);
      // A failure without the bank's clear answer (the activity itself timed out) proves nothing.
      if (isPatched(PATCH_UNKNOWN_OUTCOME) && !NOT_CREATED_FAILURES.has(failed?.type ?? '')) {
        return markOutcomeUnknown(failed?.message ?? 'the initiation did not complete');
      }
      return rejectInitiation(err);
    }
    if (outcome.kind === 'ambiguous') return markOutcomeUnknown(outcome.reason);
    await acceptInitiation(outcome.result);
    // Initiating again may have left an earlier payment at the bank: cancel the ones it named.
    if (outcome.createdAgain > 0) await records.cancelOrphanedInitiations.executeWithOptions(atBank('Cancel orphaned initiations'), [paymentId]);
  }

  /**
   * One initiation at the bank. Since {@link PATCH_LOCAL_BANK_CALLS} its first attempt is a local
   * activity, inside this workflow task (the usual case: the bank answers, and the POST has its
   * answer one workflow task sooner). A failure the step's policy retries (5xx, 429, the bank not
   * reached, the call timed out) goes on as the regular activity after the policy's first wait (or
   * the bank's Retry-After): its retries and 5-minute deadline are kept by the server on its clock,
   * and operators see its attempts. The guard in the database makes the hand-over safe: an attempt
   * that may have reached the bank makes the next one answer `ambiguous` instead of sending.
   */
  async function initiateAtBank(opts: { createAgainAfterAttempt?: number }): Promise<InitiationAttemptResult> {
    const summary = { summary: activitySummary(opts.createAgainAfterAttempt === undefined ? 'Initiate' : 'Initiate again', { at: bicFi }) };
    if (isPatched(PATCH_LOCAL_BANK_CALLS)) {
      try {
        return await localInitiation.initiatePaymentAtBank.executeWithOptions(summary, [paymentId, opts]);
      } catch (err) {
        const failed = findApplicationFailure(err);
        if (failed && (failed.nonRetryable || NON_RETRYABLE_FAILURES.includes(failed.type as FailureType))) throw err;
        const retryAfterMs = (failed?.details?.[0] as { retryAfterMs?: number } | undefined)?.retryAfterMs;
        // A Retry-After past the deadline: given up now, as the server gives up a retry it could not make in time.
        if (retryAfterMs !== undefined && retryAfterMs >= INITIATION_DEADLINE_MS) throw err;
        await sleep(retryAfterMs ?? RETRY.bankStep.initialInterval!, { summary: 'Wait before retrying the initiation' });
      }
    }
    return initiation.initiatePaymentAtBank.executeWithOptions(summary, [paymentId, opts]);
  }

  async function acceptInitiation(init: InitiationSummary): Promise<void> {
    state.initiation = init;
    state.authorisationId = init.authorisationId;
    const status = { raw: init.rawTransactionStatus, normalised: init.transactionStatus };
    if (init.transactionStatus !== 'RCVD') await recordTransactionStatus(status);
    else if (!isPatched(PATCH_RCVD_FROM_START) || workflowInfo().typedSearchAttributes.get(TransactionStatusAttr) !== 'RCVD') {
      upsertSearchAttributes([{ key: TransactionStatusAttr, value: init.transactionStatus }]);
    }
    // Already authorised (SCA exempted) or already final: there is nothing to wait for.
    if (AUTHORISED_TRANSACTION_STATUSES.has(init.transactionStatus) || isFinalTransactionStatus(init.transactionStatus)) {
      startPolling();
    } else {
      awaitSca();
    }
  }

  function awaitSca(): void {
    state.phase = 'awaiting_sca';
    state.scaDeadline = Date.now() + timings.scaTimeoutMs;
    show(describePhase());
  }

  /** The current phase in words, for the UI's current details. */
  function describePhase(nextCheckInMs?: number): string {
    switch (state.phase) {
      case 'initiating':
        return phrases.initiating(bicFi);
      case 'outcome_unknown':
        return phrases.outcomeUnknown({
          reason: state.unknownReason ?? 'the bank did not answer clearly',
          resolution: "looking it up at the bank where it can, else waiting for an operator's resolveInitiation update",
        });
      case 'awaiting_sca':
        return phrases.waitingForSca({
          sinceMs: state.scaDeadline! - timings.scaTimeoutMs,
          timesOutAtMs: state.scaDeadline!,
          approach: state.initiation?.scaApproach,
        });
      case 'polling_status':
        return phrases.pollingBank({ status: state.transactionStatus, nextCheckInMs });
      case 'completed':
        return phrases.final(state.transactionStatus, state.statusReason);
    }
  }

  /** The bank refused the initiation, or provably never processed it: RJCT, and the API reports why. */
  async function rejectInitiation(err: unknown): Promise<void> {
    const failed = findApplicationFailure(err);
    const details = failed?.details?.[0] as Partial<InitiationError> | undefined;
    state.initiationError = {
      httpStatus: details?.httpStatus ?? 502,
      messages: details?.messages?.length
        ? details.messages
        : [{ category: 'ERROR', code: 'PAYMENT_FAILED', text: failed?.message ?? 'The bank could not be reached' }],
    };
    log.warn('Initiation failed', { paymentId, type: failed?.type });
    await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, `Initiation failed: ${failed?.message ?? 'unknown error'}`);
  }

  /**
   * The bank may or may not hold the payment, and asking again could create a second one that
   * executes. Say so (the API shows it), then find out: the bank's own lookup where it has one,
   * else an operator's decision (`resolveInitiation` update, audited). Never guessed.
   */
  async function markOutcomeUnknown(reason: string): Promise<void> {
    state.phase = 'outcome_unknown';
    state.unknownReason = reason;
    show(describePhase());
    await recordInitiationOutcome('unknown', `Initiation outcome unknown: ${reason}`);
  }

  async function resolveUnknownOutcome(): Promise<void> {
    let interval = LOOKUP_INITIAL_MS;
    let canLookUp = true;
    for (;;) {
      if (canLookUp) {
        const lookup = await readOrUndefined(() => reads.lookUpInitiationAtBank.executeWithOptions(atBank('Look up the initiation'), [paymentId]));
        if (lookup?.kind === 'found') {
          return adopt({ raw: lookup.rawTransactionStatus, normalised: lookup.transactionStatus }, 'found by the bank\'s lookup');
        }
        if (lookup?.kind === 'absent') return notInitiated(`Not initiated: ${lookup.reason}`);
        canLookUp = lookup?.kind !== 'unsupported';
      }
      // Without a lookup, only an operator can tell: wait for one, however long it takes.
      if (canLookUp) await condition(() => decision !== undefined, interval, { summary: 'Wait before the next lookup (or an operator\'s decision)' });
      else await condition(() => decision !== undefined);
      if (decision) {
        if (decision.decision === 'initiated') {
          await records.adoptBankPayment.executeWithOptions(label('Adopt the bank payment'), [paymentId, decision.bankPaymentId, decision.status!]);
          return adopt(decision.status!, `confirmed by ${decision.operator}`);
        }
        return notInitiated(`Not initiated at the bank, decided by ${decision.operator}: ${decision.reason}`);
      }
      // At most one lookup an hour: even a long wait for an operator keeps the history small.
      interval = Math.min(interval * 2, LOOKUP_MAX_MS);
    }
  }

  /** The bank holds the payment: follow it like any other, by the bank's own status. */
  async function adopt(status: BankTransactionStatus, how: string): Promise<void> {
    state.adopted = true;
    await recordInitiationOutcome('resolved', `Initiation outcome resolved: ${how}`);
    if (status.normalised !== state.transactionStatus) await recordTransactionStatus(status);
    if (AUTHORISED_TRANSACTION_STATUSES.has(status.normalised) || isFinalTransactionStatus(status.normalised)) {
      startPolling();
    } else {
      // The client starts an authorisation for the PSU (POST .../authorisations) if none is under way.
      awaitSca();
    }
  }

  async function notInitiated(reason: string): Promise<void> {
    await recordInitiationOutcome('resolved', reason);
    await recordTransactionStatus({ raw: 'NOT_INITIATED', normalised: 'RJCT' }, reason);
    state.phase = 'completed';
  }

  async function recordInitiationOutcome(outcome: 'unknown' | 'resolved', reason: string): Promise<void> {
    const seq = state.eventSeq++;
    if (isPatched(PATCH_OUTCOME_SEARCH_ATTRIBUTE)) upsertSearchAttributes([{ key: InitiationOutcomeAttr, value: outcome }]);
    await storeStatus(`Record initiation outcome ${outcome}`, { paymentId, seq, kind: 'initiation_outcome', status: outcome, rawStatus: null, reason, bicFi });
    state.initiationOutcome = outcome;
  }

  function awaitScaOrTimeout() {
    return sca.until({
      deadline: state.scaDeadline!,
      pollInitialMs: timings.scaPollInitialMs,
      pollMaxMs: timings.scaPollMaxMs,
      interrupted: () => cancelled,
      check: async (n) => {
        // No hand-off queued: redeemOAuthReturn would answer undefined before any command or patch.
        const redeemed = state.oauthReturns?.length ? await redeemOAuthReturn() : undefined;
        // 'retry': the bank's answer is still missing; its status alone must not move us past it.
        if (redeemed) return redeemed === 'retry' ? undefined : redeemed;
        if (!state.authorisationId) return state.adopted ? scaFromPaymentStatus() : undefined;
        const status = await followScaStatus(label('Check SCA status', n), state.authorisationId!);
        return status?.normalised;
      },
      afterCheck: continueAsNewIfSuggested,
    });
  }

  /**
   * The PSU came back from an OAuth/OIDC authorisation: the activity redeems the code (the bank's
   * tokens stay sealed in PostgreSQL) and completes the payment at the bank where the protocol
   * wants that (UK: submits it, idempotently). An error from the bank (the PSU denied) is `failed`.
   */
  async function redeemOAuthReturn(): Promise<ScaStatus | 'retry' | undefined> {
    const handoffId = state.oauthReturns?.shift();
    if (handoffId === undefined || !isPatched(PATCH_OAUTH_AUTHORISATION)) return undefined;
    const done = await readOrUndefined(() => oauth.completeOAuthAuthorisationAtBank(paymentId, handoffId));
    // Not completed (the bank did not answer): again at the next check. The code was redeemed at
    // most once (its tokens are kept sealed), and the bank deduplicates the submission.
    if (!done) {
      oauthReturns().unshift(handoffId);
      return 'retry';
    }
    if (done.outcome !== 'completed' || cancelled) return undefined;
    const recording = recordScaStatus({ raw: done.rawScaStatus, normalised: done.scaStatus });
    if (recording) await recording;
    if (done.transactionStatus && done.transactionStatus !== state.transactionStatus) {
      await recordTransactionStatus({ raw: done.rawTransactionStatus ?? done.transactionStatus, normalised: done.transactionStatus });
    }
    return done.scaStatus;
  }

  /** A payment found after an unknown outcome, with no authorisation known: its status tells where SCA stands. */
  async function scaFromPaymentStatus(): Promise<ScaStatus | undefined> {
    const status = await followPaymentStatus(atBank('Check status'));
    if (!status || cancelled) return undefined;
    if (AUTHORISED_TRANSACTION_STATUSES.has(status.normalised)) return 'finalised';
    if (isFinalTransactionStatus(status.normalised)) return 'failed';
    return undefined;
  }

  function startPolling(): void {
    state.phase = 'polling_status';
    state.statusDeadline = Date.now() + timings.statusDeadlineMs;
    show(describePhase());
  }

  /** Only set under `PATCH_CANCELLATION_SCA_STATUS`: old histories never have one. */
  function cancellationPending(): boolean {
    const c = state.cancellation;
    return c !== undefined && c.scaStatus !== 'finalised' && c.scaStatus !== 'failed' && c.scaStatus !== 'exempted';
  }

  /** The cancellation's SCA status at the bank (a failed read: the next poll reads again). */
  async function readCancellationSca(): Promise<void> {
    const c = state.cancellation!;
    const s = await readOrUndefined(() => cancellationReads.getCancellationScaStatusAtBank.executeWithOptions(atBank('Check cancellation SCA status'), [paymentId, c.cancellationId]));
    if (s) c.scaStatus = s.normalised;
  }

  /** A CANC after a cancellation the PSU authorised says so. */
  const cancellationReasons = () => (state.cancellation ? CANCELLED_BY_PSU : undefined);

  async function pollUntilFinal(): Promise<void> {
    let interval = timings.statusPollInitialMs;
    let first = true;
    let check = 0;
    const lagBounded = isPatched(PATCH_STATUS_ATTRIBUTES_LAG);
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
      check += 1;
      if (!first) {
        // A timer that a cancellation can cut short.
        // A cancellation the PSU is authorising is looked at as often as an SCA.
        const wait = Math.min(cancellationPending() ? Math.min(interval, timings.scaPollMaxMs) : interval, state.statusDeadline! - Date.now());
        // Held search attributes go before a wait that would leave them further behind than their bound.
        if (lagBounded && Date.now() + wait - heldSince > SEARCH_ATTRIBUTES_MAX_LAG_MS) upsertHeldAttributes();
        show(describePhase(wait));
        woken = false;
        await condition(() => cancelled || woken, wait, { summary: `Wait before status check ${check}` });
        interval = Math.min(interval * 2, timings.statusPollMaxMs);
      }
      first = false;
      if (cancelled) return;
      if (cancellationPending()) await readCancellationSca();
      await followPaymentStatus(label('Check status', check), cancellationReasons, lagBounded);
      // Before the bounded lag: the read found no change (or failed), so they go alone, before any wait.
      if (!lagBounded) upsertHeldAttributes();
      if (cancelled) return;
      if (state.transactionStatus === 'CANC' && cancellationPending() && isPatched(PATCH_CANCELLATION_SCA_AT_CANC)) await readCancellationSca();
      const continuing = continueAsNewIfSuggested();
      if (continuing) await continuing;
    }
  }

  // Read through a function: the phase changes inside the steps, which TypeScript cannot see.
  const phase = () => state.phase;
  if (phase() === 'initiating') await initiate();
  if (phase() === 'outcome_unknown') await resolveUnknownOutcome();
  if (phase() === 'initiating' || phase() === 'completed') return finish();

  if (phase() === 'awaiting_sca') {
    const outcome = await awaitScaOrTimeout();
    if (outcome === 'interrupted') return finish();
    if (outcome === 'timeout') {
      if (!isPatched(PATCH_SCA_TIMEOUT_CANCEL)) {
        const cancel = await readOrUndefined(() => commands.cancelPaymentAtBank.executeWithOptions(atBank('Withdraw after the SCA timeout'), [paymentId]));
        await recordTransactionStatus(
          { raw: cancel?.transactionStatus ?? state.transactionStatus, normalised: 'RJCT' },
          `SCA timeout: no decision within ${Math.round(timings.scaTimeoutMs / 1000)}s`,
        );
        return finish();
      }
      if (await withdrawAfterScaTimeout()) return finish();
    } else if (outcome === 'failed') {
      const status = await readPaymentStatus(atBank('Check status after the failed SCA'));
      await recordTransactionStatus({ raw: status?.raw ?? 'RJCT', normalised: 'RJCT' }, 'SCA failed');
      return finish();
    } else {
      startPolling();
    }
  }

  if (phase() === 'polling_status') await pollUntilFinal();
  return finish();

  /**
   * The PSU never decided: withdraw the payment at the bank so it cannot be authorised later.
   * RJCT only once the bank confirmed the cancellation (or itself reports a final status); if it
   * did not, the payment may still be authorised at the bank, so it is followed by its status
   * until the bank reports a final one. True when the payment is final.
   */
  async function withdrawAfterScaTimeout(): Promise<boolean> {
    const timeout = `SCA timeout: no decision within ${Math.round(timings.scaTimeoutMs / 1000)}s`;
    const cancel = await readOrUndefined(() => commands.cancelPaymentAtBank.executeWithOptions(atBank('Withdraw after the SCA timeout'), [paymentId]));
    if (cancel?.transactionStatus === 'CANC' && !cancel.authorisationRequired) {
      await recordTransactionStatus({ raw: 'CANC', normalised: 'RJCT' }, timeout);
      return true;
    }
    const status = await readPaymentStatus(atBank('Check status after the SCA timeout'));
    if (status && isFinalTransactionStatus(status.normalised)) {
      await recordTransactionStatus(status, `${timeout}; the bank reports ${status.normalised}`);
      return true;
    }
    const seen = status ?? { raw: lastRawStatus ?? state.transactionStatus, normalised: state.transactionStatus };
    // Not final at the bank: the PSU may still authorise it there. Say so, and follow it.
    await recordTransactionStatus(seen, `${timeout}; the bank did not confirm the cancellation, following the payment until it reports a final status`);
    startPolling();
    return false;
  }

  async function finish(): Promise<PaymentWorkflowState> {
    // Let a cancellation or authorisation update that is still running reply before we close
    // (condition() resolves at once when they have; checked first, it creates no promise).
    if (!allHandlersFinished()) await condition(allHandlersFinished);
    upsertHeldAttributes();
    state.phase = 'completed';
    show(describePhase());
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
