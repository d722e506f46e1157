import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { sendApiError } from '../common/tpp-error.filter';
import { XML_MEDIA_TYPES } from '../common/xml-body-routes';

/** Where the bulk routes live; only they get the larger body limit. */
export const BULK_PAYMENTS_PATH = '/psd2/paymentinitiation/v1/bulk-payments';
/** A bulk of up to 100,000 transactions as JSON or pain.001; the other routes keep their 100 kB. */
export const BULK_BODY_LIMIT = '50mb';

/** The raw pain.001 bytes of a bulk request, kept off `req.body` (nothing walks 50 MB of XML as an object). */
export interface WithXmlBody {
  xmlBody?: Buffer;
}

function tooLarge(limit: string): ApiError {
  return new ApiError(ApiErrorCode.FormatError, `body: exceeds the size limit of ${limit} for bulk payments`, 'body', [], 413);
}

function guarded(parser: RequestHandler, limit: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    parser(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number; message?: string };
      if (e.type === 'entity.too.large' || e.status === 413) return sendApiError(res, tooLarge(limit));
      if (e.type === 'entity.parse.failed') return sendApiError(res, ApiError.format('body', 'malformed JSON'));
      if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
        return sendApiError(res, new ApiError(ApiErrorCode.UnsupportedMediaType, e.message ?? 'Unsupported encoding'));
      }
      return sendApiError(res, ApiError.format('body', e.message ?? 'unreadable request body'));
    });
  };
}

/**
 * Mounted on {@link BULK_PAYMENTS_PATH} before the global parsers (which then see the body as
 * already read): JSON and pain.001 XML up to {@link BULK_BODY_LIMIT}. XML bytes go to `req.xmlBody`.
 */
export function bulkBodyParsers(limit = BULK_BODY_LIMIT): RequestHandler[] {
  return [
    guarded(express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] }), limit),
    guarded(express.raw({ limit, type: XML_MEDIA_TYPES }), limit),
    (req: Request & WithXmlBody, _res: Response, next: NextFunction) => {
      if (Buffer.isBuffer(req.body)) {
        req.xmlBody = req.body;
        req.body = undefined;
      }
      next();
    },
  ];
}
