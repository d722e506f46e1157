import { Module, type DynamicModule } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { DataSource } from 'typeorm';
import type { ClearwayConfig } from '../../libs/config/config';
import type { Logger } from '../../libs/observability/logger';
import { ClientRepository } from '../../libs/persistence/client.repository';
import { ConsentRepository } from '../../libs/persistence/consent.repository';
import { DirectoryRepository } from '../../libs/persistence/directory.repository';
import { OpTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { HandoffRepository } from '../../libs/persistence/handoff.repository';
import { SecretBox } from '../../libs/security/secret-box';
import { SensitiveHandoffs } from '../../libs/security/sensitive-handoffs';
import { PaymentRepository } from '../../libs/persistence/payment.repository';
import { AspspInformationController } from './aspsp/aspsp-information.controller';
import { AuthGuard } from './auth/auth.guard';
import { TokenController } from './auth/token.controller';
import { TokenService } from './auth/token.service';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsService } from './payments/payments.service';
import { AccountInformationService } from './accounts/account-information.service';
import { AccountsController } from './accounts/accounts.controller';
import { ScaCallbackController } from './callbacks/sca-callback.controller';
import { ConsentsController } from './consents/consents.controller';
import { ConsentsService } from './consents/consents.service';
import { HealthController } from './health/health.controller';
import { TransferFinishController, TransfersController } from './open-payments/transfers.controller';
import { TransfersService } from './open-payments/transfers.service';
import { MandateFinishController, MandatesController } from './open-payments/mandates.controller';
import { MandatesService } from './open-payments/mandates.service';
import { OpMandateRepository } from '../../libs/persistence/op-mandate.repository';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from './temporal/temporal.tokens';
import { WebhookRepository } from '../../libs/persistence/webhook.repository';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';
import { TppNotificationsService } from './webhooks/tpp-notifications.service';

export interface ApiDeps {
  config: ClearwayConfig;
  dataSource: DataSource;
  temporal: Client;
  logger: Logger;
}

@Module({})
export class ApiModule {
  /** Built from explicit dependencies so tests and the dev launcher can hand in their own. */
  static register(deps: ApiDeps): DynamicModule {
    return {
      module: ApiModule,
      controllers: [
        HealthController,
        TokenController,
        AspspInformationController,
        PaymentsController,
        ConsentsController,
        AccountsController,
        TransfersController,
        ScaCallbackController,
        TransferFinishController,
        MandatesController,
        MandateFinishController,
        WebhooksController,
      ],
      providers: [
        { provide: CLEARWAY_CONFIG, useValue: deps.config },
        { provide: LOGGER, useValue: deps.logger },
        { provide: TEMPORAL_CLIENT, useValue: deps.temporal },
        { provide: DataSource, useValue: deps.dataSource },
        { provide: DirectoryRepository, useValue: new DirectoryRepository(deps.dataSource) },
        { provide: ClientRepository, useValue: new ClientRepository(deps.dataSource) },
        { provide: PaymentRepository, useValue: new PaymentRepository(deps.dataSource) },
        { provide: ConsentRepository, useValue: new ConsentRepository(deps.dataSource) },
        { provide: OpTransferRepository, useValue: new OpTransferRepository(deps.dataSource) },
        { provide: OpMandateRepository, useValue: new OpMandateRepository(deps.dataSource) },
        { provide: WebhookRepository, useValue: new WebhookRepository(deps.dataSource) },
        { provide: SecretBox, useValue: new SecretBox(deps.config.api.tokenSecret) },
        {
          provide: SensitiveHandoffs,
          useValue: new SensitiveHandoffs(new HandoffRepository(deps.dataSource), new SecretBox(deps.config.api.tokenSecret)),
        },
        { provide: TokenService, useValue: new TokenService(deps.config.api.tokenSecret, deps.config.api.tokenTtlSeconds) },
        AuthGuard,
        PaymentsService,
        ConsentsService,
        AccountInformationService,
        TransfersService,
        MandatesService,
        WebhooksService,
        TppNotificationsService,
      ],
    };
  }
}
