import { BankError } from '../bank-adapter';
import { classifyHttpError, INVALID_TOKEN } from './client';
import {
  parseErrorMessages,
  parseRetryAfter,
  pendingWaitSeconds,
  toGrant,
  toGrantRequestDto,
  toIncomingPayment,
  outgoingPaymentProgress,
  quoteExpiry,
  toOutgoingPayment,
  toPage,
  toQuote,
  toRotatedToken,
  toWalletAddress,
} from './transformers';

const AS = 'https://auth.example';
const RS = 'https://wallet.example';
const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
const cont = { access_token: { value: 'CONT' }, uri: `${AS}/continue/1` };
const token = { value: 'TOK', manage: `${AS}/token/1`, expires_in: 600 };

function protocolError(fn: () => unknown): BankError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BankError);
    expect((err as BankError).kind).toBe('protocol');
    return err as BankError;
  }
  throw new Error('expected a protocol BankError');
}

describe('toGrant', () => {
  it.each([
    [
      'pending (interactive)',
      { interact: { redirect: `${AS}/interact/1/2`, finish: 'NONCE' }, continue: { ...cont, wait: 5 } },
      { kind: 'pending', interactRedirect: `${AS}/interact/1/2`, finishNonce: 'NONCE', continue: { uri: cont.uri, accessToken: 'CONT', waitSeconds: 5 } },
    ],
    [
      'finalized with continue',
      { access_token: { ...token, access: [] }, continue: cont },
      { kind: 'finalized', accessToken: { value: 'TOK', manage: token.manage, expiresIn: 600 }, continue: { uri: cont.uri, accessToken: 'CONT' } },
    ],
    [
      'finalized without expires_in or continue',
      { access_token: { value: 'TOK', manage: token.manage } },
      { kind: 'finalized', accessToken: { value: 'TOK', manage: token.manage } },
    ],
  ])('maps %s', (_name, body, expected) => {
    expect(toGrant(body)).toEqual(expected);
  });

  it.each([
    ['not an object', 'nope', 'body'],
    ['neither token nor interaction', { continue: cont }, 'access_token or interact'],
    ['token without value', { access_token: { manage: token.manage } }, 'access_token.value'],
    ['token with a relative manage URL', { access_token: { value: 'TOK', manage: '/token/1' } }, 'access_token.manage'],
    ['negative expires_in', { access_token: { ...token, expires_in: -1 } }, 'access_token.expires_in'],
    ['interaction without finish nonce', { interact: { redirect: `${AS}/i` }, continue: cont }, 'interact.finish'],
    ['interaction without continue', { interact: { redirect: `${AS}/i`, finish: 'N' } }, 'continue'],
    ['continue without token', { interact: { redirect: `${AS}/i`, finish: 'N' }, continue: { uri: cont.uri } }, 'continue.access_token'],
  ])('rejects %s as protocol, naming %s', (_name, body, field) => {
    const err = protocolError(() => toGrant(body));
    expect(err.message).toContain(field);
    // Values never end up in messages.
    expect(err.message).not.toMatch(/TOK|CONT/);
  });
});

describe('pendingWaitSeconds (a continue that is still waiting for the person)', () => {
  it.each([
    [{ continue: { ...cont, wait: 5 } }, 5],
    [{ continue: cont }, 0],
    [{ access_token: token, continue: cont }, undefined],
    [{ interact: { redirect: `${AS}/i`, finish: 'N' }, continue: cont }, undefined],
    [undefined, undefined],
  ])('%j → %s', (body, expected) => {
    expect(pendingWaitSeconds(body)).toBe(expected);
  });
});

