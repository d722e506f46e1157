import { isBankError } from '../libs/adapters/bank-adapter';
import { outgoingPaymentProgress } from '../libs/adapters/open-payments';
import type { OpenPaymentsAdapter, OutgoingPayment, WalletAddress } from '../libs/adapters/open-payments/types';
import { toActivityFailure } from './bank-failure';

/**
 * Exactly once against a wallet that does not deduplicate. Open Payments defines no idempotency
 * for `POST /outgoing-payments`; `Idempotency-Key` is sent, but a wallet may ignore it. What holds:
 * - Before the first request, the row is marked (`paymentRequestedAt`). From then on the wallet may
 *   hold the payment even when no answer came back (timeout, 5xx, lost response, worker crash).
 * - A later attempt first looks the payment up: the wallet's list of the grant's own payments,
 *   matched by Clearway's quote and metadata. Found: adopted, never created again.
 * - Not found, the same quote is sent again. A quote pays at most once at the wallet (in Rafiki the
 *   payment takes the quote's id), so even a first request still on its way cannot add a second
 *   payment; and no new quote is ever made once a request was sent.
 * - A refusal of the first and only request is definite. A refusal after an earlier request that
 *   may have landed is `ambiguous`: the caller resolves it by looking up again once the quote can no
 *   longer pay (its expiry plus a margin for the wallet's clock), never by guessing.
 */

/** Pages of 100 looked through before a lookup gives up as inconclusive (the wallet is busy). */
export const LOOKUP_MAX_PAGES = 50;
const LOOKUP_PAGE_SIZE = 100;
/**
 * After the quote's expiry, this long for a request that passed the wallet's checks just before it
 * and for the wallet's clock running behind ours (`OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS`).
 */
export const QUOTE_EXPIRY_MARGIN_MS = 60_000;

export type CreateOutcome =
  | { outcome: 'created' }
  /** The wallet refused the only request ever sent for this payment: nothing was paid. */
  | { outcome: 'refused'; code: string; message: string }
  /** The wallet refused, but an earlier request may have landed: look it up until it is settled. */
  | { outcome: 'ambiguous'; reason: string };

export type LookupOutcome =
  | { outcome: 'found' }
  /** Conclusive: nothing was ever sent, or not at the wallet and its quote can no longer pay. */
  | { outcome: 'absent'; reason: string }
  /** Not found yet, but the quote could still pay (or the list was too long): look again later. */
  | { outcome: 'not_yet'; retryInMs: number; reason: string };

export type Progress = { complete: boolean; failed: boolean };

/** What a transfer or a mandate period keeps about its one outgoing payment. */
export interface PaymentAttempt {
  quoteUrl: string | null;
  /** On Clearway's clock (see `quoteExpiry`): when the wallet stops accepting the quote. */
  quoteExpiresAt: Date | null;
  outgoingPaymentUrl: string | null;
  paymentRequestedAt: Date | null;
}

export interface PaymentTarget {
  sender: WalletAddress;
  token: string;
  /** Sent as the payment's metadata: the client's own, plus {@link marker}. */
  metadata: Record<string, unknown>;
  /** Clearway's keys in the metadata (e.g. `clearwayTransferId`): every one must match on lookup. */
  marker: Record<string, string>;
}

function matches(payment: OutgoingPayment, attempt: PaymentAttempt, marker: Record<string, string>): boolean {
  if (attempt.quoteUrl && payment.quoteId === attempt.quoteUrl) return true;
  const mine = payment.metadata ?? {};
  return Object.entries(marker).every(([k, v]) => mine[k] === v);
}

