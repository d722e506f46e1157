import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { OpAmount, OutgoingPayment } from '../libs/adapters/open-payments/types';
import type { WalletAdapters } from '../libs/adapters/registry';
import type { TransferStatus } from '../libs/domain/open-payments';
import { quoteExpiry } from '../libs/adapters/open-payments';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import type { OpTransferEntity } from '../libs/persistence/entities/op-transfer.entity';
import type { OpOutcomeResolutionRepository } from '../libs/persistence/op-outcome-resolution.repository';
import type { OpTransferRepository } from '../libs/persistence/op-transfer.repository';
import { transferFinishUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { SecretBox } from '../libs/security/secret-box';
import { toActivityFailure } from './bank-failure';
import { openPaymentsOutgoing, type CreateOutcome, type LookupOutcome, type PaymentTarget, type Progress } from './open-payments-outgoing';
import { isRetryAttempt, openPaymentsSession, refuser, type Refuse, type SaveGrant } from './open-payments-session';

const refuse: Refuse = refuser('TransferRefused');

export interface OpTransferActivityDeps {
  transfers: OpTransferRepository;
  /** Operators' decisions on outcomes that stayed unknown (audit trail). */
  resolutions: OpOutcomeResolutionRepository;
  /** The registry's wallet adapters (libs/adapters/registry.ts); `open-payments` is absent when no client identity is configured. */
  walletAdapters: Readonly<WalletAdapters>;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
  /** After a quote's expiry, how long before its payment's absence at the wallet is final (default a minute). */
  quoteExpiryMarginMs?: number;
}

/**
 * Open Payments transfer activities: one protocol step each, persisted on the transfer row so a
 * retry resumes instead of repeating. Tokens are sealed before they touch the database and never
 * returned to the workflow.
 */
export function createOpTransferActivities(deps: OpTransferActivityDeps) {
  const op = openPaymentsSession(deps, refuse);
  const outgoing = openPaymentsOutgoing(op.client, deps.quoteExpiryMarginMs);

  async function load(transferId: string): Promise<OpTransferEntity> {
    const transfer = await deps.transfers.findById(transferId);
    if (!transfer) throw ApplicationFailure.create({ type: 'TransferNotFound', message: `Transfer ${transferId} not found`, nonRetryable: true });
    return transfer;
  }

  const saveOn = (transferId: string): SaveGrant => (fields) => deps.transfers.update(transferId, fields);

  /** The sender, a working access token, and the metadata that marks the payment as this transfer's. */
  async function paymentTarget(transfer: OpTransferEntity): Promise<PaymentTarget> {
    const sender = await op.wallet(transfer.senderWalletAddress, 'sender');
    const token = await op.accessToken(transfer, saveOn(transfer.id), { transferId: transfer.id });
    return { sender, token, metadata: transfer.metadata ?? {}, marker: { clearwayTransferId: transfer.id } };
  }

  const savePayment = (transferId: string) => (payment: OutgoingPayment) =>
    deps.transfers.update(transferId, { outgoingPaymentUrl: payment.id, sentAmount: payment.sentAmount });

  /** Clearway created the receiver's incoming payment unless the client gave one. */
  const createdIncomingPayment = (transfer: OpTransferEntity) => transfer.incomingPaymentUrl !== null && !isIncomingPaymentUrl(transfer.receiver);

  function exceeds(a: OpAmount, limit: OpAmount): boolean {
    return a.assetCode !== limit.assetCode || a.assetScale !== limit.assetScale || BigInt(a.value) > BigInt(limit.value);
  }

  return {
    /** Both ends must be Open Payments wallets, and the amount in the right asset. */
    async resolveWalletAddresses(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      const sender = await op.wallet(transfer.senderWalletAddress, 'sender');
      if (transfer.debitAmount && (transfer.debitAmount.assetCode !== sender.assetCode || transfer.debitAmount.assetScale !== sender.assetScale)) {
        refuse('asset_mismatch', `debitAmount is in ${transfer.debitAmount.assetCode}/${transfer.debitAmount.assetScale}, the sender's wallet in ${sender.assetCode}/${sender.assetScale}`);
      }
      if (!isIncomingPaymentUrl(transfer.receiver)) {
        const receiver = await op.wallet(transfer.receiver, 'receiver');
        if (transfer.receiveAmount && (transfer.receiveAmount.assetCode !== receiver.assetCode || transfer.receiveAmount.assetScale !== receiver.assetScale)) {
          refuse('asset_mismatch', `receiveAmount is in ${transfer.receiveAmount.assetCode}/${transfer.receiveAmount.assetScale}, the receiver's wallet in ${receiver.assetCode}/${receiver.assetScale}`);
        }
      }
    },

    /** At the receiver's wallet, with a non-interactive grant. Skipped when the receiver is already an incoming payment. */
    async createIncomingPayment(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      if (transfer.incomingPaymentUrl) return;
      if (isIncomingPaymentUrl(transfer.receiver)) {
        await deps.transfers.update(transferId, { incomingPaymentUrl: transfer.receiver });
        return;
      }
      const receiver = await op.wallet(transfer.receiver, 'receiver');
      const token = await op.nonInteractiveToken(receiver.authServer, [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: receiver.id }]);
      // No incomingAmount for a debitAmount transfer: what arrives is only known after fees and
      // rates, so the wallet does not complete it by itself and closeIncomingPayment does.
      const incoming = await op
        .client()
        .createIncomingPayment(receiver.resourceServer, token, {
          walletAddress: receiver.id,
          incomingAmount: transfer.receiveAmount ?? undefined,
          expiresAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
          metadata: { clearwayTransferId: transferId },
        })
        .catch(toActivityFailure);
      await deps.transfers.update(transferId, { incomingPaymentUrl: incoming.id });
    },

    /** A quote at the sender's wallet. After approval, a new quote must stay within what the PSU authorised. */
    async createQuote(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      // Once a payment was requested, a new quote could pay a second time: never.
      if (transfer.paymentRequestedAt) refuse('payment_requested', 'A payment was already requested with the current quote');
      const sender = await op.wallet(transfer.senderWalletAddress, 'sender');
      const token = await op.nonInteractiveToken(sender.authServer, [{ type: 'quote', actions: ['create', 'read'] }]);
      const quote = await op
        .client()
        .createQuote(sender.resourceServer, token, {
          walletAddress: sender.id,
          receiver: transfer.incomingPaymentUrl!,
          ...(transfer.debitAmount ? { debitAmount: transfer.debitAmount } : { receiveAmount: transfer.receiveAmount! }),
        })
        .catch(toActivityFailure);
      const receivedAt = Date.now();
      if (transfer.accessTokenSealed && transfer.quoteDebitAmount && exceeds(quote.debitAmount, transfer.quoteDebitAmount)) {
        refuse('requote_exceeds_grant', `The new quote (${quote.debitAmount.value}) exceeds the authorised ${transfer.quoteDebitAmount.value}`);
      }
      await deps.transfers.update(transferId, {
        quoteUrl: quote.id,
        quoteExpiresAt: quoteExpiry(quote, receivedAt) ?? null,
        // The grant limit is the first quote's debit amount; later quotes never raise it.
        quoteDebitAmount: transfer.accessTokenSealed && transfer.quoteDebitAmount ? transfer.quoteDebitAmount : quote.debitAmount,
        quoteReceiveAmount: quote.receiveAmount,
      });
    },

    /** The interactive grant the PSU approves at their wallet. Returns the page to send them to. */
    async requestOutgoingPaymentGrant(transferId: string): Promise<{ interactRedirect: string }> {
      const transfer = await load(transferId);
      if (transfer.interactRedirect) return { interactRedirect: transfer.interactRedirect };
      const sender = await op.wallet(transfer.senderWalletAddress, 'sender');
      return op.requestInteractiveGrant(transfer, saveOn(transferId), {
        authServer: sender.authServer,
        access: [
          {
            type: 'outgoing-payment',
            // `list`: an unanswered create is looked up among the grant's payments before anything else.
            actions: ['create', 'read', 'list'],
            identifier: sender.id,
            limits: { debitAmount: transfer.quoteDebitAmount!, receiver: transfer.incomingPaymentUrl! },
          },
        ],
        finishUri: transferFinishUrl(deps.publicBaseUrl, deps.callbackSigner, transferId),
      });
    },

    /** Checks the finish hash (the redirect really came from the PSU's wallet), then continues the grant. */
    async continueGrant(transferId: string, interactRef: string, hash: string): Promise<void> {
      await op.continueGrant(await load(transferId), saveOn(transferId), interactRef, hash, { earlierAttemptUnanswered: isRetryAttempt() });
    },

    async quoteExpired(transferId: string): Promise<boolean> {
      const transfer = await load(transferId);
      return transfer.quoteExpiresAt !== null && transfer.quoteExpiresAt.getTime() <= Date.now() + 5_000;
    },

    /**
     * Exactly once, without trusting the wallet to deduplicate (see open-payments-outgoing.ts): a
     * payment the wallet may already hold is looked up before anything is sent again.
     */
    async createOutgoingPayment(transferId: string): Promise<CreateOutcome> {
      const transfer = await load(transferId);
      if (transfer.outgoingPaymentUrl) return { outcome: 'created' };
      return outgoing.createOrAdopt(await paymentTarget(transfer), transfer, {
        idempotencyKey: deriveUuid(CLEARWAY_ID_NAMESPACE, transferId, 'outgoing-payment', transfer.quoteUrl!),
        markRequested: () => deps.transfers.update(transferId, { paymentRequestedAt: new Date() }),
        save: savePayment(transferId),
      });
    },

    /** Is the payment at the wallet? `absent` only once its quote can no longer pay. */
    async findOutgoingPayment(transferId: string): Promise<LookupOutcome> {
      const transfer = await load(transferId);
      if (transfer.outgoingPaymentUrl) return { outcome: 'found' };
      return outgoing.find(() => paymentTarget(transfer), transfer, savePayment(transferId));
    },

    async getOutgoingPaymentProgress(transferId: string): Promise<Progress> {
      const transfer = await load(transferId);
      const token = await op.accessToken(transfer, saveOn(transferId), { transferId });
      const receivedAtReceiver = createdIncomingPayment(transfer) ? () => op.receivedOn(transfer.receiver, transfer.incomingPaymentUrl!) : undefined;
      return outgoing.progress(transfer.outgoingPaymentUrl!, token, savePayment(transferId), receivedAtReceiver);
    },

    /**
     * An operator's "paid" decision names the payment: it must be this transfer's (its quote or
     * Clearway's metadata), read with the transfer's own grant. Then it is followed like any other.
     */
    async adoptOutgoingPayment(transferId: string, outgoingPaymentUrl: string): Promise<void> {
      const transfer = await load(transferId);
      const target = await paymentTarget(transfer);
      const payment = await op.client().getOutgoingPayment(outgoingPaymentUrl, target.token).catch(toActivityFailure);
      const ours = payment.quoteId === transfer.quoteUrl || payment.metadata?.clearwayTransferId === transferId;
      if (!ours) refuse('not_this_payment', `${outgoingPaymentUrl} is not this transfer's outgoing payment`);
      await savePayment(transferId)(payment);
    },

    /** The operator's decision, stored before the workflow acts on it. */
    async recordTransferResolution(resolution: { transferId: string; seq: number; decision: 'paid' | 'not_paid'; outgoingPaymentUrl?: string; operator: string; note: string }): Promise<void> {
      const transfer = await load(resolution.transferId);
      await deps.resolutions.record({
        // One ruling per unknown episode (the status change it answers): a retried activity records it once.
        resolutionKey: `transfer:${transfer.id}:${resolution.seq}`,
        tenantId: transfer.tenantId,
        transferId: transfer.id,
        decision: resolution.decision,
        outgoingPaymentUrl: resolution.outgoingPaymentUrl ?? null,
        operator: resolution.operator,
        note: resolution.note,
      });
      deps.logger.warn({ transferId: transfer.id, decision: resolution.decision }, 'operator resolved an unknown transfer outcome');
    },

    /** Completes the incoming payment Clearway created at the receiver (never one the client gave). */
    async closeIncomingPayment(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      if (!createdIncomingPayment(transfer) || transfer.incomingPaymentClosedAt) return;
      await op.closeIncomingPayment(transfer.receiver, transfer.incomingPaymentUrl!);
      await deps.transfers.update(transferId, { incomingPaymentClosedAt: new Date() });
    },

    /** Withdraws the grant (cancellation, denial, expiry): nothing can be paid under it afterwards. */
    async revokeTransferGrant(transferId: string): Promise<void> {
      await op.revokeGrant(await load(transferId), saveOn(transferId));
    },

    async recordTransferStatus(change: { transferId: string; seq: number; status: TransferStatus; reason: string | null }): Promise<void> {
      await deps.transfers.recordStatus(change);
      deps.logger.info({ transferId: change.transferId, status: change.status, reason: change.reason }, 'transfer status changed');
    },
  };
}

/** Open Payments incoming payments live at `{resourceServer}/incoming-payments/{id}`. */
export function isIncomingPaymentUrl(url: string): boolean {
  return /\/incoming-payments\/[^/]+$/.test(new URL(url).pathname);
}

export type OpTransferActivities = ReturnType<typeof createOpTransferActivities>;
