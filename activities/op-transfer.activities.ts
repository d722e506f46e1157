import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { isBankError } from '../libs/adapters/bank-adapter';
import type { OpAmount, OpenPaymentsAdapter, OpAccessToken, WalletAddress } from '../libs/adapters/open-payments/types';
import { grantEndpoint, verifyInteractionHash } from '../libs/adapters/open-payments';
import type { TransferStatus } from '../libs/domain/open-payments';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import type { OpTransferEntity } from '../libs/persistence/entities/op-transfer.entity';
import type { OpTransferRepository } from '../libs/persistence/op-transfer.repository';
import { transferFinishUrl } from '../libs/security/callback-state';
import type { SecretBox } from '../libs/security/secret-box';
import { toActivityFailure } from './bank-failure';

export interface OpTransferActivityDeps {
  transfers: OpTransferRepository;
  /** Undefined when this deployment has no Open Payments client identity configured. */
  openPayments?: OpenPaymentsAdapter;
  secrets: SecretBox;
  publicBaseUrl: string;
  callbackSecret: string;
  logger: Logger;
}

const ACCESS_TOKEN = 'op-access-token';
const CONTINUE_TOKEN = 'op-continue-token';
/** Rotate a token this long before it expires rather than risk a 401 mid-call. */
const TOKEN_REFRESH_MARGIN_MS = 30_000;

/** A refusal the client should see as a 4xx (bad receiver, asset mismatch...), never retried. */
function refuse(code: string, message: string): never {
  throw ApplicationFailure.create({ type: 'TransferRefused', message, nonRetryable: true, details: [{ httpStatus: 400, code, message }] });
}

/**
 * Open Payments transfer activities: one protocol step each, persisted on the transfer row so a
 * retry resumes instead of repeating. Tokens are sealed before they touch the database and never
 * returned to the workflow.
 */
