/**
 * HTTP for Berlin Group NextGenPSD2: builds requests, sends them with a timeout and turns every
 * failure into a {@link BankError}. Knows nothing about payments beyond paths and headers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BankError, type BankConnection, type PsuContext } from '../bank-adapter';
import type { BankTls } from '../bank-tls';
import type { PkceVerifiers } from '../../security/pkce';
import { bankFetch } from '../bank-fetch';
import { DEFAULT_BANK_MAX_RESPONSE_BYTES, readCappedBody, ResponseTooLarge } from '../response-limits';
import { parseRetryAfter, parseTppMessages } from './transformers';

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * TPP identification at a real bank (eIDAS QSealC HTTP signature). Placeholder: until a bank is
 * onboarded nothing is configured and no `Signature`/`TPP-Signature-Certificate` is sent.
 */
export interface BgRequestSigner {
  /** Extra headers (`Signature`, `TPP-Signature-Certificate`) for a request whose other headers are final. */
  sign(conn: BankConnection, req: { method: string; url: string; headers: Readonly<Record<string, string>> }): Record<string, string>;
}

export interface BerlinGroupClientOptions {
  fetch?: typeof fetch;
  signer?: BgRequestSigner;
  /** mTLS per ASPSP (its `clientCertificateRef`) and extra trusted CAs; see `../bank-tls.ts`. */
  tls?: BankTls;
  /** PKCE verifiers for the OAuth SCA approach (derived from Clearway's keys; see `oauth-sca.ts`). */
  pkce?: PkceVerifiers;
  /** Response bodies longer than this are refused (`protocol`, fate ambiguous), never read whole. */
  maxResponseBytes?: number;
}

export interface BgRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, starting with `/v1/`, without query. */
  path: string;
  /**
   * Query parameters, or an already encoded query (e.g. a bank's paging cursor, sent verbatim).
   * Left out of error messages.
   */
  query?: string | Record<string, string | undefined>;
  /** X-Request-ID; a fresh UUID when absent. */
  requestId?: string;
  psu?: PsuContext;
  headers?: Record<string, string | undefined>;
  body?: unknown;
  /** OAuth access token (`Authorization: Bearer`), where the bank's OAuth SCA approach gave one. Never logged. */
  accessToken?: string;
  /** A body sent as is (e.g. a pain.001 document) instead of JSON. */
  rawBody?: { contentType: string; text: string };
  /** `application/xml`: a 2xx answer is returned as text (e.g. a pain.002 report). Default JSON. */
  accept?: 'application/xml';
  /** Overrides the connection's timeout (large bulk bodies). */
  timeoutMs?: number;
  /** Overrides the response size cap (a bulk's pain.002 status report grows with its transactions). */
  maxResponseBytes?: number;
}

export interface BgResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty body (e.g. 204); the text when `accept` asked for XML and got it. */
  body: unknown;
  requestId: string;
}