export function openPaymentsOutgoing(client: () => OpenPaymentsAdapter, quoteExpiryMarginMs = QUOTE_EXPIRY_MARGIN_MS) {
  /** The grant's payments of the sender matching this attempt; `inconclusive` past the page cap. */
  async function lookup(target: PaymentTarget, attempt: PaymentAttempt): Promise<OutgoingPayment | 'absent' | 'inconclusive'> {
    let cursor: string | undefined;
    for (let page = 0; page < LOOKUP_MAX_PAGES; page += 1) {
      const listed = await client()
        .listOutgoingPayments(target.sender.resourceServer, target.token, { walletAddress: target.sender.id, first: LOOKUP_PAGE_SIZE, ...(cursor ? { cursor } : {}) })
        .catch(toActivityFailure);
      const found = listed.result.find((p) => matches(p, attempt, target.marker));
      if (found) return found;
      if (!listed.hasNextPage || !listed.endCursor) return 'absent';
      cursor = listed.endCursor;
    }
    return 'inconclusive';
  }

  return {
    /**
     * One step towards the payment: adopt it if the wallet already has it, otherwise request it.
     * Transient failures throw (retried by the workflow's policy); the next attempt looks up first.
     */
    async createOrAdopt(
      target: PaymentTarget,
      attempt: PaymentAttempt,
      ops: { idempotencyKey: string; markRequested: () => Promise<void>; save: (payment: OutgoingPayment) => Promise<void> },
    ): Promise<CreateOutcome> {
      if (attempt.outgoingPaymentUrl) return { outcome: 'created' };
      const sentBefore = attempt.paymentRequestedAt !== null;
      if (sentBefore) {
        const found = await lookup(target, attempt);
        if (typeof found === 'object') {
          await ops.save(found);
          return { outcome: 'created' };
        }
      } else {
        await ops.markRequested();
      }
      try {
        const payment = await client().createOutgoingPayment(
          target.sender.resourceServer,
          target.token,
          { walletAddress: target.sender.id, quoteId: attempt.quoteUrl!, metadata: { ...target.metadata, ...target.marker } },
          ops.idempotencyKey,
        );
        await ops.save(payment);
        return { outcome: 'created' };
      } catch (err) {
        if (isBankError(err) && (err.kind === 'rejected' || err.kind === 'not_found')) {
          const code = err.details.messages?.[0]?.code ?? (err.kind === 'not_found' ? 'not_found' : 'rejected');
          if (!sentBefore) return { outcome: 'refused', code, message: err.message };
          return { outcome: 'ambiguous', reason: `The wallet refused a repeated request (${code}) after an earlier one went unanswered` };
        }
        throw toActivityFailure(err);
      }
    },

    /** Settles an ambiguous creation by looking it up; conclusive only once the quote cannot pay any more. */
    async find(target: () => Promise<PaymentTarget>, attempt: PaymentAttempt, save: (payment: OutgoingPayment) => Promise<void>, now = Date.now()): Promise<LookupOutcome> {
      if (attempt.outgoingPaymentUrl) return { outcome: 'found' };
      // Nothing was ever sent: nothing can be at the wallet (and no token is needed to say so).
      if (attempt.paymentRequestedAt === null) return { outcome: 'absent', reason: 'No payment was ever requested from the wallet' };
      const found = await lookup(await target(), attempt);
      if (typeof found === 'object') {
        await save(found);
        return { outcome: 'found' };
      }
      if (found === 'inconclusive') return { outcome: 'not_yet', retryInMs: 15 * 60_000, reason: `Not among the wallet's last ${LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} payments` };
      // Only an expired quote makes absence final: a request still on its way could land until then.
      if (!attempt.quoteExpiresAt) return { outcome: 'not_yet', retryInMs: 60 * 60_000, reason: 'The quote has no expiry: only an operator can rule the payment out' };
      const conclusiveAt = attempt.quoteExpiresAt.getTime() + quoteExpiryMarginMs;
      if (now >= conclusiveAt) return { outcome: 'absent', reason: 'The wallet never created the outgoing payment (looked up after its quote expired)' };
      return { outcome: 'not_yet', retryInMs: conclusiveAt - now, reason: 'Not found at the wallet; its quote could still pay until it expires' };
    },

    /** The payment's own state; across assets, the receiver's incoming payment says whether it arrived. */
    async progress(url: string, token: string, save: (payment: OutgoingPayment) => Promise<void>, receivedAtReceiver?: () => Promise<bigint | undefined>): Promise<Progress> {
      const payment = await client().getOutgoingPayment(url, token).catch(toActivityFailure);
      await save(payment);
      const state = outgoingPaymentProgress(payment);
      switch (state) {
        case 'failed':
          return { complete: false, failed: true };
        case 'completed':
          return { complete: true, failed: false };
        case 'sending':
          return { complete: false, failed: false };
        case 'compare_at_receiver': {
          const received = receivedAtReceiver ? await receivedAtReceiver() : undefined;
          return { complete: received !== undefined && received >= BigInt(payment.receiveAmount.value), failed: false };
        }
      }
    },
  };
}