describe('outgoingPaymentProgress: the payment\'s own state, never a comparison a fee breaks', () => {
  const usd = (value: string) => ({ value, assetCode: 'USD', assetScale: 2 });
  it.each([
    ['failed at the wallet', { failed: true, sentAmount: eur('0'), receiveAmount: eur('1000') }, 'failed'],
    ['failed after part of it was sent', { failed: true, sentAmount: eur('600'), receiveAmount: eur('1000') }, 'failed'],
    ['nothing sent yet', { failed: false, sentAmount: eur('0'), receiveAmount: eur('1000') }, 'sending'],
    ['part sent', { failed: false, sentAmount: eur('999'), receiveAmount: eur('1000') }, 'sending'],
    // debitAmount 1012 (fee 12): sentAmount stops at the receive amount, as Rafiki reports it.
    ['sent in full, net of a fee', { failed: false, sentAmount: eur('1000'), receiveAmount: eur('1000') }, 'completed'],
    ['another scale', { failed: false, sentAmount: { value: '10000', assetCode: 'EUR', assetScale: 3 }, receiveAmount: eur('1000') }, 'compare_at_receiver'],
    ['another asset', { failed: false, sentAmount: eur('900'), receiveAmount: usd('1000') }, 'compare_at_receiver'],
  ] as const)('%s → %s', (_name, payment, expected) => {
    expect(outgoingPaymentProgress(payment)).toBe(expected);
  });
});

describe('quoteExpiry: the quote\'s lifetime on our clock, whatever the wallet\'s clock says', () => {
  const receivedAt = Date.parse('2027-01-01T12:00:00Z');
  it.each([
    ['a wallet a day ahead', { createdAt: '2027-01-02T12:00:00Z', expiresAt: '2027-01-02T12:05:00Z' }, '2027-01-01T12:05:00.000Z'],
    ['a wallet an hour behind', { createdAt: '2027-01-01T11:00:00Z', expiresAt: '2027-01-01T11:05:00Z' }, '2027-01-01T12:05:00.000Z'],
    ['no createdAt: expiresAt as given', { expiresAt: '2027-01-01T12:03:00Z' }, '2027-01-01T12:03:00.000Z'],
    ['expiresAt before createdAt', { createdAt: '2027-01-01T12:00:00Z', expiresAt: '2027-01-01T11:00:00Z' }, '2027-01-01T12:00:00.000Z'],
  ])('%s', (_name, quote, expected) => {
    expect(quoteExpiry(quote, receivedAt)!.toISOString()).toBe(expected);
  });
  it('a quote without expiresAt does not expire', () => {
    expect(quoteExpiry({ createdAt: '2027-01-01T12:00:00Z' }, receivedAt)).toBeUndefined();
  });
});

describe('toPage', () => {
  const item = (v: unknown) => v as string;
  it('maps result and the forward cursor', () => {
    expect(toPage({ pagination: { hasNextPage: true, hasPreviousPage: false, startCursor: 'a', endCursor: 'b' }, result: ['x'] }, 'list', item)).toEqual({ result: ['x'], hasNextPage: true, endCursor: 'b' });
    expect(toPage({ pagination: { hasNextPage: false, hasPreviousPage: true }, result: [] }, 'list', item)).toEqual({ result: [], hasNextPage: false });
  });
  it.each([
    ['no pagination', { result: [] }],
    ['result not an array', { pagination: { hasNextPage: false }, result: {} }],
    ['a next page without a cursor', { pagination: { hasNextPage: true }, result: [] }],
  ])('refuses %s', (_name, body) => {
    protocolError(() => toPage(body, 'list', item));
  });
});

describe('toRotatedToken', () => {
  it('maps { access_token }', () => {
    expect(toRotatedToken({ access_token: token })).toEqual({ value: 'TOK', manage: token.manage, expiresIn: 600 });
  });
  it('rejects a body without access_token', () => {
    protocolError(() => toRotatedToken({ value: 'TOK' }));
  });
});

