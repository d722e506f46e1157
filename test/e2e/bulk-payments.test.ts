import { randomUUID } from 'node:crypto';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { validateXsd } from '../../libs/iso20022/xsd';
import { BulkPaymentRepository } from '../../libs/persistence/bulk-payment.repository';
import { bulkInitiationRequestId } from '../../activities/bulk-payment.activities';
import { bulkPaymentStateQuery, bulkPaymentWorkflowId } from '../../workflows/bulk-payment.api';
import type { TestClient } from '../support/factories';
import { pressScaButton } from '../support/payments';
import { eventually, TestStack } from '../support/stack';

/**
 * Bulk payments end to end: HTTP → NestJS → Temporal (dev server) → worker → Berlin Group adapter
 * → sandbox bank over HTTP, PostgreSQL underneath; JSON responses checked against the OPE contract.
 */
const BULK = '/psd2/paymentinitiation/v1/bulk-payments';
const BIC = 'SANDDEB0XXX';
let stack: TestStack;
let client: TestClient;
let token: string;
let repo: BulkPaymentRepository;

beforeAll(async () => {
  stack = await TestStack.start();
  client = await stack.newClient();
  token = await stack.token(client);
  repo = new BulkPaymentRepository(stack.dataSource);
}, 120_000);
afterAll(() => stack?.close());

function bulkBody(amounts: string[], extra: Record<string, unknown> = {}) {
  return {
    batchBookingPreferred: true,
    debtorAccount: { iban: 'DE89370400440532013000' },
    requestedExecutionDate: '2026-11-30',
    payments: amounts.map((amount, i) => ({
      endToEndIdentification: `INV-${i}`,
      instructedAmount: { currency: 'EUR', amount },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: `Supplier ${i}`,
      remittanceInformationUnstructured: `Invoice ${i}`,
    })),
    ...extra,
  };
}

const headers = (extra: Record<string, string> = {}) => ({ 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.10', ...extra });

async function statusReport(product: string, id: string): Promise<{ status: number; type: string | null; xml: string }> {
  const res = await fetch(`${stack.baseUrl}${BULK}/${product}/${id}/status`, {
    headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'X-BicFi': BIC, Accept: 'application/xml' },
  });
  return { status: res.status, type: res.headers.get('content-type'), xml: await res.text() };
}

const txStatuses = (xml: string) =>
  [...xml.matchAll(/<TxInfAndSts>(?:<OrgnlInstrId>[^<]*<\/OrgnlInstrId>)?<OrgnlEndToEndId>([^<]+)<\/OrgnlEndToEndId><TxSts>([A-Z]{4})<\/TxSts>(?:<StsRsnInf><Rsn><Cd>([A-Z0-9]+)<\/Cd>)?/g)].map((m) => [m[1], m[2], m[3]]);

async function finalBulk(id: string) {
  const handle = stack.temporal.workflow.getHandle(bulkPaymentWorkflowId(id));
  return eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? handle : undefined), 60_000, 250);
}

