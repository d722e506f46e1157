import type { NextFunction, Request, Response } from 'express';
import { isUuid } from '../../../libs/domain/ids';
import { ApiError } from './api-error';
import { sendApiError } from './tpp-error.filter';

/**
 * `X-Request-ID` is mandatory (a UUID) on every `/psd2` call and is echoed back on every response,
 * errors included, so a client can always match a response to its request.
 */
export function requireRequestId(req: Request, res: Response, next: NextFunction): void {
  const requestId = req.header('x-request-id');
  if (requestId) res.setHeader('X-Request-ID', requestId);
  if (!requestId) return sendApiError(res, ApiError.format('X-Request-ID', 'header is required'));
  if (!isUuid(requestId)) return sendApiError(res, ApiError.format('X-Request-ID', 'must be a UUID'));
  next();
}

/** Echo only: for endpoints outside `/psd2` (token endpoint, SCA callbacks). */
export function echoRequestId(req: Request, res: Response, next: NextFunction): void {
  const requestId = req.header('x-request-id');
  if (requestId) res.setHeader('X-Request-ID', requestId);
  next();
}
