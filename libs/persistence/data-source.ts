import { DataSource } from 'typeorm';
import { AspspEntity } from './entities/aspsp.entity';
import { ApiClientEntity } from './entities/api-client.entity';
import { CityEntity } from './entities/city.entity';
import { CountryEntity } from './entities/country.entity';
import { PaymentAuthorisationEntity } from './entities/payment-authorisation.entity';
import { PaymentEntity } from './entities/payment.entity';
import { PaymentEventEntity } from './entities/payment-event.entity';
import {
  AisReadResultEntity,
  ConsentAuthorisationEntity,
  ConsentEntity,
  ConsentEventEntity,
  DomainEventEntity,
  SensitiveHandoffEntity,
} from './entities/consent.entity';
import { InitialSchema1732450000000 } from './migrations/1732450000000-initial-schema';
import { SeedAspspDirectory1732450000001 } from './migrations/1732450000001-seed-aspsp-directory';
import { ConsentsAndAccountInformation1732450000002 } from './migrations/1732450000002-consents-and-account-information';
import { OpenPaymentsTransfers1732450000003 } from './migrations/1732450000003-open-payments-transfers';
import { OpTransferEntity, OpTransferEventEntity } from './entities/op-transfer.entity';
import { OpenPaymentsMandates1732450000004 } from './migrations/1732450000004-open-payments-mandates';
import { OpMandateEntity, OpMandatePaymentEntity } from './entities/op-mandate.entity';
import { InitiationOutcomes1732450000100 } from './migrations/1732450000100-initiation-outcomes';
import { DocumentedNotProcessedCodes1732450000101 } from './migrations/1732450000101-documented-not-processed-codes';
import { InitiationAttemptEntity } from './entities/initiation-attempt.entity';
import { OperatorDecisionEntity } from './entities/operator-decision.entity';
import { Webhooks1732450000300 } from './migrations/1732450000300-webhooks';
import { WebhookStreaming1732450000301 } from './migrations/1732450000301-webhook-streaming';
import {
  ResourceNotificationSubscriptionEntity,
  WebhookDeliveryAttemptEntity,
  WebhookDeliveryEntity,
  WebhookEndpointEntity,
} from './entities/webhook.entity';
import { OutboxCommitSubscriber } from './event-outbox';
import { SandboxWebsiteFromConfig1732450000800 } from './migrations/1732450000800-sandbox-website-from-config';
import { OpenPaymentsOutcomes1732450000700 } from './migrations/1732450000700-open-payments-outcomes';
import { OpOutcomeResolutionEntity } from './entities/op-outcome-resolution.entity';
import { BankGrantEntity } from './entities/bank-grant.entity';
import { OAuthBankGrants1732450000400 } from './migrations/1732450000400-oauth-bank-grants';
import { PayseraProfileSandbox1732450001000 } from './migrations/1732450001000-paysera-profile-sandbox';
import { UkOpenBanking1732450000401 } from './migrations/1732450000401-uk-open-banking';
import { UkInternationalPayments1732450001150 } from './migrations/1732450001150-uk-international-payments';
import { BankRegistrationEntity } from './entities/bank-registration.entity';
import { PERIODIC_PAYMENT_ENTITIES } from './entities/periodic-payment.entity';
import { PeriodicPayments1732450000900 } from './migrations/1732450000900-periodic-payments';
import { BulkPayments1732450000200 } from './migrations/1732450000200-bulk-payments';
import { BulkPaymentAuthorisationEntity, BulkPaymentCancellationEntity, BulkPaymentEntity, BulkPaymentEventEntity } from './entities/bulk-payment.entity';
import { BulkPaymentCancellations1732450001100 } from './migrations/1732450001100-bulk-payment-cancellations';
import { PaymentInitiationStatus1732450001500 } from './migrations/1732450001500-payment-initiation-status';
import { BulkPaymentTransactionEntity } from './entities/bulk-payment-transaction.entity';
import { BATCH_ENTITIES, BATCH_MIGRATIONS } from './batch-schema';

export const ENTITIES = [
  CountryEntity,
  CityEntity,
  AspspEntity,
  ApiClientEntity,
  PaymentEntity,
  PaymentAuthorisationEntity,
  PaymentEventEntity,
  ConsentEntity,
  ConsentAuthorisationEntity,
  ConsentEventEntity,
  DomainEventEntity,
  AisReadResultEntity,
  SensitiveHandoffEntity,
  OpTransferEntity,
  OpTransferEventEntity,
  OpMandateEntity,
  OpMandatePaymentEntity,
  InitiationAttemptEntity,
  OperatorDecisionEntity,
  WebhookEndpointEntity,
  WebhookDeliveryEntity,
  WebhookDeliveryAttemptEntity,
  ResourceNotificationSubscriptionEntity,
  OpOutcomeResolutionEntity,
  BankGrantEntity,
  BankRegistrationEntity,
  ...PERIODIC_PAYMENT_ENTITIES,
  BulkPaymentEntity,
  BulkPaymentTransactionEntity,
  BulkPaymentAuthorisationEntity,
  BulkPaymentEventEntity,
  BulkPaymentCancellationEntity,
  ...BATCH_ENTITIES,
];

/** In order. Never edit a shipped migration: add a new one. */
export const MIGRATIONS = [
  InitialSchema1732450000000,
  SeedAspspDirectory1732450000001,
  ConsentsAndAccountInformation1732450000002,
  OpenPaymentsTransfers1732450000003,
  OpenPaymentsMandates1732450000004,
  InitiationOutcomes1732450000100,
  DocumentedNotProcessedCodes1732450000101,
  BulkPayments1732450000200,
  Webhooks1732450000300,
  WebhookStreaming1732450000301,
  OAuthBankGrants1732450000400,
  UkOpenBanking1732450000401,
  OpenPaymentsOutcomes1732450000700,
  SandboxWebsiteFromConfig1732450000800,
  PayseraProfileSandbox1732450001000,
  UkInternationalPayments1732450001150,
  PeriodicPayments1732450000900,
  ...BATCH_MIGRATIONS,
  BulkPaymentCancellations1732450001100,
  PaymentInitiationStatus1732450001500,
];

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

export function createDataSource(opts: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'clearway_migrations',
    subscribers: [OutboxCommitSubscriber],
    synchronize: false,
    logging: ['error'],
    poolSize: opts.poolSize ?? 5,
    applicationName: opts.applicationName ?? 'clearway',
  });
}

/** Connects and brings the schema up to date. Safe to call from several processes: TypeORM takes a lock. */
export async function connectAndMigrate(opts: DatabaseOptions): Promise<DataSource> {
  const ds = createDataSource(opts);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
