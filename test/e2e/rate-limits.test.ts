import type { TestClient } from '../support/factories';
import { BIC, PIS } from '../support/payments';
import { TestStack } from '../support/stack';

/**
 * Rate limits through HTTP, with limits small enough to reach: per client across every endpoint,
 * per address without a valid token, and the stricter per-address and per-client-id limits of
 * the token endpoint. 429 carries Retry-After; tppMessages on /psd2, OAuth's shape on /connect/token.
 */
let stack: TestStack;
let alice: TestClient;
let bob: TestClient;
let aliceToken: string;
let bobToken: string;

const PER_CLIENT = 5;
const TOKEN_PER_ADDRESS = 6;
const TOKEN_PER_CLIENT = 3;

beforeAll(async () => {
  stack = await TestStack.start({
    worker: false,
    env: {
      RATE_LIMIT_PER_CLIENT: String(PER_CLIENT),
      RATE_LIMIT_WINDOW_SECONDS: '60',
      TOKEN_RATE_LIMIT_PER_ADDRESS: String(TOKEN_PER_ADDRESS),
      TOKEN_RATE_LIMIT_PER_CLIENT: String(TOKEN_PER_CLIENT),
      TOKEN_RATE_LIMIT_WINDOW_SECONDS: '60',
    },
  });
  alice = await stack.newClient();
  bob = await stack.newClient();
  // Two of the address's TOKEN_PER_ADDRESS token requests.
  aliceToken = await stack.token(alice, 'aspspinformation paymentinitiation private');
  bobToken = await stack.token(bob, 'aspspinformation private');
});
afterAll(async () => {
  await stack?.close();
});

const retryAfterOf = (headers: Headers) => Number(headers.get('retry-after'));

test('a client has one budget across all endpoints; past it, 429 ACCESS_EXCEEDED with Retry-After; other clients are unaffected', async () => {
  const calls = [
    () => stack.call('GET', '/psd2/aspspinformation/v1/countries', { token: aliceToken }),
    () => stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${BIC}`, { token: aliceToken }),
    () => stack.call('GET', `${PIS}/sepa-credit-transfers/0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87/status`, { token: aliceToken, headers: { 'X-BicFi': BIC } }),
  ];
  const statuses: number[] = [];
  for (let i = 0; i < PER_CLIENT; i += 1) statuses.push((await calls[i % calls.length]!()).status);
  expect(statuses).toEqual([200, 200, 404, 200, 200]);

  const refused = await stack.call('GET', '/psd2/aspspinformation/v1/cities', { token: aliceToken, headers: { 'X-Request-ID': 'f3d0c1a2-5b6e-4c7d-8e9f-0a1b2c3d4e5f' } });
  expect(refused.status).toBe(429);
  expect(refused.body.tppMessages[0]).toMatchObject({ category: 'ERROR', code: 'ACCESS_EXCEEDED', text: expect.stringContaining(`at most ${PER_CLIENT} per 60 s`) });
  expect(retryAfterOf(refused.headers)).toBeGreaterThan(0);
  expect(retryAfterOf(refused.headers)).toBeLessThanOrEqual(60);
  expect(refused.headers.get('x-request-id')).toBe('f3d0c1a2-5b6e-4c7d-8e9f-0a1b2c3d4e5f');
  // Also on another endpoint, and before authorisation is even looked at.
  expect((await calls[2]!()).status).toBe(429);

  expect((await stack.call('GET', '/psd2/aspspinformation/v1/countries', { token: bobToken })).status).toBe(200);
});

test('the token endpoint: per claimed client id (known or not), then per address, answered the OAuth way', async () => {
  const ask = (clientId: string, clientSecret = 'wrong') =>
    fetch(`${stack.baseUrl}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'aspspinformation private' }),
    });
  // Three guesses at an unknown id are answered (401); the fourth is not even checked.
  for (let i = 0; i < TOKEN_PER_CLIENT; i += 1) expect((await ask('nobody')).status).toBe(401);
  const slowedDown = await ask('nobody');
  expect(slowedDown.status).toBe(429);
  expect(slowedDown.headers.get('cache-control')).toBe('no-store');
  expect(retryAfterOf(slowedDown.headers)).toBeGreaterThan(0);
  expect(await slowedDown.json()).toEqual({ error: 'slow_down', error_description: expect.stringContaining(`at most ${TOKEN_PER_CLIENT} per 60 s`) });

  // 2 tokens + 4 requests above = TOKEN_PER_ADDRESS: now even a real client from this address waits.
  const fromSameAddress = await ask(bob.clientId, bob.clientSecret);
  expect(fromSameAddress.status).toBe(429);
  expect(((await fromSameAddress.json()) as { error: string }).error).toBe('slow_down');
});

test('requests without a valid token are limited per address (here: after the budget, 429 before 401)', async () => {
  const statuses: number[] = [];
  for (let i = 0; i <= PER_CLIENT; i += 1) {
    statuses.push((await stack.call('GET', '/psd2/aspspinformation/v1/countries', { token: `not-a-token-${i}` })).status);
  }
  expect(statuses).toEqual([...Array(PER_CLIENT).fill(401), 429]);
});
