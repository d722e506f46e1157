import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ClearwayConfig } from '../../../libs/config/config';

/**
 * HTTP-level protections that apply to every route, present and future, in one place:
 * - client addresses (rate limits per address) come from X-Forwarded-For only behind a proxy we
 *   were told about (API_TRUST_PROXY).
 */
export function applyHttpHardening(app: NestExpressApplication, config: ClearwayConfig): void {
  const trustProxy = config.api.trustProxy;
  if (trustProxy) app.set('trust proxy', /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy === 'true' || trustProxy);
}
