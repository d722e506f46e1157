import { loadConfig } from './config';

const KEYS = {
  CLEARWAY_ACCESS_TOKEN_KEYS: 'at2026:an-access-token-key-of-enough-length-1',
  CLEARWAY_HMAC_KEYS: 'h2026:an-hmac-key-of-enough-length-xxxxxxxx-1,h2025:an-hmac-key-of-enough-length-xxxxxxxx-0',
  CLEARWAY_ENCRYPTION_KEYS: 'e2026:an-encryption-key-of-enough-length-xx-1',
};

describe('loadConfig: keys by purpose', () => {
  test.each(['development', 'test'])('NODE_ENV=%s without keys gets one dev key per purpose, all different', (NODE_ENV) => {
    const { keys } = loadConfig({ NODE_ENV });
    const secrets = [keys.accessTokens, keys.hmac, keys.encryption].map((r) => r.current.secret);
    expect(new Set(secrets).size).toBe(3);
    expect(keys.hmac.current.id).toBe('dev');
    // Data sealed in dev before keys had ids still opens.
    expect(keys.encryption.legacySecret).toBeDefined();
  });

  test.each([
    ['unset', {}],
    ['production', { NODE_ENV: 'production' }],
    ['staging', { NODE_ENV: 'staging' }],
    ['Development (not exactly "development")', { NODE_ENV: 'Development' }],
  ])('NODE_ENV %s without keys refuses to start, naming the variable', (_name, env) => {
    expect(() => loadConfig(env)).toThrow(/CLEARWAY_ACCESS_TOKEN_KEYS must be set/);
  });

  test('the dev secret is refused outside development and test, wherever it is put', () => {
    const dev = 'clearway-dev-only-token-secret-change-me';
    expect(() => loadConfig({ NODE_ENV: 'production', ...KEYS, CLEARWAY_TOKEN_SECRET: dev })).toThrow(/development secret/);
    expect(() => loadConfig({ NODE_ENV: 'production', ...KEYS, CLEARWAY_HMAC_KEYS: `x:${dev}/hmac` })).toThrow(/CLEARWAY_HMAC_KEYS holds the development secret/);
    expect(() => loadConfig({ ...KEYS, CLEARWAY_TOKEN_SECRET: dev })).toThrow(/development secret/);
  });

  test('configured lists: first key current, all kept for verifying, the legacy secret only where kid-less data exists', () => {
    const { keys } = loadConfig({ NODE_ENV: 'production', ...KEYS, CLEARWAY_TOKEN_SECRET: 'the-old-single-secret-of-enough-length-x' });
    expect(keys.hmac.current.id).toBe('h2026');
    expect(keys.hmac.find('h2025')?.secret).toBe('an-hmac-key-of-enough-length-xxxxxxxx-0');
    expect(keys.hmac.legacySecret).toBe('the-old-single-secret-of-enough-length-x');
    expect(keys.encryption.legacySecret).toBe('the-old-single-secret-of-enough-length-x');
    expect(keys.accessTokens.legacySecret).toBeUndefined();
  });

  test.each([
    ['a short secret', 'k:short', /at least 32 characters/],
    ['no id', ':a-key-of-enough-length-xxxxxxxxxxxxxxxxx', /"id:secret"/],
    ['a bad id', 'k/1:a-key-of-enough-length-xxxxxxxxxxxxxxxxx', /key id/],
    ['a repeated id', 'k:a-key-of-enough-length-xxxxxxxxxxxxxxxxx,k:b-key-of-enough-length-xxxxxxxxxxxxxxxxx', /appears twice/],
  ])('refuses a key list with %s', (_name, list, message) => {
    expect(() => loadConfig({ NODE_ENV: 'production', ...KEYS, CLEARWAY_ENCRYPTION_KEYS: list })).toThrow(message);
  });
});

describe('loadConfig: the sandbox bank', () => {
  test("its public URL follows SANDBOX_BG_PORT (the directory's websiteUrl), unless SANDBOX_BG_PUBLIC_URL or SANDBOX_BG_URL say otherwise", () => {
    expect(loadConfig({ NODE_ENV: 'test', SANDBOX_BG_PORT: '4001' }).sandbox.bgPublicUrl).toBe('http://127.0.0.1:4001/berlin-group');
    expect(loadConfig({ NODE_ENV: 'test', SANDBOX_BG_URL: 'http://bank:3001/berlin-group/' }).sandbox.bgPublicUrl).toBe('http://bank:3001/berlin-group');
    expect(loadConfig({ NODE_ENV: 'test', SANDBOX_BG_URL: 'http://bank:3001/berlin-group', SANDBOX_BG_PUBLIC_URL: 'https://bank.example/bg' }).sandbox.bgPublicUrl).toBe('https://bank.example/bg');
  });

  test('the UK and Paysera-profile sandboxes have their own public URLs: port and scheme from their settings, or SANDBOX_*_PUBLIC_URL', () => {
    const byPort = loadConfig({ NODE_ENV: 'test', SANDBOX_UK_PORT: '4003', SANDBOX_PAYSERA_PORT: '4004' });
    expect(byPort.ukObie.sandboxPublicUrl).toBe('http://127.0.0.1:4003');
    expect(byPort.sandbox.payseraPublicUrl).toBe('https://127.0.0.1:4004/psd2');
    const reached = loadConfig({ NODE_ENV: 'test', SANDBOX_UK_URL: 'http://uk:3003/', SANDBOX_PAYSERA_URL: 'https://lt:3004/psd2' });
    expect(reached.ukObie.sandboxPublicUrl).toBe('http://uk:3003');
    expect(reached.sandbox.payseraPublicUrl).toBe('https://lt:3004/psd2');
    const published = loadConfig({ NODE_ENV: 'test', SANDBOX_UK_PUBLIC_URL: 'https://uk.example', SANDBOX_PAYSERA_PUBLIC_URL: 'https://lt.example/' });
    expect(published.ukObie.sandboxPublicUrl).toBe('https://uk.example');
    expect(published.sandbox.payseraPublicUrl).toBe('https://lt.example/psd2');
  });
});

describe('loadConfig: Open Payments', () => {
  test('the margin after a quote expiry is a minute unless OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS says otherwise; a bad value refuses to start', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).openPayments.quoteExpiryMarginMs).toBe(60_000);
    expect(loadConfig({ NODE_ENV: 'test', OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS: '5' }).openPayments.quoteExpiryMarginMs).toBe(5_000);
    expect(() => loadConfig({ NODE_ENV: 'test', OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS: '-1' })).toThrow(/OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS must be a non-negative integer/);
  });
});
