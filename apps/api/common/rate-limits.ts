import { Inject, Injectable, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import type { ClearwayConfig, RateLimit } from '../../../libs/config/config';
import { claimedClientId } from '../auth/client-credentials';
import { OAuthError } from '../auth/oauth-error';
import { checkBearerToken } from '../auth/request-principal';
import { TokenService } from '../auth/token.service';
import { ApiError } from './api-error';

const TOKEN_ENDPOINT = 'clearway:tokenEndpoint';

/** Marks the OAuth token endpoint: it gets the stricter token limits instead of the per-client one. */
export const TokenEndpoint = () => SetMetadata(TOKEN_ENDPOINT, true);

const isTokenEndpoint = (context: ExecutionContext) => Reflect.getMetadata(TOKEN_ENDPOINT, context.getClass()) === true;

/**
 * The throttlers, applied to every route by {@link ClientRateLimitGuard} (a global guard), so an
 * endpoint gets a limit by existing:
 * - `client`: every endpoint but the token endpoint, per authenticated client (tracked by its
 *   token's client id, one budget across all endpoints), or per remote address without a valid token;
 * - `token-address`, `token-client`: `POST /connect/token` only, per remote address and per claimed
 *   client id (known or not): each request costs an scrypt run.
 * Sliding windows, no penalty box (`blockDuration` 0): `Retry-After` is when the oldest counted
 * request leaves the window. Counters live in the API process: N replicas allow N times the limit.
 */
export function rateLimitOptions(config: ClearwayConfig): ThrottlerModuleOptions {
  const throttler = (name: string, limit: RateLimit, skipIf: (context: ExecutionContext) => boolean, getTracker?: ThrottlerOptions['getTracker']): ThrottlerOptions => ({
    name,
    limit: limit.limit,
    ttl: limit.windowMs,
    blockDuration: 0,
    skipIf,
    ...(getTracker ? { getTracker } : {}),
  });
  return {
    setHeaders: false,
    throttlers: [
      throttler('client', config.rateLimits.perClient, isTokenEndpoint),
      throttler('token-address', config.rateLimits.tokenPerAddress, (c) => !isTokenEndpoint(c)),
      throttler('token-client', config.rateLimits.tokenPerClient, (c) => !isTokenEndpoint(c), (req) => `client-id:${claimedClientId(req as Request) ?? ''}`),
    ],
  };
}

@Injectable()
export class ClientRateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @Inject(Reflector) reflector: Reflector,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {
    super(options, storage, reflector);
  }

  protected override async getTracker(req: Record<string, any>, context?: ExecutionContext): Promise<string> {
    const request = req as Request;
    const address = `address:${request.ip ?? request.socket.remoteAddress ?? 'unknown'}`;
    if (context && isTokenEndpoint(context)) return address;
    const check = await checkBearerToken(request, this.tokens);
    return check?.ok ? `client:${check.principal.tenantId}:${check.principal.clientId}` : address;
  }

  /** One budget per client across all endpoints (the library's default key is per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}|${tracker}`;
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    if (isTokenEndpoint(context)) {
      throw new OAuthError(429, 'slow_down', `Too many token requests: at most ${detail.limit} per ${detail.ttl / 1000} s; retry after ${retryAfter} s`, retryAfter);
    }
    throw ApiError.tooManyRequests(`Too many requests: at most ${detail.limit} per ${detail.ttl / 1000} s for this client; retry after ${retryAfter} s`, retryAfter);
  }
}
