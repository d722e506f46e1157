import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { onEventsCommitted, type EndpointWakeup } from './event-outbox';
import { PaymentRepository } from './payment.repository';
import { WebhookRepository } from './webhook.repository';
import { createApiClient } from '../../test/support/factories';
import { sepaPayment } from '../../test/support/factories';

/** The transactional outbox against real PostgreSQL (the test database of this run). */
let ds: DataSource;
let payments: PaymentRepository;
let webhooks: WebhookRepository;
const woken: EndpointWakeup[][] = [];

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  payments = new PaymentRepository(ds);
  webhooks = new WebhookRepository(ds);
  onEventsCommitted(ds, (w) => woken.push(w));
});
afterAll(() => ds?.destroy());

async function newPayment(tenantId: string, clientId: string) {
  const id = randomUUID();
  await payments.insertOrGetExisting({
    id,
    tenantId,
    clientId,
    requestId: randomUUID(),
    requestHash: 'x'.repeat(64),
    bicFi: 'SANDDEB0XXX',
    paymentProduct: 'sepa-credit-transfers',
    body: sepaPayment() as never,
    currency: 'EUR',
    amountMinor: '12345',
    psuId: null,
    psuIpAddress: null,
    clientRedirectUri: null,
    clientNokRedirectUri: null,
  });
  return id;
}

test('a status change fans out to the endpoint and wakes it after commit', async () => {
  const client = await createApiClient(ds);
  const endpointId = randomUUID();
  await webhooks.createEndpoint({ id: endpointId, tenantId: client.tenantId, url: 'https://hooks.example/x', description: null, eventTypes: null, secretSealed: 'sealed' });
  const paymentId = await newPayment(client.tenantId, client.clientId);
  woken.length = 0;
  await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
  expect(woken).toEqual([[{ endpointId, tenantId: client.tenantId }]]);
});
