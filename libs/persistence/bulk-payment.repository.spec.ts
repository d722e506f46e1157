import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createApiClient } from '../../test/support/factories';
import { BulkPaymentRepository, type NewBulkPayment, type NewBulkTransaction } from './bulk-payment.repository';
import { createDataSource } from './data-source';
import { DirectoryRepository } from './directory.repository';

/** Bulk payments against real PostgreSQL (the test database of this run). */
let ds: DataSource;
let sut: BulkPaymentRepository;

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  sut = new BulkPaymentRepository(ds);
});
afterAll(() => ds?.destroy());

function transactions(n: number, amount = (i: number) => `${1 + (i % 50)}.${String(i % 100).padStart(2, '0')}`): NewBulkTransaction[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    endToEndId: `E2E-${i}`,
    amount: amount(i),
    currency: 'EUR',
    creditorName: `Creditor ${i}`,
    creditorIban: 'NL91ABNA0417164300',
    remittanceInformationUnstructured: `Invoice ${i}`,
  }));
}

function bulkOf(tenantId: string, clientId: string, txs: NewBulkTransaction[], extra: Partial<NewBulkPayment> = {}): NewBulkPayment {
  const sum = txs.reduce((s, t) => s + BigInt(t.amount.replace('.', '')), 0n);
  return {
    id: randomUUID(),
    tenantId,
    clientId,
    requestId: randomUUID(),
    bicFi: 'SANDDEB0XXX',
    paymentProduct: 'sepa-credit-transfers',
    debtorIban: 'DE89370400440532013000',
    currency: 'EUR',
    numberOfTransactions: txs.length,
    controlSum: `${sum / 100n}.${String(sum % 100n).padStart(2, '0')}`,
    ...extra,
  };
}

test('stores 10,000 transactions in one transaction and counts them by status', async () => {
  const client = await createApiClient(ds);
  const txs = transactions(10_000);
  const started = Date.now();
  const { bulk, created } = await sut.create(bulkOf(client.tenantId, client.clientId, txs), txs);
  const tookMs = Date.now() - started;
  expect(created).toBe(true);
  expect(bulk.transactionStatus).toBe('RCVD');
  // Generous on a loaded machine, but row-by-row inserts would take far longer.
  expect(tookMs).toBeLessThan(30_000);
  const progress = await sut.progress(bulk.id);
  expect(progress.byStatus.RCVD?.count).toBe(10_000);
  expect(progress.byStatus.RCVD?.amount).toBe(bulk.controlSum);

  const page = await sut.listTransactions(bulk.id, { afterIndex: 4_999, limit: 2 });
  expect(page.map((t) => [t.index, t.endToEndId, t.amount])).toEqual([
    [5000, 'E2E-5000', '1.00'],
    [5001, 'E2E-5001', '2.01'],
  ]);
  let streamed = 0;
  for await (const t of sut.streamTransactions(bulk.id, 3_000)) expect(t.index).toBe(streamed++);
  expect(streamed).toBe(10_000);
});

test('the same X-Request-ID returns the stored bulk and writes nothing', async () => {
  const client = await createApiClient(ds);
  const txs = transactions(3);
  const first = await sut.create(bulkOf(client.tenantId, client.clientId, txs), txs);
  const again = await sut.create(bulkOf(client.tenantId, client.clientId, transactions(2), { requestId: first.bulk.requestId }), transactions(2));
  expect(again).toMatchObject({ created: false, bulk: { id: first.bulk.id, numberOfTransactions: 3 } });
  expect((await sut.listTransactions(first.bulk.id)).length).toBe(3);
});

test('a batch storing the same bulk again (same id, no X-Request-ID) gets the stored one back', async () => {
  const client = await createApiClient(ds);
  const txs = transactions(2);
  const bulk = bulkOf(client.tenantId, client.clientId, txs, { requestId: null, batchId: randomUUID(), pmtInfId: 'PMT-1' });
  expect((await sut.create(bulk, txs)).created).toBe(true);
  const again = await sut.create(bulk, txs);
  expect(again).toMatchObject({ created: false, bulk: { id: bulk.id, pmtInfId: 'PMT-1' } });
  expect(await sut.listTransactions(bulk.id)).toHaveLength(2);
});

test('a failing transaction row leaves nothing stored', async () => {
  const client = await createApiClient(ds);
  const txs = transactions(3);
  txs[2]!.amount = '-1.00'; // violates the CHECK
  const bulk = bulkOf(client.tenantId, client.clientId, txs);
  await expect(sut.create(bulk, txs)).rejects.toThrow();
  expect(await sut.findById(bulk.id)).toBeNull();
});

