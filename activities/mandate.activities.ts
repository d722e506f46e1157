import { MONTHS, ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleSpec } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { OpenPaymentsAdapter } from '../libs/adapters/open-payments/types';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import { intervalEnd, parseRepeatingInterval, scheduleCadence, type RepeatingInterval } from '../libs/domain/iso8601-interval';
import type { MandatePaymentStatus, MandateStatus } from '../libs/domain/mandate';
import type { OpMandateEntity } from '../libs/persistence/entities/op-mandate.entity';
import type { OpMandateRepository } from '../libs/persistence/op-mandate.repository';
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
import { toActivityFailure } from './bank-failure';
import { openPaymentsSession, refuser, type Refuse, type SaveGrant } from './open-payments-session';

export interface MandateActivityDeps {
  mandates: OpMandateRepository;
  openPayments?: OpenPaymentsAdapter;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
  /** Schedules are a client API: the worker hands in a Client on its own connection. */
  temporalClient: () => Promise<Client>;
  taskQueue: string;
}

/** Runs missed by more than this (server down, worker down) are skipped, not paid late in a burst. */
export const MANDATE_CATCHUP_WINDOW = '1 hour';

const refuse: Refuse = refuser('MandateRefused');

/** Temporal Schedule spec for one action per period of the interval (see `scheduleCadence`). */
export function mandateScheduleSpec(interval: RepeatingInterval): ScheduleSpec {
  const cadence = scheduleCadence(interval);
  if (!cadence) refuse('invalid_interval', `interval ${interval.text} has no exact schedule form`);
  const end = intervalEnd(interval);
  const bounds = { startAt: interval.start, ...(end ? { endAt: end } : {}) };
  if (cadence.kind === 'interval') return { intervals: [{ every: cadence.everyMs, offset: cadence.offsetMs }], ...bounds };
  return {
    calendars: [
      {
        month: { start: MONTHS[cadence.firstMonth - 1]!, end: 'DECEMBER', step: cadence.monthStep },
        dayOfMonth: cadence.dayOfMonth,
        hour: cadence.hour,
        minute: cadence.minute,
        second: cadence.second,
      },
    ],
    timezone: 'UTC',
    ...bounds,
  };
}

/**
 * Mandate activities: the grant (approved once), the Schedule, and one period's payment. Each
 * step persists what it got on the mandate or period row, so a retry resumes instead of repeating.
 */
export function createMandateActivities(deps: MandateActivityDeps) {
  const op = openPaymentsSession(deps, refuse);
  const saveOn = (mandateId: string): SaveGrant => (fields) => deps.mandates.update(mandateId, fields);

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
        access: [{ type: 'outgoing-payment', actions: ['create', 'read'], identifier: sender.id, limits: { debitAmount: mandate.debitAmount, interval: mandate.interval } }],
        finishUri: mandateFinishUrl(deps.publicBaseUrl, deps.callbackSigner, mandateId),
      });
    },

    /** Checks the finish hash, then continues the grant for the access token. */
    async continueMandateGrant(mandateId: string, interactRef: string, hash: string): Promise<void> {
      await op.continueGrant(await load(mandateId), saveOn(mandateId), interactRef, hash);
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
          },
          policies: { overlap: 'SKIP', catchupWindow: MANDATE_CATCHUP_WINDOW, pauseOnFailure: false },
          state: { ...(interval.repetitions !== undefined ? { remainingActions: interval.repetitions } : {}), note: 'Open Payments mandate' },
        });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      await deps.mandates.update(mandateId, { scheduleId });
      return { scheduleId };
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
      const repetitions = parseRepeatingInterval(mandate.interval)?.repetitions;
      if (!skip && repetitions !== undefined && (await deps.mandates.countPeriods(mandateId, 'completed')) >= repetitions) {
        skip = `All ${repetitions} payments of the mandate were made`;
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
      const mandate = await load(mandateId);
      const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
      const token = await op.nonInteractiveToken(sender.authServer, [{ type: 'quote', actions: ['create', 'read'] }]);
      const quote = await op.client()
        .createQuote(sender.resourceServer, token, { walletAddress: sender.id, receiver: row.incomingPaymentUrl!, debitAmount: mandate.debitAmount })
        .catch(toActivityFailure);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { quoteUrl: quote.id, quoteExpiresAt: quote.expiresAt ? new Date(quote.expiresAt) : null });
    },

    /**
     * Exactly once per period: the Idempotency-Key is derived from the mandate and the period. A
     * limit breach (403) comes back as BankRejected, which the workflow treats as final.
     */
    async createMandateOutgoingPayment(mandateId: string, periodStart: string): Promise<void> {
      const row = await period(mandateId, periodStart);
      if (row.outgoingPaymentUrl) return;
      const mandate = await load(mandateId);
      const sender = await op.wallet(mandate.senderWalletAddress, 'sender');
      const token = await op.accessToken(mandate, saveOn(mandate.id), { mandateId: mandate.id });
      const payment = await op.client()
        .createOutgoingPayment(
          sender.resourceServer,
          token,
          { walletAddress: sender.id, quoteId: row.quoteUrl!, metadata: { clearwayMandateId: mandateId, period: periodStart, ...(mandate.metadata ?? {}) } },
          deriveUuid(CLEARWAY_ID_NAMESPACE, mandateId, 'mandate-outgoing-payment', row.periodStart.toISOString()),
        )
        .catch(toActivityFailure);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { outgoingPaymentUrl: payment.id, sentAmount: payment.sentAmount });
    },

    async getMandatePaymentProgress(mandateId: string, periodStart: string): Promise<{ complete: boolean; failed: boolean }> {
      const row = await period(mandateId, periodStart);
      const token = await op.accessToken(await load(mandateId), saveOn(mandateId), { mandateId });
      const payment = await op.client().getOutgoingPayment(row.outgoingPaymentUrl!, token).catch(toActivityFailure);
      await deps.mandates.updatePeriod(mandateId, row.periodStart, { sentAmount: payment.sentAmount });
      return { complete: BigInt(payment.sentAmount.value) >= BigInt(payment.debitAmount.value), failed: payment.failed };
    },

    async recordMandatePeriod(change: { mandateId: string; periodStart: string; status: MandatePaymentStatus; reason: string | null }): Promise<void> {
      await deps.mandates.updatePeriod(change.mandateId, new Date(change.periodStart), { status: change.status, reason: change.reason });
      deps.logger.info(change, 'mandate period recorded');
    },
  };
}

export type MandateActivities = ReturnType<typeof createMandateActivities>;
