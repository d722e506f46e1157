import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createApiClient, createStoredPayment } from '../../test/support/factories';
import { createDataSource } from './data-source';
import { PaymentAuthorisationEntity } from './entities/payment-authorisation.entity';
import { PaymentEntity } from './entities/payment.entity';
import { InitiationAttemptRepository } from './initiation-attempt.repository';
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

const newPayment = () => createStoredPayment(ds);

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

describe('insertOrGetExisting: one round trip for a new payment', () => {
  const newPaymentValues = async () => {
    const client = await createApiClient(ds);
    return {
      id: randomUUID(),
      tenantId: client.tenantId,
      clientId: client.clientId,
      requestId: randomUUID(),
      requestHash: 'a'.repeat(64),
      bicFi: 'SANDDEB0XXX',
      paymentProduct: 'sepa-credit-transfers' as const,
      body: { instructedAmount: { currency: 'EUR', amount: '12.34' }, creditorName: 'Ada' } as PaymentEntity['body'],
      currency: 'EUR',
      amountMinor: '1234',
      psuId: 'psu-1',
      psuIpAddress: '192.0.2.1',
      clientRedirectUri: null,
      clientNokRedirectUri: null,
    };
  };

  it('returns the inserted row exactly as a read of it would (database defaults included)', async () => {
    const values = await newPaymentValues();
    const { payment, created } = await sut.insertOrGetExisting(values);
    expect(created).toBe(true);
    expect(payment).toBeInstanceOf(PaymentEntity);
    expect(payment).toEqual(await ds.getRepository(PaymentEntity).findOneByOrFail({ id: values.id }));
    expect(payment.createdAt).toBeInstanceOf(Date);
    expect(payment.version).toEqual(expect.any(Number));
    expect(payment.bankPaymentId).toBeNull();
  });

  it('returns the stored row, not the new values, for a repeated X-Request-ID', async () => {
    const values = await newPaymentValues();
    await sut.insertOrGetExisting(values);
    const again = await sut.insertOrGetExisting({ ...values, id: randomUUID(), requestHash: 'b'.repeat(64) });
    expect(again.created).toBe(false);
    expect(again.payment.id).toBe(values.id);
    expect(again.payment.requestHash).toBe('a'.repeat(64));
    expect(await ds.getRepository(PaymentEntity).countBy({ requestId: values.requestId })).toBe(1);
  });
});

describe('recordInitiation with the attempt that created it', () => {
  it('marks that attempt created with the bank id in the same write, and no other attempt', async () => {
    const attempts = new InitiationAttemptRepository(ds);
    const id = await newPayment();
    const requestId = randomUUID();
    expect(await attempts.beginUnlessBlocked('payment', id, requestId, 0)).toBe(1);
    await attempts.finish('payment', id, 1, { state: 'not_processed', detail: 'connection refused' });
    expect(await attempts.beginUnlessBlocked('payment', id, requestId, 0)).toBe(2);
    const init = initiation();
    await sut.recordInitiation(id, { ...init, createdByAttempt: 2 });
    expect((await sut.findById(id))?.bankPaymentId).toBe(init.bankPaymentId);
    expect((await attempts.list('payment', id)).map((a) => [a.attempt, a.state, a.bankResourceId, a.detail, a.finishedAt instanceof Date])).toEqual([
      [1, 'not_processed', null, 'connection refused', true],
      [2, 'created', init.bankPaymentId, null, true],
    ]);
  });

  it('touches no attempt without one (a payment found after an unknown outcome)', async () => {
    const attempts = new InitiationAttemptRepository(ds);
    const id = await newPayment();
    await attempts.beginUnlessBlocked('payment', id, randomUUID(), 0);
    await sut.recordInitiation(id, initiation());
    expect((await attempts.list('payment', id)).map((a) => a.state)).toEqual(['sending']);
  });
});

