/**
 * Berlin Group NextGenPSD2 1.3.x: the wire DTOs we exchange with a bank and their translation into
 * Clearway's vocabulary. Pure functions only; HTTP lives in `client.ts`.
 */
import { BankError, type BankMessage } from '../bank-adapter';
import type { AccountReference, Address, PaymentInitiationBody } from '../../domain/payment';
import type {
  BankScaStatus,
  BankTransactionStatus,
  ScaApproach,
  ScaStatus,
  TransactionStatus,
} from '../../domain/transaction-status';

// ---------------------------------------------------------------------------------------------
// Status vocabularies (psd2-api-1.3.12 `transactionStatus` and `scaStatus` enums)
// ---------------------------------------------------------------------------------------------

/** Every code of the BG `transactionStatus` enum. */
export const BG_TRANSACTION_STATUSES = [
  'ACCC',
  'ACCP',
  'ACSC',
  'ACSP',
  'ACTC',
  'ACWC',
  'ACWP',
  'RCVD',
  'PDNG',
  'RJCT',
  'CANC',
  'ACFC',
  'PATC',
  'PART',
] as const;
export type BgTransactionStatus = (typeof BG_TRANSACTION_STATUSES)[number];

/**
 * BG speaks ISO 20022 just like our API, so the mapping is the identity today; it is spelled out
 * so that a new BG code cannot be added without deciding what it means for us.
 */
export const BG_TRANSACTION_STATUS_MAP: Readonly<Record<BgTransactionStatus, TransactionStatus>> = {
  ACCC: 'ACCC',
  ACCP: 'ACCP',
  ACSC: 'ACSC',
  ACSP: 'ACSP',
  ACTC: 'ACTC',
  ACWC: 'ACWC',
  ACWP: 'ACWP',
  RCVD: 'RCVD',
  PDNG: 'PDNG',
  RJCT: 'RJCT',
  CANC: 'CANC',
  ACFC: 'ACFC',
  PATC: 'PATC',
  PART: 'PART',
};

/** Every code of the BG `scaStatus` enum. */
export const BG_SCA_STATUSES = [
  'received',
  'psuIdentified',
  'psuAuthenticated',
  'scaMethodSelected',
  'started',
  'unconfirmed',
  'finalised',
  'failed',
  'exempted',
] as const;
export type BgScaStatus = (typeof BG_SCA_STATUSES)[number];

export const BG_SCA_STATUS_MAP: Readonly<Record<BgScaStatus, ScaStatus>> = {
  received: 'received',
  psuIdentified: 'psuIdentified',
  psuAuthenticated: 'psuAuthenticated',
  scaMethodSelected: 'scaMethodSelected',
  started: 'started',
  unconfirmed: 'unconfirmed',
  finalised: 'finalised',
  failed: 'failed',
  exempted: 'exempted',
};

function hasOwn<K extends string>(map: Readonly<Record<K, unknown>>, key: string): key is K {
  return Object.prototype.hasOwnProperty.call(map, key);
}

/** Unknown codes become PDNG: a status we do not understand must never read as success. */
export function mapTransactionStatus(raw: string): BankTransactionStatus {
  return { raw, normalised: hasOwn(BG_TRANSACTION_STATUS_MAP, raw) ? BG_TRANSACTION_STATUS_MAP[raw] : 'PDNG' };
}

/** Unknown codes become `received`: not final, so the caller keeps waiting rather than proceeding. */
export function mapScaStatus(raw: string): BankScaStatus {
  return { raw, normalised: hasOwn(BG_SCA_STATUS_MAP, raw) ? BG_SCA_STATUS_MAP[raw] : 'received' };
}

// ---------------------------------------------------------------------------------------------
// Wire DTOs
// ---------------------------------------------------------------------------------------------

/** BG `hrefType`; some banks send the bare string, which we tolerate. */
export type BgHref = { href?: string } | string;
export type BgLinks = Partial<Record<string, BgHref>>;

