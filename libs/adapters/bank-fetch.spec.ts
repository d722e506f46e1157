import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bankFetch } from './bank-fetch';
import { networkFailure } from './berlin-group/client';
import { readCappedBody, ResponseTooLarge } from './response-limits';

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A bank on loopback whose every answer the test writes; it records what it was sent. */
async function bank(answer: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<{ url: string; seen: Seen[]; closed: () => number; server: Server }> {
  const seen: Seen[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    const s: Seen = { method: req.method, url: req.url, headers: req.headers, body: '' };
    seen.push(s);
    req.setEncoding('utf8');
    req.on('data', (d: string) => (s.body += d));
    req.on('end', () => answer(req, res, s));
  });
  server.on('connection', (socket) => socket.on('close', () => (closed += 1)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, closed: () => closed, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function started(answer: Parameters<typeof bank>[0]) {
  const b = await bank(answer);
  servers.push(b.server);
  return b;
}

describe('bankFetch', () => {
  const fetchBank = bankFetch();

  it('sends the method, headers and body, and answers a Response with the status, every header and the body', async () => {
    const b = await started((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.statusCode = 201;
      res.end('{"transactionStatus":"RCVD"}');
    });
    const res = await fetchBank(`${b.url}/v1/payments/sepa-credit-transfers`, {
      method: 'POST',
      headers: { 'X-Request-ID': 'r-1', 'Content-Type': 'application/json' },
      body: '{"instructedAmount":{"currency":"EUR","amount":"1.00"}}',
      redirect: 'manual',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ transactionStatus: 'RCVD' });
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0]).toMatchObject({ method: 'POST', url: '/v1/payments/sepa-credit-transfers', body: '{"instructedAmount":{"currency":"EUR","amount":"1.00"}}' });
    expect(b.seen[0].headers['x-request-id']).toBe('r-1');
  });

  it('takes headers as a Headers object (as jose passes them) and GET without a body', async () => {
    const b = await started((_req, res) => res.end('{"keys":[]}'));
    const res = await fetchBank(new URL('/jwks', b.url), { headers: new Headers({ Accept: 'application/json' }), redirect: 'manual' });
    expect(await res.text()).toBe('{"keys":[]}');
    expect(b.seen[0].method).toBe('GET');
    expect(b.seen[0].headers.accept).toBe('application/json');
  });

  it('answers 204 with no body, and a redirect as it came (a bank call never follows one)', async () => {
    const b = await started((req, res) => {
      if (req.url === '/gone') {
        res.statusCode = 204;
        res.end();
      } else {
        res.statusCode = 302;
        res.setHeader('Location', '/elsewhere');
        res.end('moved');
      }
    });
    const none = await fetchBank(`${b.url}/gone`, { method: 'DELETE', redirect: 'manual' });
    expect(none.status).toBe(204);
    expect(none.body).toBeNull();
    const moved = await fetchBank(`${b.url}/payments`, { method: 'POST', body: '{}', redirect: 'manual' });
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    expect(b.seen.map((s) => s.url)).toEqual(['/gone', '/payments']);
  });

  it('refuses, before sending anything, what it does not do: following redirects, bodies other than text or bytes', async () => {
    const b = await started((_req, res) => res.end('{}'));
    await expect(fetchBank(`${b.url}/x`, { method: 'POST', body: '{}' })).rejects.toThrow(TypeError);
    await expect(fetchBank(`${b.url}/x`, { method: 'POST', body: '{}', redirect: 'follow' })).rejects.toThrow(/no redirects/);
    await expect(fetchBank(`${b.url}/x`, { method: 'POST', body: new URLSearchParams({ a: '1' }), redirect: 'manual' })).rejects.toThrow(/string or bytes/);
    expect(b.seen).toHaveLength(0);
  });

  it('times out on a bank that sends its headers and then stalls: ambiguous, as with fetch', async () => {
    const b = await started((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"transactionStatus":');
    });
    const res = await fetchBank(`${b.url}/status`, { redirect: 'manual', signal: AbortSignal.timeout(300) });
    const err = await readCappedBody(res, 1024).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('TimeoutError');
    const failure = networkFailure(err, 'GET /status');
    expect(failure).toMatchObject({ kind: 'unavailable', fate: 'ambiguous' });
  });

  it('a bank that cannot be reached was never sent anything: not processed', async () => {
    const b = await started((_req, res) => res.end());
    const url = b.url;
    b.server.closeAllConnections();
    await new Promise((resolve) => b.server.close(resolve));
    servers.splice(0);
    const err = await fetchBank(`${url}/payments`, { method: 'POST', body: '{}', redirect: 'manual' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(networkFailure(err, 'POST /payments')).toMatchObject({ kind: 'unavailable', fate: 'not_processed' });
  });

  it('a body past the cap is refused after reading only the cap, and the connection is dropped', async () => {
    const b = await started((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = 'x'.repeat(16 * 1024);
      // Without end: the bank streams until the client hangs up.
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const res = await fetchBank(`${b.url}/transactions`, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    await expect(readCappedBody(res, 64 * 1024)).rejects.toBeInstanceOf(ResponseTooLarge);
    const deadline = Date.now() + 2000;
    while (b.closed() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.closed()).toBe(1);
  });
});
