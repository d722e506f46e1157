import type { AccountAccess, Balance, BankConsentStatus, BookingStatus, ConsentRequest } from '../domain/consent';
import type { PaymentInitiationBody, PaymentProduct } from '../domain/payment';
import type { BankScaStatus, BankTransactionStatus, ScaApproach } from '../domain/transaction-status';
import type { BulkPaymentAdapter } from './bulk-payment-adapter';

/** Protocols Clearway speaks to banks. Adding one is a new adapter folder plus one registry line. */
export type BankProtocol = 'berlin-group';

/**
 * Where and how to reach one bank. Built from the ASPSP directory row plus deployment config.
 * Credentials and certificates are references to secrets, never the secrets themselves.
 */
export interface BankConnection {
  bicFi: string;
  /** Base URL of the bank's API, e.g. `https://bank.example/psd2` (the `/v1/...` paths are appended). */
  baseUrl: string;
  /** TPP identification at the bank (eIDAS QWAC / OAuth client). Placeholders until a real bank is onboarded. */
  tppId?: string;
  clientCertificateRef?: string;
  /** Per-request timeout for calls to this bank. */
  timeoutMs?: number;
  /**
   * Error codes this bank documents as answered before any processing (e.g. a 503 its gateway
   * sends while the bank is closed): such a failure is `not_processed`, so even an initiation may
   * be sent again. None unless the bank documents them: otherwise a 5xx is ambiguous.
   */
  notProcessedCodes?: readonly string[];
}

/** What the bank needs to know about the payment service user for this request. */
export interface PsuContext {
  psuId?: string;
  psuIpAddress?: string;
  psuUserAgent?: string;
}

export interface InitiatePaymentCommand {
  /**
   * Derived from the payment id, identical for every attempt of one initiation, so the attempts are
   * recognisable as one in the bank's logs, and a bank that honours it as an idempotency key never
   * creates a second payment. Berlin Group banks receive it as `X-Request-ID`, which BG defines as
   * a request id with no idempotency promise: most do NOT deduplicate on it, so a repeat after an
   * ambiguous failure may create a second payment (see `libs/domain/initiation-safety.ts`).
   */
  idempotencyKey: string;
  paymentProduct: PaymentProduct;
  payment: PaymentInitiationBody;
  psu: PsuContext;
  /** Where the bank sends the PSU after redirect SCA (TPP-Redirect-URI / TPP-Nok-Redirect-URI). */
  redirect: { okUri: string; nokUri: string };
  /** `TPP-Redirect-Preferred`: false asks for decoupled/embedded when the bank offers it. */
  redirectPreferred?: boolean;
}

export interface InitiatePaymentResult {
  bankPaymentId: string;
  status: BankTransactionStatus;
  scaApproach: ScaApproach;
  /** Present when the bank created the authorisation implicitly with the payment. */
  authorisationId?: string;
  /** The page the PSU must visit (redirect approach). */
  scaRedirectUrl?: string;
  psuMessage?: string;
}

export interface PaymentRef {
  bankPaymentId: string;
  paymentProduct: PaymentProduct;
  /** Request id for this call; reads may use a fresh one. */
  requestId: string;
  psu?: PsuContext;
}

export interface AuthorisationRef extends PaymentRef {
  authorisationId: string;
}

