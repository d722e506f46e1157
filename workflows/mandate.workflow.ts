import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { ApplicationFailure, allHandlersFinished, condition, log, patched, proxyActivities, setCurrentDetails, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { MandateActivities } from '../activities/mandate.activities';
import { intervalEnd, legacyIntervalEnd, parseRepeatingInterval } from '../libs/domain/iso8601-interval';
import { isFinalMandateStatus as isFinal, type MandateStatus } from '../libs/domain/mandate';
import { isGrantApproved } from '../libs/domain/open-payments';
import {
  MANDATE_FIRST_PERIOD_PATCH,
  MANDATE_INTERVAL_PERIODS_PATCH,
  MANDATE_PERIOD_OUTCOMES_PATCH,
  cancelMandateUpdate,
  grantFinishSignal,
  mandateAuthorisationUpdate,
  mandateStateQuery,
  pauseMandateUpdate,
  resolveMandatePeriodUpdate,
  resumeMandateUpdate,
  type GrantFinish,
  type MandatePaymentInput,
  type MandateRefusal,
  type MandateState,
  type MandateWorkflowInput,
} from './mandate.api';
import { checkOutcomeDecision } from './op-transfer.api';
import { openPaymentsRefusalOf, readOrUndefined } from './shared/failures';
import { RETRY, retryPolicy } from './shared/retry-policies';
import { STATUS_VIEW_DESCRIPTION, statusViewQuery } from './shared/status-view';
import { activitySummary, clock, duration, phrases } from './shared/ui-metadata';

const label = (what: string, attempt?: number) => ({ summary: activitySummary(what, { attempt }) });

const steps = proxyActivities<MandateActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '2m',
  retry: retryPolicy({ initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' }),
});

/** Within one period only: transient errors are retried for a few minutes, never into the next period. */
const paying = proxyActivities<MandateActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: RETRY.bankStep,
});

/** Progress reads inside a loop that reads again until the deadline. */
const progressReads = proxyActivities<MandateActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

const records = proxyActivities<MandateActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/** Looking an unanswered payment up: a listing may take many pages; the caller looks again later. */
const lookups = proxyActivities<MandateActivities>({
  startToCloseTimeout: '2m',
  retry: RETRY.bankRead,
});

/** Completing the receiver's incoming payment: tidying up after the outcome, never changing it. */
const tidying = proxyActivities<MandateActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }),
});

/** An operator's ruling: a refusal (not unknown, not this period's payment) is the answer, not retried. */
const rulings = proxyActivities<MandateActivities>({
  startToCloseTimeout: '30s',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 }),
});


/** The Schedule's nominal time of the run, which Temporal sets on every run it starts (scheduled, triggered or backfilled). */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Longest single timer: the mandate's end can be years away. */
const MAX_TIMER_MS = 24 * 3600_000 * 30;

/**
 * The mandate as an entity: resolve the wallets → interactive grant with the interval limit (the
 * PSU approves once) → continue the grant → create the `mandate-{id}` Schedule → stay alive as
 * the single writer of the mandate's status: pause, resume and cancel go through its updates, so
 * they are serialized with each other and with the approval; at the interval's end it expires.
 * The payments themselves are the Schedule's `mandatePaymentWorkflow` runs.
 */
