/**
 * Open Payments wire DTOs (wallet-address-server, auth-server and resource-server specs) and their
 * mapping to ./types.ts. Every response is validated before it is mapped: a missing or mistyped
 * field is a `protocol` BankError naming the field, never its value.
 */
import { BankError, type BankMessage } from '../bank-adapter';
import type {
  FinalizedGrant,
  Grant,
  GrantRequest,
  IncomingPayment,
  OpAccessToken,
  OpAmount,
  OpPage,
  OutgoingPayment,
  PendingGrant,
  Quote,
  WalletAddress,
} from './types';

// ── Wire DTOs ──────────────────────────────────────────────────────────────

export interface AmountDto {
  value: string;
  assetCode: string;
  assetScale: number;
}

export interface WalletAddressDto {
  id: string;
  publicName?: string;
  assetCode: string;
  assetScale: number;
  authServer: string;
  resourceServer: string;
}

export interface AccessTokenDto {
  value: string;
  manage: string;
  expires_in?: number;
  access?: unknown[];
}

export interface ContinueDto {
  access_token: { value: string };
  uri: string;
  wait?: number;
}

/** auth-server.yaml `POST /` and `POST /continue/{id}` responses. */
export interface GrantResponseDto {
  interact?: { redirect: string; finish: string };
  continue?: ContinueDto;
  access_token?: AccessTokenDto;
}

export interface GrantRequestDto {
  access_token: { access: unknown[] };
  client: string;
  interact?: { start: ['redirect']; finish: { method: 'redirect'; uri: string; nonce: string } };
}

/** Both servers answer `{ error: { code, description } }`; older GNAP servers `{ error: "code" }`. */
export type ErrorBodyDto =
  | { error: { code: string; description?: string } }
  | { error: string; error_description?: string }
  | { code?: string; message?: string };

// ── Validation helpers ─────────────────────────────────────────────────────

type Json = Record<string, unknown>;

function bad(what: string, field: string): BankError {
  return new BankError('protocol', `${what}: ${field} is missing or malformed`);
}

function object(value: unknown, what: string, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(what, field);
  return value as Json;
}

function string(obj: Json, key: string, what: string, prefix = ''): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw bad(what, `${prefix}${key}`);
  return value;
}

function optionalString(obj: Json, key: string, what: string, prefix = ''): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : string(obj, key, what, prefix);
}

function url(obj: Json, key: string, what: string, prefix = ''): string {
  const value = string(obj, key, what, prefix);
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw bad(what, `${prefix}${key}`);
  }
  return value;
}

function boolean(obj: Json, key: string, what: string): boolean {
  if (typeof obj[key] !== 'boolean') throw bad(what, key);
  return obj[key] as boolean;
}

function scale(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255;
}

export function toAmount(value: unknown, what: string, field: string): OpAmount {
  const a = object(value, what, field);
  if (typeof a.value !== 'string' || !/^\d{1,20}$/.test(a.value)) throw bad(what, `${field}.value`);
  if (typeof a.assetCode !== 'string' || a.assetCode === '') throw bad(what, `${field}.assetCode`);
  if (!scale(a.assetScale)) throw bad(what, `${field}.assetScale`);
  return { value: a.value, assetCode: a.assetCode, assetScale: a.assetScale };
}

function optionalAmount(obj: Json, key: string, what: string): OpAmount | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : toAmount(obj[key], what, key);
}

// ── Responses → types.ts ───────────────────────────────────────────────────

export function toWalletAddress(body: unknown): WalletAddress {
  const what = 'wallet address';
  const w = object(body, what, 'body');
  if (!scale(w.assetScale)) throw bad(what, 'assetScale');
  const out: WalletAddress = {
    id: url(w, 'id', what),
    assetCode: string(w, 'assetCode', what),
    assetScale: w.assetScale,
    authServer: url(w, 'authServer', what),
    resourceServer: url(w, 'resourceServer', what),
  };
  const publicName = optionalString(w, 'publicName', what);
  if (publicName !== undefined) out.publicName = publicName;
  return out;
}

export function toAccessToken(value: unknown, what: string, field = 'access_token'): OpAccessToken {
  const t = object(value, what, field);
  const token: OpAccessToken = { value: string(t, 'value', what, `${field}.`), manage: url(t, 'manage', what, `${field}.`) };
  if (t.expires_in !== undefined) {
    if (!Number.isInteger(t.expires_in) || (t.expires_in as number) < 0) throw bad(what, `${field}.expires_in`);
    token.expiresIn = t.expires_in as number;
  }
  return token;
}

