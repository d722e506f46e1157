import { createHash } from 'node:crypto';
import type { BankErrorKind } from '../bank-adapter';
import { accountsPath, bodyDigest, classifyHttpError, consentsPath, joinUrl, paymentsPath } from './client';

const h = (init: Record<string, string> = {}) => new Headers(init);
const tpp = (code: string) => ({ tppMessages: [{ category: 'ERROR', code }] });

describe('classifyHttpError', () => {
  it.each<[number, unknown, BankErrorKind]>([
    [400, tpp('FORMAT_ERROR'), 'rejected'],
    [401, tpp('CERTIFICATE_INVALID'), 'rejected'],
    [403, tpp('PRODUCT_INVALID'), 'rejected'],
    [403, tpp('RESOURCE_UNKNOWN'), 'not_found'],
    [400, tpp('RESOURCE_UNKNOWN'), 'not_found'],
    [404, tpp('RESOURCE_UNKNOWN'), 'not_found'],
    [404, undefined, 'not_found'],
    [405, tpp('CANCELLATION_INVALID'), 'rejected'],
    [406, undefined, 'rejected'],
    [409, tpp('STATUS_INVALID'), 'rejected'],
    [415, undefined, 'rejected'],
    [422, undefined, 'rejected'],
    [408, undefined, 'unavailable'],
    [429, tpp('ACCESS_EXCEEDED'), 'rate_limited'],
    [500, undefined, 'unavailable'],
    [502, 'garbage', 'unavailable'],
    [503, tpp('SERVICE_UNAVAILABLE'), 'unavailable'],
    [504, undefined, 'unavailable'],
    [302, undefined, 'protocol'],
  ])('HTTP %i %j → %s', (status, body, kind) => {
    const err = classifyHttpError(status, h(), body, 'GET /v1/x');
    expect(err.kind).toBe(kind);
    expect(err.details.httpStatus).toBe(status);
    expect(err.retryable).toBe(kind === 'unavailable' || kind === 'rate_limited');
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
