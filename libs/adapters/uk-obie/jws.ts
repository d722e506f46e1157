import { FlattenedSign, base64url, decodeProtectedHeader, flattenedVerify, type CryptoKey, type JWK, type KeyObject } from 'jose';

/**
 * OBIE message signing (`x-jws-signature`): a JWS with detached content over the HTTP body, PS256,
 * with the critical OBIE claims in the protected header. Two rule sets exist:
 * - `3.1.2`: `b64: false` (RFC 7797, unencoded payload), listed in `crit`;
 * - `3.1.4+` (3.1.4 … 3.1.11): `b64` MUST NOT appear, the payload is base64url-encoded in the
 *   signing input as in any JWS; `typ: JOSE`, `cty: application/json`.
 * `crit` names `http://openbanking.org.uk/iat`, `…/iss` and `…/tan` either way.
 */
export const OB_IAT = 'http://openbanking.org.uk/iat';
export const OB_ISS = 'http://openbanking.org.uk/iss';
export const OB_TAN = 'http://openbanking.org.uk/tan';

export type JwsProfile = '3.1.2' | '3.1.4+';

type SigningKey = CryptoKey | KeyObject | JWK | Uint8Array;

export interface SignOptions {
  kid: string;
  /** TPP: `<org id>/<software statement id>`; ASPSP: its org id. */
  iss: string;
  /** The trust anchor, e.g. `openbanking.org.uk`. */
  tan: string;
  profile: JwsProfile;
  /** Seconds since the epoch; now unless given (tests pin it). */
  iat?: number;
}

const encoder = new TextEncoder();

/** The `x-jws-signature` value for `payload`: `<protected>..<signature>`. */
export async function signDetached(payload: string | Uint8Array, key: SigningKey, opts: SignOptions): Promise<string> {
  const bytes = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const obClaims = { [OB_IAT]: opts.iat ?? Math.floor(Date.now() / 1000), [OB_ISS]: opts.iss, [OB_TAN]: opts.tan };
  const header =
    opts.profile === '3.1.2'
      ? { alg: 'PS256', kid: opts.kid, b64: false, ...obClaims, crit: ['b64', OB_IAT, OB_ISS, OB_TAN] }
      : { alg: 'PS256', kid: opts.kid, typ: 'JOSE', cty: 'application/json', ...obClaims, crit: [OB_IAT, OB_ISS, OB_TAN] };
  const jws = await new FlattenedSign(bytes)
    .setProtectedHeader(header)
    .sign(key as Parameters<FlattenedSign['sign']>[0], { crit: { [OB_IAT]: true, [OB_ISS]: true, [OB_TAN]: true } });
  return `${jws.protected}..${jws.signature}`;
}

export interface VerifyOptions {
  profile: JwsProfile;
  /** The signer must be this one (`…/iss`), when known. */
  iss?: string;
  /** Accepted trust anchors. */
  tans: readonly string[];
  /** Refuse signatures made more than this long ago or in the future (seconds). */
  maxSkewSeconds?: number;
  now?: () => number;
}

export interface VerifiedSignature {
  kid: string;
  iss: string;
  iat: number;
}

export class JwsSignatureError extends Error {
  override readonly name = 'JwsSignatureError';
}

/**
 * Checks an `x-jws-signature` over `payload` (the body exactly as sent). The key is looked up by
 * the header's `kid`. Throws {@link JwsSignatureError} naming what is wrong.
 */
export async function verifyDetached(
  signature: string | undefined,
  payload: string | Uint8Array,
  keyFor: (kid: string) => Promise<SigningKey | undefined>,
  opts: VerifyOptions,
): Promise<VerifiedSignature> {
  if (!signature) throw new JwsSignatureError('x-jws-signature is missing');
  const parts = signature.split('.');
  if (parts.length !== 3 || parts[1] !== '' || !parts[0] || !parts[2]) throw new JwsSignatureError('x-jws-signature must be a detached JWS (<header>..<signature>)');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(signature) as Record<string, unknown>;
  } catch {
    throw new JwsSignatureError('x-jws-signature has an unreadable header');
  }
  if (header.alg !== 'PS256') throw new JwsSignatureError(`alg must be PS256, not ${String(header.alg)}`);
  if (typeof header.kid !== 'string' || !header.kid) throw new JwsSignatureError('kid is required');
  const crit = Array.isArray(header.crit) ? header.crit : [];
  for (const claim of [OB_IAT, OB_ISS, OB_TAN]) {
    if (!crit.includes(claim)) throw new JwsSignatureError(`crit must name ${claim}`);
    if (header[claim] === undefined) throw new JwsSignatureError(`${claim} is required`);
  }
  if (opts.profile === '3.1.2') {
    if (header.b64 !== false || !crit.includes('b64')) throw new JwsSignatureError('b64 must be false and critical (OBIE 3.1.2)');
  } else if ('b64' in header || crit.includes('b64')) {
    throw new JwsSignatureError('b64 must not be present (OBIE 3.1.4 and later)');
  }
  const iat = header[OB_IAT];
  const iss = header[OB_ISS];
  if (typeof iat !== 'number' || !Number.isInteger(iat)) throw new JwsSignatureError(`${OB_IAT} must be a number of seconds`);
  if (typeof iss !== 'string' || !iss) throw new JwsSignatureError(`${OB_ISS} must be a string`);
  if (opts.iss !== undefined && iss !== opts.iss) throw new JwsSignatureError(`${OB_ISS} names another signer`);
  if (!opts.tans.includes(String(header[OB_TAN]))) throw new JwsSignatureError(`${OB_TAN} is not a trusted anchor`);
  const skew = opts.maxSkewSeconds ?? 300;
  const now = Math.floor((opts.now ?? Date.now)() / 1000);
  if (Math.abs(now - iat) > skew) throw new JwsSignatureError(`${OB_IAT} is more than ${skew}s away from now`);
  const key = await keyFor(header.kid);
  if (!key) throw new JwsSignatureError(`no key ${header.kid} for this signer`);
  const bytes = typeof payload === 'string' ? encoder.encode(payload) : payload;
  try {
    await flattenedVerify(
      { protected: parts[0], signature: parts[2], payload: opts.profile === '3.1.2' ? bytes : base64url.encode(bytes) },
      key as Parameters<typeof flattenedVerify>[1] & object,
      { algorithms: ['PS256'], crit: { [OB_IAT]: true, [OB_ISS]: true, [OB_TAN]: true } },
    );
  } catch (err) {
    throw new JwsSignatureError(`signature does not verify: ${(err as Error).message}`);
  }
  return { kid: header.kid, iss, iat };
}
