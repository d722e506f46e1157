import type { KeyObject } from 'node:crypto';

/**
 * Interledger Open Payments, client side: what Clearway needs from wallet address, GNAP
 * authorization and resource servers. Amounts are `{ value, assetCode, assetScale }` with `value`
 * an integer string in minor units, as on the wire. Failures are thrown as BankError (see
 * ../bank-adapter.ts): 4xx `rejected` (messages carry the server's `error.code`), 401 with an
 * expired/invalid token `rejected` with code `invalid_token`, 404 `not_found`, 429
 * `rate_limited`, 5xx/network `unavailable`, unusable bodies `protocol`.
 */
export interface OpenPaymentsIdentity {
  /** Clearway's own wallet address (the GNAP client), whose jwks.json serves `keyId`. */
  walletAddress: string;
  keyId: string;
  privateKey: KeyObject;
}

export interface OpAmount {
  value: string;
  assetCode: string;
  assetScale: number;
}

export interface WalletAddress {
  id: string;
  publicName?: string;
  assetCode: string;
  assetScale: number;
  authServer: string;
  resourceServer: string;
}

export interface OpAccessToken {
  value: string;
  /** Management URL: rotate (POST) or revoke (DELETE) the token. */
  manage: string;
  expiresIn?: number;
}

export type OpAccessRequest =
  | { type: 'incoming-payment'; actions: string[]; identifier?: string }
  | { type: 'quote'; actions: string[] }
  | {
      type: 'outgoing-payment';
      actions: string[];
      identifier: string;
      limits?: { debitAmount?: OpAmount; receiveAmount?: OpAmount; receiver?: string; interval?: string };
    };

export interface GrantRequest {
  access: OpAccessRequest[];
  /** For interactive grants: where the AS sends the PSU back, and our nonce for the hash. */
  interact?: { finishUri: string; nonce: string };
}

export interface PendingGrant {
  kind: 'pending';
  interactRedirect: string;
  /** The AS's finish nonce, one input of the interaction hash. */
  finishNonce: string;
  continue: { uri: string; accessToken: string; waitSeconds?: number };
}

export interface FinalizedGrant {
  kind: 'finalized';
  accessToken: OpAccessToken;
  continue?: { uri: string; accessToken: string };
}

export type Grant = PendingGrant | FinalizedGrant;

export interface IncomingPayment {
  id: string;
  walletAddress: string;
  completed: boolean;
  incomingAmount?: OpAmount;
  receivedAmount: OpAmount;
  expiresAt?: string;
}

export interface Quote {
  id: string;
  walletAddress: string;
  receiver: string;
  debitAmount: OpAmount;
  receiveAmount: OpAmount;
  expiresAt?: string;
}

export interface OutgoingPayment {
  id: string;
  walletAddress: string;
  receiver: string;
  failed: boolean;
  debitAmount: OpAmount;
  receiveAmount: OpAmount;
  sentAmount: OpAmount;
  quoteId?: string;
}

export interface OpenPaymentsAdapter {
  getWalletAddress(url: string): Promise<WalletAddress>;
  requestGrant(authServer: string, request: GrantRequest): Promise<Grant>;
  /** After interaction (with its `interact_ref`), or to poll a pending grant. */
  continueGrant(cont: { uri: string; accessToken: string }, interactRef?: string): Promise<Grant>;
  rotateToken(token: OpAccessToken): Promise<OpAccessToken>;
  revokeGrant(cont: { uri: string; accessToken: string }): Promise<void>;
  createIncomingPayment(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; incomingAmount?: OpAmount; expiresAt?: string; metadata?: Record<string, unknown> },
  ): Promise<IncomingPayment>;
  createQuote(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; receiver: string; debitAmount?: OpAmount; receiveAmount?: OpAmount },
  ): Promise<Quote>;
  /** `idempotencyKey` is sent as `Idempotency-Key`: a retry returns the first payment. */
  createOutgoingPayment(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; quoteId: string; metadata?: Record<string, unknown> },
    idempotencyKey: string,
  ): Promise<OutgoingPayment>;
  getOutgoingPayment(url: string, token: string): Promise<OutgoingPayment>;
}

export type { InteractionHashInput } from '../../security/interaction-hash';
