/**
 * Berlin Group NextGenPSD2 1.3.x account information: consent and account DTOs, their translation
 * into Clearway's vocabulary, and the opaque transaction page tokens. Pure functions only.
 */
import {
  BankError,
  isBankError,
  type PsuDataUpdate,
  type PsuDataUpdateResult,
  type ScaMethod,
  type TransactionPage,
  type TransactionQuery,
} from '../bank-adapter';
import type { AccountAccess, Balance, BankConsentStatus, ConsentRequest, ConsentStatus } from '../../domain/consent';
import { CONSENT_GONE_CODES, accountsPath, joinUrl } from './client';
import {
  asObject,
  dropUndefined,
  hrefOf,
  mapScaStatus,
  optionalString,
  requireString,
  resolveHref,
  type BgLinks,
} from './transformers';

// ---------------------------------------------------------------------------------------------
// Consent status (psd2-api-1.3.12 `consentStatus` enum)
// ---------------------------------------------------------------------------------------------

/** Every code of the BG `consentStatus` enum. */
export const BG_CONSENT_STATUSES = [
  'received',
  'rejected',
  'valid',
  'revokedByPsu',
  'expired',
  'terminatedByTpp',
  'partiallyAuthorised',
] as const;
export type BgConsentStatus = (typeof BG_CONSENT_STATUSES)[number];

/** Identity today; spelled out so a new BG code cannot be added without deciding what it means. */
export const BG_CONSENT_STATUS_MAP: Readonly<Record<BgConsentStatus, ConsentStatus>> = {
  received: 'received',
  rejected: 'rejected',
  valid: 'valid',
  revokedByPsu: 'revokedByPsu',
  expired: 'expired',
  terminatedByTpp: 'terminatedByTpp',
  partiallyAuthorised: 'partiallyAuthorised',
};

/**
 * Unknown codes (BG lets banks add their own) become `received`: not `valid`, so nothing reads
 * account data on a status we do not understand, and not final, so nothing gives the consent up
 * or asks the PSU again. The caller keeps checking; `raw` is kept for the mapping to be added.
 */
export function mapConsentStatus(raw: string): BankConsentStatus {
  const known = Object.prototype.hasOwnProperty.call(BG_CONSENT_STATUS_MAP, raw);
  return { raw, normalised: known ? BG_CONSENT_STATUS_MAP[raw as BgConsentStatus] : 'received' };
}

/**
 * The BG code when `err` says the consent no longer grants access (CONSENT_INVALID, _EXPIRED,
 * _UNKNOWN): the caller should then read the consent status at the bank.
 */
export function consentGoneCode(err: unknown): string | undefined {
  if (!isBankError(err)) return undefined;
  return err.details.messages?.find((m) => CONSENT_GONE_CODES.includes(m.code))?.code;
}

// ---------------------------------------------------------------------------------------------
// Wire DTOs
// ---------------------------------------------------------------------------------------------

/** `consents` request body. */
export interface BgConsentRequest {
  access: AccountAccess;
  recurringIndicator: boolean;
  validUntil: string;
  frequencyPerDay: number;
  combinedServiceIndicator: boolean;
}

/** `consentsResponse-201`. */
export interface BgConsentsResponse {
  consentStatus: string;
  consentId: string;
  /** Not in 1.3.12's schema, but some banks send it (and 1.3.8+ implicit authorisation does). */
  authorisationId?: string;
  psuMessage?: string;
  _links?: BgLinks;
}

/** `consentInformationResponse-200_json`. */
export interface BgConsentInformationResponse {
  access: AccountAccess;
  recurringIndicator?: boolean;
  validUntil: string;
  frequencyPerDay: number;
  lastActionDate?: string;
  consentStatus: string;
}

/** `authenticationObject`. */
export interface BgAuthenticationObject {
  authenticationType: string;
  authenticationMethodId: string;
  authenticationVersion?: string;
  name?: string;
  explanation?: string;
}

/** `updatePsuAuthentication` | `selectPsuAuthenticationMethod` | `transactionAuthorisation`. */
export type BgPsuDataUpdateRequest =
  | Record<string, never>
  | { psuData: { password: string } }
  | { authenticationMethodId: string }
  | { scaAuthenticationData: string };

