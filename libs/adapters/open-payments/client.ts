/**
 * HTTP for Open Payments: every request to an authorization or resource server is signed
 * (RFC 9421 as profiled by Open Payments, ../../security/http-signatures.ts) and every failure
 * becomes a {@link BankError}. Wallet address reads are public and go unsigned.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { BankError, type BankMessage } from '../bank-adapter';
import { signRequest, SignatureFailure } from '../../security/http-signatures';
import {
  checkOutboundUrl,
  OutboundRequestFailed,
  outboundRequest,
  OutboundUrlRefused,
  STRICT_OUTBOUND_POLICY,
  type OutboundPolicy,
  type Resolver,
} from '../../security/outbound-url';
import { readCappedBody, ResponseTooLarge } from '../response-limits';
import { parseErrorMessages, parseRetryAfter } from './transformers';
import type { OpenPaymentsIdentity } from './types';

export const DEFAULT_TIMEOUT_MS = 10_000;

/** Larger than any Open Payments answer (a page of outgoing payments included), small enough to hold. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Code of the non-retryable error for a URL (usually one a wallet returned) Clearway will not call. */
export const OUTBOUND_URL_REFUSED = 'outbound_url_refused';

/** The code a caller acts on when a token no longer works: rotate it or ask for a new grant. */
export const INVALID_TOKEN = 'invalid_token';

export interface OpenPaymentsClientOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  /**
   * PEM of certificate authorities trusted besides the system's (the dev stack's CA, which signed
   * the sandbox ASE's certificate). Added to the trust store; verification is never turned off.
   */
  extraCaPem?: string;
  /**
   * Which targets may be called. Every URL is checked on every call, including those a wallet
   * returned (`authServer`, `resourceServer`, `continue.uri`, `manage`, payment ids): DNS is
   * resolved, every address checked, and the connection pinned to the checked address.
   * Default: https to public addresses only.
   */
  policy?: OutboundPolicy;
  /** Response bodies longer than this are refused (`protocol`), never read whole. */
  maxResponseBytes?: number;
  /** Tests only: plays DNS. */
  resolve?: Resolver;
}

/**
 * fetch over TLS that trusts the system's CAs and `caPem`. undici is loaded only here: on load it
 * installs itself as the process's global dispatcher, which Node's own fetch then uses, so it is
 * pinned to the major version Node 20 bundles (6) and never loaded where no extra CA is configured.
 */
export function fetchTrusting(caPem: string): typeof fetch {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Agent, fetch: undiciFetch } = require('undici') as typeof import('undici');
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, caPem] } });
  return ((input: string, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

export interface OpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** Sent as `Authorization: GNAP <token>` and covered by the signature. */
  token?: string;
  /** Which server: a resource server's 401 on a token means the token is dead (`invalid_token`). */
  server: 'auth' | 'resource' | 'wallet';
  body?: unknown;
  headers?: Record<string, string>;
}

export interface OpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty body (e.g. 204). */
  body: unknown;
}

const SIGNATURE_FAILURES: readonly string[] = Object.values(SignatureFailure);

const CALL_SUMMARY = /\b(GET|POST|PUT|PATCH|DELETE|HEAD) [A-Za-z0-9.-]+(?::\d+)?\/\S*?(?=:?(?:\s|$))/g;

/**
 * A text without the wallet host and path of any of this client's call summaries ({@link describe}):
 * `POST wallet.example/alice/outgoing-payments → HTTP 403 (limit_exceeded)` becomes
 * `POST (wallet) → HTTP 403 (limit_exceeded)`. The paths name the wallet's own resources (grants,
 * quotes, incoming and outgoing payments): they are for logs and operators, not for API clients.
 */
export function withoutWalletPaths(text: string): string {
  return text.replace(CALL_SUMMARY, '$1 (wallet)');
}

/** `POST as.example/auth/continue/…` without query: enough to debug, nothing secret. */
function describe(method: string, url: string): string {
  try {
    const parsed = new URL(url);
    return `${method} ${parsed.host}${parsed.pathname}`;
  } catch {
    return method;
  }
}

function redact(messages: BankMessage[], secrets: readonly string[]): BankMessage[] {
  return messages.map((m) => {
    if (m.text === undefined) return m;
    const text = secrets.reduce((t, s) => (s ? t.split(s).join('[redacted]') : t), m.text);
    return { ...m, text };
  });
}

/**
 * HTTP status + error body → {@link BankError}. Resource servers answer a dead token with 401 and
 * their own code (`unauthorized` in Rafiki and the sandbox, `invalid_token` per RFC 6750); both
 * become `invalid_token` unless the 401 is about the signature, which a new token would not fix.
 */
