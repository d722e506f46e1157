import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment.activities';
import type { PeriodicPaymentActivities } from '../activities/periodic-payment.activities';
import { executionAt, type ScheduledExecution } from '../libs/domain/target2-calendar';
import { AUTHORISED_TRANSACTION_STATUSES, isFinalTransactionStatus, type BankScaStatus, type BankTransactionStatus } from '../libs/domain/transaction-status';
import { ScaStatus as ScaStatusAttr, TransactionStatus as TransactionStatusAttr } from '../libs/temporal/search-attributes';
import { createWithoutDuplicates, type CreationOutcome } from './shared/create-once';
import { handleOperatorDecisions, type AcceptedDecision } from './shared/operator-decision';
import { findApplicationFailure, readOrUndefined } from './shared/failures';
import { FailureType, RETRY } from './shared/retry-policies';
import { ScaWait } from './shared/sca-wait';
import {
  initiationResultUpdate,
  resolveInitiationUpdate,
  scaCallbackSignal,
  startAuthorisationUpdate,
  type InitiationError,
  type InitiationSummary,
} from './payment-initiation.api';
import {
  cancelPeriodicPaymentUpdate,
  periodicStateQuery,
  startCancellationAuthorisationUpdate,
  type PeriodicWorkflowInput,
  type PeriodicWorkflowState,
} from './periodic-payment.api';

type Activities = PeriodicPaymentActivities & Pick<PaymentActivities, 'recordPaymentStatus' | 'recordOperatorDecision' | 'adoptBankPayment'>;

/**
 * An unknown initiation outcome is resolved as for single payments (the `resolveInitiation`
 * update: an operator who asked the bank names its order id, checked at the bank, or says it was
 * not initiated), never by initiating again. Runs recorded before this ended at the unknown outcome.
 */
const PATCH_RESOLVE_UNKNOWN_OUTCOME = 'periodic-unknown-outcome-resolution';
/**
 * The order turned CANC while its cancellation's SCA was last seen unfinished: the PSU authorised
 * the cancellation between the poll's two reads (the cancellation's SCA, then the order's status).
 * One more read of the cancellation's SCA, so the API does not show it `started` forever.
 */
const PATCH_CANCELLATION_SCA_AT_CANC = 'cancellation-sca-after-canc';

/** Initiation: at most once at the bank (write-ahead guard), retried only where provably not processed. */
const initiation = proxyActivities<Activities>({ startToCloseTimeout: '15s', scheduleToCloseTimeout: '5m', retry: RETRY.bankStep });
/** Commands the client waits for (cancel, start an authorisation). */
const commands = proxyActivities<Activities>({ startToCloseTimeout: '15s', retry: RETRY.bankCommand });
/** Reads inside loops that read again. */
const reads = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: RETRY.bankRead });
/** Our own database: a recorded change is never lost. */
const records = proxyActivities<Activities>({ startToCloseTimeout: '15s', retry: RETRY.ownDatabase });

/** Failures that prove the bank did not create the order: refused, or never processed (connection refused, 429). */
const NOT_CREATED_FAILURES: ReadonlySet<string> = new Set([FailureType.BankRejected, FailureType.BankUnavailable, FailureType.BankRateLimited, FailureType.PaymentNotFound]);

/** Kept in state to tell neighbouring executions' bookings apart; older ones cannot match any more. */
const TAKEN_KEPT = 12;

/**
 * One standing order for its whole life: initiate at the bank exactly once → SCA once → follow it:
 * the bank's status and, through the client's AIS consent, each execution on the TARGET2 dates the
 * schedule gives (`periodic_payment.executed` / `execution_failed`), until the order ends at the bank
 * (endDate), is cancelled (with the PSU's cancellation authorisation where the bank wants one) or is
 * rejected. Continue-as-new every `executionsPerRun` executions keeps the history small for years.
 */
