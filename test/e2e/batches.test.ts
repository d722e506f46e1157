import { randomUUID } from 'node:crypto';
import { defaultAmount, validateXsd, type GeneratePain001Spec } from '../../libs/iso20022';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { batchWorkflowId } from '../../workflows/batch.api';
import { eventually, TestStack } from '../support/stack';
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
  stack = await TestStack.start({ env: { BATCH_PROGRESS_INTERVAL_MS: '300' } });
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
});
