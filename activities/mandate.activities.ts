import { randomBytes } from 'node:crypto';
import { MONTHS, ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleSpec } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { isBankError } from '../libs/adapters/bank-adapter';
import { grantEndpoint, verifyInteractionHash } from '../libs/adapters/open-payments';
import type { OpAccessToken, OpenPaymentsAdapter, WalletAddress } from '../libs/adapters/open-payments/types';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import { intervalEnd, parseRepeatingInterval, scheduleCadence, type RepeatingInterval } from '../libs/domain/iso8601-interval';
import type { MandatePaymentStatus, MandateStatus } from '../libs/domain/mandate';
import type { OpMandateEntity } from '../libs/persistence/entities/op-mandate.entity';
import type { OpMandateRepository } from '../libs/persistence/op-mandate.repository';
import { mandateFinishUrl } from '../libs/security/callback-state';
import type { SecretBox } from '../libs/security/secret-box';
import {
  MANDATE_PAYMENT_WORKFLOW_TYPE,
  mandatePaymentWorkflowIdPrefix,
  mandateScheduleId,
  type MandatePaymentInput,
  type MandateTimings,
} from '../workflows/mandate.api';
import { toActivityFailure } from './bank-failure';

export interface MandateActivityDeps {
  mandates: OpMandateRepository;
  openPayments?: OpenPaymentsAdapter;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSecret: string;
  logger: Logger;
  /** Schedules are a client API: the worker hands in a Client on its own connection. */
  temporalClient: () => Promise<Client>;
  taskQueue: string;
}

const ACCESS_TOKEN = 'op-access-token';
const CONTINUE_TOKEN = 'op-continue-token';
const TOKEN_REFRESH_MARGIN_MS = 30_000;
/** Runs missed by more than this (server down, worker down) are skipped, not paid late in a burst. */
export const MANDATE_CATCHUP_WINDOW = '1 hour';