/** `transactionsResponse-200_json`. Transactions stay the bank's `transactionDetails` objects. */
export interface BgTransactionsResponse {
  account?: Record<string, unknown>;
  transactions?: {
    booked?: Record<string, unknown>[];
    pending?: Record<string, unknown>[];
    information?: Record<string, unknown>[];
    _links?: BgLinks;
  };
  balances?: Balance[];
}

/** Explicit copy: only fields we mean to send leave Clearway. */
export function toBgConsentRequest(c: ConsentRequest): BgConsentRequest {
  return {
    access: toBgAccess(c.access),
    recurringIndicator: c.recurringIndicator,
    validUntil: c.validUntil,
    frequencyPerDay: c.frequencyPerDay,
    combinedServiceIndicator: c.combinedServiceIndicator,
  };
}

function toBgAccess(a: AccountAccess): AccountAccess {
  return dropUndefined({
    accounts: a.accounts,
    balances: a.balances,
    transactions: a.transactions,
    availableAccounts: a.availableAccounts,
    availableAccountsWithBalance: a.availableAccountsWithBalance,
    allPsd2: a.allPsd2,
  });
}

/** One embedded SCA step as the BG PUT body. PSU-ID travels as a header, not here. */
export function toBgPsuDataUpdate(update: PsuDataUpdate): BgPsuDataUpdateRequest {
  switch (update.kind) {
    case 'identification':
      return {};
    case 'credentials':
      return { psuData: { password: update.password } };
    case 'selectMethod':
      return { authenticationMethodId: update.authenticationMethodId };
    case 'otp':
      return { scaAuthenticationData: update.scaAuthenticationData };
  }
}

/** The first page's query. Booleans are only sent when true (false is the BG default). */
export function toBgTransactionsQuery(q: TransactionQuery): Record<string, string | undefined> {
  return {
    bookingStatus: q.bookingStatus,
    dateFrom: q.dateFrom,
    dateTo: q.dateTo,
    entryReferenceFrom: q.entryReferenceFrom,
    deltaList: q.deltaList ? 'true' : undefined,
    withBalance: q.withBalance ? 'true' : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Response validation (2xx bodies): anything missing we need is a protocol error
// ---------------------------------------------------------------------------------------------

function optionalObject(o: Record<string, unknown>, field: string, what: string): Record<string, unknown> | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  return asObject(v, `${what}: ${field}`);
}

function objectList(v: unknown, field: string, what: string): Record<string, unknown>[] {
  if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object' || Array.isArray(x))) {
    throw new BankError('protocol', `${what}: ${field} is not a list of objects`);
  }
  return v as Record<string, unknown>[];
}

function optionalObjectList(o: Record<string, unknown>, field: string, what: string): Record<string, unknown>[] | undefined {
  return o[field] === undefined || o[field] === null ? undefined : objectList(o[field], field, what);
}

function balanceList(v: unknown, what: string): Balance[] {
  const list = objectList(v, 'balances', what);
  for (const b of list) {
    if (!b.balanceAmount || typeof b.balanceAmount !== 'object' || typeof b.balanceType !== 'string') {
      throw new BankError('protocol', `${what}: balance without balanceAmount or balanceType`);
    }
  }
  return list as unknown as Balance[];
}

export function parseConsentsResponse(body: unknown): BgConsentsResponse {
  const what = 'consent creation response';
  const o = asObject(body, what);
  return dropUndefined({
    consentId: requireString(o, 'consentId', what),
    consentStatus: requireString(o, 'consentStatus', what),
    authorisationId: optionalString(o, 'authorisationId'),
    psuMessage: optionalString(o, 'psuMessage'),
    _links: (o._links ?? undefined) as BgLinks | undefined,
  });
}