test('JSON bulk: one redirect SCA for all, PATC with a cents-13 transaction rejected AM04, pain.002 XSD-valid', async () => {
  const created = await stack.call('POST', `${BULK}/sepa-credit-transfers`, {
    token,
    headers: headers({ 'TPP-Redirect-URI': 'https://erp.example/bulk/done' }),
    body: bulkBody(['100.00', '20.13', '30.50']),
  });
  expect(created.status).toBe(201);
  const id: string = created.body.paymentId;
  expect(created.headers.get('location')).toBe(`${BULK}/sepa-credit-transfers/${id}`);
  expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
  expect(created.body._links.scaRedirect.href).toContain('/sca/bulk-payments/');

  const { page, bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'approve');
  expect(page).toContain('<dd id="count">3</dd>');
  expect(page).toContain('<dd id="total">150.63 EUR</dd>');
  expect(bankRedirect.startsWith(`${stack.baseUrl}/callbacks/bulk-payments/${id}/sca`)).toBe(true);
  const back = await fetch(bankRedirect, { redirect: 'manual' });
  expect([back.status, back.headers.get('location')]).toEqual([302, 'https://erp.example/bulk/done']);

  const handle = await finalBulk(id);
  expect(await handle.query(bulkPaymentStateQuery)).toMatchObject({ transactionStatus: 'PATC', counts: { ACSC: 2, RJCT: 1 }, allTransactionsFinal: true });

  const status = await stack.call('GET', `${BULK}/sepa-credit-transfers/${id}/status`, { token, headers: { 'X-BicFi': BIC } });
  expect(status).toMatchObject({ status: 200, body: { transactionStatus: 'PATC' } });
  const got = await stack.call('GET', `${BULK}/sepa-credit-transfers/${id}`, { token, headers: { 'X-BicFi': BIC } });
  expect(got.body).toMatchObject({ batchBookingPreferred: true, debtorAccount: { iban: 'DE89370400440532013000' }, transactionStatus: 'PATC' });
  expect(got.body.payments.map((p: { endToEndIdentification: string }) => p.endToEndIdentification)).toEqual(['INV-0', 'INV-1', 'INV-2']);

  const report = await statusReport('sepa-credit-transfers', id);
  expect(report.status).toBe(200);
  expect(report.type).toContain('application/xml');
  expect(txStatuses(report.xml)).toEqual([
    ['INV-0', 'ACSC', undefined],
    ['INV-1', 'RJCT', 'AM04'],
    ['INV-2', 'ACSC', undefined],
  ]);
  expect(report.xml).toContain('<GrpSts>PATC</GrpSts>');
  expect(await validateXsd(report.xml, 'pain.002.001.10')).toMatchObject({ valid: true });

  // Webhook events for the bulk: statuses and counts, never IBANs.
  const events: { type: string; payload: Record<string, unknown> }[] = await stack.dataSource.query(`SELECT type, payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at`, [id]);
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['bulk_payment.sca_status_changed', 'bulk_payment.status_changed']));
  expect(events.find((e) => e.payload.transactionStatus === 'PATC')?.payload).toMatchObject({ transactionCounts: { ACSC: 2, RJCT: 1 }, numberOfTransactions: 3 });
  expect(JSON.stringify(events)).not.toMatch(/DE89|NL91|Supplier/);

  // The bank saw one bulk for this request.
  expect(sandbox().bulk.findBulksByRequestId(bulkInitiationRequestId(id))).toEqual([expect.objectContaining({ numberOfTransactions: 3, controlSum: '150.63', executed: true })]);
}, 90_000);

