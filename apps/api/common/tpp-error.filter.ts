import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import type { Request, Response } from 'express';
import type { Logger } from '../../../libs/observability/logger';
import { OAuthError, sendOAuthError } from '../auth/oauth-error';
import { ApiError, ApiErrorCode, isApiError } from './api-error';

/** Renders an ApiError as a Berlin Group error body. Shared by the filter and the raw middlewares. */
export function sendApiError(res: Response, err: ApiError): void {
  if (res.headersSent) return;
  if (err.httpStatus === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.httpStatus).json({ tppMessages: err.tppMessages });
}

/** Maps anything thrown in a controller to `tppMessages`; unexpected faults become a logged 500. */
@Catch()
export class TppErrorFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    /** The methods routed for a path, to tell 405 (path exists) from 404 (it does not). */
    private readonly routedMethods: (path: string) => string[] = () => [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof OAuthError) return sendOAuthError(res, exception);
    sendApiError(res, this.toApiError(exception, host.switchToHttp().getRequest<Request>()));
  }

  private toApiError(exception: unknown, req: Request): ApiError {
    if (isApiError(exception)) return exception;
    // Temporal (or its connection) is down: the request can be repeated, nothing was done twice.
    if (isGrpcServiceError(exception) || exception instanceof ServiceError) {
      this.logger.error({ err: exception }, 'Temporal unavailable');
      return new ApiError(ApiErrorCode.ServiceUnavailable, 'The payment engine is temporarily unavailable; repeat the request with the same X-Request-ID');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        // Nest's answer when no route matched: a path with other methods is a 405, with Allow.
        const allowed = this.routedMethods(req.path);
        return allowed.length ? ApiError.methodNotAllowed(req.method, allowed) : new ApiError(ApiErrorCode.ResourceUnknown, 'No such endpoint');
      }
      if (status === 405) return new ApiError(ApiErrorCode.ServiceInvalid, 'Method not allowed');
      if (status === 413) return ApiError.format('body', 'request body too large');
      if (status === 415) return new ApiError(ApiErrorCode.UnsupportedMediaType, 'Unsupported media type');
      if (status < 500) return new ApiError(ApiErrorCode.FormatError, exception.message);
    }
    this.logger.error({ err: exception }, 'unhandled error');
    return new ApiError(ApiErrorCode.InternalError, 'Internal error; it has been logged');
  }
}