function toContinue(value: unknown, what: string): { uri: string; accessToken: string; waitSeconds?: number } {
  const c = object(value, what, 'continue');
  const token = object(c.access_token, what, 'continue.access_token');
  const out: { uri: string; accessToken: string; waitSeconds?: number } = {
    uri: url(c, 'uri', what, 'continue.'),
    accessToken: string(token, 'value', what, 'continue.access_token.'),
  };
  if (c.wait !== undefined) {
    if (!Number.isInteger(c.wait) || (c.wait as number) < 0) throw bad(what, 'continue.wait');
    out.waitSeconds = c.wait as number;
  }
  return out;
}

/**
 * A grant response is finalized when it carries `access_token`, pending when it carries
 * `interact` (redirect + finish nonce) and `continue`. Anything else is unusable.
 */
export function toGrant(body: unknown, what = 'grant'): Grant {
  const g = object(body, what, 'body');
  if (g.access_token !== undefined) {
    const finalized: FinalizedGrant = { kind: 'finalized', accessToken: toAccessToken(g.access_token, what) };
    if (g.continue !== undefined) {
      const { uri, accessToken } = toContinue(g.continue, what);
      finalized.continue = { uri, accessToken };
    }
    return finalized;
  }
  if (g.interact !== undefined) {
    const interact = object(g.interact, what, 'interact');
    const pending: PendingGrant = {
      kind: 'pending',
      interactRedirect: url(interact, 'redirect', what, 'interact.'),
      finishNonce: string(interact, 'finish', what, 'interact.'),
      continue: toContinue(g.continue, what),
    };
    return pending;
  }
  throw bad(what, 'access_token or interact');
}

/** `POST /token/{id}` answers `{ access_token }`. */
export function toRotatedToken(body: unknown): OpAccessToken {
  return toAccessToken(object(body, 'token rotation', 'body').access_token, 'token rotation');
}

/** The `wait` of a continue response that is neither finalized nor interactive (still pending). */
export function pendingWaitSeconds(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const g = body as Json;
  if (g.access_token !== undefined || g.interact !== undefined || typeof g.continue !== 'object' || g.continue === null) return undefined;
  const wait = (g.continue as Json).wait;
  return Number.isInteger(wait) ? (wait as number) : 0;
}

export function toIncomingPayment(body: unknown): IncomingPayment {
  const what = 'incoming payment';
  const p = object(body, what, 'body');
  const out: IncomingPayment = {
    id: url(p, 'id', what),
    walletAddress: url(p, 'walletAddress', what),
    completed: boolean(p, 'completed', what),
    receivedAmount: toAmount(p.receivedAmount, what, 'receivedAmount'),
  };
  const incomingAmount = optionalAmount(p, 'incomingAmount', what);
  if (incomingAmount) out.incomingAmount = incomingAmount;
  const expiresAt = optionalString(p, 'expiresAt', what);
  if (expiresAt) out.expiresAt = expiresAt;
  return out;
}

export function toQuote(body: unknown): Quote {
  const what = 'quote';
  const q = object(body, what, 'body');
  const out: Quote = {
    id: url(q, 'id', what),
    walletAddress: url(q, 'walletAddress', what),
    receiver: url(q, 'receiver', what),
    debitAmount: toAmount(q.debitAmount, what, 'debitAmount'),
    receiveAmount: toAmount(q.receiveAmount, what, 'receiveAmount'),
  };
  const expiresAt = optionalString(q, 'expiresAt', what);
  if (expiresAt) out.expiresAt = expiresAt;
  const createdAt = optionalString(q, 'createdAt', what);
  if (createdAt) out.createdAt = createdAt;
  return out;
}

/**
 * When the quote expires, on the caller's clock: its lifetime on the wallet's clock
 * (`expiresAt − createdAt`) from `receivedAt`, so a wallet whose clock runs ahead or behind does
 * not move it. Later than the real expiry by the request's latency, never earlier. Without
 * `createdAt`, `expiresAt` as given; undefined when the quote does not expire.
 */
export function quoteExpiry(quote: Pick<Quote, 'expiresAt' | 'createdAt'>, receivedAt: number): Date | undefined {
  if (!quote.expiresAt) return undefined;
  const expires = Date.parse(quote.expiresAt);
  const created = quote.createdAt ? Date.parse(quote.createdAt) : Number.NaN;
  if (Number.isNaN(expires)) return undefined;
  return new Date(Number.isNaN(created) ? expires : receivedAt + Math.max(0, expires - created));
}

