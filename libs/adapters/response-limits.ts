/**
 * Response bodies from banks and wallets are read up to a cap, never whole: a counterpart that
 * streams without end (or a compromised one) must not fill the worker's memory.
 */

/** Default cap for bank answers (Berlin Group transaction pages included). */
export const DEFAULT_BANK_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

export class ResponseTooLarge extends Error {
  override readonly name = 'ResponseTooLarge';
  constructor(
    readonly status: number,
    readonly limit: number,
  ) {
    super(`response body larger than ${limit} bytes`);
  }
}

/** The body of a fetch Response as text, or ResponseTooLarge as soon as it passes `limit` bytes. */
export async function readCappedBody(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge(res.status, limit);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(res.status, limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
