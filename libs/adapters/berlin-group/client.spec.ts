import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BankError, type BankErrorKind, type RequestFate } from '../bank-adapter';
import { accountsPath, BerlinGroupClient, bodyDigest, classifyHttpError, consentsPath, joinUrl, paymentsPath } from './client';

const h = (init: Record<string, string> = {}) => new Headers(init);
const tpp = (code: string) => ({ tppMessages: [{ category: 'ERROR', code }] });

describe('classifyHttpError', () => {
  // The fate decides whether an initiation may be sent again: only 429 proves "not processed";
  // every 5xx is ambiguous, because a bank that acted and then lost its answer looks the same.
  it.each<[number, unknown, BankErrorKind, RequestFate]>([
    [400, tpp('FORMAT_ERROR'), 'rejected', 'refused'],
    [401, tpp('CERTIFICATE_INVALID'), 'rejected', 'refused'],
    [403, tpp('PRODUCT_INVALID'), 'rejected', 'refused'],
    [403, tpp('RESOURCE_UNKNOWN'), 'not_found', 'refused'],
    [400, tpp('RESOURCE_UNKNOWN'), 'not_found', 'refused'],
    [404, tpp('RESOURCE_UNKNOWN'), 'not_found', 'refused'],
    [404, undefined, 'not_found', 'refused'],
    [405, tpp('CANCELLATION_INVALID'), 'rejected', 'refused'],
    [406, undefined, 'rejected', 'refused'],
    [409, tpp('STATUS_INVALID'), 'rejected', 'refused'],
    [415, undefined, 'rejected', 'refused'],
    [422, undefined, 'rejected', 'refused'],
    [408, undefined, 'unavailable', 'ambiguous'],
    [429, tpp('ACCESS_EXCEEDED'), 'rate_limited', 'not_processed'],
    [500, undefined, 'unavailable', 'ambiguous'],
    [502, 'garbage', 'unavailable', 'ambiguous'],
    [503, tpp('SERVICE_UNAVAILABLE'), 'unavailable', 'ambiguous'],
    [504, undefined, 'unavailable', 'ambiguous'],
    [302, undefined, 'protocol', 'ambiguous'],
  ])('HTTP %i %j → %s, %s', (status, body, kind, fate) => {
    const err = classifyHttpError(status, h(), body, 'GET /v1/x');
    expect(err.kind).toBe(kind);
    expect(err.fate).toBe(fate);
    expect(err.details.httpStatus).toBe(status);
    expect(err.retryable).toBe(kind === 'unavailable' || kind === 'rate_limited');
  });

  it('a 5xx with a code the bank documents as answered before any processing is not_processed; other codes stay ambiguous', () => {
    const documented = ['SERVICE_UNAVAILABLE'];
    expect(classifyHttpError(503, h(), tpp('SERVICE_UNAVAILABLE'), 'x', documented).fate).toBe('not_processed');
    expect(classifyHttpError(503, h(), tpp('INTERNAL_ERROR'), 'x', documented).fate).toBe('ambiguous');
    expect(classifyHttpError(503, h(), undefined, 'x', documented).fate).toBe('ambiguous');
    expect(classifyHttpError(400, h(), tpp('SERVICE_UNAVAILABLE'), 'x', documented).fate).toBe('refused');
  });

  it('carries Retry-After on 429 (delta-seconds) and 503 (HTTP-date)', () => {
    expect(classifyHttpError(429, h({ 'Retry-After': '3' }), undefined, 'x').details.retryAfterMs).toBe(3000);
    const soon = new Date(Date.now() + 60_000).toUTCString();
    const ms = classifyHttpError(503, h({ 'Retry-After': soon }), undefined, 'x').details.retryAfterMs!;
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
  });

  it('keeps the parsed tppMessages and names their codes, not their texts, in the message', () => {
    const err = classifyHttpError(
      400,
      h(),
      { tppMessages: [{ category: 'ERROR', code: 'FORMAT_ERROR', text: 'IBAN DE89370400440532013000 unknown' }] },
      'POST /v1/payments/sepa-credit-transfers',
    );
    expect(err.message).toBe('POST /v1/payments/sepa-credit-transfers → HTTP 400 (FORMAT_ERROR)');
    expect(err.details.messages).toEqual([{ category: 'ERROR', code: 'FORMAT_ERROR', text: 'IBAN DE89****3000 unknown' }]);
    expect(JSON.stringify(err.details)).not.toContain('0532013000');
  });
});

describe('requests without an HTTP answer: was anything sent?', () => {
  const conn = (baseUrl: string) => ({ bicFi: 'TESTDEFFXXX', baseUrl, timeoutMs: 1_000 });
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  async function serve(onConnection: (socket: Socket) => void): Promise<string> {
    const server = createServer();
    server.on('connection', onConnection);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function failure(baseUrl: string): Promise<BankError> {
    const err = await new BerlinGroupClient().send(conn(baseUrl), { method: 'POST', path: '/v1/payments/sepa-credit-transfers', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankError);
    return err as BankError;
  }

  it('connection refused: not_processed (the bank never saw it)', async () => {
    const closed = await serve(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    expect(await failure(closed)).toMatchObject({ kind: 'unavailable', fate: 'not_processed', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('unknown host: not_processed', async () => {
    expect((await failure('http://no-such-bank.invalid')).fate).toBe('not_processed');
  });

  it('the bank takes the request and never answers: timed out, ambiguous', async () => {
    const silent = await serve((socket) => socket.on('data', () => undefined));
    expect(await failure(silent)).toMatchObject({ kind: 'unavailable', fate: 'ambiguous', message: expect.stringContaining('timed out') });
  });

  it('the connection drops after the request was sent: ambiguous', async () => {
    const dropping = await serve((socket) => socket.once('data', () => socket.destroy()));
    expect((await failure(dropping)).fate).toBe('ambiguous');
  });
});

describe('request building', () => {
  it('computes the BG Digest as SHA-256 base64 of the exact body', () => {
    const body = '{"a":1}';
    expect(bodyDigest(body)).toBe(`SHA-256=${createHash('sha256').update(body).digest('base64')}`);
    expect(bodyDigest('')).toBe('SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it.each([
    ['https://b.example/psd2', '/v1/payments/x', 'https://b.example/psd2/v1/payments/x'],
    ['https://b.example/psd2/', '/v1/payments/x', 'https://b.example/psd2/v1/payments/x'],
    ['https://b.example', 'v1/payments/x', 'https://b.example/v1/payments/x'],
  ])('joinUrl(%s, %s)', (base, path, expected) => {
    expect(joinUrl(base, path)).toBe(expected);
  });

  it('encodes path segments', () => {
    expect(paymentsPath('sepa-credit-transfers', 'a/b c', 'status')).toBe('/v1/payments/sepa-credit-transfers/a%2Fb%20c/status');
  });

  it('encodes AIS path segments', () => {
    expect(consentsPath()).toBe('/v1/consents');
    expect(consentsPath('c/1', 'authorisations', 'a?1')).toBe('/v1/consents/c%2F1/authorisations/a%3F1');
    expect(accountsPath()).toBe('/v1/accounts');
    expect(accountsPath('../x', 'transactions', 'B-1#2')).toBe('/v1/accounts/..%2Fx/transactions/B-1%232');
  });
});
