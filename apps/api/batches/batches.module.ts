import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TENANT_BATCHES, type TenantBatchRepository } from '../../../libs/persistence/batch.repository';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { ApiDeps } from '../app.module';
import { AuthGuard } from '../auth/auth.guard';
import { TokenService } from '../auth/token.service';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { checkRequestHeaders } from '../common/request-headers';
import { BatchesController } from './batches.controller';
import { BatchesService } from './batches.service';

/**
 * The batch API (`/batches/v1`). Its headers follow the client APIs' rules (X-Request-ID required,
 * formats checked); its upload is XML, read as a stream by the service, so none of the JSON body
 * handling of `/psd2` applies.
 */
@Module({})
export class BatchesModule implements NestModule {
  /** `batches`: the tenant view, built by the composition root (app.module.ts). */
  static register(deps: ApiDeps, batches: TenantBatchRepository): DynamicModule {
    return {
      module: BatchesModule,
      controllers: [BatchesController],
      providers: [
        { provide: CLEARWAY_CONFIG, useValue: deps.config },
        { provide: LOGGER, useValue: deps.logger },
        { provide: TEMPORAL_CLIENT, useValue: deps.temporal },
        { provide: DirectoryRepository, useValue: new DirectoryRepository(deps.dataSource) },
        { provide: TokenService, useValue: new TokenService(deps.config.keys.accessTokens, deps.config.api.tokenTtlSeconds) },
        AuthGuard,
        // The tenant view only: the worker's by-id methods are not reachable from the API.
        { provide: TENANT_BATCHES, useValue: batches },
        BatchesService,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(checkRequestHeaders).forRoutes(BatchesController);
  }
}
