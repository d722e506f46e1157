import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The SCA callback URL we hand to a bank carries an HMAC of the resource id, so nobody can
 * forge "the PSU came back" for a payment or consent they do not know the secret for.
 */
export type CallbackResource = 'payments' | 'consents';

export function scaCallbackState(secret: string, resourceId: string, resource: CallbackResource = 'payments'): string {
  // Payments keep their original input so callback URLs issued before consents existed stay valid.
  const input = resource === 'payments' ? `sca-callback:${resourceId}` : `sca-callback:${resource}:${resourceId}`;
  return createHmac('sha256', secret).update(input).digest('base64url');
}

export function verifyScaCallbackState(secret: string, resourceId: string, state: string | undefined, resource: CallbackResource = 'payments'): boolean {
  if (!state) return false;
  const expected = Buffer.from(scaCallbackState(secret, resourceId, resource));
  const given = Buffer.from(state);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function scaCallbackUrl(
  publicBaseUrl: string,
  secret: string,
  resourceId: string,
  result: 'ok' | 'nok',
  resource: CallbackResource = 'payments',
): string {
  const state = scaCallbackState(secret, resourceId, resource);
  return `${publicBaseUrl}/callbacks/${resource}/${resourceId}/sca?result=${result}&state=${state}`;
}

/**
 * The GNAP `interact.finish.uri` for a transfer. The AS appends `hash` and `interact_ref`; our
 * `state` proves the redirect is for this transfer, the hash that the PSU's wallet issued it.
 */
export function transferFinishUrl(publicBaseUrl: string, secret: string, transferId: string): string {
  const state = createHmac('sha256', secret).update(`op-finish:${transferId}`).digest('base64url');
  return `${publicBaseUrl}/openpayments/callbacks/transfers/${transferId}/finish?state=${state}`;
}

export function verifyTransferFinishState(secret: string, transferId: string, state: string | undefined): boolean {
  if (!state) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`op-finish:${transferId}`).digest('base64url'));
  const given = Buffer.from(state);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The GNAP `interact.finish.uri` for a mandate's grant (a different HMAC input than transfers). */
export function mandateFinishUrl(publicBaseUrl: string, secret: string, mandateId: string): string {
  const state = createHmac('sha256', secret).update(`op-mandate-finish:${mandateId}`).digest('base64url');
  return `${publicBaseUrl}/openpayments/callbacks/mandates/${mandateId}/finish?state=${state}`;
}

export function verifyMandateFinishState(secret: string, mandateId: string, state: string | undefined): boolean {
  if (!state) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`op-mandate-finish:${mandateId}`).digest('base64url'));
  const given = Buffer.from(state);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
