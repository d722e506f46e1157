import { createHash, createHmac } from 'node:crypto';
import { deriveKeyBytes, type KeyRing } from './key-ring';

/**
 * PKCE (RFC 7636, S256) for OAuth SCA without storing the verifier anywhere: it is derived from
 * Clearway's HMAC key ring and the authorisation's `state` (which Clearway signed and which names
 * the payment or consent), so the adapter that builds the authorization URL and the activity that
 * redeems the code compute the same verifier, and it never enters workflow history, the database
 * or logs. Only the S256 challenge leaves, in the URL the PSU's browser follows. The key is the
 * one whose id the state's signature names (`….<keyId>.<mac>`), so a key rotation between the
 * redirect and the code exchange changes nothing; otherwise the ring's current key.
 */
export class PkceVerifiers {
  constructor(private readonly ring: KeyRing) {}

  /** 43 base64url characters: 256 bits, within RFC 7636's 43..128 unreserved characters. */
  verifier(state: string): string {
    const parts = state.split('.');
    const named = parts.length >= 3 ? this.ring.find(parts[parts.length - 2]!) : undefined;
    const key = named ?? this.ring.current;
    return createHmac('sha256', deriveKeyBytes(key.secret, 'clearway/pkce-verifier/v1')).update(`pkce:${state}`).digest('base64url');
  }

  challenge(state: string): string {
    return s256(this.verifier(state));
  }
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
