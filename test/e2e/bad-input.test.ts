import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { createApiApp } from '../../apps/api/app';
import { createLogger } from '../../libs/observability/logger';
import { TokenService } from '../../apps/api/auth/token.service';
import { sepaPayment, type TestClient } from '../support/factories';
import { BIC, PIS, initiate } from '../support/payments';
import { TestStack } from '../support/stack';

/**
 * Bad input never reaches a bank and never leaves a trace: a 4xx with Berlin Group tppMessages
 * naming the field, and no payment row, no workflow, no bank request.
 */
let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  stack = await TestStack.start();
  client = await stack.newClient();
  token = await stack.token(client);
});
afterAll(async () => {
  await stack?.close();
});

async function paymentCount(): Promise<number> {
  const [{ count }] = await stack.dataSource.query('SELECT count(*)::int AS count FROM payments WHERE tenant_id = $1', [client.tenantId]);
  return count;
}

const withAmount = (amount: unknown, currency: unknown = 'EUR') => sepaPayment({ instructedAmount: { currency, amount } });

describe('POST /payments: rejected with tppMessages, nothing stored, bank untouched', () => {
  const cases: { name: string; status: number; code: string; field: string; product?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string }[] = [
    { name: 'missing X-Request-ID', status: 400, code: 'FORMAT_ERROR', field: 'X-Request-ID', headers: { 'X-Request-ID': '' } },
    { name: 'non-UUID X-Request-ID', status: 400, code: 'FORMAT_ERROR', field: 'X-Request-ID', headers: { 'X-Request-ID': 'req-1' } },
    { name: 'missing X-BicFi', status: 400, code: 'FORMAT_ERROR', field: 'X-BicFi', headers: { 'X-BicFi': '' } },
    { name: 'unknown X-BicFi', status: 400, code: 'FORMAT_ERROR', field: 'X-BicFi', headers: { 'X-BicFi': 'NOPEDEFFXXX' } },
    { name: 'unknown payment product', status: 404, code: 'PRODUCT_UNKNOWN', field: 'payment-product', product: 'cheques' },
    { name: 'product the ASPSP does not support', status: 404, code: 'PRODUCT_UNKNOWN', field: 'payment-product', product: 'domestic' },
    { name: 'missing PSU-IP-Address', status: 400, code: 'FORMAT_ERROR', field: 'PSU-IP-Address', headers: { 'PSU-IP-Address': '' } },
    { name: 'debtor IBAN with a bad checksum', status: 400, code: 'FORMAT_ERROR', field: 'debtorAccount.iban', body: sepaPayment({ debtorAccount: { iban: 'DE89370400440532013001' } }) },
    { name: 'creditor IBAN with a bad checksum', status: 400, code: 'FORMAT_ERROR', field: 'creditorAccount.iban', body: sepaPayment({ creditorAccount: { iban: 'NL91ABNA0417164301' } }) },
    { name: 'amount as a JSON number (float)', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.amount', body: withAmount(12.5) },
    { name: 'amount with more decimals than EUR has', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.amount', body: withAmount('10.123') },
    { name: 'negative amount', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.amount', body: withAmount('-5.00') },
    { name: 'zero amount', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.amount', body: withAmount('0.00') },
    { name: 'amount in exponent notation', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.amount', body: withAmount('1e3') },
    { name: 'non-ISO-4217 currency', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.currency', body: withAmount('10.00', 'EUX') },
    { name: 'SEPA payment in SEK', status: 400, code: 'FORMAT_ERROR', field: 'instructedAmount.currency', body: withAmount('10.00', 'SEK') },
    { name: 'missing creditorName', status: 400, code: 'FORMAT_ERROR', field: 'creditorName', body: { ...sepaPayment(), creditorName: undefined } },
    { name: 'unsupported field', status: 400, code: 'PARAMETER_NOT_SUPPORTED', field: 'chargeBearer', body: sepaPayment({ chargeBearer: 'SLEV' }) },
    { name: 'body is a JSON array', status: 400, code: 'FORMAT_ERROR', field: 'body', body: [sepaPayment()] },
    { name: 'malformed JSON', status: 400, code: 'FORMAT_ERROR', field: 'body', rawBody: '{"instructedAmount": {' },
    { name: 'body over the size limit', status: 400, code: 'FORMAT_ERROR', field: 'body', body: sepaPayment({ remittanceInformationUnstructured: 'x'.repeat(200_000) }) },
    // PostgreSQL stores neither: these were a 500 whose log line held the whole body.
    { name: 'a NUL character in a text field', status: 400, code: 'FORMAT_ERROR', field: 'remittanceInformationUnstructured', rawBody: JSON.stringify(sepaPayment({ remittanceInformationUnstructured: 'a\u0000b' })) },
    { name: 'an unpaired surrogate in a text field', status: 400, code: 'FORMAT_ERROR', field: 'creditorName', rawBody: JSON.stringify(sepaPayment({ creditorName: 'E\ud800' })) },
    { name: 'a NUL character in a nested field', status: 400, code: 'FORMAT_ERROR', field: 'creditorAccount.iban', rawBody: JSON.stringify(sepaPayment({ creditorAccount: { iban: 'NL91ABNA0417164300\u0000' } })) },
  ];

  test.each(cases)('$name → $status $code naming $field', async (c) => {
    const before = await paymentCount();
    const bankBefore = stack.sandbox.bank.stats().totals.initiationRequests;
    if (c.rawBody !== undefined) {
      const raw = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
        token,
        headers: { 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.1', 'Content-Type': 'application/json' },
        rawBody: c.rawBody,
      });
      expect(raw.status).toBe(c.status);
      expect(raw.body.tppMessages[0]).toMatchObject({ category: 'ERROR', code: c.code, path: c.field });
    } else {
      const res = await initiate(stack, { token, product: c.product, psuId: 'decoupled', headers: c.headers, body: c.body as Record<string, unknown> });
      expect(res.status).toBe(c.status);
      const message = res.body.tppMessages[0];
      expect(message).toMatchObject({ category: 'ERROR', code: c.code });
      expect(`${message.path ?? ''} ${message.text}`).toContain(c.field);
    }
    expect(await paymentCount()).toBe(before);
    expect(stack.sandbox.bank.stats().totals.initiationRequests).toBe(bankBefore);
  });

  test('the X-Request-ID is echoed on errors too', async () => {
    const requestId = randomUUID();
    const res = await initiate(stack, { token, requestId, body: withAmount('1.001') });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBe(requestId);
  });
});

describe('text PostgreSQL cannot store, anywhere in a request → 400 naming the field, never 500', () => {
  const headers = { 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.1' };

  test('a consent whose access lists an IBAN with a NUL character', async () => {
    const before = await stack.dataSource.query('SELECT count(*)::int AS count FROM consents');
    const res = await stack.call('POST', '/psd2/consent/v1/consents', {
      token: await stack.token(client, 'accountinformation private'),
      headers: { ...headers, 'PSU-ID': 'decoupled' },
      body: { access: { accounts: [{ iban: 'DE89370400440532013000\u0000' }] }, recurringIndicator: true, validUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false },
    });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'access.accounts[0].iban' });
    expect(await stack.dataSource.query('SELECT count(*)::int AS count FROM consents')).toEqual(before);
  });

  test('a NUL character in a query parameter or in a path segment', async () => {
    const query = await stack.call('GET', `/psd2/aspspinformation/v1/aspsps?isoCountryCodes=DE%00`, { token: await stack.token(client, 'aspspinformation private') });
    expect(query.status).toBe(400);
    expect(query.body.tppMessages ?? query.body).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'FORMAT_ERROR', path: 'isoCountryCodes' })]));
    const path = await stack.call('GET', `/psd2/accountinformation/v1/accounts/acc%00/balances`, {
      token: await stack.token(client, 'accountinformation private'),
      headers: { 'X-BicFi': BIC, 'Consent-ID': randomUUID() },
    });
    expect(path.status).toBe(400);
    expect(path.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'path' });
  });

  test('the token endpoint answers OAuth invalid_request (form) or invalid_client (Basic), never 500', async () => {
    const form = await fetch(`${stack.baseUrl}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'a\u0000b', client_secret: 'x', scope: 'paymentinitiation private' }),
    });
    expect(form.status).toBe(400);
    expect(await form.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('client_id') });
    for (const credentials of ['a%00b:secret', '%E0%A4%A:secret']) {
      const basic = await fetch(`${stack.baseUrl}/connect/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'paymentinitiation private' }),
      });
      expect([credentials, basic.status]).toEqual([credentials, 401]);
      expect(((await basic.json()) as { error: string }).error).toBe('invalid_client');
    }
  });
});

