import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { OpAmount, OpenPaymentsAdapter } from '../libs/adapters/open-payments/types';
import type { TransferStatus } from '../libs/domain/open-payments';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import type { OpTransferEntity } from '../libs/persistence/entities/op-transfer.entity';
import type { OpTransferRepository } from '../libs/persistence/op-transfer.repository';
import { transferFinishUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { SecretBox } from '../libs/security/secret-box';
import { toActivityFailure } from './bank-failure';
import { openPaymentsSession, refuser, type Refuse, type SaveGrant } from './open-payments-session';

const refuse: Refuse = refuser('TransferRefused');

export interface OpTransferActivityDeps {
  transfers: OpTransferRepository;
  /** Undefined when this deployment has no Open Payments client identity configured. */
  openPayments?: OpenPaymentsAdapter;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
}

/**
 * Open Payments transfer activities: one protocol step each, persisted on the transfer row so a
 * retry resumes instead of repeating. Tokens are sealed before they touch the database and never
 * returned to the workflow.
 */
export function createOpTransferActivities(deps: OpTransferActivityDeps) {
  const op = openPaymentsSession(deps, refuse);

  async function load(transferId: string): Promise<OpTransferEntity> {
    const transfer = await deps.transfers.findById(transferId);
    if (!transfer) throw ApplicationFailure.create({ type: 'TransferNotFound', message: `Transfer ${transferId} not found`, nonRetryable: true });
    return transfer;
  }

  const saveOn = (transferId: string): SaveGrant => (fields) => deps.transfers.update(transferId, fields);

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
      if (transfer.accessTokenSealed && transfer.quoteDebitAmount && exceeds(quote.debitAmount, transfer.quoteDebitAmount)) {
        refuse('requote_exceeds_grant', `The new quote (${quote.debitAmount.value}) exceeds the authorised ${transfer.quoteDebitAmount.value}`);
      }
      await deps.transfers.update(transferId, {
        quoteUrl: quote.id,
        quoteExpiresAt: quote.expiresAt ? new Date(quote.expiresAt) : null,
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
            actions: ['create', 'read'],
            identifier: sender.id,
            limits: { debitAmount: transfer.quoteDebitAmount!, receiver: transfer.incomingPaymentUrl! },
          },
        ],
        finishUri: transferFinishUrl(deps.publicBaseUrl, deps.callbackSigner, transferId),
      });
    },

    /** Checks the finish hash (the redirect really came from the PSU's wallet), then continues the grant. */
    async continueGrant(transferId: string, interactRef: string, hash: string): Promise<void> {
      await op.continueGrant(await load(transferId), saveOn(transferId), interactRef, hash);
    },

    async quoteExpired(transferId: string): Promise<boolean> {
      const transfer = await load(transferId);
      return transfer.quoteExpiresAt !== null && transfer.quoteExpiresAt.getTime() <= Date.now() + 5_000;
    },

    /** Exactly once per quote: the Idempotency-Key is derived from the transfer and its quote. */
    async createOutgoingPayment(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      if (transfer.outgoingPaymentUrl) return;
      const sender = await op.wallet(transfer.senderWalletAddress, 'sender');
      const token = await op.accessToken(transfer, saveOn(transferId), { transferId });
      const payment = await op
        .client()
        .createOutgoingPayment(
          sender.resourceServer,
          token,
          { walletAddress: sender.id, quoteId: transfer.quoteUrl!, metadata: { clearwayTransferId: transferId, ...(transfer.metadata ?? {}) } },
          deriveUuid(CLEARWAY_ID_NAMESPACE, transferId, 'outgoing-payment', transfer.quoteUrl!),
        )
        .catch(toActivityFailure);
      await deps.transfers.update(transferId, { outgoingPaymentUrl: payment.id, sentAmount: payment.sentAmount });
    },

    async getOutgoingPaymentProgress(transferId: string): Promise<{ complete: boolean; failed: boolean }> {
      const transfer = await load(transferId);
      const token = await op.accessToken(transfer, saveOn(transferId), { transferId });
      const payment = await op.client().getOutgoingPayment(transfer.outgoingPaymentUrl!, token).catch(toActivityFailure);
      await deps.transfers.update(transferId, { sentAmount: payment.sentAmount });
      return { complete: BigInt(payment.sentAmount.value) >= BigInt(payment.debitAmount.value), failed: payment.failed };
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
