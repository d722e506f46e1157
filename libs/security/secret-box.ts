import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKeyBytes, type KeyRing } from './key-ring';

const IV_BYTES = 12;
/** Pinned: Node would otherwise accept a truncated tag (down to 4 bytes) on open. */
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/**
 * AES-256-GCM for what Clearway keeps at rest for a while: a PSU's embedded-SCA password or OTP on
 * its way to the bank, Open Payments access tokens. The purpose is bound as associated data: a
 * ciphertext for one purpose does not open for another.
 *
 * `v2.<keyId>.<iv>.<ciphertext>.<tag>` is sealed with the ring's current key and opened with
 * whichever key it names; `v1.<iv>.<ciphertext>.<tag>` (before keys had ids) opens with the
 * legacy secret.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly ring: KeyRing) {
    if (ring.purpose !== 'encryption') throw new Error(`SecretBox needs the encryption key ring, not ${ring.purpose}`);
  }

  seal(plaintext: string, purpose: string): string {
    const keyId = this.ring.current.id;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(purpose));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', keyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, purpose: string): string {
    const parts = sealed.split('.');
    const [keyId, iv, body, tag] = parts[0] === 'v2' && parts.length === 5 ? parts.slice(1) : parts[0] === 'v1' && parts.length === 4 ? [undefined, ...parts.slice(1)] : [];
    if (iv === undefined || body === undefined || tag === undefined) throw new Error('not a sealed secret');
    const key = this.key(keyId);
    if (!key) throw new Error(keyId === undefined ? 'sealed with the legacy secret, which is not configured' : `sealed with unknown key "${keyId}"`);
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error('not a sealed secret');
    const decipher = createDecipheriv(ALGORITHM, key, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The AES key for a key id; undefined = the legacy secret (derived exactly as before key ids). */
  private key(keyId: string | undefined): Buffer | undefined {
    const cacheKey = keyId ?? '';
    const cached = this.keys.get(cacheKey);
    if (cached) return cached;
    const secret = keyId === undefined ? this.ring.legacySecret : this.ring.find(keyId)?.secret;
    if (secret === undefined) return undefined;
    const key = deriveKeyBytes(secret, keyId === undefined ? 'clearway/secret-box/v1' : 'clearway/secret-box/v2');
    this.keys.set(cacheKey, key);
    return key;
  }
}
