import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { isBankError } from '../libs/adapters/bank-adapter';
import type { WalletAdapters } from '../libs/adapters/registry';
import { isContinuationRefused, verifyInteractionHash } from '../libs/adapters/open-payments';
import type { OpAccessRequest, OpAccessToken, OpenPaymentsAdapter, WalletAddress } from '../libs/adapters/open-payments/types';
import type { SecretBox } from '../libs/security/secret-box';
import { toActivityFailure } from './bank-failure';

const ACCESS_TOKEN = 'op-access-token';
const CONTINUE_TOKEN = 'op-continue-token';
/** Rotate a token this long before it expires rather than risk a 401 mid-call. */
const TOKEN_REFRESH_MARGIN_MS = 30_000;

export type Refuse = (code: string, message: string) => never;

/** Refusal code: the wallet's answer to the grant continuation was lost and cannot be had again. */
export const GRANT_ANSWER_LOST = 'grant_answer_lost';

export const GRANT_ANSWER_LOST_MESSAGE =
  "The wallet's answer to the grant continuation was lost, and the wallet does not answer a continuation twice " +
  '(an interaction reference is single-use): the approval cannot be recovered. Nothing was paid and the grant was revoked; ' +
  'start a new one with a new X-Request-ID for the PSU to approve.';

/** Refusals the client should see as a 4xx (bad receiver, asset mismatch...), never retried. */
export function refuser(type: 'TransferRefused' | 'MandateRefused'): Refuse {
  return (code, message) => {
    throw ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ httpStatus: 400, code, message }] });
  };
}

/**
 * True in a retry of the running activity: an earlier attempt ended without an answer Clearway could
 * use (timeout, 5xx, network, the worker died; 429s are retried too, see GRANT_ANSWER_LOST_MESSAGE).
 */
export function isRetryAttempt(): boolean {
  try {
    return Context.current().info.attempt > 1;
  } catch {
    return false; // called outside an activity (tests of the session itself)
  }
}

/** The GNAP state a transfer or a mandate keeps on its row: tokens sealed, never in workflow history. */
export interface GrantState {
  interactRedirect: string | null;
  clientNonce: string | null;
  finishNonce: string | null;
  grantEndpoint: string | null;
  continueUri: string | null;
  continueTokenSealed: string | null;
  accessTokenSealed: string | null;
  accessTokenManageUrl: string | null;
  accessTokenExpiresAt: Date | null;
}

/** Persists grant fields on the owning row (op_transfers or op_mandates). */
export type SaveGrant = (fields: Partial<GrantState>) => Promise<void>;

export interface OpenPaymentsSessionDeps {
  /** The registry's wallet adapters (libs/adapters/registry.ts); `open-payments` is absent when no client identity is configured. */
  walletAdapters: Readonly<WalletAdapters>;
  secrets: SecretBox;
  logger: Logger;
}

/**
 * Clearway as a GNAP client, shared by one-off transfers and mandates: wallet lookups, grants
 * (interactive with hash-checked finish, and non-interactive), token rotation and revocation.
 */