export interface StartAuthorisationResult {
  authorisationId: string;
  scaStatus: BankScaStatus;
  scaApproach: ScaApproach;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

export interface CancelPaymentResult {
  status: BankTransactionStatus;
  /** True when the bank wants the cancellation itself authorised by the PSU (BG 202). */
  authorisationRequired: boolean;
}

/**
 * A stateless translator between Clearway and one bank protocol. It does HTTP and mapping only:
 * persistence, retries and timeouts belong to the activities and workflows that call it.
 * Failures are thrown as {@link BankError} so the caller can tell "retry" from "give up".
 */
export interface BankAdapter extends Partial<BulkPaymentAdapter> {
  readonly protocol: BankProtocol;
  initiatePayment(conn: BankConnection, cmd: InitiatePaymentCommand): Promise<InitiatePaymentResult>;
  getPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus>;
  startAuthorisation(
    conn: BankConnection,
    ref: PaymentRef & { redirect: { okUri: string; nokUri: string } },
  ): Promise<StartAuthorisationResult>;
  getScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus>;
  cancelPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult>;
  updatePaymentPsuData(conn: BankConnection, ref: AuthorisationRef, update: PsuDataUpdate): Promise<PsuDataUpdateResult>;
  /**
   * Optional: the bank's own way to find the payment an initiation created, for an initiation
   * whose answer was lost. Berlin Group defines none (an X-Request-ID cannot be searched for), so
   * its adapter leaves this out; a protocol or bank that offers one implements it.
   * Resolves null when the bank says it holds no such payment.
   */
  findInitiatedPayment?(conn: BankConnection, ref: InitiationLookupRef): Promise<{ bankPaymentId: string; status: BankTransactionStatus } | null>;
}

export interface InitiationLookupRef {
  /** The idempotency key every attempt of the initiation carried. */
  idempotencyKey: string;
  paymentProduct: PaymentProduct;
  psu: PsuContext;
  requestId: string;
}

/** A message from the bank, in Berlin Group `tppMessages` form. */
export interface BankMessage {
  category: 'ERROR' | 'WARNING';
  code: string;
  text?: string;
  path?: string;
}

/**
 * - `rejected`: the bank refused the request (4xx other than 408/429); retrying cannot help.
 * - `not_found`: the resource is unknown at the bank (404).
 * - `rate_limited`: 429; `retryAfterMs` carries the bank's Retry-After.
 * - `unavailable`: 5xx, 408, connection failure or timeout; retrying may help.
 * - `protocol`: the bank answered something we cannot understand (bad JSON, missing fields).
 */
export type BankErrorKind = 'rejected' | 'not_found' | 'rate_limited' | 'unavailable' | 'protocol';

/**
 * What a failed request tells about the bank's side: may it have acted on it? This decides
 * whether a request that creates something (a payment, a consent) may be sent again.
 * - `not_processed`: provably not acted on: it never reached the bank (connection refused, DNS
 *   failure, TLS handshake refused) or the bank turned it away before processing (429).
 * - `refused`: the bank answered and refused it (4xx): nothing was created.
 * - `ambiguous`: it may have been acted on: a timeout or a dropped connection after sending, a
 *   5xx (a lost answer looks the same), a 2xx we could not read.
 */
export type RequestFate = 'not_processed' | 'refused' | 'ambiguous';

/** Where an adapter does not say otherwise. */
const FATE_OF_KIND: Record<BankErrorKind, RequestFate> = {
  rejected: 'refused',
  not_found: 'refused',
  rate_limited: 'not_processed',
  unavailable: 'ambiguous',
  protocol: 'ambiguous',
};

export interface BankErrorDetails {
  httpStatus?: number;
  retryAfterMs?: number;
  messages?: BankMessage[];
  /** Set by adapters that know better than the kind (e.g. a connection refused is `not_processed`). */
  fate?: RequestFate;
  /** The id of what the bank created, when an unreadable 2xx still named it (an orphan we can clean up). */
  resourceId?: string;
}

export class BankError extends Error {
  override readonly name = 'BankError';
  constructor(
    readonly kind: BankErrorKind,
    message: string,
    readonly details: BankErrorDetails = {},
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable';
  }