export function createOpTransferActivities(deps: OpTransferActivityDeps) {
  function client(): OpenPaymentsAdapter {
    if (!deps.openPayments) refuse('not_configured', 'This deployment has no Open Payments client identity (OPEN_PAYMENTS_* settings)');
    return deps.openPayments;
  }

  async function load(transferId: string): Promise<OpTransferEntity> {
    const transfer = await deps.transfers.findById(transferId);
    if (!transfer) throw ApplicationFailure.create({ type: 'TransferNotFound', message: `Transfer ${transferId} not found`, nonRetryable: true });
    return transfer;
  }

  async function wallet(url: string, role: 'sender' | 'receiver'): Promise<WalletAddress> {
    try {
      return await client().getWalletAddress(url);
    } catch (err) {
      if (isBankError(err) && err.kind !== 'unavailable' && err.kind !== 'rate_limited') {
        refuse(`invalid_${role}`, `The ${role} ${url} is not an Open Payments wallet address`);
      }
      throw toActivityFailure(err);
    }
  }

  async function nonInteractiveToken(authServer: string, access: Parameters<OpenPaymentsAdapter['requestGrant']>[1]['access']): Promise<string> {
    const grant = await client().requestGrant(authServer, { access }).catch(toActivityFailure);
    if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet asked for interaction on a non-interactive grant');
    return grant.accessToken.value;
  }

  /** The transfer's outgoing-payment access token, rotated first when it is about to expire. */
  async function accessToken(transfer: OpTransferEntity): Promise<string> {
    if (!transfer.accessTokenSealed || !transfer.accessTokenManageUrl) refuse('not_authorised', 'The payment has not been authorised');
    const current: OpAccessToken = { value: deps.secrets.open(transfer.accessTokenSealed, ACCESS_TOKEN), manage: transfer.accessTokenManageUrl };
    if (!transfer.accessTokenExpiresAt || transfer.accessTokenExpiresAt.getTime() - Date.now() > TOKEN_REFRESH_MARGIN_MS) return current.value;
    const rotated = await client().rotateToken(current).catch(toActivityFailure);
    await storeAccessToken(transfer.id, rotated);
    deps.logger.info({ transferId: transfer.id }, 'access token rotated');
    return rotated.value;
  }

  async function storeAccessToken(transferId: string, token: OpAccessToken): Promise<void> {
    await deps.transfers.update(transferId, {
      accessTokenSealed: deps.secrets.seal(token.value, ACCESS_TOKEN),
      accessTokenManageUrl: token.manage,
      accessTokenExpiresAt: token.expiresIn ? new Date(Date.now() + token.expiresIn * 1000) : null,
    });
  }

  function exceeds(a: OpAmount, limit: OpAmount): boolean {
    return a.assetCode !== limit.assetCode || a.assetScale !== limit.assetScale || BigInt(a.value) > BigInt(limit.value);
  }

  return {
    /** Both ends must be Open Payments wallets, and the amount in the right asset. */
    async resolveWalletAddresses(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      const sender = await wallet(transfer.senderWalletAddress, 'sender');
      if (transfer.debitAmount && (transfer.debitAmount.assetCode !== sender.assetCode || transfer.debitAmount.assetScale !== sender.assetScale)) {
        refuse('asset_mismatch', `debitAmount is in ${transfer.debitAmount.assetCode}/${transfer.debitAmount.assetScale}, the sender's wallet in ${sender.assetCode}/${sender.assetScale}`);
      }
      if (!isIncomingPaymentUrl(transfer.receiver)) {
        const receiver = await wallet(transfer.receiver, 'receiver');
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
      const receiver = await wallet(transfer.receiver, 'receiver');
      const token = await nonInteractiveToken(receiver.authServer, [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: receiver.id }]);
      const incoming = await client()
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
      const sender = await wallet(transfer.senderWalletAddress, 'sender');
      const token = await nonInteractiveToken(sender.authServer, [{ type: 'quote', actions: ['create', 'read'] }]);
      const quote = await client()
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
      const sender = await wallet(transfer.senderWalletAddress, 'sender');
      const clientNonce = randomBytes(16).toString('hex');
      const grant = await client()
        .requestGrant(sender.authServer, {
          access: [
            {
              type: 'outgoing-payment',
              actions: ['create', 'read'],
              identifier: sender.id,
              limits: { debitAmount: transfer.quoteDebitAmount!, receiver: transfer.incomingPaymentUrl! },
            },
          ],
          interact: { finishUri: transferFinishUrl(deps.publicBaseUrl, deps.callbackSecret, transferId), nonce: clientNonce },
        })
        .catch(toActivityFailure);
      if (grant.kind !== 'pending') refuse('interaction_missing', 'The wallet granted an outgoing payment without asking the PSU');
      await deps.transfers.update(transferId, {
        interactRedirect: grant.interactRedirect,
        clientNonce,
        finishNonce: grant.finishNonce,
        grantEndpoint: grantEndpoint(sender.authServer),
        continueUri: grant.continue.uri,
        continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN),
      });
      return { interactRedirect: grant.interactRedirect };
    },

    /** Checks the finish hash (the redirect really came from the PSU's wallet), then continues the grant. */
    async continueGrant(transferId: string, interactRef: string, hash: string): Promise<void> {
      const transfer = await load(transferId);
      if (transfer.accessTokenSealed) return;
      const expected = { clientNonce: transfer.clientNonce!, finishNonce: transfer.finishNonce!, interactRef, grantEndpoint: transfer.grantEndpoint! };
      if (!verifyInteractionHash(expected, hash)) refuse('hash_mismatch', 'The interaction hash does not match: the finish redirect was not issued for this grant');
      const continueToken = deps.secrets.open(transfer.continueTokenSealed!, CONTINUE_TOKEN);
      const grant = await client().continueGrant({ uri: transfer.continueUri!, accessToken: continueToken }, interactRef).catch(toActivityFailure);
      if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet did not grant the payment');
      await storeAccessToken(transferId, grant.accessToken);
      if (grant.continue) {
        await deps.transfers.update(transferId, { continueUri: grant.continue.uri, continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN) });
      }
    },

    async quoteExpired(transferId: string): Promise<boolean> {
      const transfer = await load(transferId);
      return transfer.quoteExpiresAt !== null && transfer.quoteExpiresAt.getTime() <= Date.now() + 5_000;
    },

    /** Exactly once per quote: the Idempotency-Key is derived from the transfer and its quote. */
    async createOutgoingPayment(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      if (transfer.outgoingPaymentUrl) return;
      const sender = await wallet(transfer.senderWalletAddress, 'sender');
      const token = await accessToken(transfer);
      const payment = await client()
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
      const token = await accessToken(transfer);
      const payment = await client().getOutgoingPayment(transfer.outgoingPaymentUrl!, token).catch(toActivityFailure);
      await deps.transfers.update(transferId, { sentAmount: payment.sentAmount });
      return { complete: BigInt(payment.sentAmount.value) >= BigInt(payment.debitAmount.value), failed: payment.failed };
    },

    /** Withdraws the grant (cancellation, denial, expiry): nothing can be paid under it afterwards. */
    async revokeTransferGrant(transferId: string): Promise<void> {
      const transfer = await load(transferId);
      if (!transfer.continueUri || !transfer.continueTokenSealed) return;
      try {
        await client().revokeGrant({ uri: transfer.continueUri, accessToken: deps.secrets.open(transfer.continueTokenSealed, CONTINUE_TOKEN) });
      } catch (err) {
        if (!(isBankError(err) && (err.kind === 'not_found' || err.kind === 'rejected'))) throw toActivityFailure(err);
      }
      await deps.transfers.update(transferId, { accessTokenSealed: null, continueTokenSealed: null });
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
