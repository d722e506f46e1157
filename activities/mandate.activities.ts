import { mandatePeriodDetails, mandatePeriodSummary } from '../workflows/shared/ui-metadata';
import { MONTHS, ScheduleAlreadyRunning, ScheduleNotFoundError, type CalendarSpec, type Client, type Range, type ScheduleSpec } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { OutgoingPayment } from '../libs/adapters/open-payments/types';
import type { WalletAdapters } from '../libs/adapters/registry';
import { quoteExpiry } from '../libs/adapters/open-payments';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import { intervalEnd, parseRepeatingInterval, periodContaining, periodCount, scheduleCadence, type RepeatingInterval, type ScheduleCadence } from '../libs/domain/iso8601-interval';
import type { MandatePaymentStatus, MandateStatus } from '../libs/domain/mandate';
import type { OpMandateEntity, OpMandatePaymentEntity } from '../libs/persistence/entities/op-mandate.entity';
import type { OpMandateRepository } from '../libs/persistence/op-mandate.repository';
import type { OpOutcomeResolutionRepository } from '../libs/persistence/op-outcome-resolution.repository';
import { mandateFinishUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { SecretBox } from '../libs/security/secret-box';
import {
  MANDATE_PAYMENT_WORKFLOW_TYPE,
  mandatePaymentWorkflowIdPrefix,
  mandateScheduleId,
  type MandatePaymentInput,
  type MandateTimings,
} from '../workflows/mandate.api';
import type { OutcomeDecision } from '../workflows/op-transfer.api';
import { toActivityFailure } from './bank-failure';
import { openPaymentsOutgoing, type CreateOutcome, type LookupOutcome, type PaymentTarget, type Progress } from './open-payments-outgoing';
import { isRetryAttempt, openPaymentsSession, refuser, type Refuse, type SaveGrant } from './open-payments-session';

export interface MandateActivityDeps {
  mandates: OpMandateRepository;
  /** Operators' decisions on periods whose outcome stayed unknown (audit trail). */
  resolutions: OpOutcomeResolutionRepository;
  /** The registry's wallet adapters (libs/adapters/registry.ts); `open-payments` is absent when no client identity is configured. */
  walletAdapters: Readonly<WalletAdapters>;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
  /** After a quote's expiry, how long before its payment's absence at the wallet is final (default a minute). */
  quoteExpiryMarginMs?: number;
  /** Schedules are a client API: the worker hands in a Client on its own connection. */
  temporalClient: () => Promise<Client>;
  taskQueue: string;
}

/** Runs missed by more than this (server down, worker down) are skipped, not paid late in a burst. */
export const MANDATE_CATCHUP_WINDOW = '1 hour';

const refuse: Refuse = refuser('MandateRefused');

/** The years a Temporal calendar spec accepts: February entries are spelled out within them. */
const CALENDAR_YEARS = { first: 2000, last: 2100 } as const;

/**
 * Temporal Schedule spec for one action per period of the interval (see `scheduleCadence`), at
 * the same instants as the grant's periods (`periodStart`). A calendar has no "last day of the
 * month", so a start on the 29th–31st is spelled out: the months that have that day, the 30-day
 * months on the 30th, and February on the 29th in leap years and the 28th in the others (years
 * listed, as ranges, up to the mandate's end; Temporal's calendars stop at 2100).
 */
export function mandateScheduleSpec(interval: RepeatingInterval): ScheduleSpec {
  const cadence = scheduleCadence(interval);
  if (!cadence) refuse('invalid_interval', `interval ${interval.text} has no exact schedule form`);
  const end = intervalEnd(interval);
  const bounds = { startAt: interval.start, ...(end ? { endAt: end } : {}) };
  if (cadence.kind === 'interval') return { intervals: [{ every: cadence.everyMs, offset: cadence.offsetMs }], ...bounds };
  // Temporal takes years 2000–2100 only: an open-ended mandate's Februaries are listed up to 2100.
  const fromYear = Math.max(interval.start.getUTCFullYear(), CALENDAR_YEARS.first);
  const toYear = Math.min(end ? end.getUTCFullYear() : CALENDAR_YEARS.last, CALENDAR_YEARS.last);
  return { calendars: monthlyCalendars(cadence, fromYear, toYear), timezone: 'UTC', ...bounds };
}

const daysIn = (month: number, year: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const isLeap = (year: number) => daysIn(2, year) === 29;

function monthlyCalendars(cadence: Extract<ScheduleCadence, { kind: 'calendar' }>, fromYear: number, toYear: number): CalendarSpec[] {
  const time = { hour: cadence.hour, minute: cadence.minute, second: cadence.second };
  const months: number[] = [];
  for (let m = cadence.firstMonth; m <= 12; m += cadence.monthStep) months.push(m);
  const spec = (ms: number[], dayOfMonth: number, comment: string, year?: Range<number>[]): CalendarSpec => ({
    month: ms.map((m) => MONTHS[m - 1]!),
    dayOfMonth,
    ...time,
    ...(year ? { year } : {}),
    comment,
  });
  const day = cadence.dayOfMonth;
  if (day <= 28) return [spec(months, day, 'every period')];
  // A leap year stands in for "a month's own length" outside February.
  const full = months.filter((m) => m !== 2 && daysIn(m, 2028) >= day);
  const short = months.filter((m) => m !== 2 && daysIn(m, 2028) < day);
  const calendars: CalendarSpec[] = [];
  if (full.length) calendars.push(spec(full, day, `day ${day}`));
  if (short.length) calendars.push(spec(short, 30, 'last day of 30-day months'));
  if (months.includes(2)) {
    const years = Array.from({ length: Math.max(0, toYear - fromYear + 1) }, (_, i) => fromYear + i);
    const leap = years.filter(isLeap);
    const common = years.filter((y) => !isLeap(y));
    if (leap.length) calendars.push(spec([2], 29, 'February, leap years', yearRanges(leap)));
    if (common.length) calendars.push(spec([2], 28, 'February, common years', yearRanges(common)));
  }
  return calendars;
}

/** Sorted years as few `{ start, end, step: 4 }` ranges (leap and common years both repeat every 4 years). */
export function yearRanges(years: number[]): Range<number>[] {
  const ranges: Range<number>[] = [];
  for (let residue = 0; residue < 4; residue += 1) {
    const run = years.filter((y) => y % 4 === residue);
    let start = run[0];
    for (let i = 1; i <= run.length; i += 1) {
      if (i < run.length && run[i]! - run[i - 1]! === 4) continue;
      if (start !== undefined) ranges.push({ start, end: run[i - 1]!, step: 4 });
      start = run[i];
    }
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/**
 * Mandate activities: the grant (approved once), the Schedule, and one period's payment. Each
 * step persists what it got on the mandate or period row, so a retry resumes instead of repeating.
 */
export function createMandateActivities(deps: MandateActivityDeps) {
  const op = openPaymentsSession(deps, refuse);
  const outgoing = openPaymentsOutgoing(op.client, deps.quoteExpiryMarginMs);
  const saveOn = (mandateId: string): SaveGrant => (fields) => deps.mandates.update(mandateId, fields);

  /** The sender, a working access token, and the metadata that marks a payment as this period's. */
  async function paymentTarget(mandate: OpMandateEntity, row: OpMandatePaymentEntity): Promise<PaymentTarget> {
    const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
    const token = await op.accessToken(mandate, saveOn(mandate.id), { mandateId: mandate.id });
    return { sender, token, metadata: mandate.metadata ?? {}, marker: { clearwayMandateId: mandate.id, period: row.periodStart.toISOString() } };
  }

  const savePayment = (row: OpMandatePaymentEntity) => (payment: OutgoingPayment) =>
    deps.mandates.updatePeriod(row.mandateId, row.periodStart, { outgoingPaymentUrl: payment.id, sentAmount: payment.sentAmount });

  async function load(mandateId: string): Promise<OpMandateEntity> {
    const mandate = await deps.mandates.findById(mandateId);
    if (!mandate) throw ApplicationFailure.create({ type: 'MandateNotFound', message: `Mandate ${mandateId} not found`, nonRetryable: true });
    return mandate;
  }

  async function period(mandateId: string, periodStart: string) {
    const row = await deps.mandates.findPeriod(mandateId, new Date(periodStart));
    if (!row) throw ApplicationFailure.create({ type: 'MandateNotFound', message: `Period ${periodStart} of mandate ${mandateId} not found`, nonRetryable: true });
    return row;
  }

  async function schedules() {
    return (await deps.temporalClient()).schedule;
  }

  return {
    /** Both ends must be Open Payments wallets, the amount in the sender's asset. */
    async resolveMandateWallets(mandateId: string): Promise<void> {
      const mandate = await load(mandateId);
      const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
      const { debitAmount } = mandate;
      if (debitAmount.assetCode !== sender.assetCode || debitAmount.assetScale !== sender.assetScale) {
        refuse('asset_mismatch', `debitAmount is in ${debitAmount.assetCode}/${debitAmount.assetScale}, the sender's wallet in ${sender.assetCode}/${sender.assetScale}`);
      }
      await op.wallet(mandate.receiver, 'receiver');
    },

    /** One interactive grant for every period: `limits.debitAmount` per `limits.interval`. */
    async requestMandateGrant(mandateId: string): Promise<{ interactRedirect: string }> {
      const mandate = await load(mandateId);
      if (mandate.interactRedirect) return { interactRedirect: mandate.interactRedirect };
      const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
      // No limits.receiver: it names one incoming payment, and each period pays a new one.
      return op.requestInteractiveGrant(mandate, saveOn(mandateId), {
        authServer: sender.authServer,
        // `list`: an unanswered create is looked up among the grant's payments before anything else.
        access: [{ type: 'outgoing-payment', actions: ['create', 'read', 'list'], identifier: sender.id, limits: { debitAmount: mandate.debitAmount, interval: mandate.interval } }],
        finishUri: mandateFinishUrl(deps.publicBaseUrl, deps.callbackSigner, mandateId),
      });
    },

    /** Checks the finish hash, then continues the grant for the access token. */
    async continueMandateGrant(mandateId: string, interactRef: string, hash: string): Promise<void> {
      await op.continueGrant(await load(mandateId), saveOn(mandateId), interactRef, hash, { earlierAttemptUnanswered: isRetryAttempt() });
    },

    /** `mandate-{id}`: one `mandatePaymentWorkflow` per period. Creating it twice is a no-op. */
    async createMandateSchedule(mandateId: string, timings: MandateTimings): Promise<{ scheduleId: string }> {
      const mandate = await load(mandateId);
      const interval = parseRepeatingInterval(mandate.interval);
      if (!interval) refuse('invalid_interval', `interval ${mandate.interval} does not parse`);
      const scheduleId = mandateScheduleId(mandateId);
      const args: [MandatePaymentInput] = [{ mandateId, timings }];
      try {
        await (await schedules()).create({
          scheduleId,
          spec: mandateScheduleSpec(interval),
          action: {
            type: 'startWorkflow',
            workflowType: MANDATE_PAYMENT_WORKFLOW_TYPE,
            workflowId: mandatePaymentWorkflowIdPrefix(mandateId),
            taskQueue: deps.taskQueue,
            args,
            // A period is one attempt: the run itself is never retried (its activities are, briefly).
            workflowExecutionTimeout: timings.sendDeadlineMs + 10 * 60_000,
            // What the Temporal UI shows for each period's run (no wallet addresses).
            staticSummary: mandatePeriodSummary({ mandateId, amount: mandate.debitAmount, tenantId: mandate.tenantId }),
            staticDetails: mandatePeriodDetails({ mandateId, apiBaseUrl: deps.publicBaseUrl, tenantId: mandate.tenantId }),
          },
          policies: { overlap: 'SKIP', catchupWindow: MANDATE_CATCHUP_WINDOW, pauseOnFailure: false },
          state: { ...(interval.repetitions !== undefined ? { remainingActions: periodCount(interval) } : {}), note: 'Open Payments mandate' },
        });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      await deps.mandates.update(mandateId, { scheduleId });
      return { scheduleId };
    },

    /**
     * A Schedule never fires for times before it exists: a mandate "starting now" (or earlier) would
     * pay nothing until its second period. Once the mandate is active, the period under way runs as
     * of its own start (a backfill of that one action: the run's TemporalScheduledStartTime is the
     * period's start). Nothing when that period already has a run, or none is under way.
     */
    async runMandatePeriodUnderWay(mandateId: string): Promise<{ periodStart: string | null }> {
      const mandate = await load(mandateId);
      const interval = parseRepeatingInterval(mandate.interval);
      const current = interval ? periodContaining(interval, new Date()) : undefined;
      if (!current || current.start.getTime() >= Date.now() || (await deps.mandates.findPeriod(mandateId, current.start))) return { periodStart: null };
      await (await schedules()).getHandle(mandateScheduleId(mandateId)).backfill({ start: current.start, end: new Date(current.start.getTime() + 1000), overlap: 'ALLOW_ALL' });
      return { periodStart: current.start.toISOString() };
    },

    async pauseMandateSchedule(mandateId: string): Promise<void> {
      await (await schedules()).getHandle(mandateScheduleId(mandateId)).pause('Paused by the client');
    },

    async resumeMandateSchedule(mandateId: string): Promise<void> {
      await (await schedules()).getHandle(mandateScheduleId(mandateId)).unpause('Resumed by the client');
    },

    async deleteMandateSchedule(mandateId: string): Promise<void> {
      try {
        await (await schedules()).getHandle(mandateScheduleId(mandateId)).delete();
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    },

    /** Withdraws the grant (cancel, denial, expiry): nothing more can be paid under it. */
    async revokeMandateGrant(mandateId: string): Promise<void> {
      await op.revokeGrant(await load(mandateId), saveOn(mandateId));
    },

    async recordMandateStatus(change: { mandateId: string; status: MandateStatus; reason: string | null }): Promise<void> {
      await deps.mandates.setStatus(change.mandateId, change.status, change.reason);
      deps.logger.info(change, 'mandate status changed');
    },

    /**
     * Claims the period. Nothing is paid when the mandate is not active (a manual trigger of a
     * paused Schedule still starts a run), when every payment of the interval was made, or when
     * the period was already decided by an earlier run.
     */
    async beginMandatePeriod(mandateId: string, periodStart: string): Promise<{ proceed: boolean; status: MandatePaymentStatus; reason: string | null }> {
      const mandate = await load(mandateId);
      const at = new Date(periodStart);
      const existing = await deps.mandates.findPeriod(mandateId, at);
      if (existing) return { proceed: existing.status === 'sending', status: existing.status, reason: existing.reason };
      let skip: string | undefined;
      if (mandate.status !== 'active') skip = `The mandate is ${mandate.status}`;
      const parsed = parseRepeatingInterval(mandate.interval);
      const periods = parsed && periodCount(parsed);
      if (!skip && periods !== undefined && (await deps.mandates.countPeriods(mandateId, 'completed')) >= periods) {
        skip = `All ${periods} payments of the mandate were made`;
      }
      const row = await deps.mandates.claimPeriod(mandateId, at, skip ? 'skipped' : 'sending', skip ?? null);
      return { proceed: row.status === 'sending', status: row.status, reason: row.reason };
    },

    /** At the receiver's wallet, with a non-interactive grant. */
    async createMandateIncomingPayment(mandateId: string, periodStart: string): Promise<void> {
      const row = await period(mandateId, periodStart);
      if (row.incomingPaymentUrl) return;
      const mandate = await load(mandateId);
      const receiver = await op.wallet(mandate.receiver, 'receiver');
      const token = await op.nonInteractiveToken(receiver.authServer, [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: receiver.id }]);
      const incoming = await op.client()
        .createIncomingPayment(receiver.resourceServer, token, {
          // No expiresAt: the wallet's default, on the wallet's own clock.
          walletAddress: receiver.id,
          metadata: { clearwayMandateId: mandateId, period: periodStart },
        })
        .catch(toActivityFailure);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { incomingPaymentUrl: incoming.id });
    },

    /** A quote for the period's debit amount; a fresh one when the previous expired before the payment. */
    async createMandateQuote(mandateId: string, periodStart: string): Promise<void> {
      const row = await period(mandateId, periodStart);
      if (row.outgoingPaymentUrl) return;
      if (row.quoteUrl && (!row.quoteExpiresAt || row.quoteExpiresAt.getTime() > Date.now() + 5_000)) return;
      // Once a payment was requested, a new quote could pay a second time: never.
      if (row.paymentRequestedAt) refuse('payment_requested', 'A payment was already requested with the period\'s quote');
      const mandate = await load(mandateId);
      const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
      const token = await op.nonInteractiveToken(sender.authServer, [{ type: 'quote', actions: ['create', 'read'] }]);
      const quote = await op.client()
        .createQuote(sender.resourceServer, token, { walletAddress: sender.id, receiver: row.incomingPaymentUrl!, debitAmount: mandate.debitAmount })
        .catch(toActivityFailure);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { quoteUrl: quote.id, quoteExpiresAt: quoteExpiry(quote, Date.now()) ?? null });
    },

    /**
     * Exactly once per period, without trusting the wallet to deduplicate (open-payments-outgoing.ts).
     * A limit breach (403) is the wallet refusing the only request: `refused`, final for the period.
     */
    async createMandateOutgoingPayment(mandateId: string, periodStart: string): Promise<CreateOutcome> {
      const row = await period(mandateId, periodStart);
      if (row.outgoingPaymentUrl) return { outcome: 'created' };
      const mandate = await load(mandateId);
      return outgoing.createOrAdopt(await paymentTarget(mandate, row), row, {
        idempotencyKey: deriveUuid(CLEARWAY_ID_NAMESPACE, mandateId, 'mandate-outgoing-payment', row.periodStart.toISOString()),
        markRequested: () => deps.mandates.updatePeriod(mandateId, row.periodStart, { paymentRequestedAt: new Date() }),
        save: savePayment(row),
      });
    },

    /** Is the period's payment at the wallet? `absent` only once its quote can no longer pay. */
    async findMandateOutgoingPayment(mandateId: string, periodStart: string): Promise<LookupOutcome> {
      const row = await period(mandateId, periodStart);
      if (row.outgoingPaymentUrl) return { outcome: 'found' };
      return outgoing.find(async () => paymentTarget(await load(mandateId), row), row, savePayment(row));
    },

    async getMandatePaymentProgress(mandateId: string, periodStart: string): Promise<Progress> {
      const row = await period(mandateId, periodStart);
      const mandate = await load(mandateId);
      const token = await op.accessToken(mandate, saveOn(mandateId), { mandateId });
      return outgoing.progress(row.outgoingPaymentUrl!, token, savePayment(row), () => op.receivedOn(mandate.receiver, row.incomingPaymentUrl!));
    },

    /** Completes the period's incoming payment at the receiver: nothing more is coming to it. */
    async closeMandateIncomingPayment(mandateId: string, periodStart: string): Promise<void> {
      const row = await period(mandateId, periodStart);
      if (!row.incomingPaymentUrl || row.incomingPaymentClosedAt) return;
      await op.closeIncomingPayment((await load(mandateId)).receiver, row.incomingPaymentUrl);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { incomingPaymentClosedAt: new Date() });
    },

    /**
     * Periods whose outcome stayed unknown, looked up again (each new period run starts with it):
     * found and settled at the wallet → completed or failed; ruled out → failed; else still unknown.
     */
    async settleUnknownMandatePeriods(mandateId: string): Promise<{ settled: number; unknown: number }> {
      const mandate = await load(mandateId);
      const open = (await deps.mandates.listPeriods(mandateId)).filter((p) => p.status === 'unknown');
      let settled = 0;
      for (const row of open) {
        const found = await outgoing.find(() => paymentTarget(mandate, row), row, savePayment(row));
        let status: MandatePaymentStatus | undefined;
        let reason: string | null = null;
        if (found.outcome === 'absent') [status, reason] = ['failed', found.reason];
        if (found.outcome === 'found') {
          const current = (await period(mandateId, row.periodStart.toISOString()));
          const token = await op.accessToken(mandate, saveOn(mandateId), { mandateId });
          const progress = await outgoing.progress(current.outgoingPaymentUrl!, token, savePayment(row), () => op.receivedOn(mandate.receiver, row.incomingPaymentUrl!));
          if (progress.failed) [status, reason] = ['failed', 'The outgoing payment failed at the sender’s wallet'];
          else if (progress.complete) status = 'completed';
        }
        if (!status) continue;
        await deps.mandates.updatePeriod(mandateId, row.periodStart, { status, reason });
        settled += 1;
        deps.logger.info({ mandateId, periodStart: row.periodStart.toISOString(), status }, 'unknown mandate period settled by a lookup');
      }
      return { settled, unknown: open.length - settled };
    },

    /**
     * An operator's ruling on a period that stayed unknown: `paid` names the wallet's payment (it must
     * be this period's, read with the mandate's grant) and completes the period; `not_paid` fails it.
     * Audit first, then the period's status. Refused unless the period is unknown.
     */
    async ruleOnMandatePeriod(mandateId: string, periodStart: string, ruling: OutcomeDecision): Promise<{ status: MandatePaymentStatus }> {
      const mandate = await load(mandateId);
      const row = await period(mandateId, periodStart);
      if (row.status !== 'unknown') refuse('not_unknown', `The period of ${periodStart} is ${row.status}, not unknown`);
      if (ruling.decision === 'paid') {
        const { token } = await paymentTarget(mandate, row);
        const payment = await op.client().getOutgoingPayment(ruling.outgoingPaymentUrl, token).catch(toActivityFailure);
        const ours = (row.quoteUrl !== null && payment.quoteId === row.quoteUrl) || (payment.metadata?.clearwayMandateId === mandateId && payment.metadata?.period === row.periodStart.toISOString());
        if (!ours) refuse('not_this_payment', `${ruling.outgoingPaymentUrl} is not this period's outgoing payment`);
        await savePayment(row)(payment);
      }
      await deps.resolutions.record({
        resolutionKey: `mandate:${mandateId}:${row.periodStart.toISOString()}`,
        tenantId: mandate.tenantId,
        mandateId,
        periodStart: row.periodStart,
        decision: ruling.decision,
        outgoingPaymentUrl: ruling.decision === 'paid' ? ruling.outgoingPaymentUrl : null,
        operator: ruling.operator,
        note: ruling.note,
      });
      const status: MandatePaymentStatus = ruling.decision === 'paid' ? 'completed' : 'failed';
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { status, reason: `${ruling.decision === 'paid' ? 'Confirmed' : 'Ruled out'} by ${ruling.operator}: ${ruling.note}` });
      deps.logger.warn({ mandateId, periodStart, decision: ruling.decision }, 'operator resolved an unknown mandate period');
      return { status };
    },

    async recordMandatePeriod(change: { mandateId: string; periodStart: string; status: MandatePaymentStatus; reason: string | null }): Promise<void> {
      await deps.mandates.updatePeriod(change.mandateId, new Date(change.periodStart), { status: change.status, reason: change.reason });
      deps.logger.info(change, 'mandate period recorded');
    },
  };
}

export type MandateActivities = ReturnType<typeof createMandateActivities>;
