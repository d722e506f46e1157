import { randomUUID } from 'node:crypto';
import { pain001Bytes } from '../../../libs/iso20022/testing';
import { validateXsd } from '../../../libs/iso20022/xsd';
import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from './index';
import { BG, call, initiationHeaders, openScaPage, submitScaDecision, TPP_OK } from './test-helpers';

/** Long, and passed by moving the bank's clock: the decoupled outcome never races the test. */
const DECOUPLED_DELAY_MS = 60_000;
let clockOffsetMs = 0;

function bulkBody(amounts: string[], extra: Record<string, unknown> = {}) {
  return {
    batchBookingPreferred: true,
    debtorAccount: { iban: 'DE89370400440532013000' },
    requestedExecutionDate: '2026-11-30',
    payments: amounts.map((amount, i) => ({
      endToEndIdentification: `E2E-${i}`,
      instructedAmount: { currency: 'EUR', amount },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: `Creditor ${i}`,
      remittanceInformationUnstructured: `Invoice ${i}`,
    })),
    ...extra,
  };
}

const pain002Statuses = (xml: string) =>
  [...xml.matchAll(/<TxInfAndSts>(?:<OrgnlInstrId>[^<]*<\/OrgnlInstrId>)?<OrgnlEndToEndId>([^<]+)<\/OrgnlEndToEndId><TxSts>([A-Z]{4})<\/TxSts>(?:<StsRsnInf><Rsn><Cd>([A-Z0-9]+)<\/Cd>)?/g)].map((m) => [m[1], m[2], m[3]]);