export function parseConsentInformationResponse(body: unknown): BgConsentInformationResponse {
  const what = 'consent information response';
  const o = asObject(body, what);
  const frequencyPerDay = o.frequencyPerDay;
  if (typeof frequencyPerDay !== 'number' || !Number.isInteger(frequencyPerDay) || frequencyPerDay < 1) {
    throw new BankError('protocol', `${what}: missing frequencyPerDay`);
  }
  const validUntil = requireString(o, 'validUntil', what);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(validUntil)) throw new BankError('protocol', `${what}: validUntil is not an ISO date`);
  return dropUndefined({
    access: toBgAccess(asObject(o.access, `${what}: access`) as AccountAccess),
    recurringIndicator: typeof o.recurringIndicator === 'boolean' ? o.recurringIndicator : undefined,
    validUntil,
    frequencyPerDay,
    lastActionDate: optionalString(o, 'lastActionDate'),
    consentStatus: requireString(o, 'consentStatus', what),
  });
}

export function parseConsentStatusResponse(body: unknown): { consentStatus: string } {
  const what = 'consent status response';
  return { consentStatus: requireString(asObject(body, what), 'consentStatus', what) };
}

function toScaMethod(v: unknown, what: string): ScaMethod {
  const o = asObject(v, what);
  return dropUndefined({
    authenticationType: requireString(o, 'authenticationType', what),
    authenticationMethodId: requireString(o, 'authenticationMethodId', what),
    name: optionalString(o, 'name'),
  });
}

function toChallengeData(v: unknown, what: string): PsuDataUpdateResult['challengeData'] {
  const o = asObject(v, what);
  const data = Array.isArray(o.data) && o.data.every((d) => typeof d === 'string') ? (o.data as string[]) : undefined;
  const otpFormat = o.otpFormat === 'characters' || o.otpFormat === 'integer' ? (o.otpFormat as 'characters' | 'integer') : undefined;
  return dropUndefined({
    otpMaxLength: typeof o.otpMaxLength === 'number' ? o.otpMaxLength : undefined,
    otpFormat,
    additionalInformation: optionalString(o, 'additionalInformation'),
    data,
  });
}

/**
 * `updatePsuAuthenticationResponse`, `selectPsuAuthenticationMethodResponse` and
 * `scaStatusResponse` share `scaStatus` and differ in what else they carry: one mapper for all.
 */
export function parsePsuDataUpdateResponse(body: unknown): PsuDataUpdateResult {
  const what = 'PSU data update response';
  const o = asObject(body, what);
  const scaMethods = o.scaMethods === undefined ? undefined : objectList(o.scaMethods, 'scaMethods', what);
  return dropUndefined({
    scaStatus: mapScaStatus(requireString(o, 'scaStatus', what)),
    scaMethods: scaMethods?.map((m) => toScaMethod(m, `${what}: scaMethods`)),
    chosenScaMethod: o.chosenScaMethod === undefined ? undefined : toScaMethod(o.chosenScaMethod, `${what}: chosenScaMethod`),
    challengeData: o.challengeData === undefined ? undefined : toChallengeData(o.challengeData, `${what}: challengeData`),
    psuMessage: optionalString(o, 'psuMessage'),
  });
}

export function parseAccountListResponse(body: unknown): { accounts: Record<string, unknown>[] } {
  const what = 'account list response';
  return { accounts: objectList(asObject(body, what).accounts, 'accounts', what) };
}

export function parseAccountDetailsResponse(body: unknown): { account: Record<string, unknown> } {
  const what = 'account details response';
  return { account: asObject(asObject(body, what).account, `${what}: account`) };
}

export function parseBalancesResponse(body: unknown): { account?: Record<string, unknown>; balances: Balance[] } {
  const what = 'balances response';
  const o = asObject(body, what);
  return dropUndefined({ account: optionalObject(o, 'account', what), balances: balanceList(o.balances, what) });
}

export function parseTransactionDetailsResponse(body: unknown): { transactionsDetails: Record<string, unknown> } {
  const what = 'transaction details response';
  return { transactionsDetails: asObject(asObject(body, what).transactionsDetails, `${what}: transactionsDetails`) };
}

const PAGE_RELATIONS = ['first', 'next', 'previous', 'last'] as const;

