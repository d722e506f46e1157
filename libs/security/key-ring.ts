import { hkdfSync } from 'node:crypto';

/** One configured key: its id (carried by what it signs or seals) and its secret material. */
export interface KeyMaterial {
  id: string;
  secret: string;
}

/** What a key ring is for. Each purpose has keys of its own: one leaked key opens one door. */
export type KeyPurpose = 'access-tokens' | 'hmac' | 'encryption';

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const MIN_SECRET_LENGTH = 32;

/**
 * The keys of one purpose. The first key signs or encrypts; every key verifies or decrypts, so a
 * rotation is: put the new key first, keep the old ones until nothing they made is still alive
 * (tokens expire within TOKEN_TTL_SECONDS, callback links within the SCA timeout, sealed Open
 * Payments tokens with their transfer or mandate).
 *
 * `legacySecret` is the single secret Clearway used before keys had ids (CLEARWAY_TOKEN_SECRET):
 * it only ever verifies or decrypts what carries no key id.
 */
export class KeyRing {
  private readonly byId: ReadonlyMap<string, KeyMaterial>;

  constructor(
    readonly purpose: KeyPurpose,
    readonly keys: readonly KeyMaterial[],
    readonly legacySecret?: string,
  ) {
    if (keys.length === 0) throw new Error(`the ${purpose} key ring needs at least one key`);
    const byId = new Map<string, KeyMaterial>();
    for (const key of keys) {
      if (!KEY_ID.test(key.id)) throw new Error(`${purpose} key id "${key.id}" must be 1-32 characters of A-Z a-z 0-9 _ -`);
      if (key.secret.length < MIN_SECRET_LENGTH) throw new Error(`${purpose} key "${key.id}" must be at least ${MIN_SECRET_LENGTH} characters`);
      if (byId.has(key.id)) throw new Error(`${purpose} key id "${key.id}" appears twice`);
      byId.set(key.id, key);
    }
    this.byId = byId;
  }

  /** The key that signs and encrypts. */
  get current(): KeyMaterial {
    return this.keys[0]!;
  }

  find(id: string): KeyMaterial | undefined {
    return this.byId.get(id);
  }
}

/**
 * 32 bytes for one use of a key (HKDF-SHA-256). The info names the use, so the same secret
 * configured for two purposes by mistake still yields unrelated keys.
 */
export function deriveKeyBytes(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'clearway', info, 32));
}

/**
 * `id:secret,id:secret` (newest first), as the CLEARWAY_*_KEYS variables hold them. The secret is
 * everything after the first colon; generate one with `openssl rand -base64 32`.
 */
export function parseKeyList(name: string, raw: string): KeyMaterial[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon < 1) throw new Error(`${name}: each entry must be "id:secret" (newest first, comma-separated)`);
      return { id: entry.slice(0, colon), secret: entry.slice(colon + 1) };
    });
}
