import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context, Service } from './scopes';

/** Who is calling: set on the request by the auth guard. */
export interface Principal {
  clientId: string;
  tenantId: string;
  services: Service[];
  context: Context;
}

interface Claims {
  sub: string;
  tid: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: 'invalid' | 'expired' };

/**
 * Access tokens are compact HS256 JWTs: verified without a database round trip on the hot path,
 * and short-lived (TOKEN_TTL_SECONDS) so a revoked client stops working within the hour.
 */
export class TokenService {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(principal: Principal): { accessToken: string; expiresIn: number } {
    const iat = Math.floor(this.now() / 1000);
    const claims: Claims = {
      sub: principal.clientId,
      tid: principal.tenantId,
      scope: [...principal.services, principal.context].join(' '),
      iat,
      exp: iat + this.ttlSeconds,
      jti: randomUUID(),
    };
    const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64(JSON.stringify(claims));
    return { accessToken: `${head}.${body}.${this.sign(`${head}.${body}`)}`, expiresIn: this.ttlSeconds };
  }

  verify(token: string): TokenCheck {
    const [head, body, signature] = token.split('.');
    if (!head || !body || !signature) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(this.sign(`${head}.${body}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) return { ok: false, reason: 'expired' };
    const parts = claims.scope.split(' ');
    return {
      ok: true,
      principal: {
        clientId: claims.sub,
        tenantId: claims.tid,
        services: parts.slice(0, -1) as Service[],
        context: parts[parts.length - 1] as Context,
      },
    };
  }

  private sign(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
