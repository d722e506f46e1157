import type { Request } from 'express';
import type { TokenCheck, TokenService } from './token.service';

const checks = new WeakMap<Request, Promise<TokenCheck | undefined>>();

/**
 * The request's bearer token, verified once per request however many places ask (the rate limiter
 * keys on the client, the auth guard authorises it). Undefined when there is no bearer token.
 */
export function checkBearerToken(req: Request, tokens: TokenService): Promise<TokenCheck | undefined> {
  let check = checks.get(req);
  if (!check) {
    const match = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    check = match ? tokens.verify(match[1]!) : Promise.resolve(undefined);
    checks.set(req, check);
  }
  return check;
}
