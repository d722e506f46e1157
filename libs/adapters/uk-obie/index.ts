/**
 * UK Open Banking (OBIE Read/Write 3.1.x, as Stripe Open Banking serves it): a Clearway payment
 * becomes a domestic (or international) payment consent, authorised by the PSU through the FAPI hybrid flow
 * (Clearway's `/callbacks/oauth`), then submitted as the payment with an idempotency key
 * derived from the payment id; a Clearway consent becomes an account-access consent. Stateless:
 * the bank's client_id is kept by the registration store, tokens by the caller (sealed).
 */
import { createHash } from 'node:crypto';
import {
  BankError,
  type AccountInformationAdapter,
  type AccountReadRef,
  type AuthorisationRef,
  type BankAdapter,
  type BankConnection,
  type CancelPaymentResult,
  type ConsentDetails,
  type ConsentRef,
  type CreateConsentCommand,
  type CreateConsentResult,
  type InitiatePaymentCommand,
  type InitiatePaymentResult,
  type PaymentRef,
  type PsuDataUpdateResult,
  type StartAuthorisationResult,
  type TransactionPage,
  type TransactionQuery,
} from '../bank-adapter';
import type { BankGrant, OAuthAuthorisationResponse, OAuthConsentCompletion, OAuthExchangeRef, OAuthPaymentCompletion, OAuthRedirect } from '../oauth-sca';
import type { BankConsentStatus } from '../../domain/consent';
import type { BankScaStatus, BankTransactionStatus } from '../../domain/transaction-status';
import { UkObieClient, RS_PATH, type UkObieClientOptions } from './client';
import {
  paymentConsentToTransactionStatus,
  toAccountDetails,
  toBalance,
  toConsentStatus,
  toDomesticInitiation,
  toInternationalInitiation,
  toPermissions,
  toScaStatus,
  toTransactionDetails,
  toTransactionStatus,
} from './transformers';

export { UkObieClient } from './client';
export type { UkTppIdentity, UkRegistrationStore, UkBankProfile, UkObieClientOptions } from './client';

/** Before the PSU authorised it, a UK payment is its consent at the bank; afterwards, the domestic (or international) payment. */
const CONSENT_PREFIX = 'consent:';

/** The OBIE resources of each Clearway payment product a UK bank can take. */
const PRODUCTS = {
  domestic: { consents: '/pisp/domestic-payment-consents', payments: '/pisp/domestic-payments', paymentId: 'DomesticPaymentId', initiation: toDomesticInitiation },
  international: { consents: '/pisp/international-payment-consents', payments: '/pisp/international-payments', paymentId: 'InternationalPaymentId', initiation: toInternationalInitiation },
} as const;
type UkProduct = (typeof PRODUCTS)[keyof typeof PRODUCTS];

function resourcesOf(product: string): UkProduct {
  const r = (PRODUCTS as Record<string, UkProduct>)[product];
  if (!r) throw new BankError('rejected', `UK Open Banking: product ${product} is not offered`, { messages: [{ category: 'ERROR', code: 'PRODUCT_UNKNOWN' }] });
  return r;
}

/** `c_hash` / `s_hash`: left half of SHA-256, base64url (OIDC core 3.3.2.11). */
export function halfHash(value: string): string {
  const d = createHash('sha256').update(value, 'ascii').digest();
  return d.subarray(0, d.length / 2).toString('base64url');
}

/** The nonce is derived from our signed state: checkable later without keeping anything. */
export function nonceFor(state: string): string {
  return createHash('sha256').update(`nonce:${state}`).digest('base64url');
}

export class UkObieAdapter implements BankAdapter, AccountInformationAdapter {
  readonly protocol = 'uk-obie' as const;
  readonly client: UkObieClient | undefined;

  constructor(opts?: UkObieClientOptions) {
    this.client = opts ? new UkObieClient(opts) : undefined;
  }

  private get http(): UkObieClient {
    if (!this.client) throw new BankError('rejected', 'UK Open Banking is not configured in this deployment (no TPP identity)');
    return this.client;
  }