describe('findWithChangeAt: a status read\'s payment and the change a lost run recorded, in one query', () => {
  const record = (paymentId: string, seq: number, kind: 'transaction_status' | 'sca_status', status: string, rawStatus: string | null) =>
    sut.recordStatusChange({ paymentId, seq, kind, status, rawStatus, reason: null } as Parameters<PaymentRepository['recordStatusChange']>[0]);

  it('returns the payment as findById does, and no change where none is recorded', async () => {
    const id = await newPayment();
    await sut.recordInitiation(id, initiation());
    const found = await sut.findWithChangeAt(id, 0, 'transaction_status');
    expect(found.recorded).toBeUndefined();
    expect(found.payment).toBeInstanceOf(PaymentEntity);
    expect(found.payment).toEqual(await sut.findById(id));
  });

  it('returns the change recorded under that sequence number, of that kind only', async () => {
    const id = await newPayment();
    await sut.recordInitiation(id, initiation());
    await record(id, 0, 'sca_status', 'finalised', 'FINALISED');
    await record(id, 1, 'transaction_status', 'ACSP', null);
    expect((await sut.findWithChangeAt(id, 0, 'sca_status')).recorded).toEqual({ raw: 'FINALISED', normalised: 'finalised' });
    expect((await sut.findWithChangeAt(id, 0, 'transaction_status')).recorded).toBeUndefined();
    // No raw status recorded: the normalised one stands for it.
    expect((await sut.findWithChangeAt(id, 1, 'transaction_status')).recorded).toEqual({ raw: 'ACSP', normalised: 'ACSP' });
    expect((await sut.findWithChangeAt(id, 2, 'transaction_status')).recorded).toBeUndefined();
  });

  it('finds no payment for an unknown id', async () => {
    expect(await sut.findWithChangeAt(randomUUID(), 0, 'transaction_status')).toEqual({ payment: null });
  });

  it('asks the database once', async () => {
    const id = await newPayment();
    const queries: string[] = [];
    const original = ds.createQueryRunner.bind(ds);
    const spy = jest.spyOn(ds, 'createQueryRunner').mockImplementation((mode) => {
      const r = original(mode);
      const query = r.query.bind(r);
      r.query = ((sql: string, ...rest: unknown[]) => (queries.push(sql), (query as (...a: unknown[]) => unknown)(sql, ...rest))) as typeof r.query;
      return r;
    });
    try {
      await sut.findWithChangeAt(id, 0, 'transaction_status');
    } finally {
      spy.mockRestore();
    }
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain('payment_events');
  });
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

it('a retried record moves the authorisation\'s SCA status and writes the payment again, with one authorisation', async () => {
  const id = await newPayment();
  const init = initiation({ authorisationId: 'auth-1', scaApproach: 'DECOUPLED' });
  await sut.recordInitiation(id, init);
  const first = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
  await sut.recordInitiation(id, { ...init, status: { raw: 'ACTC', normalised: 'ACTC' }, authorisation: { ...init.authorisation!, scaStatus: { raw: 'started', normalised: 'started' } } });
  const payment = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
  expect(payment).toMatchObject({ transactionStatus: 'ACTC', rawTransactionStatus: 'ACTC', scaApproach: 'DECOUPLED', scaRedirectUrl: null, psuMessage: null });
  expect(payment.version).toBe(first.version + 1);
  expect(await ds.getRepository(PaymentAuthorisationEntity).findBy({ paymentId: id })).toEqual([
    expect.objectContaining({ authorisationId: 'auth-1', scaStatus: 'started', rawScaStatus: 'started', scaApproach: 'DECOUPLED' }),
  ]);
});

it('records an initiation without an authorisation (the bank created none yet)', async () => {
  const id = await newPayment();
  await sut.recordInitiation(id, { ...initiation(), scaApproach: 'REDIRECT', scaRedirectUrl: 'https://bank.example/sca', psuMessage: 'Approve in your app' });
  expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ scaApproach: 'REDIRECT', scaRedirectUrl: 'https://bank.example/sca', psuMessage: 'Approve in your app' });
  expect(await ds.getRepository(PaymentAuthorisationEntity).countBy({ paymentId: id })).toBe(0);
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

describe('recordStatusChange: history row, payment, authorisation and outbox event in one transaction', () => {
  const eventsOf = (id: string) => ds.query('SELECT type, payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at, id', [id]);

  it('an SCA status sets the payment and the authorisation (raw status kept), bumps the version and emits one event', async () => {
    const id = await newPayment();
    await sut.recordInitiation(id, initiation({ authorisationId: 'auth-1', scaApproach: 'DECOUPLED' }));
    const before = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
    await sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'auth-1' });
    const after = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
    expect(after.scaStatus).toBe('finalised');
    expect(after.transactionStatus).toBe('RCVD');
    expect(after.version).toBe(before.version + 1);
    expect(await ds.getRepository(PaymentAuthorisationEntity).findOneByOrFail({ paymentId: id, authorisationId: 'auth-1' })).toMatchObject({ scaStatus: 'finalised', rawScaStatus: 'FINALISED' });
    expect(await eventsOf(id)).toEqual([{ type: 'payment.sca_status_changed', payload: expect.objectContaining({ paymentId: id, authorisationId: 'auth-1', scaStatus: 'finalised' }) }]);
  });

  it('a transaction status sets status, raw status and reason; a retry of the same sequence number changes nothing', async () => {
    const id = await newPayment();
    await sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'transaction_status', status: 'RJCT', rawStatus: 'RJCT', reason: 'AM04' });
    const first = await ds.getRepository(PaymentEntity).findOneByOrFail({ id });
    expect(first).toMatchObject({ transactionStatus: 'RJCT', rawTransactionStatus: 'RJCT', statusReason: 'AM04' });
    // A retried activity may carry what the bank says now: the first write of seq 0 stands.
    await sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ transactionStatus: 'RJCT', version: first.version });
    expect((await sut.listEvents(id)).map((e) => e.status)).toEqual(['RJCT']);
    expect(await eventsOf(id)).toEqual([{ type: 'payment.status_changed', payload: expect.objectContaining({ transactionStatus: 'RJCT', statusReason: 'AM04', instructedAmount: { currency: 'EUR', amount: '1.00' } }) }]);
  });

  it('an initiation outcome is stored with its reason and emits no event of its own', async () => {
    const id = await newPayment();
    await sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'initiation_outcome', status: 'unknown', rawStatus: null, reason: 'HTTP 503' });
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ initiationOutcome: 'unknown', statusReason: 'HTTP 503', transactionStatus: 'RCVD' });
    expect(await eventsOf(id)).toEqual([]);
  });

  it('a payment that does not exist is an error, and nothing is written', async () => {
    const id = randomUUID();
    await expect(sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' })).rejects.toThrow();
    expect(await sut.listEvents(id)).toEqual([]);
  });
});