/** One page, as the bank sent it, with its paging links turned into page tokens for this account. */
export function parseTransactionsResponse(body: unknown, baseUrl: string, accountId: string): TransactionPage {
  const what = 'transactions response';
  const o = asObject(body, what);
  const report = optionalObject(o, 'transactions', what) ?? {};
  const links = (report._links && typeof report._links === 'object' ? report._links : {}) as BgLinks;
  const pages: TransactionPage['pages'] = {};
  for (const rel of PAGE_RELATIONS) {
    const href = hrefOf(links[rel]);
    if (href !== undefined) pages[rel] = encodePageToken(href, baseUrl, accountId, rel);
  }
  return dropUndefined({
    account: optionalObject(o, 'account', what),
    booked: optionalObjectList(report, 'booked', what),
    pending: optionalObjectList(report, 'pending', what),
    information: optionalObjectList(report, 'information', what),
    balances: o.balances === undefined || o.balances === null ? undefined : balanceList(o.balances, what),
    pages,
  });
}

// ---------------------------------------------------------------------------------------------
// Transaction page tokens
// ---------------------------------------------------------------------------------------------
//
// Format: `bg1.` + base64url(UTF-8 of the bank-relative path and query), e.g.
// `/v1/accounts/acc-1/transactions?bookingStatus=booked&page=2`. Callers hand tokens back to us,
// so a token is input: it is only ever resolved against the connection's base URL, and only
// accepted when it names this account's transactions at that bank. The adapter rebuilds the path
// itself; a token contributes nothing but the bank's query.

export const PAGE_TOKEN_PREFIX = 'bg1.';
const MAX_PAGE_TOKEN_LENGTH = 4096;

function basePrefix(baseUrl: string): string {
  return new URL(baseUrl).pathname.replace(/\/+$/, '');
}

function isThisAccountsTransactions(url: URL, baseUrl: string, accountId: string): boolean {
  const expected = new URL(joinUrl(baseUrl, accountsPath(accountId, 'transactions')));
  return url.origin === expected.origin && url.username === '' && url.password === '' && url.pathname === expected.pathname;
}

/**
 * A bank paging link → page token. A link leading anywhere but this account's transactions at
 * this bank is a protocol error: following it could leak the consent, dropping it would end the
 * listing early without anyone noticing.
 */
export function encodePageToken(href: string, baseUrl: string, accountId: string, rel = 'paging'): string {
  let url: URL;
  try {
    url = new URL(resolveHref(href, baseUrl));
  } catch {
    throw new BankError('protocol', `transactions response: ${rel} link is not a URL`);
  }
  if (!isThisAccountsTransactions(url, baseUrl, accountId)) {
    throw new BankError('protocol', `transactions response: ${rel} link leaves this account's transactions`);
  }
  const relative = `${url.pathname.slice(basePrefix(baseUrl).length)}${url.search}`;
  return `${PAGE_TOKEN_PREFIX}${Buffer.from(relative, 'utf8').toString('base64url')}`;
}

/**
 * Page token → the bank's query for this account's transactions (without `?`). Anything else
 * (malformed, another account, another path, dot segments, an authority) is `rejected`.
 */
export function decodePageToken(token: string, baseUrl: string, accountId: string): string {
  const refuse = (why: string) => new BankError('rejected', `transactions page token ${why}`);
  if (typeof token !== 'string' || token.length > MAX_PAGE_TOKEN_LENGTH || !/^bg1\.[A-Za-z0-9_-]+$/.test(token)) {
    throw refuse('is malformed');
  }
  const relative = Buffer.from(token.slice(PAGE_TOKEN_PREFIX.length), 'base64url').toString('utf8');
  // Printable ASCII only: no spaces, backslashes or fragments that a URL parser might reinterpret.
  if (!relative.startsWith('/v1/') || !/^[\x21-\x7e]+$/.test(relative) || /[\\#]/.test(relative)) {
    throw refuse('is malformed');
  }
  let url: URL;
  try {
    url = new URL(joinUrl(baseUrl, relative));
  } catch {
    throw refuse('is malformed');
  }
  // Anything the parser normalised (dot segments, odd escapes) is not a token we produced.
  const canonical = `${url.pathname}${url.search}` === `${basePrefix(baseUrl)}${relative}`;
  if (!canonical || !isThisAccountsTransactions(url, baseUrl, accountId)) throw refuse('is not for this account');
  return url.search.replace(/^\?/, '');
}