describe('resources', () => {
  const wallet = { id: `${RS}/alice`, publicName: 'Alice', assetCode: 'EUR', assetScale: 2, authServer: AS, resourceServer: RS };
  const incoming = { id: `${RS}/incoming-payments/1`, walletAddress: `${RS}/bob`, completed: false, incomingAmount: eur('2500'), receivedAmount: eur('0'), expiresAt: '2027-01-01T00:00:00.000Z', createdAt: 'x', methods: [] };
  const quote = { id: `${RS}/quotes/1`, walletAddress: wallet.id, receiver: incoming.id, debitAmount: eur('2500'), receiveAmount: eur('2500'), method: 'ilp', expiresAt: '2027-01-01T00:00:00.000Z' };
  const outgoing = { id: `${RS}/outgoing-payments/1`, walletAddress: wallet.id, receiver: incoming.id, failed: false, debitAmount: eur('2500'), receiveAmount: eur('2500'), sentAmount: eur('0'), quoteId: quote.id, metadata: { a: 1 } };

  it.each([
    ['wallet address', toWalletAddress, wallet, wallet],
    ['wallet address without publicName', toWalletAddress, { ...wallet, publicName: undefined }, { ...wallet, publicName: undefined }],
    [
      'incoming payment',
      toIncomingPayment,
      incoming,
      { id: incoming.id, walletAddress: incoming.walletAddress, completed: false, incomingAmount: eur('2500'), receivedAmount: eur('0'), expiresAt: incoming.expiresAt },
    ],
    [
      'quote',
      toQuote,
      quote,
      { id: quote.id, walletAddress: wallet.id, receiver: incoming.id, debitAmount: eur('2500'), receiveAmount: eur('2500'), expiresAt: quote.expiresAt },
    ],
    [
      'outgoing payment',
      toOutgoingPayment,
      outgoing,
      { id: outgoing.id, walletAddress: wallet.id, receiver: incoming.id, failed: false, debitAmount: eur('2500'), receiveAmount: eur('2500'), sentAmount: eur('0'), quoteId: quote.id, metadata: { a: 1 } },
    ],
  ] as [string, (b: unknown) => unknown, unknown, unknown][])('maps a %s', (_name, map, body, expected) => {
    expect(JSON.parse(JSON.stringify(map(body)))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it.each([
    ['wallet address without authServer', toWalletAddress, { ...wallet, authServer: undefined }, 'authServer'],
    ['wallet address with a fractional scale', toWalletAddress, { ...wallet, assetScale: 2.5 }, 'assetScale'],
    ['incoming payment without completed', toIncomingPayment, { ...incoming, completed: undefined }, 'completed'],
    ['incoming payment with a numeric amount', toIncomingPayment, { ...incoming, receivedAmount: { ...eur('0'), value: 0 } }, 'receivedAmount.value'],
    ['quote with a negative amount', toQuote, { ...quote, debitAmount: eur('-1') }, 'debitAmount.value'],
    ['quote without receiver', toQuote, { ...quote, receiver: undefined }, 'receiver'],
    ['outgoing payment without sentAmount', toOutgoingPayment, { ...outgoing, sentAmount: undefined }, 'sentAmount'],
    ['outgoing payment with failed as a string', toOutgoingPayment, { ...outgoing, failed: 'false' }, 'failed'],
  ] as [string, (b: unknown) => unknown, unknown, string][])('rejects a %s', (_name, map, body, field) => {
    expect(protocolError(() => map(body)).message).toContain(field);
  });
});

describe('toGrantRequestDto', () => {
  it('puts Clearway in as client and asks for redirect interaction with our finish URI and nonce', () => {
    const access = [{ type: 'outgoing-payment' as const, actions: ['create', 'read'], identifier: `${RS}/alice`, limits: { debitAmount: eur('100') } }];
    expect(toGrantRequestDto({ access, interact: { finishUri: 'https://clearway.example/finish', nonce: 'N1' } }, `${RS}/clearway`)).toEqual({
      access_token: { access },
      client: `${RS}/clearway`,
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: 'https://clearway.example/finish', nonce: 'N1' } },
    });
  });

  it('has no interact for a non-interactive grant', () => {
    expect(toGrantRequestDto({ access: [{ type: 'quote', actions: ['create'] }] }, `${RS}/clearway`)).not.toHaveProperty('interact');
  });
});

describe('error bodies', () => {
  it.each([
    ['Open Payments / GNAP object', { error: { code: 'invalid_client', description: 'bad key' } }, [{ category: 'ERROR', code: 'invalid_client', text: 'bad key' }]],
    ['object without description', { error: { code: 'not_found' } }, [{ category: 'ERROR', code: 'not_found' }]],
    ['OAuth-style string', { error: 'invalid_token', error_description: 'expired' }, [{ category: 'ERROR', code: 'invalid_token', text: 'expired' }]],
    ['code + message', { code: 'forbidden', message: 'no' }, [{ category: 'ERROR', code: 'forbidden', text: 'no' }]],
    ['nothing usable', { hello: 'world' }, []],
    ['no body', undefined, []],
  ])('%s', (_name, body, expected) => {
    expect(parseErrorMessages(body)).toEqual(expected);
  });
});

describe('classifyHttpError', () => {
  const headers = (h: Record<string, string> = {}) => new Headers(h);
  const rs = { server: 'resource' as const, tokenSent: true };
  const as = { server: 'auth' as const, tokenSent: true };

  it.each([
    ['RS 401 dead token', 401, { error: { code: 'unauthorized', description: 'the access token is unknown, expired or revoked' } }, rs, 'rejected', INVALID_TOKEN],
    ['RS 401 invalid_token', 401, { error: 'invalid_token' }, rs, 'rejected', INVALID_TOKEN],
    ['RS 401 without body', 401, undefined, rs, 'rejected', INVALID_TOKEN],
    ['RS 401 bad signature', 401, { error: { code: 'unauthorized', description: 'content_digest_mismatch: …' } }, rs, 'rejected', 'unauthorized'],
    ['AS 401 bad continuation token', 401, { error: { code: 'invalid_continuation', description: 'x' } }, as, 'rejected', 'invalid_continuation'],
    ['AS 401 denied', 401, { error: { code: 'request_denied', description: 'x' } }, as, 'rejected', 'request_denied'],
    ['400', 400, { error: { code: 'invalid_quote', description: 'x' } }, rs, 'rejected', 'invalid_quote'],
    ['403 limit', 403, { error: { code: 'limit_exceeded', description: 'x' } }, rs, 'rejected', 'limit_exceeded'],
    ['404', 404, { error: { code: 'not_found', description: 'x' } }, rs, 'not_found', 'not_found'],
    ['409', 409, { error: { code: 'conflict', description: 'x' } }, rs, 'rejected', 'conflict'],
    ['429', 429, { error: { code: 'service_unavailable', description: 'x' } }, rs, 'rate_limited', 'service_unavailable'],
    ['500', 500, { error: { code: 'internal_error', description: 'x' } }, as, 'unavailable', 'internal_error'],
    ['503', 503, undefined, as, 'unavailable', undefined],
    ['408', 408, undefined, as, 'unavailable', undefined],
    ['302', 302, undefined, as, 'protocol', undefined],
  ] as const)('%s', (_name, status, body, context, kind, code) => {
    const err = classifyHttpError(status, headers(), body, 'POST host/x', context);
    expect(err.kind).toBe(kind);
    expect(err.details.httpStatus).toBe(status);
    expect(err.details.messages?.[0]?.code).toBe(code);
  });

  it('carries Retry-After and keeps the token out of messages', () => {
    const err = classifyHttpError(429, headers({ 'retry-after': '3' }), { error: { code: 'x', description: 'token SECRET1 is busy' } }, 'GET host/x', { ...rs, secrets: ['SECRET1'] });
    expect(err.details.retryAfterMs).toBe(3000);
    expect(JSON.stringify(err.details)).not.toContain('SECRET1');
    expect(err.message).not.toContain('SECRET1');
  });

  it.each([
    ['7', 7000],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['soon', undefined],
    [null, undefined],
  ])('Retry-After %s → %s ms', (header, ms) => {
    expect(parseRetryAfter(header, Date.parse('2026-01-01T00:00:00Z'))).toBe(ms);
  });
});