describe('authentication, authorisation and tenancy', () => {
  test('no token → 401 TOKEN_INVALID with WWW-Authenticate', async () => {
    const res = await initiate(stack, { token: '' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'TOKEN_INVALID' });
  });

  test('a tampered token → 401 TOKEN_INVALID', async () => {
    const res = await initiate(stack, { token: `${token.slice(0, -2)}xx` });
    expect(res.status).toBe(401);
    expect(res.body.tppMessages[0].code).toBe('TOKEN_INVALID');
  });

  test('an expired token → 401 TOKEN_EXPIRED', async () => {
    const yesterday = new TokenService(stack.config.api.tokenSecret, 3600, () => Date.now() - 24 * 3600_000);
    const expired = yesterday.issue({ clientId: client.clientId, tenantId: client.tenantId, services: ['paymentinitiation'], context: 'private' });
    const res = await initiate(stack, { token: expired.accessToken });
    expect(res.status).toBe(401);
    expect(res.body.tppMessages[0].code).toBe('TOKEN_EXPIRED');
  });

  test('a token without the paymentinitiation scope → 403', async () => {
    const aspspOnly = await stack.token(client, 'aspspinformation private');
    const res = await initiate(stack, { token: aspspOnly });
    expect(res.status).toBe(403);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'SERVICE_BLOCKED', text: expect.stringContaining('paymentinitiation') });
  });

  test("another client's payment is a 404 to everyone else, for every operation", async () => {
    const created = await initiate(stack, { token, psuId: 'zed', redirectUri: 'https://shop.example/ok' });
    expect(created.status).toBe(201);
    const intruder = await stack.newClient();
    const intruderToken = await stack.token(intruder);
    const path = `${PIS}/sepa-credit-transfers/${created.body.paymentId}`;
    for (const [method, suffix] of [['GET', ''], ['GET', '/status'], ['GET', '/authorisations'], ['POST', '/authorisations'], ['DELETE', '']] as const) {
      const res = await stack.call(method, `${path}${suffix}`, { token: intruderToken, headers: { 'X-BicFi': BIC } });
      expect([method, suffix, res.status]).toEqual([method, suffix, 404]);
      expect(res.body.tppMessages[0].code).toBe('RESOURCE_UNKNOWN');
    }
    // The owner still sees it, untouched.
    const own = await stack.call('GET', `${path}/status`, { token, headers: { 'X-BicFi': BIC } });
    expect(own.body.transactionStatus).toBe('RCVD');
    await stack.call('DELETE', path, { token, headers: { 'X-BicFi': BIC } });
  });

  test('unknown or malformed payment ids → 404, never 500', async () => {
    for (const id of [randomUUID(), 'not-a-uuid', '1; DROP TABLE payments']) {
      const res = await stack.call('GET', `${PIS}/sepa-credit-transfers/${encodeURIComponent(id)}/status`, { token, headers: { 'X-BicFi': BIC } });
      expect(res.status).toBe(404);
      expect(res.body.tppMessages[0].code).toBe('RESOURCE_UNKNOWN');
    }
  });

  test('an unknown authorisation id → 404', async () => {
    const created = await initiate(stack, { token, psuId: 'yan', redirectUri: 'https://shop.example/ok' });
    const res = await stack.call('GET', `${PIS}/sepa-credit-transfers/${created.body.paymentId}/authorisations/${randomUUID()}`, { token, headers: { 'X-BicFi': BIC } });
    expect(res.status).toBe(404);
    await stack.call('DELETE', `${PIS}/sepa-credit-transfers/${created.body.paymentId}`, { token, headers: { 'X-BicFi': BIC } });
  });
});