test.each(['pain.001.001.03', 'pain.001.001.09'] as const)('pain.001 bulk (%s), decoupled: settles; pain.002 echoes MsgId, PmtInfId, EndToEndIds', async (version) => {
  const msgId = `MSG-${randomUUID().slice(0, 8)}`;
  const file = await pain001Bytes({
    version,
    msgId,
    paymentInformations: [{ pmtInfId: 'PMT-E2E', debtorIban: 'DE89370400440532013000', debtorAgentBic: BIC, transactions: 25 }],
  });
  const created = await stack.call('POST', `${BULK}/pain.001-sepa-credit-transfers`, {
    token,
    headers: headers({ 'PSU-ID': 'decoupled', 'Content-Type': 'application/xml' }),
    rawBody: file.toString('utf8'),
  });
  expect(created.status).toBe(201);
  expect(created.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
  const id: string = created.body.paymentId;
  const stored = await repo.findById(id);
  expect(stored).toMatchObject({ numberOfTransactions: 25, msgId, msgNameId: version, pmtInfId: 'PMT-E2E', batchBookingPreferred: true });

  const handle = await finalBulk(id);
  expect(await handle.query(bulkPaymentStateQuery)).toMatchObject({ transactionStatus: 'ACSC', counts: { ACSC: 25 } });
  const report = await statusReport('pain.001-sepa-credit-transfers', id);
  expect(report.xml).toContain(`<OrgnlMsgId>${msgId}</OrgnlMsgId><OrgnlMsgNmId>${version}</OrgnlMsgNmId>`);
  expect(report.xml).toContain('<OrgnlPmtInfId>PMT-E2E</OrgnlPmtInfId>');
  expect(txStatuses(report.xml)).toHaveLength(25);
  expect(await validateXsd(report.xml, 'pain.002.001.10')).toMatchObject({ valid: true });
}, 90_000);

test('the same X-Request-ID again returns the same bulk; the bank saw one', async () => {
  const requestId = randomUUID();
  const send = () => stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled', 'X-Request-ID': requestId }), body: bulkBody(['1.00', '2.00']) });
  const first = await send();
  const second = await send();
  expect(first.status).toBe(201);
  expect(second.status).toBe(201);
  expect(second.body.paymentId).toBe(first.body.paymentId);
  const bulk = await repo.findById(first.body.paymentId);
  expect(sandbox().bulk.getBulk(bulk!.bankPaymentId!)).toMatchObject({ initiationRequests: 1 });
}, 60_000);

test('SANDNL2AXXX offers no bulk payments: 404 PRODUCT_UNKNOWN naming the product, nothing stored', async () => {
  const res = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'X-BicFi': 'SANDNL2AXXX', 'PSU-ID': 'decoupled' }), body: bulkBody(['1.00']) });
  expect(res.status).toBe(404);
  expect(res.body.tppMessages[0]).toMatchObject({ code: 'PRODUCT_UNKNOWN', path: 'payment-product', text: expect.stringContaining('no bulk payments') });
});

test.each([
  ['a bad creditor IBAN', 'payments[1].creditorAccount.iban', bulkBody(['1.00', '2.00'], {}), (b: any) => void (b.payments[1].creditorAccount.iban = 'NL00ABNA0417164300')],
  ['too many decimals', 'payments[0].instructedAmount.amount', bulkBody(['1.005']), () => undefined],
  ['a duplicate endToEndIdentification', 'payments[1].endToEndIdentification', bulkBody(['1.00', '2.00']), (b: any) => void (b.payments[1].endToEndIdentification = 'INV-0')],
  ['a debtorAccount per entry', 'payments[0].debtorAccount', bulkBody(['1.00']), (b: any) => void (b.payments[0].debtorAccount = { iban: 'DE89370400440532013000' })],
  ['no payments', 'payments', bulkBody([]), () => undefined],
  ['a bad debtor IBAN', 'debtorAccount.iban', bulkBody(['1.00'], { debtorAccount: { iban: 'DE00370400440532013000' } }), () => undefined],
  ['a non-EUR currency', 'payments[0].instructedAmount.currency', bulkBody(['1.00']), (b: any) => void (b.payments[0].instructedAmount.currency = 'SEK')],
])('JSON bulk with %s → 400 naming %s; nothing stored', async (_name, path, body, mutate) => {
  mutate(body);
  const requestId = randomUUID();
  const res = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled', 'X-Request-ID': requestId }), body });
  expect(res.status).toBe(400);
  expect(res.body.tppMessages[0].path).toBe(path);
  const rows = await stack.dataSource.query(`SELECT 1 FROM bulk_payments WHERE tenant_id = $1 AND request_id = $2`, [client.tenantId, requestId]);
  expect(rows).toHaveLength(0);
});