export async function mandateWorkflow(input: MandateWorkflowInput): Promise<MandateState> {
  const { mandateId, timings } = input;
  const state: MandateState = { status: 'awaiting_authorisation' };
  let finish: GrantFinish | undefined;
  let cancelRequested = false;
  let busy = false;

  setHandler(mandateStateQuery, () => state);

  /** The Temporal UI's current details: the live phase in words (never PII). */
  let details = '';
  let grantWaitSince = Date.now();
  const show = () => {
    switch (state.status) {
      case 'awaiting_authorisation':
        details = phrases.waitingForSca({ sinceMs: grantWaitSince, timesOutAtMs: grantWaitSince + timings.grantWindowMs, approach: 'interactive grant at the wallet' });
        break;
      case 'active':
        details = phrases.text(`Active: the Schedule mandate-${mandateId} pays each period (${input.interval.split('/')[2] ?? input.interval})`);
        break;
      case 'paused':
        details = phrases.text(`Paused: the Schedule mandate-${mandateId} is paused; periods that arrive are recorded as skipped`);
        break;
      default:
        details = phrases.final(state.status, state.statusReason);
    }
    setCurrentDetails(details);
  };
  setHandler(
    statusViewQuery,
    () => ({ resource: 'mandate', id: mandateId, phase: state.status, details, api: { status: state.status, reason: state.statusReason }, href: `/openpayments/v1/mandates/${mandateId}` }),
    { description: STATUS_VIEW_DESCRIPTION },
  );
  show();

  setHandler(mandateAuthorisationUpdate, async () => {
    await condition(() => state.interactRedirect !== undefined || state.refusal !== undefined || isFinal(state.status));
    if (state.refusal) throw ApplicationFailure.create({ type: 'MandateRefused', message: state.refusal.message, nonRetryable: true, details: [state.refusal] });
    if (!state.interactRedirect) throw ApplicationFailure.create({ type: 'MandateRefused', message: `Mandate is ${state.status}`, nonRetryable: true });
    return { status: state.status, interactRedirect: state.interactRedirect };
  });

  setHandler(grantFinishSignal, (f) => {
    finish ??= f;
  });

  /** One schedule change at a time; the status is written only after the Schedule agrees. */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  }

  const only = (allowed: MandateStatus[], action: string) => () => {
    if (!allowed.includes(state.status)) throw new Error(`A mandate cannot be ${action} when ${state.status.replace('_', ' ')}`);
  };

  setHandler(
    pauseMandateUpdate,
    () =>
      exclusive(async () => {
        if (state.status === 'active') {
          await records.pauseMandateSchedule.executeWithOptions(label('Pause the Schedule'), [mandateId]);
          await setStatus('paused', 'Paused by the client');
        }
        return { status: state.status };
      }),
    { validator: only(['active', 'paused'], 'paused') },
  );

  setHandler(
    resumeMandateUpdate,
    () =>
      exclusive(async () => {
        if (state.status === 'paused') {
          await records.resumeMandateSchedule.executeWithOptions(label('Resume the Schedule'), [mandateId]);
          await setStatus('active');
        }
        return { status: state.status };
      }),
    { validator: only(['active', 'paused'], 'resumed') },
  );

  setHandler(
    resolveMandatePeriodUpdate,
    async ({ periodStart, ...ruling }) => {
      const { status } = await rulings.ruleOnMandatePeriod.executeWithOptions(label(`Record the operator's ruling on ${periodStart}`), [mandateId, periodStart, ruling]);
      try {
        await tidying.closeMandateIncomingPayment.executeWithOptions(label('Complete the incoming payment'), [mandateId, periodStart]);
      } catch (err) {
        log.warn('Completing the incoming payment failed; it will expire at the wallet', { mandateId, error: (err as Error).message });
      }
      return { periodStart, status };
    },
    {
      validator: ({ periodStart, ...ruling }) => {
        checkOutcomeDecision(ruling);
        if (typeof periodStart !== 'string' || Number.isNaN(Date.parse(periodStart))) throw new Error('periodStart must be the period\'s start as GET shows it');
      },
    },
  );

  setHandler(
    cancelMandateUpdate,
    async () => {
      cancelRequested = true;
      await condition(() => isFinal(state.status));
      return { status: state.status };
    },
    { validator: only(['awaiting_authorisation', 'active', 'paused', 'cancelled'], 'cancelled') },
  );

  /** Stored first, so an update that answers once the state changes never gets ahead of GET. */
  async function setStatus(status: MandateStatus, reason?: string): Promise<void> {
    await records.recordMandateStatus.executeWithOptions(label(`Record status ${status}`), [{ mandateId, status, reason: reason ?? null }]);
    state.status = status;
    state.statusReason = reason;
    show();
  }

  /** Ends the mandate: the Schedule goes, and the grant is revoked so nothing can be paid under it later. */
  async function end(status: MandateStatus, reason: string, scheduled: boolean): Promise<MandateState> {
    await exclusive(async () => {
      if (scheduled) await records.deleteMandateSchedule.executeWithOptions(label('Delete the Schedule'), [mandateId]);
      try {
        await records.revokeMandateGrant.executeWithOptions(label('Revoke the grant'), [mandateId]);
      } catch (err) {
        log.warn('Grant revocation failed', { mandateId, error: (err as Error).message });
      }
      await setStatus(status, reason);
    });
    await condition(allHandlersFinished);
    return state;
  }

  // 1–2: up to the PSU's approval.
  try {
    await steps.resolveMandateWallets.executeWithOptions(label('Resolve the wallet addresses'), [mandateId]);
    const grant = await steps.requestMandateGrant.executeWithOptions(label('Request the interactive grant'), [mandateId]);
    state.interactRedirect = grant.interactRedirect;
    grantWaitSince = Date.now();
    show();
  } catch (err) {
    state.refusal = refusalOf(err);
    return end('failed', state.refusal.message, false);
  }

  // 3: the PSU decides at their wallet, within the grant window.
  const decided = await condition(() => finish !== undefined || cancelRequested, timings.grantWindowMs, { summary: 'Grant window (PSU approval timeout)' });
  if (cancelRequested) return end('cancelled', 'Cancelled by the client', false);
  if (!decided) return end('expired', `The PSU did not approve within ${Math.round(timings.grantWindowMs / 1000)}s`, false);
  const approval = finish!;
  if (!isGrantApproved(approval)) return end('rejected', 'The PSU denied the mandate', false);
  try {
    await steps.continueMandateGrant.executeWithOptions(label('Continue the grant'), [mandateId, approval.interactRef, approval.hash ?? '']);
    await steps.createMandateSchedule.executeWithOptions(label('Create the Schedule'), [mandateId, timings]);
  } catch (err) {
    return end('failed', refusalOf(err).message, true);
  }
  await setStatus('active');
  // The period under way (a mandate "starting now") runs at once; only now, so its run finds the mandate active.
  if (patched(MANDATE_FIRST_PERIOD_PATCH)) {
    try {
      await records.runMandatePeriodUnderWay.executeWithOptions(label('Run the period under way'), [mandateId]);
    } catch (err) {
      log.warn('The period under way could not be started; the next one runs on schedule', { mandateId, error: (err as Error).message });
    }
  }

  // 4: alive until cancelled or past the interval's last period.
  const interval = parseRepeatingInterval(input.interval);
  const endsAt = interval ? (patched(MANDATE_INTERVAL_PERIODS_PATCH) ? intervalEnd(interval) : legacyIntervalEnd(interval))?.getTime() : undefined;
  for (;;) {
    const remaining = endsAt === undefined ? undefined : endsAt - Date.now();
    if (remaining !== undefined && remaining <= 0) return end('expired', 'Every period of the mandate has passed', true);
    const wake = remaining === undefined ? undefined : Math.min(remaining, MAX_TIMER_MS);
    const summary = wake === remaining ? 'Until the mandate\'s last period has passed' : 'Until the next check of the mandate\'s end';
    if (wake === undefined ? (await condition(() => cancelRequested), true) : await condition(() => cancelRequested, wake, { summary })) {
      return end('cancelled', 'Cancelled by the client', true);
    }
  }
}

