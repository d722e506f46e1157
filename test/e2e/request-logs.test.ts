import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '../../libs/observability/logger';
import { PIS } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import type { TestClient } from '../support/factories';

/**
 * The API's request log (pino-http, apps/api/observability.ts): one line per answered request
 * with method, route template, status, latency, X-Request-ID and tenant; never a body, a token,
 * a secret, an IBAN or a query value.
 */
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let stack: TestStack;
let client: TestClient;
let token: string;

const DEBTOR_IBAN = 'DE89370400440532013000';
const CREDITOR_IBAN = 'NL91ABNA0417164300';

beforeAll(async () => {
  // No worker: a payment initiation gets its 503 "repeat the request" after a short wait.
  stack = await TestStack.start({ worker: false, logger: createLogger('api', 'info', sink), env: { API_BANK_ANSWER_WAIT_MS: '500' } });
  client = await stack.newClient();
  token = await stack.token(client, 'paymentinitiation accountinformation private');
});

afterAll(async () => {
  await stack?.close();
});

function requestLines(): Record<string, any>[] {
  return lines.map((l) => JSON.parse(l)).filter((l) => l.component === 'http' && l.msg === 'request');
}

async function lineFor(requestId: string): Promise<Record<string, any>> {
  return eventually(async () => requestLines().find((l) => l.requestId === requestId), 10_000, 20);
}

test('a payment initiation: method, route, status, latency, X-Request-ID, tenant; no body, IBAN or token', async () => {
  const requestId = randomUUID().toUpperCase();
  // No worker runs: the API answers 503 "repeat the request" after its wait; any answer will do here.
  const res = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
    token,
    headers: { 'X-Request-ID': requestId, 'X-BicFi': 'SANDDEB0XXX', 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'decoupled' },
    body: { instructedAmount: { currency: 'EUR', amount: '1.00' }, debtorAccount: { iban: DEBTOR_IBAN }, creditorName: 'Enterprise GmbH', creditorAccount: { iban: CREDITOR_IBAN } },
    contract: false,
  });
  const line = await lineFor(requestId.toLowerCase());
  expect(line).toMatchObject({
    level: res.status >= 500 ? 50 : res.status >= 400 ? 40 : 30,
    method: 'POST',
    route: '/psd2/paymentinitiation/v1/payments/:paymentProduct',
    path: '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers',
    status: res.status,
    tenant: client.tenantId,
  });
  expect(line.latencyMs).toEqual(expect.any(Number));
  const all = lines.join('\n');
  for (const secret of [DEBTOR_IBAN, CREDITOR_IBAN, 'Enterprise GmbH', token, client.clientSecret, '192.0.2.10']) expect(all).not.toContain(secret);
}, 60_000);

test('a query string with an IBAN and a token is logged by parameter names only; an IBAN in the path is masked', async () => {
  const requestId = randomUUID();
  await stack.call('GET', `/psd2/accountinformation/v1/accounts/${DEBTOR_IBAN}/transactions?iban=${CREDITOR_IBAN}&access_token=${token}&bookingStatus=booked`, {
    token,
    headers: { 'X-Request-ID': requestId, 'X-BicFi': 'SANDDEB0XXX', 'Consent-ID': randomUUID() },
    contract: false,
  });
  const line = await lineFor(requestId);
  expect(line).toMatchObject({
    method: 'GET',
    route: '/psd2/accountinformation/v1/accounts/:accountId/transactions',
    path: '/psd2/accountinformation/v1/accounts/[iban]/transactions',
    queryParams: ['iban', 'access_token', 'bookingStatus'],
    tenant: client.tenantId,
  });
  const all = lines.join('\n');
  for (const secret of [DEBTOR_IBAN, CREDITOR_IBAN, token]) expect(all).not.toContain(secret);
});

test('the token endpoint: client secret never logged; refused and unrouted requests logged too', async () => {
  const requestId = randomUUID();
  const res = await fetch(`${stack.baseUrl}/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Request-ID': requestId },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: `${client.clientSecret}-wrong`, scope: 'paymentinitiation' }),
  });
  expect(res.status).toBe(401);
  expect(await lineFor(requestId)).toMatchObject({ method: 'POST', route: '/connect/token', status: 401, level: 40 });

  const missing = randomUUID();
  expect((await fetch(`${stack.baseUrl}/no/such/${DEBTOR_IBAN}`, { headers: { 'X-Request-ID': missing } })).status).toBe(404);
  expect(await lineFor(missing)).toMatchObject({ route: 'unmatched', path: '/no/such/[iban]', status: 404 });

  // Endpoints served by middleware are named too.
  const docs = randomUUID();
  await fetch(`${stack.baseUrl}/openapi.json`, { headers: { 'X-Request-ID': docs } });
  expect(await lineFor(docs)).toMatchObject({ route: '/openapi.json', status: 200 });

  // A request without a valid X-Request-ID gets a generated one; the header's junk is not logged.
  await fetch(`${stack.baseUrl}/health/live`, { headers: { 'X-Request-ID': `junk ${DEBTOR_IBAN}` } });
  const live = await eventually(async () => requestLines().find((l) => l.route === '/health/live'), 10_000, 20);
  expect(live.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(lines.join('\n')).not.toContain(client.clientSecret);
  expect(lines.join('\n')).not.toContain(DEBTOR_IBAN);
});