test('bad pain.001 files: XSD errors and a wrong control sum are 400 naming the element; JSON on an XML product is 415', async () => {
  const post = (file: Buffer) =>
    stack.call('POST', `${BULK}/pain.001-sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled', 'Content-Type': 'application/xml' }), rawBody: file.toString('utf8') });
  const spec = { version: 'pain.001.001.09' as const, msgId: 'BAD', paymentInformations: [{ pmtInfId: 'P', debtorIban: 'DE89370400440532013000', transactions: 3 }] };
  const badIban = await post(await pain001Bytes({ ...spec, faults: { badIbanAt: { pmtInf: 0, tx: 2 } } }));
  expect(badIban.status).toBe(400);
  expect(badIban.body.tppMessages[0].path).toContain('PmtInf[0].CdtTrfTxInf[2]');
  const ctrlSum = await post(await pain001Bytes({ ...spec, faults: { pmtInfCtrlSum: { pmtInf: 0, value: '1.00' } } }));
  expect(ctrlSum.status).toBe(400);
  expect(ctrlSum.body.tppMessages.map((m: { path: string }) => m.path).join(' ')).toContain('CtrlSum');
  const malformed = await post(Buffer.from('<Document><CstmrCdtTrfInitn>'));
  expect(malformed.status).toBe(400);
  const json = await stack.call('POST', `${BULK}/pain.001-sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled' }), body: bulkBody(['1.00']) });
  expect(json.status).toBe(415);
  // XML on the other routes stays refused (415): only pain.001 products take it.
  const xmlElsewhere = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'Content-Type': 'application/xml' }), rawBody: '<x/>' });
  expect(xmlElsewhere.status).toBe(415);
});

test('cancel before SCA (204, CANC); start another authorisation; another tenant sees 404', async () => {
  const created = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'TPP-Redirect-URI': 'https://erp.example/x' }), body: bulkBody(['1.00']) });
  const id = created.body.paymentId;
  const path = `${BULK}/sepa-credit-transfers/${id}`;
  const started = await stack.call('POST', `${path}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
  expect(started.status).toBe(201);
  expect(started.body._links.scaRedirect.href).toContain('/sca/bulk-payments/');
  const list = await stack.call('GET', `${path}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
  expect(list.body.authorisationIds).toHaveLength(2);

  const other = await stack.newClient();
  const otherToken = await stack.token(other);
  expect((await stack.call('GET', path, { token: otherToken, headers: { 'X-BicFi': BIC } })).status).toBe(404);

  const del = await stack.call('DELETE', path, { token, headers: { 'X-BicFi': BIC } });
  expect(del.status).toBe(204);
  await finalBulk(id);
  expect((await stack.call('GET', `${path}/status`, { token, headers: { 'X-BicFi': BIC } })).body.transactionStatus).toBe('CANC');
  const report = await statusReport('sepa-credit-transfers', id);
  expect(txStatuses(report.xml).map((t) => t[1])).toEqual(['CANC']);
}, 60_000);

