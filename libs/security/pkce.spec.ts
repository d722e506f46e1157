import { createHash } from 'node:crypto';
import { KeyRing } from './key-ring';
import { PkceVerifiers, s256 } from './pkce';

describe('PKCE verifiers derived from the key ring and the state', () => {
  const k1 = { id: 'k1', secret: 'a'.repeat(40) };
  const k2 = { id: 'k2', secret: 'b'.repeat(40) };

  it('are RFC 7636 verifiers (43 unreserved characters) whose challenge is their base64url SHA-256', () => {
    const sut = new PkceVerifiers(new KeyRing('hmac', [k1]));
    const verifier = sut.verifier('p.123.k1.sig');
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sut.challenge('p.123.k1.sig')).toBe(createHash('sha256').update(verifier).digest('base64url'));
    expect(s256(verifier)).toBe(sut.challenge('p.123.k1.sig'));
  });

  it('differ per state and per key; stay the same for the same state', () => {
    const sut = new PkceVerifiers(new KeyRing('hmac', [k1]));
    expect(sut.verifier('p.1.k1.sig')).toBe(sut.verifier('p.1.k1.sig'));
    expect(sut.verifier('p.1.k1.sig')).not.toBe(sut.verifier('p.2.k1.sig'));
    expect(new PkceVerifiers(new KeyRing('hmac', [{ id: 'k1', secret: 'c'.repeat(40) }])).verifier('p.1.k1.sig')).not.toBe(sut.verifier('p.1.k1.sig'));
  });

  it('survive a key rotation between the redirect and the code exchange: the key the state names is used', () => {
    const before = new PkceVerifiers(new KeyRing('hmac', [k1]));
    const after = new PkceVerifiers(new KeyRing('hmac', [k2, k1]));
    expect(after.verifier('p.1.k1.sig')).toBe(before.verifier('p.1.k1.sig'));
    expect(after.verifier('p.1.k2.sig')).not.toBe(before.verifier('p.1.k2.sig'));
  });
});