describe('POST /connect/token', () => {
  const form = (fields: Record<string, string>) =>
    fetch(`${stack.baseUrl}/connect/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  test('issues a Bearer token with the granted scope and an expiry', async () => {
    const res = await form({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'paymentinitiation corporate' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ access_token: expect.any(String), expires_in: 3600, token_type: 'Bearer', scope: 'paymentinitiation corporate' });
  });

  test('HTTP Basic client authentication works too', async () => {
    const res = await fetch(`${stack.baseUrl}/connect/token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'aspspinformation private' }),
    });
    expect(res.status).toBe(200);
  });

  test.each([
    { name: 'wrong secret', fields: { client_secret: 'nope' }, status: 401, error: 'invalid_client' },
    { name: 'unknown client', fields: { client_id: 'nobody' }, status: 401, error: 'invalid_client' },
    { name: 'wrong grant type', fields: { grant_type: 'password' }, status: 400, error: 'unsupported_grant_type' },
    { name: 'no context scope', fields: { scope: 'paymentinitiation' }, status: 400, error: 'invalid_scope' },
    { name: 'both contexts', fields: { scope: 'paymentinitiation private corporate' }, status: 400, error: 'invalid_scope' },
    { name: 'unknown scope', fields: { scope: 'payments private' }, status: 400, error: 'invalid_scope' },
  ])('$name → $status $error', async ({ fields, status, error }) => {
    const res = await form({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'paymentinitiation private', ...fields });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toBe(error);
  });

  test('a scope the client is not allowed → invalid_scope', async () => {
    const limited = await stack.newClient({ allowedScopes: ['aspspinformation'] });
    const res = await form({ grant_type: 'client_credentials', client_id: limited.clientId, client_secret: limited.clientSecret, scope: 'paymentinitiation private' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_scope');
  });

  test('client secrets are stored hashed, never in clear', async () => {
    const [row] = await stack.dataSource.query('SELECT secret_hash FROM api_clients WHERE client_id = $1', [client.clientId]);
    expect(row.secret_hash).toMatch(/^scrypt\$/);
    expect(row.secret_hash).not.toContain(client.clientSecret);
  });
});

describe('Temporal unreachable', () => {
  test('POST answers 503 SERVICE_UNAVAILABLE (never 500) and the same X-Request-ID works once Temporal is back', async () => {
    const deadConnection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '500ms' });
    const app = await createApiApp({
      config: { ...stack.config, api: { ...stack.config.api, bankAnswerWaitMs: 1000 } },
      dataSource: stack.dataSource,
      temporal: new Client({ connection: deadConnection }),
      logger: createLogger('test', 'silent'),
    });
    await app.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const requestId = randomUUID();
    const headers = {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'X-Request-ID': requestId,
      'X-BicFi': BIC,
      'PSU-IP-Address': '192.0.2.1',
      'PSU-ID': 'decoupled',
    };
    try {
      const res = await fetch(`${url}${PIS}/sepa-credit-transfers`, { method: 'POST', headers, body: JSON.stringify(sepaPayment()) });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { tppMessages: { code: string }[] }).tppMessages[0]!.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await app.close();
    }
    // Repeated against the healthy stack, the same request completes: no second payment, no lost one.
    const retried = await initiate(stack, { token, psuId: 'decoupled', requestId });
    expect(retried.status).toBe(201);
  });
});
