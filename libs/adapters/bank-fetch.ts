/**
 * The `fetch` the bank adapters call by default: the WHATWG interface they are written against
 * (a `Response` whose body they read through `readCappedBody`), sent with undici's `request`.
 *
 * Node's own `fetch` runs the whole Fetch Standard for every call (Request and Headers objects,
 * the fetch algorithm's steps, web streams end to end): 0.8 ms of CPU a call against 0.2 ms this
 * way, client and a loopback server together; in the worker under load about 0.4 ms a bank call
 * saved (docs/benchmarks.md, issue 12's ninth pass). A payment makes three or four such calls.
 *
 * Only what the adapters use is accepted, and anything else is refused rather than half done:
 * string or byte bodies, headers as a record or a `Headers`, `redirect: 'manual'` (a bank API never
 * redirects a TPP's call; following one could resend a payment), and an `AbortSignal` that bounds
 * the whole exchange, body included. Errors keep undici's codes (`ECONNREFUSED`,
 * `UND_ERR_CONNECT_TIMEOUT`, …) on the error or its `cause`, as `fetch`'s do, so
 * `networkFailure` tells "never sent" from "may have been sent" the same way; a timeout rejects with
 * the signal's `TimeoutError`.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { Dispatcher } from 'undici';

/**
 * Final statuses whose response has no body by definition (a `Response` refuses one). A 1xx is no
 * final answer: `Response` refuses its status, and that error reads as a network failure (ambiguous).
 */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

type RequestFn = typeof import('undici').request;
let undiciRequest: RequestFn | undefined;

/**
 * undici is required on first use: loading it installs its dispatcher as the process's global one,
 * which Node's own fetch then uses too (it is pinned to the major version Node 20 bundles, 6).
 */
function requestFn(): RequestFn {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  undiciRequest ??= (require('undici') as typeof import('undici')).request;
  return undiciRequest;
}

/** A fetch for bank calls; `dispatcher` is the connection pool (mTLS, extra CAs), else undici's global one. */
export function bankFetch(dispatcher?: Dispatcher): typeof fetch {
  return (async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('bankFetch: the URL must be a string or a URL');
    if (init.redirect !== 'manual') throw new TypeError("bankFetch: bank calls follow no redirects; pass redirect: 'manual'");
    const body = init.body;
    if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('bankFetch: the body must be a string or bytes');
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const signal = init.signal ?? undefined;
    const res = await requestFn()(input, {
      method: method as Dispatcher.HttpMethod,
      headers: headerRecord(init.headers),
      body: body ?? undefined,
      signal,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.append(name, value);
    }
    if (NULL_BODY_STATUSES.has(res.statusCode) || method === 'HEAD') {
      await res.body.dump();
      return new Response(null, { status: res.statusCode, headers });
    }
    const stream = Readable.toWeb(res.body) as NodeWebReadableStream<Uint8Array> as unknown as ReadableStream<Uint8Array>;
    return new Response(stream, { status: res.statusCode, headers });
  }) as typeof fetch;
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers.map(([k, v]) => [k, v]));
  return headers as Record<string, string>;
}
