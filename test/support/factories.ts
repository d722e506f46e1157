import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { hashSecret } from '../../apps/api/auth/secret-hash';
import { ClientRepository } from '../../libs/persistence/client.repository';
import type { PaymentEntity } from '../../libs/persistence/entities/payment.entity';
import { PaymentRepository } from '../../libs/persistence/payment.repository';

export interface TestClient {
  clientId: string;
  clientSecret: string;
  tenantId: string;
}

/** A fresh OAuth2 client in its own tenant, allowed every service unless told otherwise. */
export async function createApiClient(
  ds: DataSource,
  opts: { tenantId?: string; allowedScopes?: string[] } = {},
): Promise<TestClient> {
  const client = { clientId: `client-${randomUUID()}`, clientSecret: randomUUID(), tenantId: opts.tenantId ?? `tenant-${randomUUID()}` };
  await new ClientRepository(ds).upsert({
    clientId: client.clientId,
    tenantId: client.tenantId,
    secretHash: await hashSecret(client.clientSecret),
    allowedScopes: opts.allowedScopes ?? ['aspspinformation', 'paymentinitiation', 'accountinformation', 'webhooks'],
  });
  return client;
}

/** A valid SEPA credit transfer body; override what the test is about. */
export function sepaPayment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instructedAmount: { currency: 'EUR', amount: '123.45' },
    debtorAccount: { iban: 'DE89370400440532013000', currency: 'EUR' },
    creditorName: 'Enterprise GmbH',
    creditorAccount: { iban: 'NL91ABNA0417164300', currency: 'EUR' },
    remittanceInformationUnstructured: 'Invoice 2026-0042',
    ...overrides,
  };
}

/** A stored single payment of 1.00 EUR to SANDDEB0XXX, not yet initiated, in a fresh client's tenant; its id. */
export async function createStoredPayment(ds: DataSource): Promise<string> {
  const client = await createApiClient(ds);
  const id = randomUUID();
  await new PaymentRepository(ds).insertOrGetExisting({
    id,
    tenantId: client.tenantId,
    clientId: client.clientId,
    requestId: randomUUID(),
    requestHash: 'h',
    bicFi: 'SANDDEB0XXX',
    paymentProduct: 'sepa-credit-transfers',
    body: { instructedAmount: { currency: 'EUR', amount: '1.00' } } as PaymentEntity['body'],
    currency: 'EUR',
    amountMinor: '100',
    psuId: null,
    psuIpAddress: '192.0.2.1',
    clientRedirectUri: null,
    clientNokRedirectUri: null,
  });
  return id;
}
