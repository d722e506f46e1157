import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, ApiErrorCode } from './api-error';
import { findUnstorableText, type UnstorableText } from './storable-text';
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

/**
 * Text that PostgreSQL cannot store (NUL, unpaired surrogates) anywhere in the body or the query
 * string is a 400 naming the field, before any handler runs: otherwise it fails in the database as
 * a 500, after parts of the request may have been acted on.
 */
function refuseUnstorableText(req: Request, res: Response, next: NextFunction): void {
  const found = findUnstorableText(req.body) ?? findUnstorableText(req.query) ?? unstorablePath(req.path);
  if (!found) return next();
  // The token endpoint speaks OAuth (RFC 6749 §5.2), everything else Berlin Group.
  if (req.path.startsWith('/connect/')) {
    res.status(400).setHeader('Cache-Control', 'no-store');
    res.json({ error: 'invalid_request', error_description: `${found.path} ${found.problem}` });
    return;
  }
  sendApiError(res, ApiError.format(found.path, found.problem));
}

/** A percent-encoded NUL in the path (`/accounts/%00`) would reach handlers as a path parameter. */
function unstorablePath(rawPath: string): UnstorableText | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined; // malformed escapes never match a route; the router answers 404
  }
  const found = findUnstorableText(decoded);
  return found && { path: 'path', problem: found.problem };
}

export function bodyParsers(limit: string): RequestHandler[] {
  return [
    guarded(express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] }), limit),
    guarded(express.urlencoded({ limit, extended: false }), limit),
    refuseUnstorableText,
  ];
}
