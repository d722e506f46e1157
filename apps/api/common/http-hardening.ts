import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLIENT_API_PREFIXES, checkRequestHeaders } from './request-headers';

/**
 * HTTP-level protections that apply to every route, present and future, in one place:
 * - client addresses (rate limits per address) come from X-Forwarded-For only behind a proxy we
 *   were told about (API_TRUST_PROXY);
 * - on the client APIs, X-Request-ID is required and normalised and the OPE header formats are
 *   checked (request-headers.ts), before anything reads the body.
 */
export function applyHttpHardening(app: NestExpressApplication, config: ClearwayConfig): void {
  const trustProxy = config.api.trustProxy;
  if (trustProxy) app.set('trust proxy', /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy === 'true' || trustProxy);
  for (const prefix of CLIENT_API_PREFIXES) app.use(prefix, checkRequestHeaders);
}
