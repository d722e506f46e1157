import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Client } from '@temporalio/client';
import { DataSource } from 'typeorm';
import type { ClearwayConfig } from '../../libs/config/config';
import type { Logger } from '../../libs/observability/logger';
import { ClientRepository } from '../../libs/persistence/client.repository';
import { ConsentRepository, TENANT_CONSENTS, type TenantConsentRepository } from '../../libs/persistence/consent.repository';
import { CachedDirectoryRepository } from '../../libs/persistence/cached-directory.repository';
import { DirectoryRepository } from '../../libs/persistence/directory.repository';
import { OpTransferRepository, TENANT_TRANSFERS, type TenantTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { HandoffRepository } from '../../libs/persistence/handoff.repository';
import { HmacSigner } from '../../libs/security/hmac-signer';
import { SecretBox } from '../../libs/security/secret-box';
import { SensitiveHandoffs } from '../../libs/security/sensitive-handoffs';
import { PaymentRepository, TENANT_PAYMENTS, type TenantPaymentRepository } from '../../libs/persistence/payment.repository';
import { AspspInformationController } from './aspsp/aspsp-information.controller';
import { ClientRateLimitGuard, rateLimitOptions } from './common/rate-limits';
import { AuthGuard } from './auth/auth.guard';
import { ClientAuthenticator } from './auth/client-authenticator';
import { TokenController } from './auth/token.controller';
import { TokenService } from './auth/token.service';
import { PaymentsController } from './payments/payments.controller';
import { BulkPaymentsController } from './payments/bulk-payments.controller';
import { BulkPaymentsService } from './payments/bulk-payments.service';
import { BulkPaymentRepository, TENANT_BULK_PAYMENTS, type TenantBulkPaymentRepository } from '../../libs/persistence/bulk-payment.repository';
import { PaymentsService } from './payments/payments.service';
import { AccountInformationService } from './accounts/account-information.service';
import { AccountsController } from './accounts/accounts.controller';
import { ScaCallbackController } from './callbacks/sca-callback.controller';
import { OAuthCallbackController } from './callbacks/oauth-callback.controller';
import { OAuthCallbackService } from './callbacks/oauth-callback.service';
import { ConsentsController } from './consents/consents.controller';
import { ConsentsService } from './consents/consents.service';
import { HealthController } from './health/health.controller';
import { TransferFinishController, TransfersController } from './open-payments/transfers.controller';
import { TransfersService } from './open-payments/transfers.service';
import { MandateFinishController, MandatesController } from './open-payments/mandates.controller';
import { MandatesService } from './open-payments/mandates.service';
import { OpMandateRepository, TENANT_MANDATES, type TenantMandateRepository } from '../../libs/persistence/op-mandate.repository';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from './temporal/temporal.tokens';
import { TENANT_WEBHOOKS, WebhookRepository, type TenantWebhookRepository } from '../../libs/persistence/webhook.repository';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';
import { TppNotificationsService } from './webhooks/tpp-notifications.service';
import { CancellationAuthorisationsController, PeriodicPaymentsController } from './payments/periodic-payments.controller';
import { PeriodicPaymentsService } from './payments/periodic-payments.service';
import { CancellationAuthorisationsService } from './payments/cancellation-authorisations.service';
import { PeriodicPaymentRepository, TENANT_PERIODIC_PAYMENTS, type TenantPeriodicPaymentRepository } from '../../libs/persistence/periodic-payment.repository';
import { BatchesModule } from './batches/batches.module';
import { BatchRepository } from '../../libs/persistence/batch.repository';

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
      imports: [ThrottlerModule.forRoot(rateLimitOptions(deps.config)), BatchesModule.register(deps, new BatchRepository(deps.dataSource))],
      controllers: [
        HealthController,
        TokenController,
        AspspInformationController,
        PaymentsController,
        BulkPaymentsController,
        ConsentsController,
        AccountsController,
        TransfersController,
        ScaCallbackController,
        OAuthCallbackController,
        TransferFinishController,
        MandatesController,
        MandateFinishController,
        WebhooksController,
        PeriodicPaymentsController,
        CancellationAuthorisationsController,
      ],
      providers: [
        { provide: CLEARWAY_CONFIG, useValue: deps.config },
        { provide: LOGGER, useValue: deps.logger },
        { provide: TEMPORAL_CLIENT, useValue: deps.temporal },
        { provide: DataSource, useValue: deps.dataSource },
        // Every POST addresses its bank through the ASPSP row: reference data, read from memory for 30 s (as in the worker).
        { provide: DirectoryRepository, useValue: new CachedDirectoryRepository(deps.dataSource) },
        { provide: ClientAuthenticator, useValue: new ClientAuthenticator(new ClientRepository(deps.dataSource)) },
        // Tenant-scoped views only: the worker's by-id methods are not reachable from the API.
        { provide: TENANT_PAYMENTS, useValue: new PaymentRepository(deps.dataSource) satisfies TenantPaymentRepository },
        { provide: TENANT_BULK_PAYMENTS, useValue: new BulkPaymentRepository(deps.dataSource) satisfies TenantBulkPaymentRepository },
        { provide: TENANT_CONSENTS, useValue: new ConsentRepository(deps.dataSource) satisfies TenantConsentRepository },
        { provide: TENANT_TRANSFERS, useValue: new OpTransferRepository(deps.dataSource) satisfies TenantTransferRepository },
        { provide: TENANT_MANDATES, useValue: new OpMandateRepository(deps.dataSource) satisfies TenantMandateRepository },
        { provide: TENANT_WEBHOOKS, useValue: new WebhookRepository(deps.dataSource) satisfies TenantWebhookRepository },
        { provide: TENANT_PERIODIC_PAYMENTS, useValue: new PeriodicPaymentRepository(deps.dataSource) satisfies TenantPeriodicPaymentRepository },
        { provide: SecretBox, useValue: new SecretBox(deps.config.keys.encryption) },
        {
          provide: SensitiveHandoffs,
          useValue: new SensitiveHandoffs(new HandoffRepository(deps.dataSource), new SecretBox(deps.config.keys.encryption)),
        },
        { provide: HmacSigner, useValue: new HmacSigner(deps.config.keys.hmac) },
        { provide: TokenService, useValue: new TokenService(deps.config.keys.accessTokens, deps.config.api.tokenTtlSeconds) },
        AuthGuard,
        // Global: every route of every controller is rate-limited (common/rate-limits.ts).
        { provide: APP_GUARD, useClass: ClientRateLimitGuard },
        PaymentsService,
        BulkPaymentsService,
        ConsentsService,
        AccountInformationService,
        TransfersService,
        MandatesService,
        WebhooksService,
        TppNotificationsService,
        OAuthCallbackService,
        PeriodicPaymentsService,
        CancellationAuthorisationsService,
      ],
    };
  }
}
