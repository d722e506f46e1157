import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Batch, BatchPage, SinglePaymentPage, TppMessage } from './batch-api';

/** Where and as whom the CLI talks to Clearway. */
export interface ClientSettings {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Headers the batch upload passes on to the banks (the same as for single payments). */
export interface SubmitHeaders {
  psuId?: string;
  psuIpAddress: string;
  redirectUri?: string;
  nokRedirectUri?: string;
}

/** An answer other than the expected one, with the API's tppMessages when it sent any. */
export class ClearwayApiError extends Error {
  override readonly name = 'ClearwayApiError';
  constructor(
    readonly status: number,
    readonly tppMessages: TppMessage[],
    message: string,
  ) {
    super(message);
  }
}

/** Clearway could not be reached at all. */
export class ClearwayUnreachableError extends Error {
  override readonly name = 'ClearwayUnreachableError';
}

/**
 * The X-Request-ID of an upload: a UUID derived from the file's SHA-256, so running the same
 * submit twice sends the same id. Berlin Group promises no idempotency on X-Request-ID, so the
 * guarantee against a second batch is the server's MsgId check (200 with the existing batch); the
 * stable id lets the server's logs tie the two attempts together.
 */
export function requestIdForFile(sha256Hex: string): string {
  const h = sha256Hex.slice(0, 32).split('');
  h[12] = '8'; // RFC 9562 version 8: custom, here "name-based on SHA-256"
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16); // variant 10xx
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** The batch API over HTTP: one access token per process, a fresh X-Request-ID per call except uploads. */
export class BatchClient {
  private token?: Promise<string>;

  constructor(
    private readonly settings: ClientSettings,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /** Uploads a pain.001 as a stream. `created` is false when the server already had this file (200). */
  async submit(file: string, headers: SubmitHeaders): Promise<{ created: boolean; batch: Batch }> {
    const [sha256, info] = await Promise.all([sha256OfFile(file), stat(file)]);
    const res = await this.request('POST', '/batches/v1/batches', {
      requestId: requestIdForFile(sha256),
      headers: {
        'Content-Type': 'application/xml',
        'Content-Length': String(info.size),
        'PSU-IP-Address': headers.psuIpAddress,
        ...(headers.psuId && { 'PSU-ID': headers.psuId }),
        ...(headers.redirectUri && { 'TPP-Redirect-URI': headers.redirectUri }),
        ...(headers.nokRedirectUri && { 'TPP-Nok-Redirect-URI': headers.nokRedirectUri }),
      },
      body: () => Readable.toWeb(createReadStream(file)) as ReadableStream,
    });
    if (res.status !== 201 && res.status !== 200) throw await apiError(res, 'upload');
    return { created: res.status === 201, batch: (await res.json()) as Batch };
  }

  async batch(batchId: string): Promise<Batch> {
    return this.json<Batch>(`/batches/v1/batches/${encodeURIComponent(batchId)}`, 'batch status');
  }

  /** Cancels what has not executed (DELETE, 202): the batch as it stands, with what the cancel did. */
  async cancel(batchId: string): Promise<Batch> {
    const res = await this.request('DELETE', `/batches/v1/batches/${encodeURIComponent(batchId)}`, { headers: { Accept: 'application/json' } });
    if (res.status !== 202) throw await apiError(res, 'batch cancel');
    return (await res.json()) as Batch;
  }

  async list(opts: { limit?: number; after?: string } = {}): Promise<BatchPage> {
    const query = new URLSearchParams();
    if (opts.limit !== undefined) query.set('limit', String(opts.limit));
    if (opts.after) query.set('after', opts.after);
    return this.json<BatchPage>(`/batches/v1/batches${query.size ? `?${query}` : ''}`, 'batch list');
  }

  /** A page of a batch's single payments; `href` as the API gave it (its `next` links included). */
  async payments(href: string): Promise<SinglePaymentPage> {
    return this.json<SinglePaymentPage>(href, 'single payments');
  }

  /** Streams the pain.002 report into `out`; returns the bytes written. */
  async report(batchId: string, out: NodeJS.WritableStream): Promise<number> {
    const res = await this.request('GET', `/batches/v1/batches/${encodeURIComponent(batchId)}/report`, {
      headers: { Accept: 'application/xml' },
    });
    if (res.status !== 200 || !res.body) throw await apiError(res, 'report');
    let bytes = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await pipeline(body, out, { end: false });
    return bytes;
  }

  private async json<T>(path: string, what: string): Promise<T> {
    const res = await this.request('GET', path, { headers: { Accept: 'application/json' } });
    if (res.status !== 200) throw await apiError(res, what);
    return (await res.json()) as T;
  }

  /** One call; a 401 (token expired meanwhile) is retried once with a new token. */
  private async request(
    method: string,
    path: string,
    opts: { requestId?: string; headers?: Record<string, string>; body?: () => ReadableStream },
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      const res = await this.send(method, path, {
        ...opts.headers,
        Authorization: `Bearer ${token}`,
        'X-Request-ID': opts.requestId ?? randomUUID(),
      }, opts.body?.());
      if (res.status !== 401 || attempt > 0) return res;
      await res.body?.cancel();
      this.token = undefined;
    }
  }

  private accessToken(): Promise<string> {
    this.token ??= this.fetchToken().catch((err: unknown) => {
      this.token = undefined;
      throw err;
    });
    return this.token;
  }

  private async fetchToken(): Promise<string> {
    const res = await this.send(
      'POST',
      '/connect/token',
      { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.settings.clientId,
        client_secret: this.settings.clientSecret,
        scope: 'paymentinitiation private',
      }).toString(),
    );
    if (res.status !== 200) {
      const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
      throw new ClearwayApiError(res.status, [], `sign-in refused (${res.status} ${body.error ?? ''}): ${body.error_description ?? 'check CLEARWAY_CLIENT_ID / CLEARWAY_CLIENT_SECRET'}`);
    }
    return ((await res.json()) as { access_token: string }).access_token;
  }

  private async send(method: string, path: string, headers: Record<string, string>, body?: string | ReadableStream): Promise<Response> {
    const url = new URL(path, this.settings.baseUrl);
    try {
      // duplex: 'half' is what fetch needs to send a stream body (Node's undici; absent from the DOM typings).
      return await this.fetchFn(url, { method, headers, body, redirect: 'manual', ...(body instanceof ReadableStream && { duplex: 'half' }) } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ClearwayUnreachableError(`cannot reach Clearway at ${this.settings.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }
}

async function apiError(res: Response, what: string): Promise<ClearwayApiError> {
  const text = await res.text().catch(() => '');
  let messages: TppMessage[] = [];
  try {
    messages = (JSON.parse(text) as { tppMessages?: TppMessage[] }).tppMessages ?? [];
  } catch {
    // not JSON: the status line says enough
  }
  return new ClearwayApiError(res.status, messages, `${what} failed: HTTP ${res.status}`);
}
