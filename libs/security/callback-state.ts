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

/**
 * What an OAuth/OIDC redirect SCA is for. Banks whose SCA is an OAuth authorisation (UK Open
 * Banking, the Berlin Group OAuth approach) send the PSU back to ONE registered redirect URI,
 * `/callbacks/oauth`: the `state` must therefore say which payment or consent it belongs to.
 */
export type OAuthTarget = { resource: 'payments' | 'consents'; id: string };

const OAUTH_PREFIX = { payments: 'p', consents: 'c' } as const;
const oauthInput = (t: OAuthTarget) => `oauth-callback:${t.resource}:${t.id}`;

/** The OAuth callback URL Clearway registers with banks (the same for every authorisation). */
export function oauthCallbackUrl(publicBaseUrl: string): string {
  return `${publicBaseUrl}/callbacks/oauth`;
}

/** `state` for an OAuth authorisation request: `<p|c>.<resource id>.<signature>`. */
export function oauthState(signer: HmacSigner, target: OAuthTarget): string {
  return `${OAUTH_PREFIX[target.resource]}.${target.id}.${signer.sign(oauthInput(target))}`;
}

/**
 * A PKCE `code_verifier` (RFC 7636) for the authorisation of this payment or consent: derived from
 * a secret, so it can be computed again when the code is redeemed and nobody who saw the
 * authorisation URL can. Characters and length (≥ 43) fit RFC 7636. A rotation of the HMAC key
 * between the redirect and the redemption changes it (that authorisation then fails, safely).
 */
export function oauthCodeVerifier(signer: HmacSigner, target: OAuthTarget): string {
  return signer.sign(`oauth-pkce:${target.resource}:${target.id}`);
}

/** The target of a `state` Clearway signed; undefined for anything else. */
export function verifyOAuthState(signer: HmacSigner, state: string | undefined): { resource: OAuthTarget['resource']; id: SignedCallbackId } | undefined {
  if (!state || state.length > 512) return undefined;
  const [prefix, id, ...signature] = state.split('.');
  const resource = prefix === 'p' ? 'payments' : prefix === 'c' ? 'consents' : undefined;
  if (!resource || !id || signature.length === 0) return undefined;
  return signer.verify(oauthInput({ resource, id }), signature.join('.')) ? { resource, id: id as SignedCallbackId } : undefined;
}
