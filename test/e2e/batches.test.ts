import { randomUUID } from 'node:crypto';
import { defaultAmount, validateXsd, type GeneratePain001Spec } from '../../libs/iso20022';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { batchWorkflowId } from '../../workflows/batch.api';
import { eventually, TestStack } from '../support/stack';
import { patchesOf } from '../support/history-fixtures';
import type { TestClient } from '../support/factories';

/**
 * Batches through HTTP: a pain.001 upload → API → batch workflow → bulk and single payment
 * workflows → sandbox banks over HTTP, on the real Temporal dev server and PostgreSQL.
 */
jest.setTimeout(180_000);

let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  // At most 4 children at once: the cancel case below has singles the batch has not started yet.
  stack = await TestStack.start({ env: { BATCH_PROGRESS_INTERVAL_MS: '300', BATCH_CONCURRENCY: '4' } });
  client = await stack.newClient();
  token = await stack.token(client);
});
afterAll(() => stack?.close());

const DEBTOR_DE = 'DE89370400440532013000';

function spec(msgId: string, overrides: Partial<GeneratePain001Spec> = {}): GeneratePain001Spec {
  return {
    version: 'pain.001.001.09',
    msgId,
    paymentInformations: [{ pmtInfId: 'PMT-DE', debtorIban: DEBTOR_DE, debtorAgentBic: 'SANDDEB0XXX', transactions: 5 }],
    ...overrides,
  };
}