describe('recordReadAt: a status read recorded after the bank answered, checked in the same round trip', () => {
  const events = (id: string) => ds.query('SELECT seq, kind, status, raw_status FROM payment_events WHERE payment_id = $1 ORDER BY seq', [id]);
  const outbox = (id: string) => ds.query('SELECT dedupe_key, payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at, id', [id]);
  const acsp = (paymentId: string, seq = 0) => ({ paymentId, seq, kind: 'transaction_status' as const, status: 'ACSP', rawStatus: 'ACSP', reason: null });

  async function initiated(): Promise<{ id: string; bankPaymentId: string }> {
    const id = await newPayment();
    const init = initiation({ authorisationId: 'auth-1', scaApproach: 'DECOUPLED' });
    await sut.recordInitiation(id, init);
    return { id, bankPaymentId: init.bankPaymentId };
  }

  it('records the change with its event when the bank id is still the payment\'s', async () => {
    const { id, bankPaymentId } = await initiated();
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId, change: acsp(id) })).resolves.toEqual({ bankPaymentId });
    expect(await events(id)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACSP', raw_status: 'ACSP' }]);
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ transactionStatus: 'ACSP', rawTransactionStatus: 'ACSP' });
    expect(await outbox(id)).toEqual([{ dedupe_key: `payment:${id}:0`, payload: expect.objectContaining({ transactionStatus: 'ACSP' }) }]);
  });

  it('an SCA change moves the authorisation too', async () => {
    const { id, bankPaymentId } = await initiated();
    const change = { paymentId: id, seq: 0, kind: 'sca_status' as const, status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'auth-1' };
    await sut.recordReadAt(id, { seq: 0, kind: 'sca_status', bankPaymentId, change });
    expect(await ds.getRepository(PaymentAuthorisationEntity).findOneByOrFail({ paymentId: id, authorisationId: 'auth-1' })).toMatchObject({ scaStatus: 'finalised', rawScaStatus: 'FINALISED' });
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ scaStatus: 'finalised' });
  });

  it('a stale bank id records nothing, no event takes the sequence number\'s dedupe key, and the current id is told', async () => {
    const { id, bankPaymentId } = await initiated();
    // Another process gave the payment a new id (UK Open Banking: the consent became a payment).
    await new PaymentRepository(ds).recordBankPaymentId(id, 'bank-new');
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId, change: acsp(id) })).resolves.toEqual({ bankPaymentId: 'bank-new' });
    expect(await events(id)).toEqual([]);
    expect(await outbox(id)).toEqual([]);
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ transactionStatus: 'RCVD' });
    // The read made again with the current id records, and its event is delivered.
    await sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId: 'bank-new', change: { ...acsp(id), status: 'ACSC', rawStatus: 'ACSC' } });
    expect(await events(id)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACSC', raw_status: 'ACSC' }]);
    expect(await outbox(id)).toEqual([{ dedupe_key: `payment:${id}:0`, payload: expect.objectContaining({ transactionStatus: 'ACSC' }) }]);
  });

  it('a change a lost run recorded under the sequence number stands and is handed back; nothing is written again', async () => {
    const { id, bankPaymentId } = await initiated();
    await sut.recordStatusChange({ ...acsp(id), status: 'ACTC', rawStatus: 'ACTC' });
    const version = (await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).version;
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId, change: acsp(id) })).resolves.toEqual({
      bankPaymentId,
      recorded: { raw: 'ACTC', normalised: 'ACTC' },
    });
    // Without a change found (the bank's status is the workflow's), the lost run's is handed back too.
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId })).resolves.toEqual({ bankPaymentId, recorded: { raw: 'ACTC', normalised: 'ACTC' } });
    expect(await events(id)).toEqual([{ seq: 0, kind: 'transaction_status', status: 'ACTC', raw_status: 'ACTC' }]);
    expect((await outbox(id)).map((e: { payload: { transactionStatus: string } }) => e.payload.transactionStatus)).toEqual(['ACTC']);
    expect(await ds.getRepository(PaymentEntity).findOneByOrFail({ id })).toMatchObject({ transactionStatus: 'ACTC', version });
  });

  it('a change of the other kind under the sequence number is not handed back', async () => {
    const { id, bankPaymentId } = await initiated();
    await sut.recordStatusChange({ paymentId: id, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'auth-1' });
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId })).resolves.toEqual({ bankPaymentId });
  });

  it('without a change: reads the two facts and writes nothing', async () => {
    const { id, bankPaymentId } = await initiated();
    await expect(sut.recordReadAt(id, { seq: 3, kind: 'sca_status', bankPaymentId })).resolves.toEqual({ bankPaymentId });
    expect(await events(id)).toEqual([]);
    expect(await outbox(id)).toEqual([]);
  });

  it('a payment that does not exist: null without a change, an error with one, and nothing written', async () => {
    const id = randomUUID();
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId: 'b' })).resolves.toBeNull();
    await expect(sut.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId: 'b', change: acsp(id) })).rejects.toThrow(`Payment ${id} not found`);
    expect(await events(id)).toEqual([]);
    expect(await outbox(id)).toEqual([]);
  });

  it('refuses a change that is not the read\'s', async () => {
    const { id, bankPaymentId } = await initiated();
    await expect(sut.recordReadAt(id, { seq: 1, kind: 'transaction_status', bankPaymentId, change: acsp(id, 0) })).rejects.toThrow(RangeError);
    expect(await events(id)).toEqual([]);
  });
});