/**
 * One period's payment, started by the mandate's Schedule: incoming payment at the receiver →
 * quote → outgoing payment under the mandate's grant → poll until sent → record the period.
 * Never retried as a whole: a failed period is recorded as failed and the next period is the
 * Schedule's next run. A 403 (limit exceeded) from the wallet is final for the period.
 */
export async function mandatePaymentWorkflow(input: MandatePaymentInput): Promise<{ periodStart: string; status: string; reason: string | null }> {
  const { mandateId, timings } = input;
  const periodStart = scheduledTime().toISOString();
  const outcomes = patched(MANDATE_PERIOD_OUTCOMES_PATCH);
  let details = phrases.text(`Paying the period from ${periodStart}`);
  let periodStatus = 'sending';
  let periodReason: string | null = null;
  const show = (text: string) => {
    details = text;
    setCurrentDetails(text);
  };
  setHandler(
    statusViewQuery,
    () => ({
      resource: 'mandate-period',
      id: `${mandateId}/${periodStart}`,
      phase: periodStatus,
      details,
      api: { periodStart, status: periodStatus, reason: periodReason },
      href: `/openpayments/v1/mandates/${mandateId}`,
    }),
    { description: STATUS_VIEW_DESCRIPTION },
  );
  show(details);
  /** Decides the period; `close`: nothing is, or will be, on its way to the period's incoming payment. */
  const record = async (status: 'completed' | 'failed' | 'unknown', reason: string | null, close = false) => {
    if (close && outcomes) {
      try {
        await tidying.closeMandateIncomingPayment.executeWithOptions(label('Complete the incoming payment'), [mandateId, periodStart]);
      } catch (err) {
        log.warn('Completing the incoming payment failed; it will expire at the wallet', { mandateId, error: (err as Error).message });
      }
    }
    await records.recordMandatePeriod.executeWithOptions(label(`Record the period ${status}`), [{ mandateId, periodStart, status, reason }]);
    periodStatus = status;
    periodReason = reason;
    show(status === 'unknown' ? phrases.outcomeUnknown({ reason: reason ?? 'not confirmed', resolution: "later periods look it up again; an operator may use resolveMandatePeriod" }) : phrases.final(status, reason ?? undefined));
    return { periodStart, status, reason };
  };

  // Earlier periods left unknown get another lookup first (best effort: their own run is over).
  if (outcomes) await readOrUndefined(() => lookups.settleUnknownMandatePeriods.executeWithOptions(label('Look up earlier unknown periods'), [mandateId]));

  const begun = await records.beginMandatePeriod.executeWithOptions(label('Claim the period'), [mandateId, periodStart]);
  if (!begun.proceed) {
    periodStatus = begun.status;
    periodReason = begun.reason;
    show(phrases.final(begun.status, begun.reason ?? undefined));
    return { periodStart, status: begun.status, reason: begun.reason };
  }

  if (!outcomes) return legacyPay();

  try {
    await paying.createMandateIncomingPayment.executeWithOptions(label('Create the incoming payment at the receiver'), [mandateId, periodStart]);
    await paying.createMandateQuote.executeWithOptions(label('Quote at the sender'), [mandateId, periodStart]);
  } catch (err) {
    return record('failed', refusalOf(err).message, true);
  }
  let created: Awaited<ReturnType<MandateActivities['createMandateOutgoingPayment']>> | undefined;
  let unanswered = 'The wallet did not confirm the outgoing payment';
  try {
    created = await paying.createMandateOutgoingPayment.executeWithOptions(label('Create the outgoing payment'), [mandateId, periodStart]);
  } catch (err) {
    unanswered = `${unanswered} (${refusalOf(err).message})`;
  }
  // A refusal of the only request (e.g. 403 over the grant's limit for the interval): final for the period.
  if (created?.outcome === 'refused') return record('failed', created.message, true);

  const deadline = Date.now() + timings.sendDeadlineMs;
  if (created?.outcome !== 'created') {
    const reason = created?.outcome === 'ambiguous' ? created.reason : unanswered;
    let wait = timings.sendPollInitialMs;
    let n = 0;
    show(phrases.outcomeUnknown({ reason, resolution: `looking it up at the wallet until ${clock(deadline)}` }));
    for (;;) {
      n += 1;
      const found = await readOrUndefined(() => lookups.findMandateOutgoingPayment.executeWithOptions(label('Look up the outgoing payment', n), [mandateId, periodStart]));
      if (found?.outcome === 'found') break;
      if (found?.outcome === 'absent') return record('failed', found.reason, true);
      // The run ends at the deadline; later period runs and an operator settle it from there.
      if (Date.now() >= deadline) return record('unknown', `${reason}; not found at the wallet yet`);
      await sleep(Math.min(found?.outcome === 'not_yet' ? Math.max(wait, found.retryInMs) : wait, Math.max(1, deadline - Date.now())), { summary: `Wait before lookup ${n + 1}` });
      wait = Math.min(wait * 2, timings.sendPollMaxMs);
    }
  }

  let wait = timings.sendPollInitialMs;
  let check = 0;
  for (;;) {
    check += 1;
    // The payment exists: a wallet that does not answer for a while is asked again, not given up on.
    const progress = await readOrUndefined(() => progressReads.getMandatePaymentProgress.executeWithOptions(label('Check the outgoing payment', check), [mandateId, periodStart]));
    if (progress?.failed) return record('failed', 'The outgoing payment failed at the sender’s wallet', true);
    if (progress?.complete) return record('completed', null, true);
    if (Date.now() >= deadline) return record('unknown', 'The wallet has not confirmed the payment as sent, nor as failed, by the deadline');
    const pause = Math.min(wait, Math.max(1, deadline - Date.now()));
    show(phrases.text(`Sending: following the outgoing payment at the sender's wallet, next check in ${duration(pause)}`));
    await sleep(pause, { summary: `Wait before check ${check + 1}` });
    wait = Math.min(wait * 2, timings.sendPollMaxMs);
  }

  /** Runs started before MANDATE_PERIOD_OUTCOMES_PATCH: exactly the commands they recorded. */
  async function legacyPay() {
    try {
      await paying.createMandateIncomingPayment(mandateId, periodStart);
      await paying.createMandateQuote(mandateId, periodStart);
      const created = await paying.createMandateOutgoingPayment(mandateId, periodStart);
      if (created && created.outcome !== 'created') return record('failed', created.outcome === 'refused' ? created.message : created.reason);
    } catch (err) {
      return record('failed', refusalOf(err).message);
    }
    const deadline = Date.now() + timings.sendDeadlineMs;
    let wait = timings.sendPollInitialMs;
    for (;;) {
      const progress = await readOrUndefined(() => progressReads.getMandatePaymentProgress(mandateId, periodStart));
      if (progress?.failed) return record('failed', 'The outgoing payment failed at the sender’s wallet');
      if (progress?.complete) return record('completed', null);
      if (Date.now() >= deadline) return record('failed', 'The payment was not fully sent before the deadline');
      await sleep(Math.min(wait, deadline - Date.now()));
      wait = Math.min(wait * 2, timings.sendPollMaxMs);
    }
  }
}

/**
 * The Schedule action's nominal time, from the `TemporalScheduledStartTime` search attribute the
 * Schedule sets on every run it starts (scheduled, triggered or backfilled). Outside a Schedule
 * (tests), the run's start time.
 */
function scheduledTime(): Date {
  const info = workflowInfo();
  return info.typedSearchAttributes.get(SCHEDULED_START_TIME) ?? info.startTime;
}

function refusalOf(err: unknown): MandateRefusal {
  return openPaymentsRefusalOf(err, 'MandateRefused', 'The mandate failed');
}
