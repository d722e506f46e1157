import { KeyRing } from './key-ring';
import { SecretBox } from './secret-box';

const LEGACY = 'a-legacy-deployment-secret-of-enough-length';
const OLD_KEY = { id: 'k2025', secret: 'the-2025-encryption-key-of-enough-length' };
const NEW_KEY = { id: 'k2026', secret: 'the-2026-encryption-key-of-enough-length' };

/** Sealed by the SecretBox of earlier releases (one secret, no key id) with {@link LEGACY}. */
const SEALED_BEFORE_KEY_IDS = 'v1.iMITOzv_2K7RBfsP.uJT770L2.1oqmtQzJuQz_ESsLWJ-K2Q';

describe('SecretBox', () => {
  const sut = new SecretBox(new KeyRing('encryption', [OLD_KEY]));

  test('opens what it sealed, for the same purpose, and names the key it used', () => {
    const sealed = sut.seal('123456', 'consent-otp');
    expect(sealed).not.toContain('123456');
    expect(sealed.split('.').slice(0, 2)).toEqual(['v2', 'k2025']);
    expect(sut.open(sealed, 'consent-otp')).toBe('123456');
  });

  test('two seals of the same secret differ (random IV)', () => {
    expect(sut.seal('pw', 'p')).not.toBe(sut.seal('pw', 'p'));
  });

  test.each([
    ['another purpose', (s: string) => sut.open(s, 'payment-otp')],
    ['another key under the same id', (s: string) => new SecretBox(new KeyRing('encryption', [{ ...NEW_KEY, id: 'k2025' }])).open(s, 'consent-otp')],
    ['a ring without its key', (s: string) => new SecretBox(new KeyRing('encryption', [NEW_KEY])).open(s, 'consent-otp')],
    ['a flipped byte', (s: string) => sut.open(s.slice(0, -3) + (s.at(-3) === 'A' ? 'B' : 'A') + s.slice(-2), 'consent-otp')],
    ['a tag truncated to 12 bytes', (s: string) => sut.open(truncateTag(s, 12), 'consent-otp')],
    ['a tag truncated to 4 bytes', (s: string) => sut.open(truncateTag(s, 4), 'consent-otp')],
    ['garbage', () => sut.open('v1.x', 'consent-otp')],
  ])('refuses %s', (_name, open) => {
    const sealed = sut.seal('123456', 'consent-otp');
    expect(() => open(sealed)).toThrow();
  });

  describe('rotation', () => {
    const rotated = new SecretBox(new KeyRing('encryption', [NEW_KEY, OLD_KEY], LEGACY));

    test('the new key seals; what the old key sealed still opens', () => {
      const before = sut.seal('token-a', 'op-access-token');
      const after = rotated.seal('token-b', 'op-access-token');
      expect(after.split('.')[1]).toBe('k2026');
      expect(rotated.open(before, 'op-access-token')).toBe('token-a');
      expect(rotated.open(after, 'op-access-token')).toBe('token-b');
      expect(() => sut.open(after, 'op-access-token')).toThrow(/unknown key "k2026"/);
    });

    test('data sealed before keys had ids opens with the legacy secret', () => {
      expect(rotated.open(SEALED_BEFORE_KEY_IDS, 'consent-otp')).toBe('123456');
      expect(() => sut.open(SEALED_BEFORE_KEY_IDS, 'consent-otp')).toThrow(/legacy secret/);
    });

    test('legacy data with a truncated tag is refused too', () => {
      expect(() => rotated.open(truncateTag(SEALED_BEFORE_KEY_IDS, 12), 'consent-otp')).toThrow();
    });
  });

  test('refuses a key ring meant for another purpose', () => {
    expect(() => new SecretBox(new KeyRing('hmac', [OLD_KEY]))).toThrow(/encryption key ring/);
  });
});

function truncateTag(sealed: string, bytes: number): string {
  const parts = sealed.split('.');
  parts[parts.length - 1] = Buffer.from(parts.at(-1)!, 'base64url').subarray(0, bytes).toString('base64url');
  return parts.join('.');
}