export function classifyHttpError(
  status: number,
  headers: Headers,
  body: unknown,
  what: string,
  context: { server: OpRequest['server']; tokenSent: boolean; secrets?: readonly string[] },
): BankError {
  let messages = redact(parseErrorMessages(body), context.secrets ?? []);
  const wwwAuthenticate = headers.get('www-authenticate') ?? '';
  if (status === 401 && context.server === 'resource' && context.tokenSent) {
    const aboutSignature = messages.some((m) => SIGNATURE_FAILURES.some((f) => m.text?.startsWith(f)));
    const tokenCode = messages.length === 0 || messages.some((m) => m.code === 'unauthorized' || m.code === INVALID_TOKEN);
    if ((tokenCode && !aboutSignature) || /error="?invalid_token/.test(wwwAuthenticate)) {
      messages = [{ category: 'ERROR', code: INVALID_TOKEN, ...(messages[0]?.text ? { text: messages[0].text } : {}) }];
    }
  }
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
  const codes = messages.map((m) => m.code);
  const summary = `${what} → HTTP ${status}${codes.length ? ` (${codes.join(', ')})` : ''}`;
  const details = { httpStatus: status, messages, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };

  if (status === 429) return new BankError('rate_limited', summary, details);
  if (status === 408 || status >= 500) return new BankError('unavailable', summary, details);
  if (status === 404) return new BankError('not_found', summary, details);
  if (status >= 400) return new BankError('rejected', summary, details);
  return new BankError('protocol', `${summary}: unexpected status`, details);
}

export class OpenPaymentsClient {
  private readonly fetchImpl?: typeof fetch;
  private readonly timeoutMs: number;
  private readonly policy: OutboundPolicy;
  private readonly maxResponseBytes: number;
  private readonly resolve?: Resolver;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(
    private readonly identity: OpenPaymentsIdentity,
    opts: OpenPaymentsClientOptions = {},
  ) {
    this.fetchImpl = opts.fetch;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.policy = opts.policy ?? STRICT_OUTBOUND_POLICY;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.resolve = opts.resolve;
    this.agents = {
      http: new HttpAgent({ keepAlive: true }),
      https: new HttpsAgent({ keepAlive: true, ...(opts.extraCaPem ? { ca: [...rootCertificates, opts.extraCaPem] } : {}) }),
    };
  }

  /** Sends one request; resolves only with a 2xx response, throws {@link BankError} otherwise. */
  async send(req: OpRequest): Promise<OpResponse> {
    const what = describe(req.method, req.url);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    let headers: Record<string, string> = { Accept: 'application/json', ...(req.headers ?? {}) };
    if (req.token) headers.Authorization = `GNAP ${req.token}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    if (req.server !== 'wallet') {
      // Adds Content-Digest and Content-Length for a body, then Signature-Input and Signature.
      headers = signRequest({ method: req.method, url: req.url, headers, body: payload }, { privateKey: this.identity.privateKey, keyId: this.identity.keyId });
    }

    let status: number;
    let resHeaders: Headers;
    let text: string;
    try {
      ({ status, headers: resHeaders, text } = this.fetchImpl ? await this.viaFetch(req, headers, payload) : await this.viaOutbound(req, headers, payload));
    } catch (err) {
      if (err instanceof OutboundUrlRefused) {
        // Nothing was sent. A wallet that hands out such a URL is misconfigured or hostile:
        // retrying would not change the answer.
        throw new BankError('protocol', `${what}: refused to call this URL (${err.message})`, {
          fate: 'not_processed',
          messages: [{ category: 'ERROR', code: OUTBOUND_URL_REFUSED, text: err.message }],
        });
      }
      if (err instanceof ResponseTooLarge) {
        throw new BankError('protocol', `${what}: response body larger than ${this.maxResponseBytes} bytes`, { httpStatus: err.status });
      }
      const name = (err as { name?: string })?.name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError' || (err instanceof OutboundRequestFailed && err.kind === 'timeout');
      throw new BankError('unavailable', `${what}: ${timedOut ? 'timed out' : 'network error'}`);
    }

    const body = parseJson(text);
    if (status < 200 || status >= 300) {
      throw classifyHttpError(status, resHeaders, body.ok ? body.value : undefined, what, {
        server: req.server,
        tokenSent: req.token !== undefined,
        secrets: req.token ? [req.token] : [],
      });
    }
    if (!body.ok) throw new BankError('protocol', `${what} → HTTP ${status}: body is not JSON`, { httpStatus: status });
    return { status, headers: resHeaders, body: body.value };
  }

  /** The default transport: checked, pinned, capped, with one deadline over the whole exchange. */
  private async viaOutbound(req: OpRequest, headers: Record<string, string>, payload: string | undefined) {
    const res = await outboundRequest({
      url: req.url,
      method: req.method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      policy: this.policy,
      timeoutMs: this.timeoutMs,
      maxResponseBytes: this.maxResponseBytes + 1,
      agents: this.agents,
      ...(this.resolve ? { resolve: this.resolve } : {}),
    });
    if (res.body.length > this.maxResponseBytes) throw new ResponseTooLarge(res.status, this.maxResponseBytes);
    const resHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) resHeaders.append(k, value);
    }
    return { status: res.status, headers: resHeaders, text: res.body.toString('utf8') };
  }

  /** An injected fetch (tests): the same URL checks first (without pinning), the same body cap. */
  private async viaFetch(req: OpRequest, headers: Record<string, string>, payload: string | undefined) {
    await checkOutboundUrl(req.url, this.policy, this.resolve);
    const res = await this.fetchImpl!(req.url, { method: req.method, headers, body: payload, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    // The timeout covers the body too: a server that sends headers and then stalls is unavailable.
    const text = await readCappedBody(res, this.maxResponseBytes);
    return { status: res.status, headers: res.headers, text };
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
