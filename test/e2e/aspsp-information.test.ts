import type { TestClient } from '../support/factories';
import { TestStack } from '../support/stack';

/** The ASPSP directory, seeded by migration, read through the API; every response is contract-checked. */
let stack: TestStack;
let client: TestClient;
let token: string;
const BASE = '/psd2/aspspinformation/v1';

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
  client = await stack.newClient();
  token = await stack.token(client, 'aspspinformation private');
});
afterAll(async () => {
  await stack?.close();
});

const get = (path: string) => stack.call('GET', `${BASE}${path}`, { token });

test('countries, filtered by isoCountryCodes', async () => {
  const all = await get('/countries');
  expect(all.status).toBe(200);
  expect(all.body.map((c: { isoCountryCode: string }) => c.isoCountryCode)).toEqual(expect.arrayContaining(['DE', 'SE', 'LT']));
  const some = await get('/countries?isoCountryCodes=se,LT');
  // The OpenAPI default for an array in the query (repeated parameter) means the same.
  expect((await get('/countries?isoCountryCodes=se&isoCountryCodes=LT')).body).toEqual(some.body);
  expect(some.body.map((c: { isoCountryCode: string }) => c.isoCountryCode).sort()).toEqual(['LT', 'SE']);
  const de = await get('/countries/DE');
  expect(de.body).toEqual({ id: expect.any(String), isoCountryCode: 'DE', name: 'Germany' });
});

test('cities by country and by id', async () => {
  const german = await get('/cities?isoCountryCodes=DE');
  expect(german.body.map((c: { name: string }) => c.name)).toEqual(['Berlin', 'Frankfurt am Main']);
  const berlin = german.body[0];
  expect((await get(`/cities/${berlin.cityId}`)).body).toEqual(berlin);
  expect((await get(`/cities?cityIds=${berlin.cityId}`)).body).toEqual([berlin]);
});

test('ASPSPs by country and city, and the sandbox bank in detail', async () => {
  const german = await get('/aspsps?isoCountryCodes=DE');
  expect(german.body).toEqual([expect.objectContaining({ bicFi: 'SANDDEB0XXX', name: 'Clearway Sandbox Bank (Berlin Group)' })]);
  expect((await get('/aspsps?isoCountryCodes=SE')).body).toEqual([]);
  const berlin = (await get('/cities?isoCountryCodes=DE')).body[0];
  expect((await get(`/aspsps?cityIds=${berlin.cityId}`)).body).toHaveLength(1);

  const detail = await get('/aspsps/SANDDEB0XXX');
  expect(detail.body).toMatchObject({
    bicFi: 'SANDDEB0XXX',
    city: 'Berlin',
    country: 'Germany',
    globalPaymentProducts: ['sepa-credit-transfers', 'instant-sepa-credit-transfers', 'international'],
    protocol: 'berlin-group',
    supportedScaApproaches: ['REDIRECT', 'DECOUPLED'],
    sandbox: true,
  });
});

test.each([
  ['/countries/XX', 404, 'RESOURCE_UNKNOWN'],
  ['/countries/DEU', 400, 'FORMAT_ERROR'],
  ['/cities/not-a-uuid', 400, 'FORMAT_ERROR'],
  ['/cities/6f1c8d1e-0000-4000-8000-000000000000', 404, 'RESOURCE_UNKNOWN'],
  ['/aspsps/NOPEDEFFXXX', 404, 'RESOURCE_UNKNOWN'],
  ['/aspsps?isoCountryCodes=Germany', 400, 'FORMAT_ERROR'],
  ['/aspsps?cityIds=1,2', 400, 'FORMAT_ERROR'],
  // An empty entry is not "no filter" (found by the OPE fuzz run: `cityIds=` answered every city).
  ['/cities?cityIds=', 400, 'FORMAT_ERROR'],
  ['/aspsps?isoCountryCodes=DE,,SE', 400, 'FORMAT_ERROR'],
  ['/countries?isoCountryCodes=', 400, 'FORMAT_ERROR'],
])('%s → %i %s', async (path, status, code) => {
  const res = await stack.call('GET', `${BASE}${path}`, { token });
  expect(res.status).toBe(status);
  expect(res.body.tppMessages[0].code).toBe(code);
});

test('needs the aspspinformation scope', async () => {
  const pisToken = await stack.token(client, 'paymentinitiation private');
  const res = await stack.call('GET', `${BASE}/countries`, { token: pisToken });
  expect(res.status).toBe(403);
});
