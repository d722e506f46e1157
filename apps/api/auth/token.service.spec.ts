import { createHmac } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import { KeyRing, deriveKeyBytes } from '../../../libs/security/key-ring';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, TokenService, type Principal } from './token.service';

const OLD_KEY = { id: 't2025', secret: 'the-2025-access-token-key-of-enough-length' };
const NEW_KEY = { id: 't2026', secret: 'the-2026-access-token-key-of-enough-length' };
const PRINCIPAL: Principal = { clientId: 'client-a', tenantId: 'tenant-a', services: ['paymentinitiation', 'accountinformation'], context: 'private' };

const ring = (...keys: (typeof OLD_KEY)[]) => new KeyRing('access-tokens', keys);
const keyBytes = (k: typeof OLD_KEY) => new Uint8Array(deriveKeyBytes(k.secret, 'clearway/access-token/hs256'));

/** A token built by hand with the key the service uses, so one claim at a time can be wrong. */
function handMade(overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown>; omit?: string[] } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: ACCESS_TOKEN_ISSUER,
    aud: ACCESS_TOKEN_AUDIENCE,
    sub: 'client-a',
    client_id: 'client-a',
    tid: 'tenant-a',
    scope: 'paymentinitiation private',
    iat: now,
    exp: now + 600,
    jti: 'a5c4f1c0-3f8e-4b0e-9d1c-2b7a6e5d4c3b',
    ...overrides.claims,
  };
  for (const name of overrides.omit ?? []) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 't2025', ...overrides.header } as never).sign(keyBytes(OLD_KEY));
}

describe('TokenService', () => {
  const sut = new TokenService(ring(OLD_KEY), 3600);

  test('issues an RFC 9068 access token that verifies back to the principal', async () => {
    const { accessToken, expiresIn } = await sut.issue(PRINCIPAL);
    expect(expiresIn).toBe(3600);
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: 't2025' });
    const claims = decodeJwt(accessToken);
    expect(claims).toMatchObject({ iss: 'clearway', aud: 'clearway-api', sub: 'client-a', client_id: 'client-a', tid: 'tenant-a', scope: 'paymentinitiation accountinformation private' });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    await expect(sut.verify(accessToken)).resolves.toEqual({ ok: true, principal: PRINCIPAL });
  });

  test('every token has its own jti', async () => {
    const [a, b] = await Promise.all([sut.issue(PRINCIPAL), sut.issue(PRINCIPAL)]);
    expect(decodeJwt(a.accessToken).jti).not.toBe(decodeJwt(b.accessToken).jti);
  });

  test('an expired token is "expired"', async () => {
    const yesterday = new TokenService(ring(OLD_KEY), 3600, () => Date.now() - 24 * 3600_000);
    const { accessToken } = await yesterday.issue(PRINCIPAL);
    await expect(sut.verify(accessToken)).resolves.toEqual({ ok: false, reason: 'expired' });
  });

  test('the hand-made reference token verifies (so the refusals below are about their one change)', async () => {
    await expect(sut.verify(await handMade())).resolves.toMatchObject({ ok: true });
  });

  test.each([
    ['another issuer', { claims: { iss: 'someone-else' } }],
    ['another audience', { claims: { aud: 'another-api' } }],
    ['no jti', { omit: ['jti'] }],
    ['no iat', { omit: ['iat'] }],
    ['no exp', { omit: ['exp'] }],
    ['no tenant', { omit: ['tid'] }],
    ['a scope without a context', { claims: { scope: 'paymentinitiation' } }],
    ['client_id and sub that differ', { claims: { client_id: 'client-b' } }],
    ['another token type', { header: { typ: 'JWT' } }],
    ['no key id', { header: { kid: undefined } }],
    ['an unknown key id', { header: { kid: 't1999' } }],
  ])('refuses a token with %s', async (_name, change) => {
    await expect(sut.verify(await handMade(change))).resolves.toEqual({ ok: false, reason: 'invalid' });
  });

  test('the algorithm is pinned: alg "none" and other HMAC sizes are refused', async () => {
    const claims = decodeJwt(await handMade());
    const none = new UnsecuredJWT(claims).encode();
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512', typ: 'at+jwt', kid: 't2025' }).sign(new Uint8Array(64).fill(1));
    await expect(sut.verify(none)).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(sut.verify(hs512)).resolves.toEqual({ ok: false, reason: 'invalid' });
  });

  test('a token signed with the raw secret (not the derived key) or the old hand-rolled format is refused', async () => {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'client-a', tid: 'tenant-a', scope: 'paymentinitiation private', iat: 1, exp: 9_999_999_999, jti: 'x' })).toString('base64url');
    const sig = createHmac('sha256', OLD_KEY.secret).update(`${head}.${body}`).digest('base64url');
    await expect(sut.verify(`${head}.${body}.${sig}`)).resolves.toEqual({ ok: false, reason: 'invalid' });
  });

  test('a tampered payload is refused', async () => {
    const { accessToken } = await sut.issue(PRINCIPAL);
    const [h, , s] = accessToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(accessToken), tid: 'tenant-b' })).toString('base64url');
    await expect(sut.verify(`${h}.${forged}.${s}`)).resolves.toEqual({ ok: false, reason: 'invalid' });
  });

  describe('rotation', () => {
    test('the new key signs; tokens of the old key verify until it is removed', async () => {
      const rotated = new TokenService(ring(NEW_KEY, OLD_KEY), 3600);
      const oldToken = (await sut.issue(PRINCIPAL)).accessToken;
      const newToken = (await rotated.issue(PRINCIPAL)).accessToken;
      expect(decodeProtectedHeader(newToken).kid).toBe('t2026');
      await expect(rotated.verify(oldToken)).resolves.toMatchObject({ ok: true });
      await expect(rotated.verify(newToken)).resolves.toMatchObject({ ok: true });
      const retired = new TokenService(ring(NEW_KEY), 3600);
      await expect(retired.verify(oldToken)).resolves.toEqual({ ok: false, reason: 'invalid' });
    });
  });

  test('refuses a key ring meant for another purpose', () => {
    expect(() => new TokenService(new KeyRing('hmac', [OLD_KEY]), 3600)).toThrow(/access-tokens key ring/);
  });
});