describe('recentlyRead: what this process remembers to address a payment at its bank', () => {
  it('is nothing before the payment was read, then its facts with the bank id this process last saw', async () => {
    const repo = new PaymentRepository(ds);
    const id = await newPayment();
    const init = initiation();
    await repo.recordInitiation(id, init);
    expect(repo.recentlyRead(id)).toBeUndefined();
    await repo.findById(id);
    expect(repo.recentlyRead(id)).toEqual({
      id,
      tenantId: expect.any(String),
      paymentService: 'payments',
      paymentProduct: 'sepa-credit-transfers',
      bicFi: 'SANDDEB0XXX',
      psuId: null,
      psuIpAddress: '192.0.2.1',
      bankPaymentId: init.bankPaymentId,
      body: { instructedAmount: { currency: 'EUR', amount: '1.00' } },
    });
    // Its own writes of a new bank id.
    await repo.recordInitiation(id, { ...init, bankPaymentId: 'bank-again' });
    expect(repo.recentlyRead(id)?.bankPaymentId).toBe('bank-again');
    await repo.recordBankPaymentId(id, 'bank-domestic');
    expect(repo.recentlyRead(id)?.bankPaymentId).toBe('bank-domestic');
    // Another process's, once a read's record saw it.
    await new PaymentRepository(ds).recordBankPaymentId(id, 'bank-elsewhere');
    expect(repo.recentlyRead(id)?.bankPaymentId).toBe('bank-domestic');
    await repo.recordReadAt(id, { seq: 0, kind: 'transaction_status', bankPaymentId: 'bank-domestic' });
    expect(repo.recentlyRead(id)?.bankPaymentId).toBe('bank-elsewhere');
  });

  it('is filled by a status record\'s own read of the facts too', async () => {
    const repo = new PaymentRepository(ds);
    const id = await newPayment();
    await repo.recordStatusChange({ paymentId: id, seq: 0, kind: 'transaction_status', status: 'ACTC', rawStatus: 'ACTC' });
    expect(repo.recentlyRead(id)).toMatchObject({ id, bicFi: 'SANDDEB0XXX', bankPaymentId: null });
  });
});