test('cancellation with authorisation: an authorised bulk dated in 5 days, DELETE → 202 startAuthorisation, cancellation-authorisations on the bulk, the PSU approves in the app → CANC, every transaction CANC', async () => {
  await fetch(`${stack.sandbox.url}/_sandbox/clock`, { method: 'DELETE' });
  const date = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  const created = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled' }), body: bulkBody(['3.00', '4.00'], { requestedExecutionDate: date }) });
  expect(created.status).toBe(201);
  const id = created.body.paymentId;
  const path = `${BULK}/sepa-credit-transfers/${id}`;
  const bulkStatus = async () => (await stack.call('GET', `${path}/status`, { token, headers: { 'X-BicFi': BIC } })).body.transactionStatus;
  await eventually(async () => (await bulkStatus()) === 'ACCP', 20_000, 100);
  // Nothing to authorise before the bank asked for it (DELETE first).
  expect((await stack.call('POST', `${path}/cancellation-authorisations`, { token, headers: { 'X-BicFi': BIC } })).status).toBe(409);
  const del = await stack.call('DELETE', path, { token, headers: { 'X-BicFi': BIC } });
  expect(del.status).toBe(202);
  expect(del.body).toEqual({ transactionStatus: 'ACCP', _links: { self: { href: path }, status: { href: `${path}/status` }, startAuthorisation: { href: `${path}/cancellation-authorisations` } } });
  const started = await stack.call('POST', del.body._links.startAuthorisation.href, { token, headers: { 'X-BicFi': BIC } });
  expect(started.status).toBe(201);
  const cancellationId = started.body.authorisationId;
  expect(started.body).toMatchObject({ scaStatus: 'started', _links: { scaStatus: { href: `${path}/cancellation-authorisations/${cancellationId}` } } });
  expect(await repo.listCancellations(client.tenantId, id)).toHaveLength(1);
  await eventually(async () => (await bulkStatus()) === 'CANC', 30_000, 100);
  expect((await stack.call('GET', `${path}/cancellation-authorisations`, { token, headers: { 'X-BicFi': BIC } })).body).toEqual([cancellationId]);
  expect((await stack.call('GET', `${path}/cancellation-authorisations/${cancellationId}`, { token, headers: { 'X-BicFi': BIC } })).body).toEqual({ scaStatus: 'finalised' });
  // PUT (updatePaymentCancellationPsuData): a body outside the spec is 400 naming the field; a decided cancellation takes no PSU data.
  const badPut = await stack.call('PUT', `${path}/cancellation-authorisations/${cancellationId}`, { token, headers: { 'X-BicFi': BIC }, body: { pin: '1234' } });
  expect([badPut.status, badPut.body.tppMessages[0]]).toEqual([400, expect.objectContaining({ code: 'FORMAT_ERROR', path: 'pin' })]);
  const put = await stack.call('PUT', `${path}/cancellation-authorisations/${cancellationId}`, { token, headers: { 'X-BicFi': BIC }, body: {} });
  expect([put.status, put.body.tppMessages[0].code]).toEqual([409, 'STATUS_INVALID']);
  const report = await statusReport('sepa-credit-transfers', id);
  expect(txStatuses(report.xml).map((t) => t[1])).toEqual(['CANC', 'CANC']);
  const handle = await finalBulk(id);
  expect(await handle.query(bulkPaymentStateQuery)).toMatchObject({ transactionStatus: 'CANC', statusReason: 'Cancelled by the TPP, authorised by the PSU' });
  expect(sandbox().bulk!.getBulk((await repo.findById(id))!.bankPaymentId!)).toMatchObject({ transactionStatus: 'CANC', executed: false });
  // Another tenant, a single-payment product or an unknown cancellation: 404, as for the bulk itself.
  const otherToken = await stack.token(await stack.newClient());
  expect((await stack.call('GET', `${path}/cancellation-authorisations`, { token: otherToken, headers: { 'X-BicFi': BIC } })).status).toBe(404);
  expect((await stack.call('GET', `${path}/cancellation-authorisations/${randomUUID()}`, { token, headers: { 'X-BicFi': BIC } })).status).toBe(404);
  expect((await stack.call('GET', `${BULK}/domestic/${id}/cancellation-authorisations`, { token, headers: { 'X-BicFi': BIC }, contract: false })).status).toBe(404);
}, 60_000);

function sandbox() {
  return stack.sandbox;
}

