import { BankError } from './bank-adapter';
import { BerlinGroupClient } from './berlin-group/client';
import { readCappedBody, ResponseTooLarge } from './response-limits';

const conn = { bicFi: 'SANDDEB0XXX', baseUrl: 'https://bank.example/psd2' };

/** A body streamed in chunks, with no Content-Length: the cap must hold while reading. */
function streamed(status: number, bytes: number): Response {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const chunk = new Uint8Array(Math.min(16 * 1024, bytes - sent)).fill(0x61);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return new Response(stream, { status });
}

describe('readCappedBody', () => {
  it('reads a body up to the cap and refuses one byte more', async () => {
    expect(await readCappedBody(streamed(200, 1000), 1000)).toHaveLength(1000);
    await expect(readCappedBody(streamed(200, 1001), 1000)).rejects.toBeInstanceOf(ResponseTooLarge);
  });
  it('refuses a declared Content-Length over the cap without reading', async () => {
    const res = new Response('x'.repeat(10), { headers: { 'Content-Length': '5000000' } });
    await expect(readCappedBody(res, 1000)).rejects.toMatchObject({ limit: 1000 });
  });
});

describe('Berlin Group client caps answers', () => {
  it('a 201 too large to read is ambiguous (the bank may have acted), never read whole', async () => {
    let pulled = 0;
    const fetchStub: typeof fetch = async () => {
      const res = streamed(201, 50 * 1024 * 1024);
      const reader = res.body!.getReader();
      const counting = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          pulled += value.length;
          c.enqueue(value);
        },
      });
      return new Response(counting, { status: 201 });
    };
    const client = new BerlinGroupClient({ fetch: fetchStub, maxResponseBytes: 64 * 1024 });
    const err = await client.send(conn, { method: 'POST', path: '/v1/payments/sepa-credit-transfers', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankError);
    expect(err).toMatchObject({ kind: 'protocol', fate: 'ambiguous', details: { httpStatus: 201 } });
    expect(pulled).toBeLessThan(1024 * 1024);
  });
  it('a 503 too large to read stays retryable', async () => {
    const client = new BerlinGroupClient({ fetch: async () => streamed(503, 200_000), maxResponseBytes: 100_000 });
    const err = await client.send(conn, { method: 'GET', path: '/v1/payments/sepa-credit-transfers/p1/status' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
  });
});
