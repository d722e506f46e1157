import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { checkBearerToken } from './request-principal';
import type { Service } from './scopes';
import { TokenService, type Principal } from './token.service';

const SERVICE_KEY = 'clearway:requiredService';

/** Every protected controller names the OAuth2 service scope it needs. */
export const RequiresService = (service: Service) => SetMetadata(SERVICE_KEY, service);

export type AuthenticatedRequest = Request & { principal: Principal };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TokenService) private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const check = await checkBearerToken(req, this.tokens);
    if (!check) throw new ApiError(ApiErrorCode.TokenInvalid, 'An Authorization: Bearer access token is required', 'Authorization');
    if (!check.ok) {
      throw check.reason === 'expired'
        ? new ApiError(ApiErrorCode.TokenExpired, 'The access token has expired', 'Authorization')
        : new ApiError(ApiErrorCode.TokenInvalid, 'The access token is not valid', 'Authorization');
    }
    const required = this.reflector.getAllAndOverride<Service | undefined>(SERVICE_KEY, [context.getHandler(), context.getClass()]);
    if (required && !check.principal.services.includes(required)) {
      throw new ApiError(ApiErrorCode.ServiceBlocked, `The access token lacks the "${required}" scope`);
    }
    req.principal = check.principal;
    return true;
  }
}
