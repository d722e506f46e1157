import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { CONSENTS, createConsent } from '../support/consents';
import type { TestClient } from '../support/factories';
import { sepaPayment } from '../support/factories';
import { BIC, PIS } from '../support/payments';
import { TestStack } from '../support/stack';

/**
 * What fuzzing and hand probes against the OPE 1.3.3 contract found (issue 10 §5), one test each:
 * the consent 201's `message`, an out-of-order SCA step (409, no bank ids), 405 with Allow, 415,
 * 431 with tppMessages, and the sandbox ASPSP's websiteUrl.
 */
let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  stack = await TestStack.start({
    env: { SANDBOX_BG_PUBLIC_URL: 'https://sandbox-bank.example/berlin-group', SANDBOX_UK_PUBLIC_URL: 'https://uk-bank.example', SANDBOX_PAYSERA_PORT: '4404' },
  });
  client = await stack.newClient();
  token = await stack.token(client, 'aspspinformation paymentinitiation accountinformation private');
});
afterAll(async () => {
  await stack?.close();
});

test('the consent 201 carries the PSU text as `message` (OPE consentsResponse-201), not `psuMessage`', async () => {
  const created = await createConsent(stack, { token, psuId: 'decoupled' });
  expect(created.status).toBe(201);
  expect(created.body.message).toEqual(expect.any(String));
  expect(created.body.psuMessage).toBeUndefined();
  // A repeat answers from the stored consent, in the same shape.
  const again = await createConsent(stack, { token, psuId: 'decoupled', requestId: created.headers.get('x-request-id')! });
  expect(again.body.consentId).toBe(created.body.consentId);
  expect(again.body.psuMessage).toBeUndefined();
});

test('an embedded SCA step out of order is 409 STATUS_INVALID, and no bank id or bank path reaches the client', async () => {
  const created = await createConsent(stack, { token, psuId: 'embedded' });
  const id = created.body.consentId;
  const started = await stack.call('POST', `${CONSENTS}/${id}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
  expect(started.status).toBe(201);
  // The OTP before the password.
  const res = await stack.call('PUT', `${CONSENTS}/${id}/authorisations/${started.body.authorisationId}`, {
    token,
    headers: { 'X-BicFi': BIC },
    body: { scaAuthenticationData: '123456' },
  });
  expect(res.status).toBe(409);
  expect(res.body.tppMessages[0].code).toBe('STATUS_INVALID');
  const [{ bank_consent_id: bankConsentId }] = await stack.dataSource.query('SELECT bank_consent_id FROM consents WHERE id = $1', [id]);
  expect(bankConsentId).toEqual(expect.any(String));
  const text = JSON.stringify(res.body);
  expect(text).not.toContain(bankConsentId);
  expect(text).not.toContain('/v1/');
  expect(text).not.toContain('HTTP 409');
});

describe('405 Method Not Allowed, with Allow, on paths that exist', () => {
  test.each([
    ['PATCH', `${PIS}/sepa-credit-transfers`, 'POST'],
    ['PUT', `${PIS}/sepa-credit-transfers/0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87`, 'DELETE, GET, HEAD'],
    ['POST', `${PIS}/sepa-credit-transfers/0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87/status`, 'GET, HEAD'],
    ['DELETE', CONSENTS, 'POST'],
    ['POST', '/psd2/aspspinformation/v1/countries', 'GET, HEAD'],
    ['GET', '/connect/token', 'POST'],
  ])('%s %s → 405, Allow: %s', async (method, path, allow) => {
    // Methods the spec does not define for the path: nothing to check the body against but our own shape.
    const res = await stack.call(method, path, { token, headers: { 'X-BicFi': BIC }, contract: false });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.body.tppMessages[0].code).toBe('SERVICE_INVALID');
  });

  test('a path that does not exist stays 404', async () => {
    const res = await stack.call('GET', '/psd2/paymentinitiation/v1/nothing-here', { token, contract: false });
    expect(res.status).toBe(404);
    expect(res.headers.get('allow')).toBeNull();
  });
});

describe('415 Unsupported Media Type', () => {
  test.each([
    ['text/plain', JSON.stringify(sepaPayment())],
    ['application/x-www-form-urlencoded', 'instructedAmount=1'],
    ['application/xml', '<payment/>'],
  ])('a payment sent as %s → 415 naming Content-Type, nothing stored', async (contentType, rawBody) => {
    const requestId = randomUUID();
    const res = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
      token,
      rawBody,
      headers: { 'Content-Type': contentType, 'X-Request-ID': requestId, 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.1' },
    });
    expect(res.status).toBe(415);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', path: 'Content-Type' });
    expect(await stack.dataSource.query('SELECT id FROM payments WHERE tenant_id = $1 AND request_id = $2', [client.tenantId, requestId])).toEqual([]);
  });

  test('JSON with a +json media type and a bodiless POST are fine', async () => {
    const json = await stack.call('POST', CONSENTS, { token, headers: { 'Content-Type': 'application/vnd.example+json', 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.1' }, rawBody: '{}' });
    expect(json.status).toBe(400); // on to validation: the body asks for nothing
    expect(json.body.tppMessages[0].path).toBe('access');
    const bodiless = await stack.call('POST', `${CONSENTS}/0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87/authorisations`, { token, headers: { 'X-BicFi': BIC } });
    expect(bodiless.status).toBe(404); // on to the lookup, not a 415
  });
});

test('headers over 16 KB → 431 with tppMessages (was an empty body)', async () => {
  const raw = await rawRequest(
    `GET /psd2/aspspinformation/v1/countries HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nX-Request-ID: ${randomUUID()}\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
  );
  const [head, body] = raw.split('\r\n\r\n');
  expect(head).toMatch(/^HTTP\/1\.1 431 /);
  expect(head.toLowerCase()).toContain('content-type: application/json');
  expect(JSON.parse(body!)).toEqual({ tppMessages: [{ category: 'ERROR', code: 'FORMAT_ERROR', text: expect.stringContaining('16 KB') }] });
});

test('malformed HTTP → 400 with tppMessages', async () => {
  const raw = await rawRequest('GARBAGE\r\n\r\n');
  expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  expect(JSON.parse(raw.split('\r\n\r\n')[1]!).tppMessages[0].code).toBe('FORMAT_ERROR');
});

test("the sandbox ASPSP's websiteUrl is where this deployment runs it (SANDBOX_BG_PUBLIC_URL), not a seeded port", async () => {
  const res = await stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${BIC}`, { token });
  expect(res.status).toBe(200);
  expect(res.body.websiteUrl).toBe('https://sandbox-bank.example/berlin-group');
});

test.each([
  // Served by the Berlin Group sandbox under its sandbox_path.
  ['SANDNL2AXXX', 'https://sandbox-bank.example/berlin-group/nl'],
  // The UK sandbox (its own port, SANDBOX_UK_PUBLIC_URL here).
  ['SANDGB2LXXX', 'https://uk-bank.example'],
  // The Paysera-profile bank: https on SANDBOX_PAYSERA_PORT, not the Berlin Group sandbox's URL.
  ['SANDLT21XXX', 'https://127.0.0.1:4404/psd2'],
])("the %s sandbox bank's websiteUrl is its own sandbox's, from configuration: %s", async (bic, websiteUrl) => {
  const res = await stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${bic}`, { token });
  expect(res.status).toBe(200);
  expect(res.body.websiteUrl).toBe(websiteUrl);
});

function rawRequest(request: string): Promise<string> {
  const { port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}
