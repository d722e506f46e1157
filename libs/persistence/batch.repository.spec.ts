import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createApiClient } from '../../test/support/factories';
import { BatchRepository, batchSinglePaymentId, emptyProgress, type NewBatch, type NewBatchTransaction } from './batch.repository';
import { createDataSource } from './data-source';

/** The batch repository on real PostgreSQL (this run's test database). */
let ds: DataSource;
let sut: BatchRepository;

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  sut = new BatchRepository(ds);
});
afterAll(() => ds?.destroy());

async function newBatch(transactions: number, overrides: Partial<NewBatchTransaction> = {}) {
  const client = await createApiClient(ds);
  const id = randomUUID();
  const batch: NewBatch = {
    id,
    tenantId: client.tenantId,
    clientId: client.clientId,
    msgId: `MSG-${id.slice(0, 8)}`,
    fileSha256: 'a'.repeat(64),
    painVersion: 'pain.001.001.09',
    requestId: randomUUID(),
    numberOfTransactions: transactions,
    numberOfPaymentInfos: 1,
    controlSum: `${transactions}.00`,
    totals: [{ currency: 'EUR', amount: `${transactions}.00`, numberOfTransactions: transactions }],
    psuId: 'decoupled',
    psuIpAddress: '192.0.2.10',
    clientRedirectUri: null,
    clientNokRedirectUri: null,
  };
  const info = {
    pmtInfIndex: 0, pmtInfId: 'PMT-NL', route: 'single' as const, bicFi: 'SANDNL2AXXX', paymentProduct: 'sepa-credit-transfers', paymentId: null,
    debtorIban: 'NL91ABNA0417164300', debtorName: null, requestedExecutionDate: '2026-12-01', batchBooking: null,
    numberOfTransactions: transactions, controlSum: `${transactions}.00`, totals: batch.totals,
  };
  const txs: NewBatchTransaction[] = Array.from({ length: transactions }, (_, i) => ({
    pmtInfIndex: 0, txIndex: i, endToEndId: `E2E-${i}`, instructionId: null, amount: '1.00', currency: 'EUR', amountMinor: '100',
    creditorName: 'Creditor', creditorIban: 'DE89370400440532013000', creditorAgentBic: null, remittanceInformation: `Invoice ${i}`,
    paymentId: batchSinglePaymentId(id, 0, i), ...overrides,
  }));
  return { batch, info, txs, client };
}

test('stores a file in one transaction: all of it, or nothing when a row fails; the same MsgId again stores nothing', async () => {
  const { batch, info, txs } = await newBatch(12_000);
  const first = await sut.insertOrGetExisting(batch, [info], txs);
  expect(first.created).toBe(true);
  const again = await sut.insertOrGetExisting({ ...batch, id: randomUUID(), fileSha256: 'b'.repeat(64) }, [info], txs);
  expect(again).toMatchObject({ created: false, batch: { id: batch.id, fileSha256: 'a'.repeat(64) } });
  const [{ n }] = await ds.query('SELECT count(*)::int AS n FROM batch_transactions WHERE batch_id = $1', [batch.id]);
  expect(n).toBe(12_000);

  // The last row breaks a column limit (EndToEndId is Max35Text): the batch row and the first 10,000 rows roll back with it.
  const bad = await newBatch(10_001);
  bad.txs[10_000]!.endToEndId = 'X'.repeat(36);
  await expect(sut.insertOrGetExisting(bad.batch, [bad.info], bad.txs)).rejects.toThrow();
  const rows = await ds.query('SELECT (SELECT count(*) FROM batches WHERE id = $1)::int + (SELECT count(*) FROM batch_transactions WHERE batch_id = $1)::int AS n', [bad.batch.id]);
  expect(rows[0].n).toBe(0);
});

