import type { BankConsentStatus } from '../domain/consent';
import type { BankScaStatus, BankTransactionStatus } from '../domain/transaction-status';

/**
 * SCA as an OAuth 2.0 / OpenID Connect authorisation, shared by every protocol that does it that
 * way (UK Open Banking's FAPI flow, the Berlin Group OAuth SCA approach). Clearway registers one
 * redirect URI (`/callbacks/oauth`); `state` names the payment or consent.
 */
export interface OAuthRedirect {
  /** Clearway's OAuth callback, `<public base URL>/callbacks/oauth`. */
  redirectUri: string;
  /** Signed by Clearway, names the payment or consent (see `libs/security/callback-state.ts`). */
  state: string;
}

/**
 * What the bank sent the PSU back with (query, fragment or form post), as it came. It reaches the
 * worker sealed (never through workflow history) and is used once.
 */
export interface OAuthAuthorisationResponse {
  state: string;
  code?: string;
  /** Hybrid flow (`code id_token`): the ID token that came with the code. */
  idToken?: string;
  /** RFC 9207 issuer identification, where the bank sends it. */
  iss?: string;
  error?: string;
  errorDescription?: string;
}

/** What the code bought: tokens for the bank's API. Stored sealed, never in workflow history or logs. */
export interface BankGrant {
  accessToken: string;
  tokenType?: string;
  refreshToken?: string;
  /** Epoch milliseconds. */
  expiresAt?: number;
  scope?: string;
}

/** Which authorisation the code belongs to, so the adapter can check it (e.g. `openbanking_intent_id`, nonce). */
export interface OAuthExchangeRef {
  kind: 'payment' | 'consent';
  /** The bank's payment or consent id as Clearway recorded it. */
  bankResourceId: string;
  authorisationId?: string;
  redirect: OAuthRedirect;
  requestId: string;
}

/** The payment after its authorisation code was redeemed (UK: the payment submitted with it). */
export interface OAuthPaymentCompletion {
  scaStatus: BankScaStatus;
  /** Set when the bank's id for the payment changes with the authorisation (UK: DomesticPaymentId). */
  bankPaymentId?: string;
  status?: BankTransactionStatus;
}

export interface OAuthConsentCompletion {
  scaStatus: BankScaStatus;
  status?: BankConsentStatus;
}