  // ── Payments ─────────────────────────────────────────────────────────────────────────────
  async initiatePayment(conn: BankConnection, cmd: InitiatePaymentCommand): Promise<InitiatePaymentResult> {
    const r = resourcesOf(cmd.paymentProduct);
    if (!cmd.oauth) throw new BankError('rejected', 'UK Open Banking needs the OAuth redirect (Clearway\'s /callbacks/oauth)');
    const body = { Data: { Initiation: r.initiation(cmd.payment, cmd.idempotencyKey.replace(/-/g, '')) }, Risk: { PaymentContextCode: 'PartyToParty' } };
    const token = await this.http.clientToken(conn, 'payments');
    const res = await this.http.resource(conn, 'POST', r.consents, { token, body, idempotencyKey: cmd.idempotencyKey, psu: cmd.psu });
    const consentId = res.body?.Data?.ConsentId;
    if (typeof consentId !== 'string') throw new BankError('protocol', `${r.consents}: no ConsentId`, { httpStatus: res.status, fate: 'ambiguous' });
    const status = paymentConsentToTransactionStatus(res.body.Data.Status);
    return {
      bankPaymentId: `${CONSENT_PREFIX}${consentId}`,
      status,
      scaApproach: 'REDIRECT',
      authorisationId: consentId,
      scaRedirectUrl: await this.authorisationUrl(conn, consentId, 'payments', cmd.oauth),
    };
  }

  async getPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus> {
    const r = resourcesOf(ref.paymentProduct);
    const token = await this.http.clientToken(conn, 'payments');
    if (ref.bankPaymentId.startsWith(CONSENT_PREFIX)) {
      const res = await this.http.resource(conn, 'GET', `${r.consents}/${encodeURIComponent(ref.bankPaymentId.slice(CONSENT_PREFIX.length))}`, { token });
      return paymentConsentToTransactionStatus(res.body?.Data?.Status);
    }
    const res = await this.http.resource(conn, 'GET', `${r.payments}/${encodeURIComponent(ref.bankPaymentId)}`, { token });
    return toTransactionStatus(res.body?.Data?.Status);
  }

  async startAuthorisation(conn: BankConnection, ref: PaymentRef & { redirect: { okUri: string; nokUri: string }; oauth?: OAuthRedirect }): Promise<StartAuthorisationResult> {
    if (!ref.bankPaymentId.startsWith(CONSENT_PREFIX)) throw new BankError('rejected', 'The payment is already authorised and submitted');
    if (!ref.oauth) throw new BankError('rejected', 'UK Open Banking needs the OAuth redirect');
    const consentId = ref.bankPaymentId.slice(CONSENT_PREFIX.length);
    return { authorisationId: consentId, scaStatus: { raw: 'AwaitingAuthorisation', normalised: 'started' }, scaApproach: 'REDIRECT', scaRedirectUrl: await this.authorisationUrl(conn, consentId, 'payments', ref.oauth) };
  }

  async getScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus> {
    const r = resourcesOf(ref.paymentProduct);
    const token = await this.http.clientToken(conn, 'payments');
    const res = await this.http.resource(conn, 'GET', `${r.consents}/${encodeURIComponent(ref.authorisationId)}`, { token });
    return toScaStatus(res.body?.Data?.Status);
  }

