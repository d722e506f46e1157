import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, ApiErrorCode } from './api-error';
import { sendApiError } from './tpp-error.filter';

/**
 * express's parsers, with their failures (malformed JSON, oversized body, bad charset) answered as
 * Berlin Group errors instead of express's HTML page.
 */
function guarded(parser: RequestHandler, limit: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    parser(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number; message?: string };
      if (e.type === 'entity.too.large' || e.status === 413) {
        // 400, not 413: the OPE contract defines no 413, and clients written for it handle 400.
        return sendApiError(res, ApiError.format('body', `exceeds the size limit of ${limit}`));
      }
      if (e.type === 'entity.parse.failed') return sendApiError(res, ApiError.format('body', 'malformed JSON'));
      if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
        return sendApiError(res, new ApiError(ApiErrorCode.UnsupportedMediaType, e.message ?? 'Unsupported encoding'));
      }
      return sendApiError(res, ApiError.format('body', e.message ?? 'unreadable request body'));
    });
  };
}

export function bodyParsers(limit: string): RequestHandler[] {
  return [
    guarded(express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] }), limit),
    guarded(express.urlencoded({ limit, extended: false }), limit),
  ];
}
