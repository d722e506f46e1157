import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import pinoHttp from 'pino-http';
import { isUuid } from '../../libs/domain/ids';
import type { Logger } from '../../libs/observability/logger';
import { ApiMetrics, METRICS_CONTENT_TYPE, metricsText, processRegistry } from '../../libs/observability/metrics';
import type { ApiDeps } from './app.module';

/**
 * The API's request log, request metrics and `GET /metrics` (libs/observability/metrics.ts),
 * installed before every other middleware so that requests refused early (bad headers, bad
 * bodies, rate limits) are logged and counted too.
 */
export function installApiObservability(app: NestExpressApplication, deps: Pick<ApiDeps, 'logger' | 'dataSource'>): ApiMetrics {
  const metrics = new ApiMetrics(deps.dataSource);
  app.use(requestLogger(deps.logger));
  app.use((req: Request, res: Response, next: () => void) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => metrics.observeRequest(req.method, routeOf(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    next();
  });
  app.use('/metrics', (req: Request, res: Response, next: () => void) => {
    if (req.method !== 'GET' || (req.path !== '/' && req.path !== '')) return next();
    markRoute(req, '/metrics');
    metricsText([processRegistry(), metrics.registry]).then(
      (text) => res.status(200).type(METRICS_CONTENT_TYPE).send(text),
      (err) => {
        deps.logger.warn({ err }, 'metrics scrape failed');
        res.status(500).end();
      },
    );
  });
  return metrics;
}

/**
 * One line per request, when it is answered: method, route template, path, status, latency,
 * X-Request-ID and tenant. Never a body, a header value other than the request id, or a query
 * value (only the query's parameter names); path segments that look like an IBAN are masked.
 */
export function requestLogger(logger: Logger) {
  return pinoHttp<IncomingMessage, ServerResponse>({
    logger: logger.child({ component: 'http' }),
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'latencyMs' },
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && isUuid(header) ? header.toLowerCase() : randomUUID();
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessObject: (req, res, val: Record<string, unknown>) => requestLine(req as Request, res, val.latencyMs),
    customErrorObject: (req, res, _err, val: Record<string, unknown>) => requestLine(req as Request, res, val.latencyMs),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
  });
}

function requestLine(req: Request, res: ServerResponse, latencyMs: unknown): Record<string, unknown> {
  const [path, query] = splitUrl(req.originalUrl ?? req.url ?? '/');
  const tenant = (req as Request & { principal?: { tenantId?: string } }).principal?.tenantId;
  return {
    method: req.method,
    route: routeOf(req),
    path: maskPath(path),
    ...(query ? { queryParams: queryNames(query) } : {}),
    status: res.statusCode,
    latencyMs,
    ...(tenant ? { tenant } : {}),
  };
}

/** The route template that answered (`/psd2/v1/payments/:paymentProduct/:paymentId`), or `unmatched`. */
export function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route?.path;
  if (typeof route === 'string') return `${req.baseUrl ?? ''}${route}`;
  return (req as Request & { [SERVED_BY]?: string })[SERVED_BY] ?? 'unmatched';
}

/** Set by the endpoints served by middleware rather than a controller route (`/metrics`, `/docs`, `/openapi.json`). */
const SERVED_BY = Symbol('clearway.route');

export function markRoute(req: Request, route: string): void {
  (req as Request & { [SERVED_BY]?: string })[SERVED_BY] = route;
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)];
}

/** IBAN-shaped segments (two letters, two digits, 11-30 alphanumerics) become `[iban]`. */
const IBAN_LIKE = /^[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{11,30}$/;

export function maskPath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment).replace(/\s+/g, '');
      } catch {
        // keep it as sent
      }
      return IBAN_LIKE.test(decoded) ? '[iban]' : segment.length > 100 ? `[${segment.length} chars]` : segment;
    })
    .join('/');
}

/** Only the parameter names (at most 20, each at most 40 characters): values may be IBANs, tokens, names. */
function queryNames(query: string): string[] {
  const names = new Set<string>();
  for (const pair of query.split('&')) {
    if (names.size >= 20) break;
    const name = pair.split('=')[0];
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // keep it as sent
    }
    if (decoded) names.add(IBAN_LIKE.test(decoded) ? '[iban]' : decoded.slice(0, 40));
  }
  return [...names];
}