function refuse(code: string, message: string): never {
  throw ApplicationFailure.create({ type: 'MandateRefused', message, nonRetryable: true, details: [{ httpStatus: 400, code, message }] });
}

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
  function client(): OpenPaymentsAdapter {
    if (!deps.openPayments) refuse('not_configured', 'This deployment has no Open Payments client identity (OPEN_PAYMENTS_* settings)');
    return deps.openPayments;
  }

  async function load(mandateId: string): Promise<OpMandateEntity> {
    const mandate = await deps.mandates.findById(mandateId);
    if (!mandate) throw ApplicationFailure.create({ type: 'MandateNotFound', message: `Mandate ${mandateId} not found`, nonRetryable: true });
    return mandate;
  }

  async function wallet(url: string, role: 'sender' | 'receiver'): Promise<WalletAddress> {
    try {
      return await client().getWalletAddress(url);
    } catch (err) {
      if (isBankError(err) && err.kind !== 'unavailable' && err.kind !== 'rate_limited') refuse(`invalid_${role}`, `The ${role} ${url} is not an Open Payments wallet address`);
      throw toActivityFailure(err);
    }
  }

  async function nonInteractiveToken(authServer: string, access: Parameters<OpenPaymentsAdapter['requestGrant']>[1]['access']): Promise<string> {
    const grant = await client().requestGrant(authServer, { access }).catch(toActivityFailure);
    if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet asked for interaction on a non-interactive grant');
    return grant.accessToken.value;
  }

  async function storeAccessToken(mandateId: string, token: OpAccessToken): Promise<void> {
    await deps.mandates.update(mandateId, {
      accessTokenSealed: deps.secrets.seal(token.value, ACCESS_TOKEN),
      accessTokenManageUrl: token.manage,
      accessTokenExpiresAt: token.expiresIn ? new Date(Date.now() + token.expiresIn * 1000) : null,
    });
  }

  /** The mandate's outgoing-payment token, rotated first when it is about to expire. */
  async function accessToken(mandate: OpMandateEntity): Promise<string> {
    if (!mandate.accessTokenSealed || !mandate.accessTokenManageUrl) refuse('not_authorised', 'The mandate is not authorised (or its grant was revoked)');
    const current: OpAccessToken = { value: deps.secrets.open(mandate.accessTokenSealed, ACCESS_TOKEN), manage: mandate.accessTokenManageUrl };
    if (!mandate.accessTokenExpiresAt || mandate.accessTokenExpiresAt.getTime() - Date.now() > TOKEN_REFRESH_MARGIN_MS) return current.value;
    const rotated = await client().rotateToken(current).catch(toActivityFailure);
    await storeAccessToken(mandate.id, rotated);
    deps.logger.info({ mandateId: mandate.id }, 'mandate access token rotated');
    return rotated.value;
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
      const sender = await wallet(mandate.senderWalletAddress, 'sender');
      const { debitAmount } = mandate;
      if (debitAmount.assetCode !== sender.assetCode || debitAmount.assetScale !== sender.assetScale) {
        refuse('asset_mismatch', `debitAmount is in ${debitAmount.assetCode}/${debitAmount.assetScale}, the sender's wallet in ${sender.assetCode}/${sender.assetScale}`);
      }
      await wallet(mandate.receiver, 'receiver');
    },

    /** One interactive grant for every period: `limits.debitAmount` per `limits.interval`. */
    async requestMandateGrant(mandateId: string): Promise<{ interactRedirect: string }> {
      const mandate = await load(mandateId);
      if (mandate.interactRedirect) return { interactRedirect: mandate.interactRedirect };
      const sender = await wallet(mandate.senderWalletAddress, 'sender');
      const clientNonce = randomBytes(16).toString('hex');
      // No limits.receiver: it names one incoming payment, and each period pays a new one.
      const grant = await client()
        .requestGrant(sender.authServer, {
          access: [{ type: 'outgoing-payment', actions: ['create', 'read'], identifier: sender.id, limits: { debitAmount: mandate.debitAmount, interval: mandate.interval } }],
          interact: { finishUri: mandateFinishUrl(deps.publicBaseUrl, deps.callbackSecret, mandateId), nonce: clientNonce },
        })
        .catch(toActivityFailure);
      if (grant.kind !== 'pending') refuse('interaction_missing', 'The wallet granted recurring payments without asking the PSU');
      await deps.mandates.update(mandateId, {
        interactRedirect: grant.interactRedirect,
        clientNonce,
        finishNonce: grant.finishNonce,
        grantEndpoint: grantEndpoint(sender.authServer),
        continueUri: grant.continue.uri,
        continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN),
      });
      return { interactRedirect: grant.interactRedirect };
    },

    /** Checks the finish hash, then continues the grant for the access token. */
    async continueMandateGrant(mandateId: string, interactRef: string, hash: string): Promise<void> {
      const mandate = await load(mandateId);
      if (mandate.accessTokenSealed) return;
      const expected = { clientNonce: mandate.clientNonce!, finishNonce: mandate.finishNonce!, interactRef, grantEndpoint: mandate.grantEndpoint! };
      if (!verifyInteractionHash(expected, hash)) refuse('hash_mismatch', 'The interaction hash does not match: the finish redirect was not issued for this grant');
      const continueToken = deps.secrets.open(mandate.continueTokenSealed!, CONTINUE_TOKEN);
      const grant = await client().continueGrant({ uri: mandate.continueUri!, accessToken: continueToken }, interactRef).catch(toActivityFailure);
      if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet did not grant the mandate');
      await storeAccessToken(mandateId, grant.accessToken);
      if (grant.continue) {
        await deps.mandates.update(mandateId, { continueUri: grant.continue.uri, continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN) });
      }
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
      const mandate = await load(mandateId);
      if (!mandate.continueUri || !mandate.continueTokenSealed) return;
      try {
        await client().revokeGrant({ uri: mandate.continueUri, accessToken: deps.secrets.open(mandate.continueTokenSealed, CONTINUE_TOKEN) });
      } catch (err) {
        if (!(isBankError(err) && (err.kind === 'not_found' || err.kind === 'rejected'))) throw toActivityFailure(err);
      }
      await deps.mandates.update(mandateId, { accessTokenSealed: null, continueTokenSealed: null });
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
      const receiver = await wallet(mandate.receiver, 'receiver');
      const token = await nonInteractiveToken(receiver.authServer, [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: receiver.id }]);
      const incoming = await client()
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
      const sender = await wallet(mandate.senderWalletAddress, 'sender');
      const token = await nonInteractiveToken(sender.authServer, [{ type: 'quote', actions: ['create', 'read'] }]);
      const quote = await client()
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
      const sender = await wallet(mandate.senderWalletAddress, 'sender');
      const token = await accessToken(mandate);
      const payment = await client()
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
      const token = await accessToken(await load(mandateId));
      const payment = await client().getOutgoingPayment(row.outgoingPaymentUrl!, token).catch(toActivityFailure);
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