export interface BgTppMessage {
  category?: string;
  code?: string;
  text?: string;
  path?: string;
}

/** `paymentInitiation_json`, the subset Clearway sends. */
export interface BgPaymentInitiationRequest {
  endToEndIdentification?: string;
  /** BG 1.3.12: optional; the PSU picks the account during SCA at banks that allow it. */
  debtorAccount?: AccountReference;
  instructedAmount: { currency: string; amount: string };
  creditorAccount: AccountReference;
  creditorAgent?: string;
  creditorName: string;
  creditorAddress?: Address;
  remittanceInformationUnstructured?: string;
  requestedExecutionDate?: string;
}

/** `paymentInitiationRequestResponse-201`. */
export interface BgPaymentInitiationResponse {
  transactionStatus: string;
  paymentId: string;
  authorisationId?: string;
  psuMessage?: string;
  _links?: BgLinks;
  tppMessages?: BgTppMessage[];
}

/** `paymentInitiationStatusResponse-200_json`. */
export interface BgPaymentStatusResponse {
  transactionStatus: string;
  fundsAvailable?: boolean;
  psuMessage?: string;
  _links?: BgLinks;
}

/** `startScaprocessResponse`. */
export interface BgStartScaProcessResponse {
  scaStatus: string;
  authorisationId: string;
  psuMessage?: string;
  _links?: BgLinks;
}

/** `scaStatusResponse`. */
export interface BgScaStatusResponse {
  scaStatus: string;
  psuMessage?: string;
  _links?: BgLinks;
}

/** `paymentInitiationCancelResponse-202`. */
export interface BgCancelResponse {
  transactionStatus: string;
  _links?: BgLinks;
}

/** `Error4xx_NG_PIS` (NextGenPSD2 style) or `Error4xx_PIS` (RFC 7807 style): banks use either. */
export interface BgErrorBody {
  tppMessages?: BgTppMessage[];
  type?: string;
  title?: string;
  detail?: string;
  code?: string;
  additionalErrors?: { title?: string; detail?: string; code?: string }[];
  _links?: BgLinks;
}

/** Explicit copy: only fields we mean to send leave Clearway. */
export function toBgPaymentInitiation(p: PaymentInitiationBody): BgPaymentInitiationRequest {
  return dropUndefined({
    endToEndIdentification: p.endToEndIdentification,
    debtorAccount: p.debtorAccount,
    instructedAmount: { currency: p.instructedAmount.currency, amount: p.instructedAmount.amount },
    creditorAccount: p.creditorAccount,
    creditorAgent: p.creditorAgent,
    creditorName: p.creditorName,
    creditorAddress: p.creditorAddress,
    remittanceInformationUnstructured: p.remittanceInformationUnstructured,
    requestedExecutionDate: p.requestedExecutionDate,
  });
}

export function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------
// Links, SCA approach, authorisation id
// ---------------------------------------------------------------------------------------------

export interface BgExtractedLinks {
  scaRedirect?: string;
  scaOAuth?: string;
  scaStatus?: string;
  self?: string;
  status?: string;
  startAuthorisation?: string;
}

export function hrefOf(link: BgHref | undefined): string | undefined {
  if (typeof link === 'string') return link || undefined;
  if (link && typeof link === 'object' && typeof link.href === 'string' && link.href) return link.href;
  return undefined;
}

/**
 * BG links "can be relative or full links". A relative `/v1/...` is taken relative to the bank's
 * base URL (path prefix included); other relative paths (e.g. `/psd2/v1/...`) relative to its origin.
 */
export function resolveHref(href: string, baseUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) return href;
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  if (href.startsWith('/')) {
    const needsPrefix = prefix !== '' && href.startsWith('/v1/') && !href.startsWith(`${prefix}/`);
    return `${base.origin}${needsPrefix ? prefix : ''}${href}`;
  }
  return new URL(href, `${base.origin}${prefix}/`).toString();
}