/** `SHA-256=<base64>` over the exact bytes sent (BG `Digest` header). */
export function bodyDigest(body: string): string {
  return `SHA-256=${createHash('sha256').update(body, 'utf8').digest('base64')}`;
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

/** `/v1/payments/{product}/...` with each segment encoded. */
export function paymentsPath(product: string, ...segments: string[]): string {
  return ['/v1/payments', product, ...segments].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

/** `/v1/consents/{consentId}/...` with each segment encoded. */
export function consentsPath(...segments: string[]): string {
  return ['/v1/consents', ...segments.map(encodeURIComponent)].join('/');
}

/** `/v1/accounts/{accountId}/...` with each segment encoded. */
export function accountsPath(...segments: string[]): string {
  return ['/v1/accounts', ...segments.map(encodeURIComponent)].join('/');
}

function queryString(query: BgRequest['query']): string {
  if (!query) return '';
  const qs =
    typeof query === 'string'
      ? query
      : new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return qs ? `?${qs}` : '';
}

function psuHeaders(psu: PsuContext | undefined): Record<string, string | undefined> {
  return {
    'PSU-ID': psu?.psuId,
    'PSU-IP-Address': psu?.psuIpAddress,
    'PSU-User-Agent': psu?.psuUserAgent,
  };
}

/**
 * AIS codes that mean "this consent no longer allows access" (BG 401/403/400). They stay
 * `rejected` even next to RESOURCE_UNKNOWN, so the caller goes and checks the consent status.
 */
export const CONSENT_GONE_CODES: readonly string[] = ['CONSENT_INVALID', 'CONSENT_EXPIRED', 'CONSENT_UNKNOWN'];

/**
 * HTTP status (plus tppMessages) → {@link BankErrorKind}. The message names method, path and
 * status only: bodies may hold personal data and never go into messages.
 */
export function classifyHttpError(status: number, headers: Headers, body: unknown, what: string, notProcessedCodes: readonly string[] = []): BankError {
  const messages = parseTppMessages(body);
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const codes = messages.map((m) => m.code);
  const summary = `${what} → HTTP ${status}${codes.length ? ` (${codes.join(', ')})` : ''}`;
  const details = { httpStatus: status, messages, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };

  if (status === 429) return new BankError('rate_limited', summary, details);
  if (status === 408 || status >= 500) {
    // A 5xx proves nothing, unless the bank documents its code as answered before any processing.
    const documented = codes.some((c) => notProcessedCodes.includes(c));
    return new BankError('unavailable', summary, { ...details, fate: documented ? 'not_processed' : 'ambiguous' });
  }
  if (status >= 400 && codes.some((c) => CONSENT_GONE_CODES.includes(c))) return new BankError('rejected', summary, details);
  // BG answers unknown ids with 404 or with 403 RESOURCE_UNKNOWN.
  if (status === 404 || (status >= 400 && codes.includes('RESOURCE_UNKNOWN'))) return new BankError('not_found', summary, details);
  if (status >= 400) return new BankError('rejected', summary, details);
  return new BankError('protocol', `${summary}: unexpected status`, details);
}

export class BerlinGroupClient {
  private readonly fetchImpl: typeof fetch;
  private readonly signer?: BgRequestSigner;
  private readonly tls?: BankTls;
  private readonly maxResponseBytes: number;

  constructor(opts: BerlinGroupClientOptions = {}) {
    this.fetchImpl = opts.fetch ?? bankFetch();
    this.signer = opts.signer;
    this.tls = opts.tls;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_BANK_MAX_RESPONSE_BYTES;
  }

  /** The fetch for one bank: with its client certificate (mTLS) when the directory names one. */
  fetchFor(conn: BankConnection): typeof fetch {
    if (conn.clientCertificateRef && !this.tls) {
      throw new BankError('protocol', `ASPSP ${conn.bicFi} needs client certificate "${conn.clientCertificateRef}", but no bank TLS is configured`, {
        fate: 'not_processed',
      });
    }
    try {
      return this.tls?.fetchFor(conn) ?? this.fetchImpl;
    } catch (err) {
      // Nothing was sent: a configuration fault, not something the bank did.
      throw new BankError('protocol', (err as Error).message, { fate: 'not_processed' });
    }
  }

  /** Sends one request; resolves only with a 2xx response, throws {@link BankError} otherwise. */
  async send(conn: BankConnection, req: BgRequest): Promise<BgResponse> {
    const url = `${joinUrl(conn.baseUrl, req.path)}${queryString(req.query)}`;
    const what = `${req.method} ${req.path}`;
    const requestId = req.requestId || randomUUID();
    const payload = req.rawBody?.text ?? (req.body === undefined ? undefined : JSON.stringify(req.body));

    const headers: Record<string, string> = {};
    const candidates: Record<string, string | undefined> = {
      'X-Request-ID': requestId,
      Accept: req.accept ?? 'application/json',
      ...(payload !== undefined ? { 'Content-Type': req.rawBody?.contentType ?? 'application/json', Digest: bodyDigest(payload) } : {}),
      ...psuHeaders(req.psu),
      ...req.headers,
    };
    for (const [k, v] of Object.entries(candidates)) if (v !== undefined && v !== '') headers[k] = v;
    if (req.accessToken) headers.Authorization = `Bearer ${req.accessToken}`;
    if (this.signer) Object.assign(headers, this.signer.sign(conn, { method: req.method, url, headers }));

    const fetchImpl = this.fetchFor(conn);
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(url, {
        method: req.method,
        headers,
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(req.timeoutMs ?? conn.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      // The timeout covers the body too: a bank that sends headers and then stalls is unavailable.
      text = await readCappedBody(res, req.maxResponseBytes ?? this.maxResponseBytes);
    } catch (err) {
      if (err instanceof ResponseTooLarge) {
        // The bank answered (and may have acted): ambiguous, like any 2xx we could not read.
        const kind = err.status >= 500 ? 'unavailable' : 'protocol';
        throw new BankError(kind, `${what} → HTTP ${err.status}: response body larger than ${err.limit} bytes`, { httpStatus: err.status, fate: 'ambiguous' });
      }
      throw networkFailure(err, what);
    }

    if (req.accept && res.status >= 200 && res.status < 300 && (res.headers.get('content-type') ?? '').includes('xml')) {
      return { status: res.status, headers: res.headers, body: text, requestId };
    }
    const body = parseJson(text);
    if (res.status < 200 || res.status >= 300) {
      throw classifyHttpError(res.status, res.headers, body.ok ? body.value : undefined, what, conn.notProcessedCodes);
    }
    if (!body.ok) throw new BankError('protocol', `${what} → HTTP ${res.status}: body is not JSON`, { httpStatus: res.status });
    return { status: res.status, headers: res.headers, body: body.value, requestId };
  }
}

/**
 * Connection-level codes (Node's and undici's) raised before a single byte of the request left:
 * the bank cannot have acted on it, so even a payment initiation may be sent again.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The cause codes of a failed fetch, outermost first (undici wraps the socket error). */
function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * A request that got no HTTP answer. Only a failure to connect (refused, unknown host, no route,
 * TLS handshake refused) proves the bank never saw it; a timeout or a connection dropped later
 * may have come after the bank acted.
 */
export function networkFailure(err: unknown, what: string): BankError {
  const name = (err as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return new BankError('unavailable', `${what}: timed out`, { fate: 'ambiguous' });
  const codes = causeCodes(err);
  const notSent = codes.find((c) => NOT_SENT_CODES.has(c) || c.startsWith('ERR_TLS_') || c.includes('CERT'));
  if (notSent) return new BankError('unavailable', `${what}: could not connect (${notSent})`, { fate: 'not_processed' });
  return new BankError('unavailable', `${what}: network error${codes.length ? ` (${codes[0]})` : ''}`, { fate: 'ambiguous' });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
