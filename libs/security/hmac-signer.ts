import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKeyBytes, type KeyRing } from './key-ring';

/**
 * HMAC-SHA-256 signatures over short strings Clearway hands out and must recognise when they come
 * back: SCA callback and GNAP finish URLs, AIS paging links. A signature is `<keyId>.<mac>`, made
 * with the ring's current key and verified with whichever key it names; a bare `<mac>` (issued
 * before keys had ids) verifies against the legacy secret. Callers put a fixed prefix in `input`
 * (`sca-callback:`, `page:`…), so a signature for one use is never valid for another.
 */
export class HmacSigner {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly ring: KeyRing) {
    if (ring.purpose !== 'hmac') throw new Error(`HmacSigner needs the hmac key ring, not ${ring.purpose}`);
  }

  sign(input: string): string {
    const keyId = this.ring.current.id;
    return `${keyId}.${this.mac(this.key(keyId)!, input)}`;
  }

  verify(input: string, signature: string | undefined): boolean {
    if (!signature) return false;
    const dot = signature.indexOf('.');
    const keyId = dot < 0 ? undefined : signature.slice(0, dot);
    const key = this.key(keyId);
    if (!key) return false;
    const expected = Buffer.from(this.mac(key, input));
    const given = Buffer.from(dot < 0 ? signature : signature.slice(dot + 1));
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(key: Buffer, input: string): string {
    return createHmac('sha256', key).update(input).digest('base64url');
  }

  /** The legacy secret was used as the HMAC key as it is, so links issued before keep verifying. */
  private key(keyId: string | undefined): Buffer | undefined {
    const cacheKey = keyId ?? '';
    const cached = this.keys.get(cacheKey);
    if (cached) return cached;
    let key: Buffer | undefined;
    if (keyId === undefined) key = this.ring.legacySecret === undefined ? undefined : Buffer.from(this.ring.legacySecret, 'utf8');
    else {
      const material = this.ring.find(keyId);
      key = material && deriveKeyBytes(material.secret, 'clearway/hmac/v2');
    }
    if (key) this.keys.set(cacheKey, key);
    return key;
  }
}