test('exactly once: the bank answer to the bulk initiation is lost; Clearway never sends it again and says the outcome is unknown', async () => {
  sandbox().bank.setFaults({ dropResponseRate: 1 });
  let id: string;
  try {
    const created = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled' }), body: bulkBody(['5.00', '6.00']) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ transactionStatus: 'RCVD', clearway: { initiationOutcome: 'unknown' } });
    expect(created.body._links.scaRedirect).toBeUndefined();
    id = created.body.paymentId;
  } finally {
    sandbox().bank.resetFaults();
  }
  const handle = stack.temporal.workflow.getHandle(bulkPaymentWorkflowId(id));
  expect((await handle.query(bulkPaymentStateQuery)).phase).toBe('outcome_unknown');
  // Time for retries that must not happen: still one bulk at the bank, created by one request.
  await new Promise((r) => setTimeout(r, 3_000));
  const atBank = sandbox().bulk.findBulksByRequestId(bulkInitiationRequestId(id));
  expect(atBank).toHaveLength(1);
  expect(atBank[0]!.initiationRequests).toBe(1);
  const attempts: { state: string }[] = await stack.dataSource.query(`SELECT state FROM bank_initiation_attempts WHERE resource_type = 'bulk_payment' AND resource_id = $1`, [id]);
  expect(attempts).toEqual([{ state: 'ambiguous' }]);
  await handle.terminate('test over');
}, 60_000);

test('SANDNL2AXXX takes single payments through its own sandbox path (/nl): listed in the directory, settles', async () => {
  const aspspToken = await stack.token(client, 'aspspinformation private');
  const nl = await stack.call('GET', '/psd2/aspspinformation/v1/aspsps/SANDNL2AXXX', { token: aspspToken });
  expect(nl.status).toBe(200);
  expect(nl.body).toMatchObject({ bicFi: 'SANDNL2AXXX', country: 'Netherlands', city: 'Amsterdam', sandbox: true });
  const created = await stack.call('POST', '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers', {
    token,
    headers: { 'X-BicFi': 'SANDNL2AXXX', 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'decoupled' },
    body: {
      debtorAccount: { iban: 'NL91ABNA0417164300' },
      instructedAmount: { currency: 'EUR', amount: '12.00' },
      creditorAccount: { iban: 'DE89370400440532013000' },
      creditorName: 'Leverancier BV',
    },
  });
  expect(created.status).toBe(201);
  const payment = await stack.dataSource.query(`SELECT bank_payment_id FROM payments WHERE id = $1`, [created.body.paymentId]);
  // The NL bank holds it, not the German one.
  expect(sandbox().nl.bank.getPayment(payment[0].bank_payment_id)).toBeDefined();
  expect(sandbox().bank.getPayment(payment[0].bank_payment_id)).toBeUndefined();
  await eventually(async () => {
    const s = await stack.call('GET', `/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${created.body.paymentId}/status`, { token, headers: { 'X-BicFi': 'SANDNL2AXXX' } });
    return s.body.transactionStatus === 'ACSC';
  }, 30_000, 250);
}, 60_000);

test('body limits: a 1,000-entry JSON bulk (> 100 kB) is taken; over 50 MB is 413 with tppMessages; single payments keep 100 kB', async () => {
  const big = bulkBody(Array.from({ length: 1000 }, (_, i) => `${i + 1}.00`));
  expect(JSON.stringify(big).length).toBeGreaterThan(150_000);
  const ok = await stack.call('POST', `${BULK}/sepa-credit-transfers`, { token, headers: headers({ 'PSU-ID': 'decoupled' }), body: big });
  expect(ok.status).toBe(201);
  expect((await repo.findById(ok.body.paymentId))?.numberOfTransactions).toBe(1000);

  const huge = await fetch(`${stack.baseUrl}${BULK}/pain.001-sepa-credit-transfers`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'Content-Type': 'application/xml', ...headers() },
    body: Buffer.alloc(51 * 1024 * 1024, 'a'),
  });
  expect(huge.status).toBe(413);
  expect(((await huge.json()) as { tppMessages: { path: string }[] }).tppMessages[0]).toMatchObject({ path: 'body' });

  const single = await stack.call('POST', '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers', {
    token,
    headers: headers(),
    body: { ...big.payments[0], debtorAccount: big.debtorAccount, remittanceInformationUnstructured: 'x'.repeat(140), padding: 'y'.repeat(150_000) },
    contract: false,
  });
  expect(single.status).toBe(400);
  expect(single.body.tppMessages[0].text).toContain('size limit');
}, 120_000);
