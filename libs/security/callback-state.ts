import type { HmacSigner } from './hmac-signer';

/**
 * The URLs Clearway hands to banks and wallets to send the PSU back carry a signature of the
 * resource id (`state`), so nobody can forge "the PSU came back" for a payment, consent, transfer
 * or mandate they do not hold a key for. Signatures name their key (see {@link HmacSigner}), so
 * links issued before a key rotation keep working until the old key is removed.
 */
export type CallbackResource = 'payments' | 'consents' | 'bulk-payments';

/** What is signed for each kind of link. Payments keep their original input, so old links stay valid. */
const CALLBACK_INPUT = {
  payments: (id: string) => `sca-callback:${id}`,
  consents: (id: string) => `sca-callback:consents:${id}`,
  'bulk-payments': (id: string) => `sca-callback:bulk-payments:${id}`,
  transfers: (id: string) => `op-finish:${id}`,
  mandates: (id: string) => `op-mandate-finish:${id}`,
} as const;

/**
 * A resource id that arrived with a valid callback signature. Only {@link verifyCallbackState}
 * makes one, so a repository method taking it can only be reached after the check.
 */
export type SignedCallbackId = string & { readonly __signedCallback: unique symbol };

export function verifyCallbackState(
  signer: HmacSigner,
  kind: keyof typeof CALLBACK_INPUT,
  resourceId: string,
  state: string | undefined,
): SignedCallbackId | undefined {
  return signer.verify(CALLBACK_INPUT[kind](resourceId), state) ? (resourceId as SignedCallbackId) : undefined;
}

export function scaCallbackUrl(
  publicBaseUrl: string,
  signer: HmacSigner,
  resourceId: string,
  result: 'ok' | 'nok',
  resource: CallbackResource = 'payments',
): string {
  const state = signer.sign(CALLBACK_INPUT[resource](resourceId));
  return `${publicBaseUrl}/callbacks/${resource}/${resourceId}/sca?result=${result}&state=${state}`;
}

/**
 * The GNAP `interact.finish.uri` for a transfer. The AS appends `hash` and `interact_ref`; our
 * `state` proves the redirect is for this transfer, the hash that the PSU's wallet issued it.
 */
export function transferFinishUrl(publicBaseUrl: string, signer: HmacSigner, transferId: string): string {
  return `${publicBaseUrl}/openpayments/callbacks/transfers/${transferId}/finish?state=${signer.sign(CALLBACK_INPUT.transfers(transferId))}`;
}

/** The GNAP `interact.finish.uri` for a mandate's grant (a different signed input than transfers). */
export function mandateFinishUrl(publicBaseUrl: string, signer: HmacSigner, mandateId: string): string {
  return `${publicBaseUrl}/openpayments/callbacks/mandates/${mandateId}/finish?state=${signer.sign(CALLBACK_INPUT.mandates(mandateId))}`;
}