describe('Berlin Group sandbox: bulk payments over HTTP', () => {
  let sandbox: RunningBerlinGroupSandbox;
  const bulkUrl = (product: string, id = '') => `${sandbox.url}/v1/bulk-payments/${product}${id ? `/${id}` : ''}`;

  beforeAll(async () => {
    sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: DECOUPLED_DELAY_MS, now: () => Date.now() + clockOffsetMs });
  });
  afterAll(() => sandbox.close());

  async function initiateJson(body: unknown, headers = initiationHeaders(), product = 'sepa-credit-transfers') {
    return call('POST', bulkUrl(product), { headers, body, template: BG.initiate });
  }

  async function statusXml(product: string, id: string): Promise<{ status: number; xml: string }> {
    const res = await fetch(`${bulkUrl(product, id)}/status`, { headers: { 'X-Request-ID': randomUUID(), Accept: 'application/xml' } });
    expect(res.headers.get('content-type')).toContain('application/xml');
    return { status: res.status, xml: await res.text() };
  }

  it('JSON bulk, redirect SCA page with count and total, then PATC: cents 13 rejected AM04, the rest settle', async () => {
    const created = await initiateJson(bulkBody(['10.00', '20.13', '30.50']));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ transactionStatus: 'RCVD', paymentId: expect.any(String), authorisationId: expect.any(String) });
    expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
    const id = created.json.paymentId;
    const scaRedirect: string = created.json._links.scaRedirect.href;
    expect(scaRedirect).toContain('/sca/bulk-payments/');

    const page = await openScaPage(scaRedirect);
    expect(page.html).toContain('<dd id="count">3</dd>');
    expect(page.html).toContain('<dd id="total">60.63 EUR</dd>');
    expect(page.html).not.toContain('NL91ABNA0417164300');
    expect(await submitScaDecision(scaRedirect, 'approve')).toMatchObject({ status: 302, location: TPP_OK });
    const sca = await call('GET', created.json._links.scaStatus.href, { template: BG.authorisation });
    expect(sca.json.scaStatus).toBe('finalised');

    const read = (path = '/status') => call('GET', `${bulkUrl('sepa-credit-transfers', id)}${path}`, { template: BG.status });
    expect((await read()).json.transactionStatus).toBe('ACSP');
    const second = await statusXml('sepa-credit-transfers', id);
    expect(second.status).toBe(200);
    expect(pain002Statuses(second.xml)).toEqual([
      ['E2E-0', 'ACSC', undefined],
      ['E2E-1', 'RJCT', 'AM04'],
      ['E2E-2', 'ACSC', undefined],
    ]);
    expect(second.xml).toContain('<GrpSts>PATC</GrpSts>');
    expect(await validateXsd(second.xml, 'pain.002.001.10')).toMatchObject({ valid: true });
    expect((await read()).json.transactionStatus).toBe('PATC');

    const got = await call('GET', bulkUrl('sepa-credit-transfers', id), { template: BG.payment });
    expect(got.json).toMatchObject({ batchBookingPreferred: true, transactionStatus: 'PATC', payments: [expect.anything(), expect.anything(), expect.anything()] });
    expect(sandbox.bulk.getBulk(id)).toMatchObject({ numberOfTransactions: 3, executed: true, controlSum: '60.63' });
  });

  it.each(['pain.001.001.03', 'pain.001.001.09'] as const)('pain.001 bulk (%s), decoupled SCA, pain.002 with the file\'s MsgId and PmtInfId', async (version) => {
    const file = await pain001Bytes({
      version,
      msgId: `MSG-${version}`,
      paymentInformations: [{ pmtInfId: 'PMT-1', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions: 5, amount: (i) => (i === 3 ? '7.13' : `${i + 1}.00`) }],
    });
    const res = await fetch(bulkUrl('pain.001-sepa-credit-transfers'), {
      method: 'POST',
      headers: { ...initiationHeaders({ 'PSU-ID': 'decoupled' }), 'Content-Type': 'application/xml' },
      body: file,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { paymentId: string };
    expect(res.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
    clockOffsetMs += DECOUPLED_DELAY_MS;
    await statusXml('pain.001-sepa-credit-transfers', body.paymentId); // ACSP
    const report = await statusXml('pain.001-sepa-credit-transfers', body.paymentId);
    expect(report.xml).toContain(`<OrgnlMsgId>MSG-${version}</OrgnlMsgId><OrgnlMsgNmId>${version}</OrgnlMsgNmId>`);
    expect(report.xml).toContain('<OrgnlPmtInfId>PMT-1</OrgnlPmtInfId>');
    expect(pain002Statuses(report.xml).map((s) => s[1])).toEqual(['ACSC', 'ACSC', 'ACSC', 'RJCT', 'ACSC']);
    expect(await validateXsd(report.xml, 'pain.002.001.10')).toMatchObject({ valid: true });
  });

  it('an XSD-invalid pain.001 is 400 naming the element; a second PmtInf is refused', async () => {
    const bad = await pain001Bytes({
      version: 'pain.001.001.09',
      msgId: 'MSG-BAD',
      paymentInformations: [{ pmtInfId: 'PMT-1', debtorIban: 'DE89370400440532013000', transactions: 3 }],
      faults: { badIbanAt: { pmtInf: 0, tx: 1 } },
    });
    const post = (body: Buffer) =>
      fetch(bulkUrl('pain.001-sepa-credit-transfers'), { method: 'POST', headers: { ...initiationHeaders(), 'Content-Type': 'application/xml' }, body });
    const res = await post(bad);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { tppMessages: unknown[] }).tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: expect.stringContaining('PmtInf[0].CdtTrfTxInf[1]') });
    const two = await pain001Bytes({
      version: 'pain.001.001.09',
      msgId: 'MSG-TWO',
      paymentInformations: [
        { pmtInfId: 'PMT-1', debtorIban: 'DE89370400440532013000', transactions: 1 },
        { pmtInfId: 'PMT-2', debtorIban: 'DE89370400440532013000', transactions: 1 },
      ],
    });
    const twoRes = await post(two);
    expect(twoRes.status).toBe(400);
    expect(((await twoRes.json()) as { tppMessages: { text: string }[] }).tppMessages[0]!.text).toContain('exactly one PmtInf');
  });

  it.each([
    ['no payments', { payments: [] }, 'payments'],
    ['a bad creditor IBAN', { payments: [{ instructedAmount: { currency: 'EUR', amount: '1.00' }, creditorAccount: { iban: 'NL00ABNA0417164300' }, creditorName: 'X' }] }, 'payments[0].creditorAccount.iban'],
    ['a debtorAccount per entry', { payments: [{ debtorAccount: { iban: 'DE89370400440532013000' }, instructedAmount: { currency: 'EUR', amount: '1.00' }, creditorAccount: { iban: 'NL91ABNA0417164300' }, creditorName: 'X' }] }, 'payments[0].debtorAccount'],
  ])('JSON bulk with %s → 400 FORMAT_ERROR naming %s', async (_name, override, path) => {
    const res = await call('POST', bulkUrl('sepa-credit-transfers'), { headers: initiationHeaders(), body: { ...bulkBody(['1.00']), ...override }, template: BG.initiate, skipRequestValidation: true });
    expect(res.status).toBe(400);
    expect(res.json.tppMessages.map((m: { path?: string }) => m.path)).toContain(path);
  });

  it('a JSON body on a pain.001 product is refused, and an unknown bulk product is 404 PRODUCT_UNKNOWN', async () => {
    const wrong = await call('POST', bulkUrl('pain.001-sepa-credit-transfers'), { headers: initiationHeaders(), body: bulkBody(['1.00']), template: BG.initiate, skipRequestValidation: true });
    expect(wrong.status).toBe(400);
    const unknown = await call('POST', bulkUrl('target-2-payments'), { headers: initiationHeaders(), body: bulkBody(['1.00']), template: BG.initiate, skipRequestValidation: true });
    expect([unknown.status, unknown.json.tppMessages[0].code]).toEqual([404, 'PRODUCT_UNKNOWN']);
  });

  it('does not deduplicate X-Request-ID: the same request twice creates two bulks (unless opted in)', async () => {
    const headers = initiationHeaders();
    const first = await initiateJson(bulkBody(['1.00', '2.00']), headers);
    const second = await initiateJson(bulkBody(['1.00', '2.00']), headers);
    expect(second.json.paymentId).not.toBe(first.json.paymentId);
    expect(sandbox.bulk.findBulksByRequestId(headers['X-Request-ID']!)).toHaveLength(2);
    const kind = initiationHeaders({ 'Sandbox-Deduplicate': 'true' });
    const a = await initiateJson(bulkBody(['1.00']), kind);
    const b = await initiateJson(bulkBody(['1.00']), kind);
    expect(b.json.paymentId).toBe(a.json.paymentId);
  });

  it('DELETE before SCA cancels (204, CANC); after SCA it is 405', async () => {
    const created = await initiateJson(bulkBody(['1.00']));
    const del = await call('DELETE', bulkUrl('sepa-credit-transfers', created.json.paymentId), { template: BG.payment });
    expect(del.status).toBe(204);
    expect((await call('GET', `${bulkUrl('sepa-credit-transfers', created.json.paymentId)}/status`, { template: BG.status })).json.transactionStatus).toBe('CANC');

    const other = await initiateJson(bulkBody(['1.00']), initiationHeaders({ 'PSU-ID': 'decoupled' }));
    clockOffsetMs += DECOUPLED_DELAY_MS;
    const late = await call('DELETE', bulkUrl('sepa-credit-transfers', other.json.paymentId), { template: BG.payment });
    expect([late.status, late.json.tppMessages[0].code]).toEqual([405, 'CANCELLATION_INVALID']);
  });

  it('decoupled-deny rejects the bulk and every transaction', async () => {
    const created = await initiateJson(bulkBody(['1.00', '2.00']), initiationHeaders({ 'PSU-ID': 'decoupled-deny' }));
    clockOffsetMs += DECOUPLED_DELAY_MS;
    const report = await statusXml('sepa-credit-transfers', created.json.paymentId);
    expect(pain002Statuses(report.xml).map((s) => s[1])).toEqual(['RJCT', 'RJCT']);
    expect(report.xml).toContain('<GrpSts>RJCT</GrpSts>');
  });

  describe('cancellation authorisation of an authorised bulk waiting for its execution date (BG 1.3.12)', () => {
    const START = Date.parse('2027-01-04T10:00:00Z');
    beforeEach(() => sandbox.ais.setClock(START));
    afterAll(() => sandbox.ais.resetClock());

    async function authorisedFutureDated(psuId: string) {
      const created = await initiateJson(bulkBody(['10.00', '20.00'], { requestedExecutionDate: '2027-01-08' }), initiationHeaders({ 'PSU-ID': psuId }));
      expect(created.status).toBe(201);
      if (psuId === 'decoupled') clockOffsetMs += DECOUPLED_DELAY_MS + 1;
      else await submitScaDecision(created.json._links.scaRedirect.href, 'approve');
      const id: string = created.json.paymentId;
      expect((await call('GET', `${bulkUrl('sepa-credit-transfers', id)}/status`, { template: BG.status })).json.transactionStatus).toBe('ACCP');
      return id;
    }
    const statusOf = async (id: string) => (await call('GET', `${bulkUrl('sepa-credit-transfers', id)}/status`, { template: BG.status })).json.transactionStatus;

    it('decoupled: DELETE → 202 startAuthorisation; the app approves → CANC, every transaction CANC, nothing executes on the date', async () => {
      const id = await authorisedFutureDated('decoupled');
      const url = bulkUrl('sepa-credit-transfers', id);
      const early = await call('POST', `${url}/cancellation-authorisations`, { body: {} });
      expect([early.status, early.json.tppMessages[0].code]).toEqual([409, 'STATUS_INVALID']);
      const del = await call('DELETE', url, { template: BG.payment });
      expect(del.status).toBe(202);
      expect(del.json).toMatchObject({ transactionStatus: 'ACCP', _links: { startAuthorisation: { href: `${url}/cancellation-authorisations` } } });
      const started = await call('POST', del.json._links.startAuthorisation.href, { body: {} });
      expect([started.status, started.json.scaStatus, started.headers.get('aspsp-sca-approach')]).toEqual([201, 'started', 'DECOUPLED']);
      expect((await call('GET', `${url}/cancellation-authorisations`)).json).toEqual({ cancellationIds: [started.json.authorisationId] });
      expect((await call('GET', started.json._links.scaStatus.href)).json.scaStatus).toBe('started');
      clockOffsetMs += DECOUPLED_DELAY_MS + 1;
      expect((await call('PUT', started.json._links.scaStatus.href, { body: {} })).json.scaStatus).toBe('finalised');
      expect(await statusOf(id)).toBe('CANC');
      sandbox.ais.setClock(Date.parse('2027-01-11T10:00:00Z'));
      const report = await statusXml('sepa-credit-transfers', id);
      expect(pain002Statuses(report.xml).map((s) => s[1])).toEqual(['CANC', 'CANC']);
      expect(sandbox.bulk.getBulk(id)).toMatchObject({ transactionStatus: 'CANC', executed: false });
      expect((await call('DELETE', url)).status).toBe(405);
    });

    it('redirect: the PSU denies the cancellation on its page → the bulk stays ACCP and settles from its date; then 405', async () => {
      const id = await authorisedFutureDated('redirect-psu');
      const url = bulkUrl('sepa-credit-transfers', id);
      expect((await call('DELETE', url)).status).toBe(202);
      const started = await call('POST', `${url}/cancellation-authorisations`, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK } });
      expect(started.json._links.scaRedirect.href).toBe(`${sandbox.url}/sca/bulk-cancellations/${started.json.authorisationId}`);
      const page = await openScaPage(started.json._links.scaRedirect.href);
      expect(page.html).toContain('Authorise cancellation of bulk payment');
      expect(page.html).toContain('<dd id="total">30.00 EUR</dd>');
      expect((await submitScaDecision(started.json._links.scaRedirect.href, 'deny')).status).toBe(302);
      expect((await call('GET', `${url}/cancellation-authorisations/${started.json.authorisationId}`)).json.scaStatus).toBe('failed');
      expect(await statusOf(id)).toBe('ACCP');
      const unknown = await call('GET', `${url}/cancellation-authorisations/${randomUUID()}`);
      expect([unknown.status, unknown.json.tppMessages[0].code]).toEqual([403, 'RESOURCE_UNKNOWN']);
      sandbox.ais.setClock(Date.parse('2027-01-08T10:00:00Z'));
      expect(await statusOf(id)).toBe('ACSP');
      expect(await statusOf(id)).toBe('ACSC');
      expect((await call('DELETE', url)).status).toBe(405);
    });
  });

  it('start another authorisation, list them, read its status', async () => {
    const created = await initiateJson(bulkBody(['1.00']));
    const url = bulkUrl('sepa-credit-transfers', created.json.paymentId);
    const started = await call('POST', `${url}/authorisations`, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK }, template: BG.authorisations });
    expect(started.status).toBe(201);
    const list = await call('GET', `${url}/authorisations`, { template: BG.authorisations });
    expect(list.json.authorisationIds).toEqual([created.json.authorisationId, started.json.authorisationId]);
  });

  it('SANDNL2AXXX (under /nl) takes single payments but answers bulk payments with SERVICE_INVALID', async () => {
    const nl = `${sandbox.url}/nl`;
    const bulk = await call('POST', `${nl}/v1/bulk-payments/sepa-credit-transfers`, { headers: initiationHeaders(), body: bulkBody(['1.00']), template: BG.initiate });
    expect([bulk.status, bulk.json.tppMessages[0].code]).toEqual([400, 'SERVICE_INVALID']);
    const single = await call('POST', `${nl}/v1/payments/sepa-credit-transfers`, {
      headers: initiationHeaders(),
      body: { debtorAccount: { iban: 'NL91ABNA0417164300' }, instructedAmount: { currency: 'EUR', amount: '5.00' }, creditorAccount: { iban: 'DE89370400440532013000' }, creditorName: 'X' },
      template: BG.initiate,
    });
    expect(single.status).toBe(201);
    expect(single.json._links.self.href).toContain('/berlin-group/nl/v1/payments/');
    expect(sandbox.nl.bank.getPayment(single.json.paymentId)).toBeDefined();
    expect(sandbox.bank.getPayment(single.json.paymentId)).toBeUndefined();
  });
});