  get fate(): RequestFate {
    return this.details.fate ?? FATE_OF_KIND[this.kind];
  }
}

export function isBankError(err: unknown): err is BankError {
  return err instanceof BankError;
}

// ── Account information (AIS) ────────────────────────────────────────────────────────────────

export interface CreateConsentCommand {
  /** Derived from the consent id: a retried creation returns the same consent at the bank. */
  idempotencyKey: string;
  consent: ConsentRequest;
  psu: PsuContext;
  redirect: { okUri: string; nokUri: string };
  redirectPreferred?: boolean;
}

export interface CreateConsentResult {
  bankConsentId: string;
  status: BankConsentStatus;
  scaApproach: ScaApproach;
  authorisationId?: string;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

export interface ConsentRef {
  bankConsentId: string;
  requestId: string;
  psu?: PsuContext;
}

export interface ConsentDetails {
  status: BankConsentStatus;
  /** What the bank granted: its `validUntil` replaces our 9999-12-31 with the real maximum. */
  validUntil: string;
  frequencyPerDay: number;
  access: AccountAccess;
  lastActionDate?: string;
}

/**
 * BG "Update PSU Data", one step per call: identification (PSU-ID header, empty body), then for
 * the embedded approach PSU credentials, the SCA method, the OTP.
 */
export type PsuDataUpdate =
  | { kind: 'identification'; psuId?: string }
  | { kind: 'credentials'; psuId?: string; password: string }
  | { kind: 'selectMethod'; authenticationMethodId: string }
  | { kind: 'otp'; scaAuthenticationData: string };

export interface ScaMethod {
  authenticationType: string;
  authenticationMethodId: string;
  name?: string;
}

export interface PsuDataUpdateResult {
  scaStatus: BankScaStatus;
  scaMethods?: ScaMethod[];
  chosenScaMethod?: ScaMethod;
  challengeData?: { otpMaxLength?: number; otpFormat?: 'characters' | 'integer'; additionalInformation?: string; data?: string[] };
  psuMessage?: string;
}

/**
 * One AIS read. `psu.psuIpAddress` present means the PSU is present (BG): such reads do not count
 * against the consent's frequencyPerDay. `page` is an opaque continuation from a previous page.
 */
export interface AccountReadRef {
  bankConsentId: string;
  requestId: string;
  psu?: PsuContext;
}

export interface TransactionQuery {
  dateFrom?: string;
  dateTo?: string;
  bookingStatus: BookingStatus;
  entryReferenceFrom?: string;
  deltaList?: boolean;
  withBalance?: boolean;
  /** Continuation token from a previous page's `links.next` etc. Opaque to callers. */
  page?: string;
}

/** A page of transactions, in the bank's BG JSON with paging links turned into opaque tokens. */
export interface TransactionPage {
  account?: Record<string, unknown>;
  booked?: Record<string, unknown>[];
  pending?: Record<string, unknown>[];
  information?: Record<string, unknown>[];
  balances?: Balance[];
  /** Continuation tokens for `TransactionQuery.page`, when the bank offers them. */
  pages: { first?: string; next?: string; previous?: string; last?: string };
}

/**
 * The account-information half of a bank protocol. Same rules as {@link BankAdapter}: stateless,
 * HTTP and mapping only, failures as {@link BankError}. Account data is returned as the bank's
 * Berlin Group JSON (accountDetails, balances, transactionDetails), which is also our API's shape.
 */
export interface AccountInformationAdapter {
  createConsent(conn: BankConnection, cmd: CreateConsentCommand): Promise<CreateConsentResult>;
  getConsent(conn: BankConnection, ref: ConsentRef): Promise<ConsentDetails>;
  getConsentStatus(conn: BankConnection, ref: ConsentRef): Promise<BankConsentStatus>;
  deleteConsent(conn: BankConnection, ref: ConsentRef): Promise<void>;
  startConsentAuthorisation(conn: BankConnection, ref: ConsentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult>;
  getConsentScaStatus(conn: BankConnection, ref: ConsentRef & { authorisationId: string }): Promise<BankScaStatus>;
  updateConsentPsuData(conn: BankConnection, ref: ConsentRef & { authorisationId: string }, update: PsuDataUpdate): Promise<PsuDataUpdateResult>;

  listAccounts(conn: BankConnection, ref: AccountReadRef, opts: { withBalance: boolean }): Promise<{ accounts: Record<string, unknown>[] }>;
  getAccount(conn: BankConnection, ref: AccountReadRef, accountId: string, opts: { withBalance: boolean }): Promise<{ account: Record<string, unknown> }>;
  getBalances(conn: BankConnection, ref: AccountReadRef, accountId: string): Promise<{ account?: Record<string, unknown>; balances: Balance[] }>;
  getTransactions(conn: BankConnection, ref: AccountReadRef, accountId: string, query: TransactionQuery): Promise<TransactionPage>;
  getTransaction(conn: BankConnection, ref: AccountReadRef, accountId: string, transactionId: string): Promise<{ transactionsDetails: Record<string, unknown> }>;
}

/** Whether a protocol's adapter also speaks account information. */
export function supportsAccountInformation(adapter: BankAdapter): adapter is BankAdapter & AccountInformationAdapter {
  return typeof (adapter as Partial<AccountInformationAdapter>).createConsent === 'function';
}