test('per-transaction and open-transaction status updates, and progress per batch', async () => {
  const client = await createApiClient(ds);
  const batchId = randomUUID();
  const a = transactions(4);
  const b = transactions(2);
  const bulkA = (await sut.create(bulkOf(client.tenantId, client.clientId, a, { batchId, pmtInfId: 'PMT-A' }), a)).bulk;
  const bulkB = (await sut.create(bulkOf(client.tenantId, client.clientId, b, { batchId, pmtInfId: 'PMT-B', requestId: null }), b)).bulk;

  expect(await sut.setTransactionStatuses(bulkA.id, [{ index: 1, status: 'RJCT', rawStatus: 'RJCT', reasonCode: 'AM04' }])).toBe(1);
  // Idempotent: the same update again changes nothing.
  expect(await sut.setTransactionStatuses(bulkA.id, [{ index: 1, status: 'RJCT', rawStatus: 'RJCT', reasonCode: 'AM04' }])).toBe(0);
  // A bulk-level ACSC settles every open transaction, never the rejected one.
  expect(await sut.setOpenTransactionStatuses(bulkA.id, { raw: 'ACSC', normalised: 'ACSC' })).toBe(3);
  const rejected = (await sut.listTransactions(bulkA.id)).find((t) => t.index === 1)!;
  expect([rejected.transactionStatus, rejected.reasonCode]).toEqual(['RJCT', 'AM04']);

  const progress = await sut.progressByBatch(batchId);
  const byBulk = Object.fromEntries(progress.map((p) => [p.bulkPaymentId, p.byStatus]));
  expect(byBulk[bulkA.id]).toEqual({ ACSC: { count: 3, amount: expect.any(String) }, RJCT: { count: 1, amount: '2.01' } });
  expect(byBulk[bulkB.id]).toEqual({ RCVD: { count: 2, amount: '3.01' } });
  expect((await sut.listByBatch(batchId)).map((x) => x.pmtInfId).sort()).toEqual(['PMT-A', 'PMT-B']);
});

test("a bank's per-transaction report is matched by EndToEndId within the bulk, its last entry counting, and read back as stored", async () => {
  const client = await createApiClient(ds);
  const a = transactions(3);
  const b = transactions(3); // the same EndToEndIds in another bulk: untouched
  const bulkA = (await sut.create(bulkOf(client.tenantId, client.clientId, a), a)).bulk;
  const bulkB = (await sut.create(bulkOf(client.tenantId, client.clientId, b), b)).bulk;

  const report = [
    { endToEndId: 'E2E-0', status: 'ACSC' as const, rawStatus: 'ACSC' },
    { endToEndId: 'E2E-2', status: 'ACSP' as const, rawStatus: 'ACSP' },
    { endToEndId: 'E2E-2', status: 'RJCT' as const, rawStatus: 'RJCT', reasonCode: 'AM04' },
    { endToEndId: 'E2E-UNKNOWN', status: 'ACSC' as const, rawStatus: 'ACSC' },
  ];
  expect(await sut.setTransactionStatusesByEndToEndId(bulkA.id, report)).toBe(2);
  expect(await sut.setTransactionStatusesByEndToEndId(bulkA.id, report)).toBe(0);

  const rows = await sut.listTransactions(bulkA.id);
  expect(rows.map((t) => [t.index, t.endToEndId, t.transactionStatus, t.reasonCode])).toEqual([
    [0, 'E2E-0', 'ACSC', null],
    [1, 'E2E-1', 'RCVD', null],
    [2, 'E2E-2', 'RJCT', 'AM04'],
  ]);
  // Read with plain SQL, in the entity's shape: amounts as the decimal strings stored.
  expect(rows[1]).toMatchObject({ bulkPaymentId: bulkA.id, amount: a[1]!.amount, currency: 'EUR', creditorName: 'Creditor 1', creditorIban: 'NL91ABNA0417164300', creditorAgent: null, creditorAddress: null, remittanceInformationUnstructured: 'Invoice 1' });
  expect((await sut.listTransactions(bulkB.id)).map((t) => t.transactionStatus)).toEqual(['RCVD', 'RCVD', 'RCVD']);
});

test('a status change is recorded once per seq, with its transactions and one outbox event without IBANs', async () => {
  const client = await createApiClient(ds);
  const txs = transactions(3);
  const bulk = (await sut.create(bulkOf(client.tenantId, client.clientId, txs), txs)).bulk;
  const change = { bulkPaymentId: bulk.id, seq: 0, kind: 'transaction_status' as const, status: 'ACSP', rawStatus: 'ACSP' };
  await sut.recordStatusChange(change, { open: { raw: 'ACSP', normalised: 'ACSP' } });
  await sut.recordStatusChange({ ...change, status: 'RJCT' }, { open: { raw: 'RJCT', normalised: 'RJCT' } }); // a replay of seq 0
  expect((await sut.findById(bulk.id))!.transactionStatus).toBe('ACSP');
  expect((await sut.progress(bulk.id)).byStatus).toEqual({ ACSP: { count: 3, amount: bulk.controlSum } });
  const events: { type: string; payload: Record<string, unknown> }[] = await ds.query(`SELECT type, payload FROM domain_events WHERE subject_id = $1`, [bulk.id]);
  expect(events).toEqual([
    {
      type: 'bulk_payment.status_changed',
      payload: expect.objectContaining({ paymentId: bulk.id, transactionStatus: 'ACSP', transactionCounts: { ACSP: 3 }, numberOfTransactions: 3 }),
    },
  ]);
  expect(JSON.stringify(events)).not.toMatch(/NL91|DE89|Creditor/);
});

test('the directory knows which banks offer bulk payments', async () => {
  const directory = new DirectoryRepository(ds);
  expect(await directory.bulkPaymentOffer('SANDDEB0XXX')).toEqual({
    offered: true,
    products: ['sepa-credit-transfers', 'instant-sepa-credit-transfers', 'pain.001-sepa-credit-transfers', 'pain.001-instant-sepa-credit-transfers'],
  });
  expect(await directory.bulkPaymentOffer('SANDNL2AXXX')).toEqual({ offered: false, products: [] });
  expect(await directory.bulkPaymentOffer('NOPEDEFFXXX')).toBeUndefined();
  const nl = await directory.findAspsp('SANDNL2AXXX');
  expect(nl).toMatchObject({ isoCountryCode: 'NL', isSandbox: true, sandboxPath: '/nl', paymentProducts: ['sepa-credit-transfers', 'instant-sepa-credit-transfers'] });
});