const START_AUTHORISATION_LINKS = [
  'startAuthorisation',
  'startAuthorisationWithPsuIdentification',
  'startAuthorisationWithPsuAuthentication',
  'startAuthorisationWithEncryptedPsuAuthentication',
  'startAuthorisationWithAuthenticationMethodSelection',
  'startAuthorisationWithTransactionAuthorisation',
] as const;

export function extractLinks(links: unknown, baseUrl?: string): BgExtractedLinks {
  if (!links || typeof links !== 'object') return {};
  const l = links as BgLinks;
  const pick = (name: string): string | undefined => {
    const href = hrefOf(l[name]);
    return href !== undefined && baseUrl ? resolveHref(href, baseUrl) : href;
  };
  const startAuthorisation = START_AUTHORISATION_LINKS.map(pick).find((h) => h !== undefined);
  return dropUndefined({
    scaRedirect: pick('scaRedirect'),
    scaOAuth: pick('scaOAuth'),
    scaStatus: pick('scaStatus'),
    self: pick('self'),
    status: pick('status'),
    startAuthorisation,
  });
}

/** `.../authorisations/{authorisationId}` → authorisationId (query and fragment ignored). */
export function authorisationIdFromLink(href: string | undefined): string | undefined {
  if (!href) return undefined;
  const path = href.split(/[?#]/, 1)[0]!.replace(/\/+$/, '');
  const segments = path.split('/');
  const last = segments.at(-1);
  const parent = segments.at(-2);
  if (!last || !parent || !/authorisations$/i.test(parent)) return undefined;
  return decodeURIComponent(last);
}

const SCA_APPROACHES: readonly ScaApproach[] = ['REDIRECT', 'DECOUPLED', 'EMBEDDED', 'OAUTH'];

/**
 * The `ASPSP-SCA-Approach` header when the bank sent one; otherwise inferred from the links: a
 * redirect page means REDIRECT, an OAuth configuration link OAUTH, PSU-data upload links EMBEDDED,
 * and a bare scaStatus link (nothing for the PSU to open) DECOUPLED. REDIRECT when nothing tells.
 */
export function parseScaApproach(header: string | null | undefined, links: BgExtractedLinks, rawLinks?: unknown): ScaApproach {
  const fromHeader = header?.trim().toUpperCase();
  if (fromHeader && (SCA_APPROACHES as readonly string[]).includes(fromHeader)) return fromHeader as ScaApproach;
  if (links.scaRedirect) return 'REDIRECT';
  if (links.scaOAuth) return 'OAUTH';
  const raw = rawLinks && typeof rawLinks === 'object' ? (rawLinks as BgLinks) : {};
  if (hrefOf(raw.startAuthorisationWithPsuAuthentication) || hrefOf(raw.authoriseTransaction) || hrefOf(raw.selectAuthenticationMethod)) {
    return 'EMBEDDED';
  }
  if (links.scaStatus) return 'DECOUPLED';
  return 'REDIRECT';
}

// ---------------------------------------------------------------------------------------------
// Retry-After and tppMessages
// ---------------------------------------------------------------------------------------------

/** RFC 9110 `Retry-After`: delta-seconds or an HTTP-date. Undefined when absent or unparseable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date starts with the day name; "1.5", "-3", "10s" are not RFC, do not guess.
  if (!/^[A-Za-z]{3},? /.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

// Bank texts sometimes echo the request; IBANs must not travel into our logs and errors.
const IBAN_LIKE = /\b([A-Z]{2}\d{2})[A-Z0-9 ]{8,30}([A-Z0-9]{4})\b/g;
export function redactIbans(text: string): string {
  return text.replace(IBAN_LIKE, (_m, head: string, tail: string) => `${head}****${tail}`);
}

/** Both BG error styles (tppMessages and RFC 7807) as our {@link BankMessage}s. */
export function parseTppMessages(body: unknown): BankMessage[] {
  if (!body || typeof body !== 'object') return [];
  const b = body as BgErrorBody & { tppMessage?: BgTppMessage[] };
  const out: BankMessage[] = [];
  const push = (m: { category?: string; code?: string; text?: string; path?: string }) => {
    if (typeof m?.code !== 'string' || m.code === '') return;
    out.push(
      dropUndefined({
        category: m.category === 'WARNING' ? 'WARNING' : 'ERROR',
        code: m.code,
        text: typeof m.text === 'string' ? redactIbans(m.text) : undefined,
        path: typeof m.path === 'string' ? m.path : undefined,
      }) as BankMessage,
    );
  };
  for (const list of [b.tppMessages, b.tppMessage]) if (Array.isArray(list)) list.forEach(push);
  if (typeof b.code === 'string') {
    push({ code: b.code, text: b.detail ?? b.title });
    if (Array.isArray(b.additionalErrors)) b.additionalErrors.forEach((e) => push({ code: e?.code, text: e?.detail ?? e?.title }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Response validation (2xx bodies): anything missing we need is a protocol error
// ---------------------------------------------------------------------------------------------

export function asObject(body: unknown, what: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BankError('protocol', `${what}: body is not a JSON object`);
  return body as Record<string, unknown>;
}

export function requireString(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') throw new BankError('protocol', `${what}: missing ${field}`);
  return v;
}

export function optionalString(o: Record<string, unknown>, field: string): string | undefined {
  const v = o[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Reads the answer to a creating request (201). The bank has created something even when the
 * answer is unreadable: the error then names what it created, if the body says, so the orphan
 * can be cleaned up, and is `ambiguous` for the caller.
 */
export function parseCreatedResponse<T>(body: unknown, idField: string, parse: (body: unknown) => T): T {
  try {
    return parse(body);
  } catch (err) {
    if (!(err instanceof BankError)) throw err;
    const id = body && typeof body === 'object' ? (body as Record<string, unknown>)[idField] : undefined;
    throw new BankError(err.kind, err.message, { ...err.details, fate: 'ambiguous', ...(typeof id === 'string' && id ? { resourceId: id } : {}) });
  }
}

export function parseInitiationResponse(body: unknown): BgPaymentInitiationResponse {
  const what = 'payment initiation response';
  const o = asObject(body, what);
  return dropUndefined({
    paymentId: requireString(o, 'paymentId', what),
    transactionStatus: requireString(o, 'transactionStatus', what),
    authorisationId: optionalString(o, 'authorisationId'),
    psuMessage: optionalString(o, 'psuMessage'),
    _links: (o._links ?? undefined) as BgLinks | undefined,
  });
}

export function parsePaymentStatusResponse(body: unknown): BgPaymentStatusResponse {
  const what = 'payment status response';
  const o = asObject(body, what);
  return { transactionStatus: requireString(o, 'transactionStatus', what) };
}

export function parseStartScaProcessResponse(body: unknown): BgStartScaProcessResponse {
  const what = 'start authorisation response';
  const o = asObject(body, what);
  const links = (o._links ?? undefined) as BgLinks | undefined;
  const authorisationId = optionalString(o, 'authorisationId') ?? authorisationIdFromLink(extractLinks(links).scaStatus);
  if (!authorisationId) throw new BankError('protocol', `${what}: missing authorisationId`);
  return dropUndefined({
    scaStatus: requireString(o, 'scaStatus', what),
    authorisationId,
    psuMessage: optionalString(o, 'psuMessage'),
    _links: links,
  });
}

export function parseScaStatusResponse(body: unknown): BgScaStatusResponse {
  const what = 'SCA status response';
  const o = asObject(body, what);
  return { scaStatus: requireString(o, 'scaStatus', what) };
}

export function parseCancelResponse(body: unknown): BgCancelResponse {
  const what = 'cancellation response';
  const o = asObject(body, what);
  return { transactionStatus: requireString(o, 'transactionStatus', what) };
}
