import { randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
import { deriveKeyBytes, type KeyRing } from '../../../libs/security/key-ring';
import { parseScope, type Context, type Service } from './scopes';

/** Who is calling: set on the request by the auth guard. */
export interface Principal {
  clientId: string;
  tenantId: string;
  services: Service[];
  context: Context;
}

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: 'invalid' | 'expired' };

/** Pinned on issue and required on verify: a token made for anything else is not ours. */
export const ACCESS_TOKEN_ISSUER = 'clearway';
export const ACCESS_TOKEN_AUDIENCE = 'clearway-api';
/** RFC 9068 (JWT profile for OAuth 2.0 access tokens). */
const TOKEN_TYPE = 'at+jwt';
const ALGORITHM = 'HS256';

interface AccessTokenClaims extends JWTPayload {
  client_id: string;
  /** Clearway's tenant of the client. */
  tid: string;
  scope: string;
}

/**
 * Access tokens are HS256 JWTs (RFC 9068 claims) issued and verified with `jose`: checked without
 * a database round trip on the hot path, and short-lived (TOKEN_TTL_SECONDS) so a revoked client
 * stops working within the hour. The header's `kid` names the signing key of the access-token key
 * ring, so tokens signed before a rotation verify until the old key is removed.
 */
export class TokenService {
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly ring: KeyRing,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    if (ring.purpose !== 'access-tokens') throw new Error(`TokenService needs the access-tokens key ring, not ${ring.purpose}`);
  }

  async issue(principal: Principal): Promise<{ accessToken: string; expiresIn: number }> {
    const iat = Math.floor(this.now() / 1000);
    const kid = this.ring.current.id;
    const claims: AccessTokenClaims = {
      client_id: principal.clientId,
      tid: principal.tenantId,
      scope: [...principal.services, principal.context].join(' '),
    };
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE, kid })
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(principal.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.key(kid)!);
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  async verify(token: string): Promise<TokenCheck> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid === undefined ? undefined : this.key(header.kid);
          if (!key) throw new errors.JWSSignatureVerificationFailed('unknown key id');
          return key;
        },
        {
          algorithms: [ALGORITHM],
          issuer: ACCESS_TOKEN_ISSUER,
          audience: ACCESS_TOKEN_AUDIENCE,
          typ: TOKEN_TYPE,
          requiredClaims: ['exp', 'iat', 'jti', 'sub'],
          currentDate: new Date(this.now()),
        },
      ));
    } catch (err) {
      return { ok: false, reason: err instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
    const claims = payload as Partial<AccessTokenClaims>;
    if (typeof claims.tid !== 'string' || typeof claims.scope !== 'string' || claims.client_id !== claims.sub) return { ok: false, reason: 'invalid' };
    const scope = parseScope(claims.scope);
    if ('error' in scope) return { ok: false, reason: 'invalid' };
    return { ok: true, principal: { clientId: claims.sub!, tenantId: claims.tid, services: scope.services, context: scope.context } };
  }

  private key(kid: string): Uint8Array | undefined {
    const cached = this.keys.get(kid);
    if (cached) return cached;
    const material = this.ring.find(kid);
    if (!material) return undefined;
    const key = new Uint8Array(deriveKeyBytes(material.secret, 'clearway/access-token/hs256'));
    this.keys.set(kid, key);
    return key;
  }
}
