import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createApiClient } from '../../test/support/factories';
import { createDataSource } from './data-source';
import { PaymentAuthorisationEntity } from './entities/payment-authorisation.entity';
import { PaymentEntity } from './entities/payment.entity';
import { PaymentRepository } from './payment.repository';

/**
 * A payment's initiation and the authorisation the bank created with it are one write. Found by the
 * batch crash test: a worker killed between two separate writes left a payment with a bank id and
 * no authorisation; the retried activity handed the workflow that half, and the payment waited for
 * an SCA it could not follow until the SCA timeout cancelled it.
 */
let ds: DataSource;
let sut: PaymentRepository;

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 2 }).initialize();
  sut = new PaymentRepository(ds);
});
afterAll(() => ds?.destroy());

async function newPayment(): Promise<string> {
  const client = await createApiClient(ds);
  const id = randomUUID();
  await sut.insertOrGetExisting({
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

const initiation = (authorisation?: { authorisationId: string; scaApproach: string }) => ({
  bankPaymentId: `bank-${randomUUID()}`,
  status: { raw: 'RCVD', normalised: 'RCVD' as const },
  scaApproach: 'DECOUPLED' as const,
  scaRedirectUrl: null,
  psuMessage: null,
  ...(authorisation
    ? { authorisation: { ...authorisation, scaApproach: authorisation.scaApproach as 'DECOUPLED', scaRedirectUrl: null, scaStatus: { raw: 'received', normalised: 'received' as const } } }
    : {}),
});

it('records the initiation and its authorisation together', async () => {
  const id = await newPayment();
  const init = initiation({ authorisationId: 'auth-1', scaApproach: 'DECOUPLED' });
  await sut.recordInitiation(id, init);
  const payment = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
  expect(payment.bankPaymentId).toBe(init.bankPaymentId);
  expect(await ds.getRepository(PaymentAuthorisationEntity).findBy({ paymentId: id })).toEqual([
    expect.objectContaining({ authorisationId: 'auth-1', scaStatus: 'received' }),
  ]);
});

it('writes neither when the authorisation cannot be written: never an initiation without its authorisation', async () => {
  const id = await newPayment();
  // sca_approach is varchar(16): the authorisation's insert fails inside the transaction.
  await expect(sut.recordInitiation(id, initiation({ authorisationId: 'auth-1', scaApproach: 'X'.repeat(40) }))).rejects.toThrow();
  const payment = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
  expect(payment.bankPaymentId).toBeNull();
  expect(payment.scaApproach).toBeNull();
  expect(await ds.getRepository(PaymentAuthorisationEntity).countBy({ paymentId: id })).toBe(0);
});