  /**
   * OBIE has no cancellation of a single domestic payment. Before the PSU's code was redeemed
   * nothing can execute: Clearway alone submits the payment, so withdrawing is not submitting.
   */
  async cancelPayment(_conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult> {
    if (ref.bankPaymentId.startsWith(CONSENT_PREFIX)) return { status: { raw: 'NotSubmitted', normalised: 'CANC' }, authorisationRequired: false };
    throw new BankError('rejected', 'UK Open Banking payments cannot be cancelled once submitted', { httpStatus: 405, messages: [{ category: 'ERROR', code: 'CANCELLATION_INVALID' }] });
  }

  async updatePaymentPsuData(): Promise<PsuDataUpdateResult> {
    throw new BankError('rejected', 'UK Open Banking authorises by redirect only', { httpStatus: 400, messages: [{ category: 'ERROR', code: 'SERVICE_INVALID' }] });
  }

  // ── OAuth/OIDC SCA ───────────────────────────────────────────────────────────────────────
  private async authorisationUrl(conn: BankConnection, consentId: string, scope: 'payments' | 'accounts', oauth: OAuthRedirect): Promise<string> {
    return this.http.authorisationUrl(conn, { consentId, scope, redirectUri: oauth.redirectUri, state: oauth.state, nonce: nonceFor(oauth.state) });
  }

  /**
   * FAPI hybrid flow: the ID token that came with the code must be the bank's, for us, for this
   * consent, with our nonce, and bind the code (`c_hash`) and state (`s_hash`); only then is the
   * code redeemed (`private_key_jwt`).
   */
  async exchangeAuthorisationCode(conn: BankConnection, ref: OAuthExchangeRef, response: OAuthAuthorisationResponse): Promise<BankGrant> {
    if (!response.code) throw new BankError('rejected', 'No authorisation code');
    if (response.state !== ref.redirect.state) throw new BankError('rejected', 'state does not match the authorisation request');
    if (!response.idToken) throw new BankError('rejected', 'The hybrid flow returns an id_token with the code; none came');
    const consentId = ref.bankResourceId.startsWith(CONSENT_PREFIX) ? ref.bankResourceId.slice(CONSENT_PREFIX.length) : (ref.authorisationId ?? ref.bankResourceId);
    const claims = await this.http.verifyIdToken(conn, response.idToken);
    const refuse = (why: string) => new BankError('rejected', `id_token refused: ${why}`);
    if (claims.nonce !== nonceFor(ref.redirect.state)) throw refuse('nonce');
    if (claims.c_hash !== halfHash(response.code)) throw refuse('c_hash does not bind the code');
    if (claims.s_hash !== halfHash(response.state)) throw refuse('s_hash does not bind the state');
    if (claims.openbanking_intent_id !== consentId && claims.sub !== consentId) throw refuse('openbanking_intent_id names another consent');
    const body = await this.http.tokenRequest(conn, { grant_type: 'authorization_code', code: response.code, redirect_uri: ref.redirect.redirectUri });
    if (typeof body.id_token === 'string') {
      const again = await this.http.verifyIdToken(conn, body.id_token);
      if (again.openbanking_intent_id !== consentId && again.sub !== consentId) throw refuse('the token endpoint\'s id_token names another consent');
    }
    return {
      accessToken: body.access_token,
      tokenType: body.token_type,
      ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
      ...(Number.isFinite(Number(body.expires_in)) ? { expiresAt: Date.now() + Number(body.expires_in) * 1000 } : {}),
      ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    };
  }

  /**
   * Submits the payment the PSU authorised, exactly as its consent says (read back from the
   * bank), with the idempotency key derived from the payment id: a retry after a crash or a lost
   * answer gets the same payment back, as OBIE requires of the bank.
   */
  async completePaymentAuthorisation(conn: BankConnection, ref: AuthorisationRef & { idempotencyKey: string }, grant: BankGrant): Promise<OAuthPaymentCompletion> {
    const consentId = ref.bankPaymentId.startsWith(CONSENT_PREFIX) ? ref.bankPaymentId.slice(CONSENT_PREFIX.length) : ref.authorisationId;
    const r = resourcesOf(ref.paymentProduct);
    const token = await this.http.clientToken(conn, 'payments');
    const consent = await this.http.resource(conn, 'GET', `${r.consents}/${encodeURIComponent(consentId)}`, { token });
    const body = { Data: { ConsentId: consentId, Initiation: consent.body?.Data?.Initiation }, Risk: consent.body?.Risk ?? {} };
    const res = await this.http.resource(conn, 'POST', r.payments, { token: grant.accessToken, body, idempotencyKey: ref.idempotencyKey, psu: ref.psu });
    const paymentId = res.body?.Data?.[r.paymentId];
    if (typeof paymentId !== 'string') throw new BankError('protocol', `${r.payments}: no ${r.paymentId}`, { httpStatus: res.status, fate: 'ambiguous' });
    return { scaStatus: { raw: 'Consumed', normalised: 'finalised' }, bankPaymentId: paymentId, status: toTransactionStatus(res.body.Data.Status) };
  }

  async completeConsentAuthorisation(conn: BankConnection, ref: ConsentRef & { authorisationId?: string }): Promise<OAuthConsentCompletion> {
    const { raw, normalised } = await this.readAccountConsent(conn, ref.bankConsentId);
    return { scaStatus: normalised === 'valid' ? { raw, normalised: 'finalised' } : toScaStatus(raw), status: { raw, normalised } };
  }

  // ── Account information ──────────────────────────────────────────────────────────────────
  async createConsent(conn: BankConnection, cmd: CreateConsentCommand): Promise<CreateConsentResult> {
    if (!cmd.oauth) throw new BankError('rejected', 'UK Open Banking needs the OAuth redirect (Clearway\'s /callbacks/oauth)');
    const token = await this.http.clientToken(conn, 'accounts');
    const expiration = cmd.consent.validUntil.startsWith('9999') ? undefined : `${cmd.consent.validUntil}T23:59:59+00:00`;
    const body = { Data: { Permissions: toPermissions(cmd.consent), ...(expiration ? { ExpirationDateTime: expiration } : {}) }, Risk: {} };
    const res = await this.http.resource(conn, 'POST', '/aisp/account-access-consents', { token, body, idempotencyKey: cmd.idempotencyKey, psu: cmd.psu });
    const consentId = res.body?.Data?.ConsentId;
    if (typeof consentId !== 'string') throw new BankError('protocol', 'account-access-consents: no ConsentId', { httpStatus: res.status, fate: 'ambiguous' });
    return {
      bankConsentId: consentId,
      status: toConsentStatus(res.body.Data.Status),
      scaApproach: 'REDIRECT',
      authorisationId: consentId,
      scaRedirectUrl: await this.authorisationUrl(conn, consentId, 'accounts', cmd.oauth),
    };
  }

  private async readAccountConsent(conn: BankConnection, consentId: string): Promise<BankConsentStatus & { body?: any }> {
    const token = await this.http.clientToken(conn, 'accounts');
    const res = await this.http.resource(conn, 'GET', `/aisp/account-access-consents/${encodeURIComponent(consentId)}`, { token });
    return { ...toConsentStatus(res.body?.Data?.Status), body: res.body };
  }

  async getConsent(conn: BankConnection, ref: ConsentRef): Promise<ConsentDetails> {
    const { raw, normalised, body } = await this.readAccountConsent(conn, ref.bankConsentId);
    const data = body?.Data ?? {};
    const permissions: string[] = Array.isArray(data.Permissions) ? data.Permissions : [];
    const all = 'allAccounts' as const;
    return {
      status: { raw, normalised },
      validUntil: typeof data.ExpirationDateTime === 'string' ? data.ExpirationDateTime.slice(0, 10) : '9999-12-31',
      // The RTS allows four reads a day without the PSU; OBIE consents carry no other limit.
      frequencyPerDay: 4,
      access: permissions.some((p) => p.startsWith('ReadTransactions')) ? { allPsd2: all } : permissions.includes('ReadBalances') ? { availableAccountsWithBalance: all } : { availableAccounts: all },
    };
  }

  async getConsentStatus(conn: BankConnection, ref: ConsentRef): Promise<BankConsentStatus> {
    const { raw, normalised } = await this.readAccountConsent(conn, ref.bankConsentId);
    return { raw, normalised };
  }

  async deleteConsent(conn: BankConnection, ref: ConsentRef): Promise<void> {
    const token = await this.http.clientToken(conn, 'accounts');
    await this.http.resource(conn, 'DELETE', `/aisp/account-access-consents/${encodeURIComponent(ref.bankConsentId)}`, { token });
  }

  async startConsentAuthorisation(conn: BankConnection, ref: ConsentRef & { redirect: { okUri: string; nokUri: string }; oauth?: OAuthRedirect }): Promise<StartAuthorisationResult> {
    if (!ref.oauth) throw new BankError('rejected', 'UK Open Banking needs the OAuth redirect');
    return {
      authorisationId: ref.bankConsentId,
      scaStatus: { raw: 'AwaitingAuthorisation', normalised: 'started' },
      scaApproach: 'REDIRECT',
      scaRedirectUrl: await this.authorisationUrl(conn, ref.bankConsentId, 'accounts', ref.oauth),
    };
  }

  async getConsentScaStatus(conn: BankConnection, ref: ConsentRef & { authorisationId: string }): Promise<BankScaStatus> {
    const { raw } = await this.readAccountConsent(conn, ref.bankConsentId);
    return toScaStatus(raw);
  }

  async updateConsentPsuData(): Promise<PsuDataUpdateResult> {
    return this.updatePaymentPsuData();
  }

  private psuToken(ref: AccountReadRef): string {
    if (!ref.grant?.accessToken) throw new BankError('rejected', 'The consent has no access token (not authorised through Clearway)', { httpStatus: 401, messages: [{ category: 'ERROR', code: 'CONSENT_INVALID' }] });
    return ref.grant.accessToken;
  }

  async listAccounts(conn: BankConnection, ref: AccountReadRef, opts: { withBalance: boolean }): Promise<{ accounts: Record<string, unknown>[] }> {
    const res = await this.http.resource(conn, 'GET', '/aisp/accounts', { token: this.psuToken(ref), psu: ref.psu });
    const accounts = (Array.isArray(res.body?.Data?.Account) ? res.body.Data.Account : []).map(toAccountDetails);
    if (opts.withBalance) for (const a of accounts) a.balances = (await this.getBalances(conn, ref, String(a.resourceId))).balances;
    return { accounts };
  }

  async getAccount(conn: BankConnection, ref: AccountReadRef, accountId: string, opts: { withBalance: boolean }): Promise<{ account: Record<string, unknown> }> {
    const res = await this.http.resource(conn, 'GET', `/aisp/accounts/${encodeURIComponent(accountId)}`, { token: this.psuToken(ref), psu: ref.psu });
    const first = res.body?.Data?.Account?.[0];
    if (!first) throw new BankError('not_found', `Account ${accountId} not found`, { httpStatus: 404 });
    const account = toAccountDetails(first);
    if (opts.withBalance) account.balances = (await this.getBalances(conn, ref, accountId)).balances;
    return { account };
  }

  async getBalances(conn: BankConnection, ref: AccountReadRef, accountId: string) {
    const res = await this.http.resource(conn, 'GET', `/aisp/accounts/${encodeURIComponent(accountId)}/balances`, { token: this.psuToken(ref), psu: ref.psu });
    return { account: { resourceId: accountId }, balances: (Array.isArray(res.body?.Data?.Balance) ? res.body.Data.Balance : []).map(toBalance) };
  }

  /**
   * OBIE pages with `Links.Next` (full URLs); they become our opaque page tokens, and a token is
   * only followed to this bank's own transactions of this account.
   */
  async getTransactions(conn: BankConnection, ref: AccountReadRef, accountId: string, query: TransactionQuery): Promise<TransactionPage> {
    const base = `${conn.baseUrl.replace(/\/$/, '')}${RS_PATH}/aisp/accounts/${encodeURIComponent(accountId)}/transactions`;
    let url: string;
    if (query.page) {
      if (!query.page.startsWith(`${base}?`)) throw new BankError('rejected', 'The page token is not one of this account\'s', { httpStatus: 400, messages: [{ category: 'ERROR', code: 'FORMAT_ERROR', path: 'page' }] });
      url = query.page;
    } else {
      const q = new URLSearchParams();
      if (query.dateFrom) q.set('fromBookingDateTime', `${query.dateFrom}T00:00:00+00:00`);
      if (query.dateTo) q.set('toBookingDateTime', `${query.dateTo}T23:59:59+00:00`);
      url = q.size ? `${base}?${q}` : base;
    }
    const res = await this.http.resource(conn, 'GET', url, { token: this.psuToken(ref), psu: ref.psu });
    const all: any[] = Array.isArray(res.body?.Data?.Transaction) ? res.body.Data.Transaction : [];
    const wantBooked = query.bookingStatus === 'booked' || query.bookingStatus === 'both';
    const wantPending = query.bookingStatus === 'pending' || query.bookingStatus === 'both';
    const links = res.body?.Links ?? {};
    const own = (u: unknown) => (typeof u === 'string' && u.startsWith(`${base}?`) ? u : undefined);
    const page: TransactionPage = {
      account: { resourceId: accountId },
      ...(wantBooked ? { booked: all.filter((t) => t.Status === 'Booked').map(toTransactionDetails) } : {}),
      ...(wantPending ? { pending: all.filter((t) => t.Status === 'Pending').map(toTransactionDetails) } : {}),
      pages: {
        ...(own(links.First) ? { first: own(links.First) } : {}),
        ...(own(links.Next) ? { next: own(links.Next) } : {}),
        ...(own(links.Prev) ? { previous: own(links.Prev) } : {}),
        ...(own(links.Last) ? { last: own(links.Last) } : {}),
      },
    };
    if (query.withBalance) page.balances = (await this.getBalances(conn, ref, accountId)).balances;
    return page;
  }

  async getTransaction(): Promise<{ transactionsDetails: Record<string, unknown> }> {
    throw new BankError('not_found', 'UK Open Banking offers no single-transaction read', { httpStatus: 404, messages: [{ category: 'ERROR', code: 'SERVICE_INVALID' }] });
  }
}
