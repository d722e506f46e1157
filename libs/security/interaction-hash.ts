import { createHash, timingSafeEqual } from 'node:crypto';

/** The inputs of a GNAP interaction hash, in the order they are hashed. */
export interface InteractionHashInput {
  /** The nonce the client sent in `interact.finish.nonce`. */
  clientNonce: string;
  /** The nonce the authorization server returned in `interact.finish`. */
  finishNonce: string;
  /** `interact_ref` from the finish redirect. */
  interactRef: string;
  /**
   * The grant endpoint URI the client called, exactly as it called it (RFC 9635 §4.2.3). In Open
   * Payments that is the wallet address's `authServer` unchanged: a multi-tenant Rafiki answers
   * `https://auth.example/<tenantId>` and hashes that string, so nothing may be appended.
   */
  grantEndpoint: string;
}

/**
 * GNAP interaction hash (RFC 9635 §4.2.3) with SHA-256, as Open Payments profiles it:
 * `base64(sha256(clientNonce "\n" finishNonce "\n" interactRef "\n" grantEndpoint))`, standard base64
 * with padding (the RFC's example uses the same digest in base64url). Clearway's client and the
 * sandbox wallet both use this one function.
 */
export function interactionHash(input: InteractionHashInput): string {
  return createHash('sha256')
    .update(`${input.clientNonce}\n${input.finishNonce}\n${input.interactRef}\n${input.grantEndpoint}`)
    .digest('base64');
}

/** Checks the `hash` of a finish redirect in constant time; false for any mismatch or missing hash. */
export function verifyInteractionHash(input: InteractionHashInput, hash: string | null | undefined): boolean {
  if (!hash) return false;
  const expected = Buffer.from(interactionHash(input));
  const actual = Buffer.from(hash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
