import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import type { Response } from 'express';
import type { Logger } from '../../../libs/observability/logger';
import { OAuthError, sendOAuthError } from '../auth/oauth-error';
import { ApiError, ApiErrorCode, isApiError } from './api-error';

/** Renders an ApiError as a Berlin Group error body. Shared by the filter and the raw middlewares. */
export function sendApiError(res: Response, err: ApiError): void {
  if (res.headersSent) return;
  if (err.httpStatus === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res.status(err.httpStatus).json({ tppMessages: err.tppMessages });
}

/** Maps anything thrown in a controller to `tppMessages`; unexpected faults become a logged 500. */
@Catch()
export class TppErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof OAuthError) return sendOAuthError(res, exception);
    sendApiError(res, this.toApiError(exception));
  }

  private toApiError(exception: unknown): ApiError {
    if (isApiError(exception)) return exception;
    // Temporal (or its connection) is down: the request can be repeated, nothing was done twice.
    if (isGrpcServiceError(exception) || exception instanceof ServiceError) {
      this.logger.error({ err: exception }, 'Temporal unavailable');
      return new ApiError(ApiErrorCode.ServiceUnavailable, 'The payment engine is temporarily unavailable; repeat the request with the same X-Request-ID');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) return new ApiError(ApiErrorCode.ResourceUnknown, 'No such endpoint');
      if (status === 405) return new ApiError(ApiErrorCode.ServiceInvalid, 'Method not allowed');
      if (status === 413) return ApiError.format('body', 'request body too large');
      if (status === 415) return new ApiError(ApiErrorCode.UnsupportedMediaType, 'Unsupported media type');
      if (status < 500) return new ApiError(ApiErrorCode.FormatError, exception.message);
    }
    this.logger.error({ err: exception }, 'unhandled error');
    return new ApiError(ApiErrorCode.InternalError, 'Internal error; it has been logged');
  }
}