export async function periodicPaymentWorkflow(input: PeriodicWorkflowInput): Promise<PeriodicWorkflowState> {
  const { paymentId, timings, schedule } = input;
  const state: PeriodicWorkflowState = input.resume ?? { phase: 'initiating', transactionStatus: 'RCVD', eventSeq: 0, nextIndex: 1, executionsResolved: 0, takenTransactionIds: [] };
  const resolvedAtStart = state.executionsResolved;
  const sca = new ScaWait();
  let woken = false;
  const wake = () => {
    woken = true;
    sca.wakeUp();
  };
  const isOver = () => isFinalTransactionStatus(state.transactionStatus) && state.transactionStatus !== 'ACSC';

  setHandler(periodicStateQuery, () => state);

  /** An operator's decision, checked with the bank and audited, waiting to be applied. */
  let decision: AcceptedDecision | undefined;
  handleOperatorDecisions(resolveInitiationUpdate, {
    outcomeUnknown: () => state.phase === 'outcome_unknown',
    initiationOutcome: () => state.initiationOutcome,
    confirmAtBank: (bankPaymentId) => commands.confirmBankPeriodicPayment(paymentId, bankPaymentId),
    record: (updateId, d) => records.recordOperatorDecision(paymentId, updateId, d),
    accept: (d) => {
      decision = d;
    },
    resolved: () => state.initiationOutcome === 'resolved',
    transactionStatus: () => state.transactionStatus,
  });
  setHandler(scaCallbackSignal, wake);

  setHandler(initiationResultUpdate, async () => {
    await condition(() => state.initiation !== undefined || state.initiationError !== undefined || state.phase === 'outcome_unknown');
    if (state.initiationError) throw initiationFailure(state.initiationError);
    if (state.initiation) return state.initiation;
    return { outcome: 'unknown' as const, reason: state.statusReason ?? 'the bank did not answer clearly' };
  });

  setHandler(
    startAuthorisationUpdate,
    async () => {
      const started = await commands.startPeriodicAuthorisationAtBank(paymentId);
      state.authorisationId = started.authorisationId;
      wake();
      return started;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca') fail('The periodic payment is not awaiting authorisation');
      },
    },
  );

  setHandler(
    cancelPeriodicPaymentUpdate,
    async () => {
      const result = await commands.cancelPeriodicPaymentAtBank(paymentId);
      if (result.transactionStatus === 'CANC' && !result.authorisationRequired) {
        await recordTransactionStatus({ raw: 'CANC', normalised: 'CANC' }, 'Cancelled by the TPP');
      } else if (result.authorisationRequired) {
        state.cancellation = {};
      }
      wake();
      return result;
    },
    {
      validator: () => {
        if (state.phase !== 'awaiting_sca' && state.phase !== 'active') fail(`The periodic payment cannot be cancelled while ${state.phase.replace('_', ' ')}`);
        if (isFinalTransactionStatus(state.transactionStatus)) fail(`The periodic payment is already final (${state.transactionStatus})`);
      },
    },
  );

  setHandler(
    startCancellationAuthorisationUpdate,
    async () => {
      const started = await commands.startCancellationAuthorisationAtBank(paymentId);
      state.cancellation = { cancellationId: started.authorisationId, scaStatus: started.scaStatus, scaApproach: started.scaApproach };
      wake();
      return started;
    },
    {
      validator: () => {
        if (!state.cancellation) fail('No cancellation awaits authorisation: send DELETE first');
        if (isFinalTransactionStatus(state.transactionStatus)) fail(`The periodic payment is already final (${state.transactionStatus})`);
      },
    },
  );

  async function recordTransactionStatus(status: BankTransactionStatus, reason?: string): Promise<void> {
    if (status.normalised === state.transactionStatus && reason === undefined) return;
    const seq = state.eventSeq++;
    state.transactionStatus = status.normalised;
    state.statusReason = reason;
    upsertSearchAttributes([{ key: TransactionStatusAttr, value: status.normalised }]);
    await records.recordPaymentStatus({ paymentId, seq, kind: 'transaction_status', status: status.normalised, rawStatus: status.raw, reason: reason ?? null });
  }

  async function recordScaStatus(status: BankScaStatus): Promise<void> {
    if (status.normalised === state.scaStatus) return;
    const seq = state.eventSeq++;
    state.scaStatus = status.normalised;
    upsertSearchAttributes([{ key: ScaStatusAttr, value: status.normalised }]);
    await records.recordPaymentStatus({ paymentId, seq, kind: 'sca_status', status: status.normalised, rawStatus: status.raw, authorisationId: state.authorisationId });
  }

  async function initiate(): Promise<void> {
    let outcome: CreationOutcome<InitiationSummary>;
    try {
      outcome = await createWithoutDuplicates('Periodic payment initiation', (opts) => initiation.initiatePeriodicPaymentAtBank(paymentId, opts));
    } catch (err) {
      const failed = findApplicationFailure(err);
      const details = failed?.details?.[0] as Partial<InitiationError> | undefined;
      if (!NOT_CREATED_FAILURES.has(failed?.type ?? '')) {
        // No clear answer from the bank: it may hold the order. Never initiated again, never guessed.
        return markOutcomeUnknown(failed?.message ?? 'the initiation did not complete');
      }
      state.initiationError = {
        httpStatus: details?.httpStatus ?? 502,
        messages: details?.messages?.length ? details.messages : [{ category: 'ERROR', code: 'PAYMENT_FAILED', text: failed?.message ?? 'The bank refused the periodic payment' }],
      };
      await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, `Initiation failed: ${failed?.message ?? 'refused'}`);
      state.phase = 'completed';
      return;
    }
    if (outcome.kind === 'ambiguous') return markOutcomeUnknown(outcome.reason);
    const init = outcome.result;
    state.initiation = init;
    state.authorisationId = init.authorisationId;
    state.phase = 'awaiting_sca';
    state.scaDeadline = Date.now() + timings.scaTimeoutMs;
    upsertSearchAttributes([{ key: TransactionStatusAttr, value: init.transactionStatus }]);
  }

  /**
   * The bank may hold the order. Recorded and left for an operator (the standing order's workflow
   * offers no automated resolution yet: see docs/periodic-payments.md); nothing is sent again.
   */
  async function markOutcomeUnknown(reason: string): Promise<void> {
    state.phase = 'outcome_unknown';
    state.initiationOutcome = 'unknown';
    state.statusReason = `Initiation outcome unknown: ${reason}`;
    await records.recordPaymentStatus({ paymentId, seq: state.eventSeq++, kind: 'initiation_outcome', status: 'unknown', rawStatus: null, reason: state.statusReason });
  }

  /**
   * Berlin Group offers no lookup by X-Request-ID and the bank does not deduplicate it: only an
   * operator who asked the bank can tell. Waits for the decision however long it takes.
   */
  async function resolveUnknownOutcome(): Promise<void> {
    await condition(() => decision !== undefined);
    const d = decision!;
    if (d.decision === 'initiated') {
      await records.adoptBankPayment(paymentId, d.bankPaymentId, d.status!);
      await recordInitiationResolved(`Initiation outcome resolved: confirmed by ${d.operator}`);
      state.adopted = true;
      const status = d.status!;
      if (status.normalised !== state.transactionStatus) await recordTransactionStatus(status);
      if (isFinalTransactionStatus(status.normalised)) {
        state.phase = 'completed';
      } else if (AUTHORISED_TRANSACTION_STATUSES.has(status.normalised)) {
        state.phase = 'active';
      } else {
        // The PSU has not authorised it: the client starts an authorisation (POST .../authorisations) or the status tells.
        state.phase = 'awaiting_sca';
        state.scaDeadline = Date.now() + timings.scaTimeoutMs;
      }
      return;
    }
    const reason = `Not initiated at the bank, decided by ${d.operator}: ${d.reason}`;
    await recordInitiationResolved(reason);
    await recordTransactionStatus({ raw: 'NOT_INITIATED', normalised: 'RJCT' }, reason);
    state.phase = 'completed';
  }

  async function recordInitiationResolved(reason: string): Promise<void> {
    await records.recordPaymentStatus({ paymentId, seq: state.eventSeq++, kind: 'initiation_outcome', status: 'resolved', rawStatus: null, reason });
    state.initiationOutcome = 'resolved';
  }

  async function awaitSca(): Promise<void> {
    const outcome = await sca.until({
      deadline: state.scaDeadline!,
      pollInitialMs: timings.scaPollInitialMs,
      pollMaxMs: timings.scaPollMaxMs,
      interrupted: () => isFinalTransactionStatus(state.transactionStatus),
      check: async () => {
        if (!state.authorisationId && state.adopted) {
          // Adopted after an unknown outcome: no authorisation known, the order's status tells.
          const status = await readOrUndefined(() => reads.getPeriodicStatusAtBank(paymentId));
          if (!status) return undefined;
          if (status.normalised !== state.transactionStatus && isFinalTransactionStatus(status.normalised)) await recordTransactionStatus(status);
          if (AUTHORISED_TRANSACTION_STATUSES.has(status.normalised)) return 'finalised';
          return isFinalTransactionStatus(status.normalised) ? 'failed' : undefined;
        }
        if (!state.authorisationId) return undefined;
        const status = await readOrUndefined(() => reads.getPeriodicScaStatusAtBank(paymentId, state.authorisationId!));
        if (status && !isFinalTransactionStatus(state.transactionStatus)) await recordScaStatus(status);
        return status?.normalised;
      },
    });
    if (outcome === 'interrupted') return;
    if (outcome === 'finalised') {
      const status = await readOrUndefined(() => reads.getPeriodicStatusAtBank(paymentId));
      await recordTransactionStatus(status ?? { raw: 'ACCP', normalised: 'ACCP' });
      state.phase = 'active';
      return;
    }
    if (outcome === 'failed') {
      // An adopted order's final status was already recorded from the bank.
      if (!isFinalTransactionStatus(state.transactionStatus)) await recordTransactionStatus({ raw: 'RJCT', normalised: 'RJCT' }, 'SCA failed');
      return;
    }
    // Timeout: withdraw it so it cannot be authorised later; RJCT only once the bank confirmed.
    const cancel = await readOrUndefined(() => commands.cancelPeriodicPaymentAtBank(paymentId));
    const timeout = `SCA timeout: no decision within ${Math.round(timings.scaTimeoutMs / 1000)}s`;
    if (cancel?.transactionStatus === 'CANC' && !cancel.authorisationRequired) {
      await recordTransactionStatus({ raw: 'CANC', normalised: 'RJCT' }, timeout);
      return;
    }
    const status = await readOrUndefined(() => reads.getPeriodicStatusAtBank(paymentId));
    await recordTransactionStatus(status ?? { raw: state.transactionStatus, normalised: state.transactionStatus }, `${timeout}; the bank did not confirm the withdrawal`);
    state.phase = 'active';
  }

  /** Follows the live order: its status, a cancellation under way, and each execution in order. */
  async function follow(): Promise<'done' | 'continue'> {
    for (;;) {
      if (isOver()) return 'done';
      const next = executionAt(schedule, state.nextIndex);
      // Ended at the bank and every execution accounted for (or none can be seen).
      if (state.transactionStatus === 'ACSC' && (!next || state.accountId === undefined)) return 'done';
      if (state.executionsResolved - resolvedAtStart >= timings.executionsPerRun || workflowInfo().continueAsNewSuggested) return 'continue';

      woken = false;
      await condition(() => woken, timings.observeEveryMs);

      if (cancellationUnfinished()) await readCancellationSca();

      const pending: ScheduledExecution[] = [];
      for (let i = state.nextIndex; pending.length < 6; i++) {
        const e = executionAt(schedule, i);
        if (!e) break;
        pending.push(e);
      }
      const seen = await readOrUndefined(() =>
        reads.observePeriodicPayment(paymentId, { pending, accountId: state.accountId, taken: state.takenTransactionIds, graceBusinessDays: timings.graceBusinessDays }),
      );
      if (!seen) continue;
      if (seen.accountId) state.accountId = seen.accountId;
      for (const execution of seen.executions) {
        if (execution.index !== state.nextIndex) continue;
        await records.recordPeriodicExecution(paymentId, execution);
        if (execution.outcome === 'executed' && execution.transactionId) {
          state.takenTransactionIds = [...state.takenTransactionIds, execution.transactionId].slice(-TAKEN_KEPT);
        }
        state.nextIndex += 1;
        state.executionsResolved += 1;
      }
      if (seen.transactionStatus.normalised !== state.transactionStatus) {
        const reason = seen.transactionStatus.normalised === 'CANC' && state.cancellation ? 'Cancelled by the TPP, authorised by the PSU' : undefined;
        await recordTransactionStatus(seen.transactionStatus, reason);
        if (state.transactionStatus === 'CANC' && cancellationUnfinished() && patched(PATCH_CANCELLATION_SCA_AT_CANC)) await readCancellationSca();
      }
      // Without a consent nothing more can be learnt once the bank reports the order ended.
      if (!seen.observable && state.transactionStatus === 'ACSC') return 'done';
    }
  }

  /** A cancellation under way whose SCA is not final yet. */
  function cancellationUnfinished(): boolean {
    const c = state.cancellation;
    return Boolean(c?.cancellationId) && c!.scaStatus !== 'finalised' && c!.scaStatus !== 'failed';
  }

  /** The cancellation's SCA status at the bank (a failed read: the next observation reads again). */
  async function readCancellationSca(): Promise<void> {
    const c = state.cancellation!;
    const s = await readOrUndefined(() => reads.getCancellationScaStatusAtBank(paymentId, c.cancellationId!));
    if (s) c.scaStatus = s.normalised;
  }

  const phase = () => state.phase;
  if (phase() === 'initiating') await initiate();
  if (phase() === 'outcome_unknown' && patched(PATCH_RESOLVE_UNKNOWN_OUTCOME)) await resolveUnknownOutcome();
  if (phase() === 'awaiting_sca') await awaitSca();
  if (phase() === 'active') {
    if ((await follow()) === 'continue') {
      await condition(allHandlersFinished);
      log.info('continuing as new', { paymentId, executionsResolved: state.executionsResolved });
      return continueAsNew<typeof periodicPaymentWorkflow>({ ...input, resume: state });
    }
  }
  await condition(allHandlersFinished);
  if (state.phase !== 'outcome_unknown') state.phase = 'completed';
  return state;
}

function fail(message: string): never {
  throw new Error(message);
}

function initiationFailure(error: InitiationError): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InitiationRejected', message: error.messages.map((m) => m.text ?? m.code).join('; '), nonRetryable: true, details: [error] });
}
