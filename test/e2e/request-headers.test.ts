import { randomUUID } from 'node:crypto';
import { AIS, CONSENTS, consentBody, waitForConsentStatus } from '../support/consents';
import type { TestClient } from '../support/factories';
import { BIC, PIS, initiate } from '../support/payments';
import { TestStack } from '../support/stack';

/**
 * Request headers with a format in the OPE 1.3.3 contract are checked on every method of every
 * client endpoint (common/request-headers.ts): a malformed one is a 400 naming it, never a 404
 * from a lookup it steered, and never forwarded to a bank.
 */
let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  stack = await TestStack.start();
  client = await stack.newClient();
  token = await stack.token(client, 'aspspinformation paymentinitiation accountinformation private');
});
afterAll(async () => {
  await stack?.close();
});

const SOME_ID = '0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87';

describe('X-BicFi is a BICFI wherever it is read', () => {
  test.each([
    ['GET a payment', 'GET', `${PIS}/sepa-credit-transfers/${SOME_ID}`],
    ['GET a payment status', 'GET', `${PIS}/sepa-credit-transfers/${SOME_ID}/status`],
    ['DELETE a payment', 'DELETE', `${PIS}/sepa-credit-transfers/${SOME_ID}`],
    ['GET a consent', 'GET', `${CONSENTS}/${SOME_ID}`],
    ['DELETE a consent', 'DELETE', `${CONSENTS}/${SOME_ID}`],
    ['GET accounts', 'GET', AIS],
  ])('%s with X-BicFi "../../x" → 400 naming X-BicFi (was a 404)', async (_name, method, path) => {
    const res = await stack.call(method, path, { token, headers: { 'X-BicFi': '../../x', 'Consent-ID': SOME_ID } });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'X-BicFi' });
  });

  test.each([
    ['lower case', 'sanddeb0xxx'],
    ['too short', 'SANDDE'],
    ['a location starting with 1 (no such BIC)', 'SANDDE1XXXX'],
    ['two values', `${BIC}, ${BIC}`],
  ])('POST a payment with X-BicFi %s → 400, nothing stored', async (_name, bicFi) => {
    const requestId = randomUUID();
    const res = await initiate(stack, { token, requestId, headers: { 'X-BicFi': bicFi } });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0].path).toBe('X-BicFi');
    expect(await stack.dataSource.query('SELECT id FROM payments WHERE tenant_id = $1 AND request_id = $2', [client.tenantId, requestId])).toEqual([]);
  });

  test('the ASPSP path parameter follows the same rule', async () => {
    const bad = await stack.call('GET', '/psd2/aspspinformation/v1/aspsps/..%2F..%2Fx', { token });
    expect(bad.status).toBe(400);
    expect(bad.body.tppMessages[0].path).toBe('bicFi');
    expect((await stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${BIC}`, { token })).status).toBe(200);
    expect((await stack.call('GET', '/psd2/aspspinformation/v1/aspsps/NOPEDEFFXXX', { token })).status).toBe(404);
  });
});

describe('optional PSU and TPP headers are validated on GET and DELETE too', () => {
  test.each([
    ['PSU-IP-Address', 'not-an-ip'],
    ['PSU-IP-Address', '999.1.1.1'],
    ['PSU-Geo-Location', 'GEO:52.5;13.1'],
    ['PSU-Geo-Location', 'somewhere'],
    ['PSU-Device-ID', 'my-phone'],
    ['TPP-Redirect-Preferred', 'maybe'],
    ['TPP-Explicit-Authorisation-Preferred', 'yes'],
    ['PSU-Http-Method', 'BREW'],
    ['TPP-Redirect-URI', 'javascript:alert(1)'],
  ])('%s: %s → 400 naming it', async (header, value) => {
    for (const [method, path] of [
      ['GET', `${PIS}/sepa-credit-transfers/${SOME_ID}/status`],
      ['DELETE', `${PIS}/sepa-credit-transfers/${SOME_ID}`],
      ['GET', `${CONSENTS}/${SOME_ID}/status`],
      ['GET', '/psd2/aspspinformation/v1/countries'],
    ] as const) {
      const res = await stack.call(method, path, { token, headers: { 'X-BicFi': BIC, [header]: value } });
      expect({ method, path, status: res.status, field: res.body.tppMessages?.[0]?.path }).toEqual({ method, path, status: 400, field: header });
    }
  });

  test('well-formed optional headers pass (the call then answers on its own merits)', async () => {
    const res = await stack.call('GET', `${PIS}/sepa-credit-transfers/${SOME_ID}/status`, {
      token,
      headers: {
        'X-BicFi': BIC,
        'PSU-IP-Address': '2001:db8::7',
        'PSU-Geo-Location': 'GEO:52.506931;-13.144558',
        'PSU-Device-ID': '99435c7e-ad88-49ec-a2ad-99ddcb1f5555',
        'TPP-Redirect-Preferred': 'false',
        'PSU-Http-Method': 'GET',
      },
    });
    expect(res.status).toBe(404);
  });
});

describe('PSU-IP-Address on consent creation (optional in OPE, mandatory at BG banks)', () => {
  test('omitted: Clearway sends the caller\'s address (BG\'s rule), the bank accepts, the consent is created (was: stored, refused, X-Request-ID used up)', async () => {
    const requestId = randomUUID();
    const create = () =>
      stack.call('POST', CONSENTS, {
        token,
        headers: { 'X-BicFi': BIC, 'X-Request-ID': requestId, 'PSU-ID': 'decoupled' },
        body: consentBody(),
      });
    const created = await create();
    expect(created.status).toBe(201);
    await waitForConsentStatus(stack, token, created.body.consentId, 'valid');
    const [row] = await stack.dataSource.query('SELECT psu_ip_address FROM consents WHERE id = $1', [created.body.consentId]);
    expect(row.psu_ip_address).toBe('127.0.0.1');
    // A repeat is the same consent, not a 409.
    const repeat = await create();
    expect(repeat.status).toBe(201);
    expect(repeat.body.consentId).toBe(created.body.consentId);
  });

  test('the sandbox bank itself still refuses a consent without PSU-IP-Address (as BG banks do)', async () => {
    const res = await fetch(`${stack.sandbox.url}/v1/consents`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Request-ID': randomUUID(), 'PSU-ID': 'decoupled' },
      body: JSON.stringify(consentBody()),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('PSU-IP-Address');
  });
});