export function openPaymentsSession(deps: OpenPaymentsSessionDeps, refuse: Refuse) {
  function client(): OpenPaymentsAdapter {
    const adapter = deps.walletAdapters['open-payments'];
    if (!adapter) refuse('not_configured', 'This deployment has no Open Payments client identity (OPEN_PAYMENTS_* settings)');
    return adapter;
  }

  async function storeAccessToken(save: SaveGrant, token: OpAccessToken): Promise<void> {
    await save({
      accessTokenSealed: deps.secrets.seal(token.value, ACCESS_TOKEN),
      accessTokenManageUrl: token.manage,
      accessTokenExpiresAt: token.expiresIn ? new Date(Date.now() + token.expiresIn * 1000) : null,
    });
  }

  /** A wallet address, or a 4xx refusal naming the role when the URL is not an Open Payments wallet. */
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

  async function nonInteractiveToken(authServer: string, access: OpAccessRequest[]): Promise<string> {
    const grant = await client().requestGrant(authServer, { access }).catch(toActivityFailure);
    if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet asked for interaction on a non-interactive grant');
    return grant.accessToken.value;
  }

  /** A token for Clearway's own incoming payments at the receiver's wallet. */
  async function incomingPaymentToken(receiverUrl: string, actions: string[]): Promise<string> {
    const receiver = await wallet(receiverUrl, 'receiver');
    return nonInteractiveToken(receiver.authServer, [{ type: 'incoming-payment', actions, identifier: receiver.id }]);
  }

  return {
    client,
    wallet,
    nonInteractiveToken,

    /**
     * Completes an incoming payment Clearway created: without it, one created without
     * `incomingAmount` stays open (Rafiki: `PROCESSING`) until it expires, and could take money from
     * anyone. Already completed or expired counts as done (Rafiki refuses to complete those).
     */
    async closeIncomingPayment(receiverUrl: string, incomingPaymentUrl: string): Promise<void> {
      const token = await incomingPaymentToken(receiverUrl, ['complete', 'read']);
      try {
        await client().completeIncomingPayment(incomingPaymentUrl, token);
      } catch (err) {
        if (!(isBankError(err) && (err.kind === 'rejected' || err.kind === 'not_found'))) throw toActivityFailure(err);
        const current = await client().getIncomingPayment(incomingPaymentUrl, token).catch(toActivityFailure);
        const expired = current.expiresAt !== undefined && Date.parse(current.expiresAt) <= Date.now();
        if (!current.completed && !expired) throw toActivityFailure(err);
      }
    },

    /** What arrived on an incoming payment Clearway created (and alone pays): the receiver's side of a payment. */
    async receivedOn(receiverUrl: string, incomingPaymentUrl: string): Promise<bigint> {
      const token = await incomingPaymentToken(receiverUrl, ['read']);
      const incoming = await client().getIncomingPayment(incomingPaymentUrl, token).catch(toActivityFailure);
      return BigInt(incoming.receivedAmount.value);
    },

    /** The grant the PSU approves at their wallet. Requested once: a retry returns the stored redirect. */
    async requestInteractiveGrant(
      state: GrantState,
      save: SaveGrant,
      request: { authServer: string; access: OpAccessRequest[]; finishUri: string },
    ): Promise<{ interactRedirect: string }> {
      if (state.interactRedirect) return { interactRedirect: state.interactRedirect };
      const clientNonce = randomBytes(16).toString('hex');
      const grant = await client()
        .requestGrant(request.authServer, { access: request.access, interact: { finishUri: request.finishUri, nonce: clientNonce } })
        .catch(toActivityFailure);
      if (grant.kind !== 'pending') refuse('interaction_missing', 'The wallet granted the payment without asking the PSU');
      await save({
        interactRedirect: grant.interactRedirect,
        clientNonce,
        finishNonce: grant.finishNonce,
        // The URI the grant request went to, as sent: the interaction hash is computed over it.
        grantEndpoint: request.authServer,
        continueUri: grant.continue.uri,
        continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN),
      });
      return { interactRedirect: grant.interactRedirect };
    },

    /**
     * Checks the finish hash (the redirect really came from the PSU's wallet), then continues the grant.
     *
     * `earlierAttemptUnanswered`: a previous attempt of this step sent the continuation and got no
     * answer (timeout, 5xx, the worker died). If the wallet now refuses to continue, the first
     * request did reach it: the grant is finalized and its token was issued in the answer that
     * never arrived. GNAP gives that token once (RFC 9635 §5.1; a current Rafiki answers
     * `request_denied`), so the approval is lost. Clearway never held a token, so nothing was paid:
     * the grant is revoked (the unseen token with it) and the step refuses with {@link GRANT_ANSWER_LOST}.
     */
    async continueGrant(state: GrantState, save: SaveGrant, interactRef: string, hash: string, opts: { earlierAttemptUnanswered?: boolean } = {}): Promise<void> {
      if (state.accessTokenSealed) return;
      const expected = { clientNonce: state.clientNonce!, finishNonce: state.finishNonce!, interactRef, grantEndpoint: state.grantEndpoint! };
      if (!verifyInteractionHash(expected, hash)) refuse('hash_mismatch', 'The interaction hash does not match: the finish redirect was not issued for this grant');
      const cont = { uri: state.continueUri!, accessToken: deps.secrets.open(state.continueTokenSealed!, CONTINUE_TOKEN) };
      let grant;
      try {
        grant = await client().continueGrant(cont, interactRef);
      } catch (err) {
        if (!(opts.earlierAttemptUnanswered && isContinuationRefused(err))) throw toActivityFailure(err);
        deps.logger.warn({ code: GRANT_ANSWER_LOST }, 'grant continuation refused after an unanswered attempt: revoking the grant');
        try {
          await client().revokeGrant(cont);
          await save({ accessTokenSealed: null, continueTokenSealed: null });
        } catch {
          // The workflow revokes again when it records the outcome.
        }
        refuse(GRANT_ANSWER_LOST, GRANT_ANSWER_LOST_MESSAGE);
      }
      if (grant.kind !== 'finalized') refuse('grant_not_granted', 'The wallet did not grant the payment');
      await storeAccessToken(save, grant.accessToken);
      if (grant.continue) await save({ continueUri: grant.continue.uri, continueTokenSealed: deps.secrets.seal(grant.continue.accessToken, CONTINUE_TOKEN) });
    },

    /** The outgoing-payment access token, rotated first when it is about to expire. */
    async accessToken(state: GrantState, save: SaveGrant, logContext: Record<string, string>): Promise<string> {
      if (!state.accessTokenSealed || !state.accessTokenManageUrl) refuse('not_authorised', 'The payment has not been authorised (or its grant was revoked)');
      const current: OpAccessToken = { value: deps.secrets.open(state.accessTokenSealed, ACCESS_TOKEN), manage: state.accessTokenManageUrl };
      if (!state.accessTokenExpiresAt || state.accessTokenExpiresAt.getTime() - Date.now() > TOKEN_REFRESH_MARGIN_MS) return current.value;
      const rotated = await client().rotateToken(current).catch(toActivityFailure);
      await storeAccessToken(save, rotated);
      deps.logger.info(logContext, 'access token rotated');
      return rotated.value;
    },

    /** Withdraws the grant (cancellation, denial, expiry): nothing can be paid under it afterwards. */
    async revokeGrant(state: GrantState, save: SaveGrant): Promise<void> {
      if (!state.continueUri || !state.continueTokenSealed) return;
      try {
        await client().revokeGrant({ uri: state.continueUri, accessToken: deps.secrets.open(state.continueTokenSealed, CONTINUE_TOKEN) });
      } catch (err) {
        if (!(isBankError(err) && (err.kind === 'not_found' || err.kind === 'rejected'))) throw toActivityFailure(err);
      }
      await save({ accessTokenSealed: null, continueTokenSealed: null });
    },
  };
}