export function toOutgoingPayment(body: unknown): OutgoingPayment {
  const what = 'outgoing payment';
  const p = object(body, what, 'body');
  const out: OutgoingPayment = {
    id: url(p, 'id', what),
    walletAddress: url(p, 'walletAddress', what),
    receiver: url(p, 'receiver', what),
    failed: boolean(p, 'failed', what),
    debitAmount: toAmount(p.debitAmount, what, 'debitAmount'),
    receiveAmount: toAmount(p.receiveAmount, what, 'receiveAmount'),
    sentAmount: toAmount(p.sentAmount, what, 'sentAmount'),
  };
  const quoteId = optionalString(p, 'quoteId', what);
  if (quoteId) out.quoteId = quoteId;
  if (p.metadata !== undefined && p.metadata !== null) out.metadata = object(p.metadata, what, 'metadata');
  return out;
}

/** `{ pagination, result }` of a list endpoint; each item mapped with `item`. */
export function toPage<T>(body: unknown, what: string, item: (value: unknown) => T): OpPage<T> {
  const b = object(body, what, 'body');
  const pagination = object(b.pagination, what, 'pagination');
  if (!Array.isArray(b.result)) throw bad(what, 'result');
  if (typeof pagination.hasNextPage !== 'boolean') throw bad(what, 'pagination.hasNextPage');
  const endCursor = optionalString(pagination, 'endCursor', what, 'pagination.');
  if (pagination.hasNextPage && endCursor === undefined) throw bad(what, 'pagination.endCursor');
  return { result: b.result.map(item), hasNextPage: pagination.hasNextPage, ...(endCursor ? { endCursor } : {}) };
}

/**
 * Where an outgoing payment stands, from its own fields only. `failed` is the wallet's word. Sent
 * in full means `sentAmount` (net of fees, as Rafiki reports it) has reached `receiveAmount`, what
 * the quote promised the receiver: comparing with `debitAmount` would never succeed once the wallet
 * charges a fee. Across assets the two cannot be compared: `compare_at_receiver` asks the caller to
 * read the receiver's incoming payment instead. Anything else is still sending, never success.
 */
export type OutgoingPaymentProgress = 'failed' | 'completed' | 'sending' | 'compare_at_receiver';

export function outgoingPaymentProgress(p: Pick<OutgoingPayment, 'failed' | 'sentAmount' | 'receiveAmount'>): OutgoingPaymentProgress {
  if (p.failed) return 'failed';
  const { sentAmount: sent, receiveAmount: promised } = p;
  if (sent.assetCode !== promised.assetCode || sent.assetScale !== promised.assetScale) return 'compare_at_receiver';
  return BigInt(sent.value) >= BigInt(promised.value) ? 'completed' : 'sending';
}

// ── Requests ───────────────────────────────────────────────────────────────

/** types.ts grant request → auth-server.yaml `POST /` body, with Clearway's wallet as the client. */
export function toGrantRequestDto(request: GrantRequest, clientWalletAddress: string): GrantRequestDto {
  const dto: GrantRequestDto = { access_token: { access: request.access.map((item) => ({ ...item })) }, client: clientWalletAddress };
  if (request.interact) {
    dto.interact = { start: ['redirect'], finish: { method: 'redirect', uri: request.interact.finishUri, nonce: request.interact.nonce } };
  }
  return dto;
}

// ── Errors ─────────────────────────────────────────────────────────────────

const MAX_TEXT = 300;

/** The server's error body as BankMessages (empty when the body says nothing usable). */
export function parseErrorMessages(body: unknown): BankMessage[] {
  if (typeof body !== 'object' || body === null) return [];
  const b = body as Json;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value.slice(0, MAX_TEXT) : undefined);
  const message = (code: string, description: unknown): BankMessage => {
    const t = text(description);
    return t === undefined ? { category: 'ERROR', code } : { category: 'ERROR', code, text: t };
  };
  if (typeof b.error === 'object' && b.error !== null && typeof (b.error as Json).code === 'string') {
    const error = b.error as Json;
    return [message(error.code as string, error.description)];
  }
  if (typeof b.error === 'string' && b.error !== '') return [message(b.error, b.error_description)];
  if (typeof b.code === 'string' && b.code !== '') return [message(b.code, b.message)];
  return [];
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