test('single payments are made page by page, idempotently, and progress counts them', async () => {
  const { batch, info, txs } = await newBatch(5);
  await sut.insertOrGetExisting(batch, [info], txs);
  const page = await sut.prepareSinglePayments(batch.id, { pmtInfIndex: 0, txIndex: 0 }, 3);
  expect(page.payments.map((p) => p.paymentId)).toEqual([0, 1, 2].map((i) => batchSinglePaymentId(batch.id, 0, i)));
  expect(page.next).toEqual({ pmtInfIndex: 0, txIndex: 3 });
  expect(page.payments.map((p) => p.at)).toEqual([0, 1, 2].map((txIndex) => ({ pmtInfIndex: 0, txIndex })));
  const retried = await sut.prepareSinglePayments(batch.id, { pmtInfIndex: 0, txIndex: 0 }, 3);
  expect(retried).toEqual(page);
  const last = await sut.prepareSinglePayments(batch.id, page.next!, 3);
  expect(last.payments).toHaveLength(2);
  expect(last.next).toBeNull();
  const [{ n }] = await ds.query('SELECT count(*)::int AS n FROM payments WHERE id = ANY ($1::uuid[])', [txs.map((t) => t.paymentId)]);
  expect(n).toBe(5);
  await ds.query(`UPDATE payments SET transaction_status = 'ACSC', bank_payment_id = 'b1' WHERE id = $1`, [txs[0]!.paymentId]);
  await ds.query(`UPDATE payments SET transaction_status = 'RJCT', bank_payment_id = 'b2' WHERE id = $1`, [txs[1]!.paymentId]);
  await ds.query(`UPDATE payments SET bank_payment_id = 'b3' WHERE id = $1`, [txs[2]!.paymentId]);
  expect((await sut.progress(batch.id)).get(0)).toEqual({ ...emptyProgress(5), settled: 1, rejected: 1, awaitingSca: 1, received: 2 });
  // Scoped by tenant: another tenant sees nothing.
  expect((await sut.progressForTenant('someone-else', batch.id)).size).toBe(0);
});

test('status changes go forward with one outbox event each; the final one adds batch.completed, once', async () => {
  const { batch, info, txs } = await newBatch(2);
  await sut.insertOrGetExisting(batch, [info], txs);
  const progress = { ...emptyProgress(2), settled: 2 };
  await sut.recordStatus({ batchId: batch.id, status: 'processing', progress });
  await sut.recordStatus({ batchId: batch.id, status: 'processing', progress });
  await sut.recordStatus({ batchId: batch.id, status: 'completed', progress });
  await sut.recordStatus({ batchId: batch.id, status: 'completed', progress });
  const events: { type: string; payload: Record<string, unknown> }[] = await ds.query('SELECT type, payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at, type', [batch.id]);
  expect(events.map((e) => [e.type, e.payload.status])).toEqual([
    ['batch.status_changed', 'processing'],
    ['batch.completed', 'completed'],
    ['batch.status_changed', 'completed'],
  ]);
  expect(JSON.stringify(events)).not.toMatch(/NL91|DE89|Creditor|Invoice/);
  expect((await sut.findById(batch.id))!.completedAt).toBeInstanceOf(Date);
});

test('cancel: from the cursor on nothing is ever started (a made page becomes CANC, the rest are marked); started ones stay; idempotent; the open children are listed', async () => {
  const { batch, info, txs, client } = await newBatch(6);
  await sut.insertOrGetExisting(batch, [info], txs);
  const started = await sut.prepareSinglePayments(batch.id, { pmtInfIndex: 0, txIndex: 0 }, 2); // 0, 1: started by the workflow
  await sut.prepareSinglePayments(batch.id, started.next!, 2); // 2, 3: made as the cancel came, never started
  await ds.query(`UPDATE payments SET bank_payment_id = 'b0' WHERE id = $1`, [txs[0]!.paymentId]); // awaiting SCA
  await ds.query(`UPDATE payments SET transaction_status = 'ACSC', bank_payment_id = 'b1' WHERE id = $1`, [txs[1]!.paymentId]);

  expect(await sut.cancelUnstarted(batch.id, started.next)).toEqual({ unstarted: 4 });
  expect(await sut.cancelUnstarted(batch.id, started.next)).toEqual({ unstarted: 4 });
  expect((await sut.findById(batch.id))!.cancelRequestedAt).toBeInstanceOf(Date);
  const statuses: { id: string; transaction_status: string }[] = await ds.query('SELECT id, transaction_status FROM payments WHERE id = ANY ($1::uuid[]) ORDER BY id', [txs.map((t) => t.paymentId)]);
  expect(new Map(statuses.map((p) => [p.id, p.transaction_status]))).toEqual(
    new Map([[txs[0]!.paymentId!, 'RCVD'], [txs[1]!.paymentId!, 'ACSC'], [txs[2]!.paymentId!, 'CANC'], [txs[3]!.paymentId!, 'CANC']]),
  );
  expect((await sut.progress(batch.id)).get(0)).toEqual({ ...emptyProgress(6), awaitingSca: 1, settled: 1, cancelled: 4 });
  expect(await sut.openChildrenForTenant(client.tenantId, batch.id)).toEqual([{ kind: 'single', paymentId: txs[0]!.paymentId }]);
  expect(await sut.openChildrenForTenant('someone-else', batch.id)).toEqual([]);
  const listed = await sut.singlePaymentsForTenant(client.tenantId, batch.id, 0, { limit: 10 });
  expect(listed.map((p) => p.transactionStatus)).toEqual(['RCVD', 'ACSC', 'CANC', 'CANC', 'CANC', 'CANC']);
});
