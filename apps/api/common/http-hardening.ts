import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import type { ClearwayConfig } from '../../../libs/config/config';
import { ApiError, ApiErrorCode } from './api-error';
import { CLIENT_API_PREFIXES, checkRequestHeaders } from './request-headers';
import { sendApiError } from './tpp-error.filter';
import { isAcceptedXmlBody } from './xml-body-routes';

/**
 * HTTP-level protections that apply to every route, present and future, in one place (called
 * first in createApiApp, before anything reads a body):
 * - client addresses (rate limits per address) come from X-Forwarded-For only behind a proxy we
 *   were told about (API_TRUST_PROXY);
 * - on the client APIs, X-Request-ID is required and normalised and the OPE header formats are
 *   checked (request-headers.ts), and a body must be JSON (415 otherwise);
 * - what Node's HTTP parser refuses before Express sees it (headers over 16 KB, malformed
 *   requests) is answered with tppMessages instead of an empty body.
 * The 405-vs-404 decision needs the routes, so it lives in the exception filter, fed by {@link routedMethods}.
 */
export function applyHttpHardening(app: NestExpressApplication, config: ClearwayConfig): void {
  const trustProxy = config.api.trustProxy;
  if (trustProxy) app.set('trust proxy', /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy === 'true' || trustProxy);
  for (const prefix of CLIENT_API_PREFIXES) app.use(prefix, checkRequestHeaders, requireJsonBody);
  answerParserErrors(app.getHttpServer() as Server);
}

/** OPE: a request body of any other media type than JSON is 415, not a 400 about the (unparsed) body. */
function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (!hasBody || req.is(['application/json', 'application/*+json']) || isAcceptedXmlBody(req)) return next();
  sendApiError(res, new ApiError(ApiErrorCode.UnsupportedMediaType, 'The request body must be application/json', 'Content-Type'));
}

const PARSER_ERRORS: Record<string, { status: number; reason: string; text: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: 'Request Header Fields Too Large', text: 'The request headers are larger than 16 KB' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', text: 'The request did not arrive in time' },
};

/**
 * Node answers a request its parser refuses with a bare status line and closes; with a
 * `clientError` listener the answer is ours: a Berlin Group error body, then close.
 */
function answerParserErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const known = PARSER_ERRORS[err.code ?? ''] ?? { status: 400, reason: 'Bad Request', text: 'The request is not valid HTTP' };
    const body = JSON.stringify({ tppMessages: [{ category: 'ERROR', code: ApiErrorCode.FormatError, text: known.text }] });
    socket.end(
      `HTTP/1.1 ${known.status} ${known.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  matchers?: ((path: string) => unknown)[];
}

/**
 * The HTTP methods routed for a path, read from Express's router when asked (routes are added at
 * init, after this is set up). Empty when nothing matches: then a miss is a 404.
 */
export function routedMethods(app: NestExpressApplication): (path: string) => string[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack?: RouteLayer[] } };
  return (path) => {
    const methods = new Set<string>();
    for (const layer of express.router?.stack ?? []) {
      if (!layer.route || !layer.matchers?.some((match) => match(path))) continue;
      for (const [method, routed] of Object.entries(layer.route.methods)) if (routed && method !== '_all') methods.add(method.toUpperCase());
    }
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
