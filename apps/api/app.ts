import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ApiModule, type ApiDeps } from './app.module';
import { bodyParsers } from './common/body-parsers';
import { applyHttpHardening, routedMethods } from './common/http-hardening';
import { echoRequestId } from './common/request-headers';
import { TppErrorFilter } from './common/tpp-error.filter';
import { BULK_PAYMENTS_PATH, bulkBodyParsers } from './payments/bulk-body-parsers';
import { installApiObservability } from './observability';
import { installApiDocs } from './docs/api-docs';

/** The HTTP API, configured but not listening: main.ts, the dev launcher and tests share it. */
export async function createApiApp(deps: ApiDeps): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.register(deps), { bodyParser: false, logger: ['error', 'warn'] });
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  installApiObservability(app, deps);
  installApiDocs(app);
  applyHttpHardening(app, deps.config);
  app.use(echoRequestId);
  app.use(BULK_PAYMENTS_PATH, ...bulkBodyParsers());
  app.use(...bodyParsers(deps.config.api.bodyLimit));
  app.useGlobalFilters(new TppErrorFilter(deps.logger, routedMethods(app)));
  return app;
}
