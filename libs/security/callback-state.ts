import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The SCA callback URL we hand to a bank carries an HMAC of the payment id, so nobody can
 * forge "the PSU came back" for a payment they do not know the secret for.
 */
export function scaCallbackState(secret: string, paymentId: string): string {
  return createHmac('sha256', secret).update(`sca-callback:${paymentId}`).digest('base64url');
}

export function verifyScaCallbackState(secret: string, paymentId: string, state: string | undefined): boolean {
  if (!state) return false;
  const expected = Buffer.from(scaCallbackState(secret, paymentId));
  const given = Buffer.from(state);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function scaCallbackUrl(publicBaseUrl: string, secret: string, paymentId: string, result: 'ok' | 'nok'): string {
  const state = scaCallbackState(secret, paymentId);
  return `${publicBaseUrl}/callbacks/payments/${paymentId}/sca?result=${result}&state=${state}`;
}