async function upload(body: Buffer | string, headers: Record<string, string> = {}, as = token) {
  const res = await fetch(`${stack.baseUrl}/batches/v1/batches`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${as}`,
      'X-Request-ID': randomUUID(),
      'Content-Type': 'application/xml',
      'PSU-IP-Address': '192.0.2.10',
      'PSU-ID': 'decoupled',
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function get(path: string, as = token) {
  return stack.call('GET', path, { token: as });
}

async function final(batchId: string) {
  return eventually(async () => {
    const res = await get(`/batches/v1/batches/${batchId}`);
    return ['completed', 'partially_completed', 'rejected', 'cancelled'].includes(res.body.status) && res.body;
  }, 150_000, 500);
}

const DEBTOR_NL = 'NL91ABNA0417164300';

it('a run across two banks (a bulk at SANDDEB0XXX with an AM04 rejection, singles at SANDNL2AXXX), decoupled SCA: partially_completed with a pain.002 for every transaction', async () => {
  const msgId = `MSG-E2E-${randomUUID().slice(0, 8)}`;
  const res = await upload(
    await pain001Bytes(
      spec(msgId, {
        paymentInformations: [
          { pmtInfId: 'PMT-DE', debtorIban: DEBTOR_DE, debtorAgentBic: 'SANDDEB0XXX', transactions: 6, amount: (i) => (i === 2 ? '10.13' : defaultAmount(i)) },
          { pmtInfId: 'PMT-NL', debtorIban: DEBTOR_NL, transactions: 3 },
        ],
      }),
    ),
  );
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    msgId,
    numberOfTransactions: 9,
    bulks: [
      { pmtInfId: 'PMT-DE', route: 'bulk', bicFi: 'SANDDEB0XXX', numberOfTransactions: 6, scaApproach: 'DECOUPLED', psuMessage: expect.any(String) },
      { pmtInfId: 'PMT-NL', route: 'single', bicFi: 'SANDNL2AXXX', numberOfTransactions: 3, payments: { count: 3 } },
    ],
  });
  const batchId = res.body.batchId as string;

  const done = await final(batchId);
  expect(done).toMatchObject({ status: 'partially_completed', progress: { total: 9, settled: 8, rejected: 1 } });
  expect(done.bulks[0]).toMatchObject({ transactionStatus: 'PATC', progress: { settled: 5, rejected: 1 } });
  expect(done.bulks[1]).toMatchObject({ progress: { settled: 3 } });

  const singles = await get(`/batches/v1/batches/${batchId}/payments?pmtInfId=PMT-NL&limit=2`);
  expect(singles.body.payments).toHaveLength(2);
  const rest = await get(singles.body._links.next.href);
  expect(rest.body.payments).toHaveLength(1);
  expect(rest.body._links.next).toBeUndefined();

  const report = await fetch(`${stack.baseUrl}/batches/v1/batches/${batchId}/report`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID() } });
  expect(report.status).toBe(200);
  const xml = await report.text();
  expect((await validateXsd(xml, 'pain.002.001.10')).valid).toBe(true);
  expect(xml).toContain(`<OrgnlMsgId>${msgId}</OrgnlMsgId>`);
  expect(xml.match(/<TxInfAndSts>/g)).toHaveLength(9);
  expect(xml.match(/<TxSts>RJCT<\/TxSts>/g)).toHaveLength(1);
  expect(xml).toMatch(/<TxSts>RJCT<\/TxSts><StsRsnInf><Rsn><Cd>AM04<\/Cd>/);

  const desc = await stack.temporal.workflow.getHandle(batchWorkflowId(batchId)).describe();
  expect(desc.status.name).toBe('COMPLETED');
  const family: string[] = [];
  for await (const wf of stack.temporal.workflow.list({ query: `BatchId = "${batchId}"` })) family.push(wf.workflowId);
  expect(family.sort()).toEqual([`batch-${batchId}`, `bulk-${done.bulks[0].paymentId}`, ...rest.body.payments.concat(singles.body.payments).map((p: { paymentId: string }) => `payment-${p.paymentId}`)].sort());
  // The batch names the payments' patch gate when it starts them: no patch marker in a single's history.
  const single = await stack.temporal.workflow.getHandle(`payment-${singles.body.payments[0].paymentId}`).fetchHistory();
  expect(patchesOf(single)).toEqual([]);
});

it('cancel: a bulk and singles awaiting redirect SCA are cancelled at the banks, singles not started never are; cancelled, with its event; 409 once final; 404 for another tenant', async () => {
  const msgId = `MSG-E2E-CANC-${randomUUID().slice(0, 8)}`;
  const res = await upload(
    await pain001Bytes(
      spec(msgId, {
        paymentInformations: [
          { pmtInfId: 'PMT-DE', debtorIban: DEBTOR_DE, debtorAgentBic: 'SANDDEB0XXX', transactions: 3 },
          { pmtInfId: 'PMT-NL', debtorIban: DEBTOR_NL, transactions: 6 },
        ],
      }),
    ),
    { 'PSU-ID': 'psu-batch-cancel', 'TPP-Redirect-URI': 'https://erp.example/batch/done' },
  );
  expect(res.status).toBe(201);
  const batchId = res.body.batchId as string;
  // The bulk and 3 singles (4 at once) wait for a PSU who never comes; 3 singles wait for room.
  await eventually(async () => {
    const b = (await get(`/batches/v1/batches/${batchId}`)).body;
    return b.progress.awaitingSca === 6 && b.progress.received === 3;
  }, 30_000, 200);

  const other = await stack.token(await stack.newClient());
  expect((await stack.call('DELETE', `/batches/v1/batches/${batchId}`, { token: other })).status).toBe(404);

  // A single made ahead (its page was made whole) but not started: its own DELETE says so, and names the batch's.
  const listed = (await get(`/batches/v1/batches/${batchId}/payments?pmtInfId=PMT-NL`)).body.payments.map((p: { paymentId: string }) => p.paymentId);
  const [waiting] = await stack.dataSource.query(`SELECT id FROM payments WHERE id = ANY ($1::uuid[]) AND bank_payment_id IS NULL LIMIT 1`, [listed]);
  const early = await stack.call('DELETE', `/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${waiting.id}`, { token, headers: { 'X-BicFi': 'SANDNL2AXXX' } });
  expect(early.status).toBe(405);
  expect(early.body.tppMessages[0]).toMatchObject({ code: 'CANCELLATION_INVALID', text: expect.stringContaining('has not been started yet') });

  const cancel = await stack.call('DELETE', `/batches/v1/batches/${batchId}`, { token });
  expect(cancel.status).toBe(202);
  expect(cancel.body).toMatchObject({ batchId, cancellationRequestedAt: expect.any(String), cancellation: { unstarted: 3, cancelled: 4, awaitingCancellationAuthorisation: [], notCancelled: [] } });
  expect(cancel.body.progress).toMatchObject({ total: 9, cancelled: 9 });

  const done = await final(batchId);
  expect(done).toMatchObject({ status: 'cancelled', progress: { total: 9, cancelled: 9, settled: 0 }, statusReason: expect.stringContaining('Cancelled by the TPP') });
  expect(done.bulks[0]).toMatchObject({ transactionStatus: 'CANC' });
  const singles = await get(`/batches/v1/batches/${batchId}/payments?pmtInfId=PMT-NL`);
  expect(singles.body.payments.map((p: { transactionStatus: string }) => p.transactionStatus)).toEqual(Array(6).fill('CANC'));
  // Only the 3 started singles were sent to the bank. The page made ahead (of the batch's page
  // size, 100) holds the 3 others too: made, never started, cancelled with the reason saying so.
  const ids = singles.body.payments.map((p: { paymentId: string }) => p.paymentId);
  const rows: { sent: boolean; status_reason: string | null }[] = await stack.dataSource.query(
    `SELECT bank_payment_id IS NOT NULL AS sent, status_reason FROM payments WHERE id = ANY ($1::uuid[]) ORDER BY sent`,
    [ids],
  );
  expect(rows.map((r) => r.sent)).toEqual([false, false, false, true, true, true]);
  expect(rows.slice(0, 3).map((r) => r.status_reason)).toEqual(Array(3).fill('Batch cancelled by the TPP before this payment was started'));
  const family: string[] = [];
  for await (const wf of stack.temporal.workflow.list({ query: `BatchId = "${batchId}"` })) family.push(wf.workflowId);
  expect(family).toHaveLength(1 + 1 + 3);
  const [event] = await stack.dataSource.query(`SELECT payload FROM domain_events WHERE type = 'batch.completed' AND subject_id = $1`, [batchId]);
  expect(event.payload).toMatchObject({ batchId, status: 'cancelled', progress: { cancelled: 9 }, statusReason: expect.stringContaining('Cancelled by the TPP') });

  const again = await stack.call('DELETE', `/batches/v1/batches/${batchId}`, { token });
  expect(again.status).toBe(409);
  expect(again.body.tppMessages[0]).toMatchObject({ category: 'ERROR', code: 'STATUS_INVALID' });
});

describe('duplicates', () => {
  it('the same file again from the same tenant is the same batch (200); another file under that MsgId is 409; another tenant has its own', async () => {
    const msgId = `MSG-DUP-${randomUUID().slice(0, 8)}`;
    const file = await pain001Bytes(spec(msgId, { paymentInformations: [{ pmtInfId: 'PMT-NL', debtorIban: DEBTOR_NL, transactions: 2 }] }));
    const first = await upload(file);
    expect(first.status).toBe(201);
    const again = await upload(file);
    expect(again.status).toBe(200);
    expect(again.body.batchId).toBe(first.body.batchId);

    const other = await upload(await pain001Bytes(spec(msgId, { paymentInformations: [{ pmtInfId: 'PMT-NL', debtorIban: DEBTOR_NL, transactions: 3 }] })));
    expect(other.status).toBe(409);
    expect(other.body.tppMessages[0]).toMatchObject({ code: 'PARAMETER_NOT_CONSISTENT', path: 'GrpHdr.MsgId' });

    const count = await stack.dataSource.query('SELECT count(*)::int AS n FROM batches WHERE msg_id = $1', [msgId]);
    expect(count[0].n).toBe(1);

    const otherTenant = await stack.newClient();
    const theirs = await upload(file, {}, await stack.token(otherTenant));
    expect(theirs.status).toBe(201);
    expect(theirs.body.batchId).not.toBe(first.body.batchId);
    await final(first.body.batchId);
  });
});

describe('bad files: 4xx naming the element, nothing stored', () => {
  async function stored(msgId: string): Promise<number> {
    const [row] = await stack.dataSource.query(
      `SELECT (SELECT count(*) FROM batches WHERE msg_id = $1)::int + (SELECT count(*) FROM bulk_payments bp JOIN batches b ON b.id = bp.batch_id WHERE b.msg_id = $1)::int AS n`,
      [msgId],
    );
    return row.n;
  }

  it.each([
    ['malformed XML', { truncateAt: { pmtInf: 0, tx: 2 } }, 'Document'],
    ['XSD-invalid', { unexpectedElementAt: { pmtInf: 0, tx: 1 } }, 'PmtInf[0].CdtTrfTxInf[1]'],
    ['a wrong control sum', { groupCtrlSum: '1000.00' }, 'GrpHdr.CtrlSum'],
    ['a bad IBAN', { badIbanAt: { pmtInf: 0, tx: 3 } }, 'PmtInf[0].CdtTrfTxInf[3].CdtrAcct.Id.IBAN'],
    ['a duplicate EndToEndId', { duplicateEndToEndIdAt: { pmtInf: 0, tx: 2 } }, 'PmtInf[0].CdtTrfTxInf[2].PmtId.EndToEndId'],
  ])('%s → 400', async (_what, faults, path) => {
    const msgId = `MSG-BAD-${randomUUID().slice(0, 8)}`;
    const res = await upload(await pain001Bytes(spec(msgId, { faults })));
    expect(res.status).toBe(400);
    expect(res.body.tppMessages.length).toBeGreaterThan(0);
    expect(res.body.tppMessages.map((m: { path: string }) => m.path).join(' ')).toContain(path);
    expect(await stored(msgId)).toBe(0);
  });

  it('a bank Clearway does not reach → 400 naming DbtrAgt; nothing stored', async () => {
    const msgId = `MSG-BAD-${randomUUID().slice(0, 8)}`;
    const res = await upload(await pain001Bytes(spec(msgId, { paymentInformations: [{ pmtInfId: 'P', debtorIban: DEBTOR_DE, debtorAgentBic: 'COBADEFFXXX', transactions: 2 }] })));
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'PmtInf[0].DbtrAgt.FinInstnId.BICFI' });
    expect(await stored(msgId)).toBe(0);
  });

  it('a 60 MB file → 413 with tppMessages, before it is read', async () => {
    const big = Buffer.alloc(60 * 1024 * 1024, 0x20);
    const res = await upload(big);
    expect(res.status).toBe(413);
    expect(res.body.tppMessages[0]).toMatchObject({ category: 'ERROR', code: 'FORMAT_ERROR' });
  });

  it('a 60 MB upload without Content-Length (chunked) → 413 once 50 MB are in', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 60) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${stack.baseUrl}/batches/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'Content-Type': 'application/xml', 'PSU-IP-Address': '192.0.2.10' },
      body,
      duplex: 'half',
    } as RequestInit).catch((err: { cause?: unknown }) => err);
    // Either the 413 arrives, or the server closed the connection on the unread rest after answering it.
    if (!(res instanceof Response)) expect(String((res as { cause?: unknown }).cause ?? res)).toMatch(/EPIPE|ECONNRESET|other side closed|SocketError|terminated/);
    else {
      expect(res.status).toBe(413);
      expect(((await res.json()) as { tppMessages: unknown[] }).tppMessages).toHaveLength(1);
    }
  });

  it('not XML → 415; no PSU-IP-Address → 400; no token → 401; a token without paymentinitiation → 403', async () => {
    expect((await upload('{}', { 'Content-Type': 'application/json' })).status).toBe(415);
    const noIp = await fetch(`${stack.baseUrl}/batches/v1/batches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'Content-Type': 'application/xml' },
      body: '<x/>',
    });
    expect(noIp.status).toBe(400);
    expect((await fetch(`${stack.baseUrl}/batches/v1/batches`, { headers: { 'X-Request-ID': randomUUID() } })).status).toBe(401);
    const aisToken = await stack.token(client, 'accountinformation private');
    expect((await get('/batches/v1/batches', aisToken)).status).toBe(403);
  });
});
