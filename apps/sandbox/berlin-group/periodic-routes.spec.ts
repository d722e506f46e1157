import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from './index';
import { aisClient, consentBody, consentHeaders } from './ais/test-helpers';
import { BG, call, initiationHeaders, openScaPage, paymentBody, submitScaDecision, TPP_OK } from './test-helpers';

/** The SCA clock: decoupled approvals happen when the test moves it, never by racing the machine. */
const DECOUPLED_DELAY_MS = 60_000;
let scaOffsetMs = 0;
const DAY_MS = 86_400_000;
/** The bank's business day at the start of every test: Monday 4 January 2027, 10:00 UTC. */
const START = Date.parse('2027-01-04T10:00:00Z');

describe('Berlin Group sandbox: periodic payments (standing orders)', () => {
  let sandbox: RunningBerlinGroupSandbox;
  let base: string;

  beforeAll(async () => {
    sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: DECOUPLED_DELAY_MS, now: () => Date.now() + scaOffsetMs });
    base = sandbox.url;
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.ais.setClock(START));
  afterAll(() => sandbox.ais.resetClock());

  const url = (id = '', product = 'sepa-credit-transfers') => `${base}/v1/periodic-payments/${product}${id ? `/${id}` : ''}`;
  const debtorOf = (psuId: string) => sandbox.ais.accountsOf(psuId)[0].iban;

  function standingOrder(psuId: string, overrides: Record<string, unknown> = {}) {
    return {
      ...paymentBody({ debtorAccount: { iban: debtorOf(psuId) }, remittanceInformationUnstructured: 'Rent' }),
      startDate: '2027-01-05',
      endDate: '2027-05-31',
      frequency: 'Monthly',
      dayOfExecution: '31',
      executionRule: 'following',
      ...overrides,
    };
  }

  async function initiate(body: unknown, headers: Record<string, string> = initiationHeaders({ 'PSU-ID': 'decoupled' })) {
    const res = await call('POST', url(), { headers, body, template: BG.initiate, looseOneOf: true });
    expect(res.status).toBe(201);
    return res;
  }

  const status = async (id: string) => (await call('GET', `${url(id)}/status`, { template: BG.status })).json.transactionStatus;
  const approveDecoupled = () => void (scaOffsetMs += DECOUPLED_DELAY_MS + 1);

  it('executes on TARGET2 days on the bank clock, books on the debtor account, refuses nothing else, ends at endDate', async () => {
    const created = await initiate(standingOrder('decoupled'));
    expect(created.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
    const id = created.json.paymentId;
    expect(await status(id)).toBe('RCVD');
    approveDecoupled();
    expect((await call('GET', created.json._links.scaStatus.href, { template: BG.authorisation })).json.scaStatus).toBe('finalised');
    expect(await status(id)).toBe('ACCP');

    const read = await call('GET', url(id), { template: BG.payment, looseOneOf: true });
    expect(read.json).toMatchObject({ frequency: 'Monthly', dayOfExecution: '31', startDate: '2027-01-05', transactionStatus: 'ACCP' });

    sandbox.ais.advanceClock(30 * DAY_MS); // 3 Feb
    expect(sandbox.periodic.view(id)!.executions.map((e) => e.executionDate)).toEqual(['2027-02-01']);
    sandbox.ais.setClock(Date.parse('2027-06-10T10:00:00Z'));
    expect(await status(id)).toBe('ACSC');
    const view = sandbox.periodic.view(id)!;
    expect(view.executions.map((e) => [e.nominalDate, e.executionDate, e.status])).toEqual([
      ['2027-01-31', '2027-02-01', 'ACSC'],
      ['2027-02-28', '2027-03-01', 'ACSC'],
      ['2027-03-31', '2027-03-31', 'ACSC'],
      ['2027-04-30', '2027-04-30', 'ACSC'],
      ['2027-05-31', '2027-05-31', 'ACSC'],
    ]);

    // Visible through AIS like any booking: a consent of the same PSU reads them.
    const ais = aisClient(base);
    const consent = await ais.createConsent(consentBody(), consentHeaders({ 'PSU-ID': 'decoupled' }));
    sandbox.ais.advanceClock(DECOUPLED_DELAY_MS + 1); // the AIS app decides on the bank clock
    const consentId = consent.json.consentId;
    expect((await ais.status(consentId)).json.consentStatus).toBe('valid');
    const accountId = sandbox.ais.accountsOf('decoupled')[0].resourceId;
    const rent: any[] = [];
    for (const day of ['2027-02-01', '2027-03-01', '2027-03-31', '2027-04-30', '2027-05-31']) {
      const tx = await ais.transactions(consentId, accountId, `?bookingStatus=booked&dateFrom=${day}&dateTo=${day}`, true);
      expect(tx.status).toBe(200);
      rent.push(...(tx.json.transactions.booked as any[]).filter((t) => t.remittanceInformationUnstructured === 'Rent'));
    }
    expect(rent.map((t) => [t.bookingDate, t.transactionAmount.amount, t.creditorAccount.iban])).toEqual(
      ['2027-02-01', '2027-03-01', '2027-03-31', '2027-04-30', '2027-05-31'].map((d) => [d, '-10.00', 'NL91ABNA0417164300']),
    );
    expect(rent[0].endToEndId).toBe('E2E-1');
    const single = await ais.transaction(consentId, accountId, rent[0].transactionId, true);
    expect(single.json.transactionsDetails.transactionDetails.remittanceInformationUnstructured).toBe('Rent');

    // Ended: nothing left to cancel.
    const del = await call('DELETE', url(id), { template: BG.payment });
    expect([del.status, del.json.tppMessages[0].code]).toEqual([405, 'CANCELLATION_INVALID']);
  });

  it('cents 13: each execution is refused for insufficient funds (AM04), nothing booked, the order carries on', async () => {
    const id = (await initiate(standingOrder('decoupled', { instructedAmount: { currency: 'EUR', amount: '25.13' }, frequency: 'Weekly', endDate: '2027-01-26' }))).json.paymentId;
    approveDecoupled();
    expect(await status(id)).toBe('ACCP');
    sandbox.ais.setClock(Date.parse('2027-02-01T10:00:00Z'));
    expect(await status(id)).toBe('ACSC');
    expect(sandbox.periodic.view(id)!.executions).toEqual([
      { index: 1, nominalDate: '2027-01-05', executionDate: '2027-01-05', status: 'RJCT', reasonCode: 'AM04' },
      { index: 2, nominalDate: '2027-01-12', executionDate: '2027-01-12', status: 'RJCT', reasonCode: 'AM04' },
      { index: 3, nominalDate: '2027-01-19', executionDate: '2027-01-19', status: 'RJCT', reasonCode: 'AM04' },
      { index: 4, nominalDate: '2027-01-26', executionDate: '2027-01-26', status: 'RJCT', reasonCode: 'AM04' },
    ]);
    expect(sandbox.periodic.bookingsOf(debtorOf('decoupled'), 0)?.bookings.some((b) => b.amountMinor === -2513) ?? false).toBe(false);
  });

  it('cancellation of a live order needs the PSU: DELETE 202 with startAuthorisation, then redirect approval → CANC, no more executions', async () => {
    const created = await initiate(standingOrder('redirect-psu', { frequency: 'Weekly', endDate: undefined }), initiationHeaders({ 'PSU-ID': 'redirect-psu' }));
    const id = created.json.paymentId;
    expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
    expect(created.json._links.scaRedirect.href).toBe(`${base}/sca/periodic/${created.json.authorisationId}`);
    const page = await openScaPage(created.json._links.scaRedirect.href);
    expect(page.html).toContain('Authorise standing order');
    expect(await submitScaDecision(created.json._links.scaRedirect.href, 'approve')).toMatchObject({ status: 302, location: TPP_OK });
    expect(await status(id)).toBe('ACCP');

    sandbox.ais.setClock(Date.parse('2027-01-13T10:00:00Z'));
    expect(sandbox.periodic.view(id)!.executions.map((e) => e.executionDate)).toEqual(['2027-01-05', '2027-01-12']);

    // A cancellation authorisation before any DELETE is refused.
    const early = await call('POST', `${url(id)}/cancellation-authorisations`, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK } });
    expect([early.status, early.json.tppMessages[0].code]).toEqual([409, 'STATUS_INVALID']);

    const del = await call('DELETE', url(id), { template: BG.payment });
    expect(del.status).toBe(202);
    expect(del.json.transactionStatus).toBe('ACCP');
    expect(del.json._links.startAuthorisation.href).toBe(`${url(id)}/cancellation-authorisations`);

    const started = await call('POST', del.json._links.startAuthorisation.href, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK } });
    expect(started.status).toBe(201);
    const cancellationId = started.json.authorisationId;
    expect((await call('GET', `${url(id)}/cancellation-authorisations`)).json).toEqual({ cancellationIds: [cancellationId] });
    expect((await call('GET', `${url(id)}/cancellation-authorisations/${cancellationId}`)).json.scaStatus).toBe('received');
    // Not the order's authorisation list, nor readable there.
    expect((await call('GET', `${url(id)}/authorisations/${cancellationId}`)).status).toBe(403);

    const cancelPage = await openScaPage(started.json._links.scaRedirect.href);
    expect(cancelPage.html).toContain('Authorise cancellation of standing order');
    expect(await submitScaDecision(started.json._links.scaRedirect.href, 'approve')).toMatchObject({ status: 302, location: TPP_OK });
    expect((await call('GET', `${url(id)}/cancellation-authorisations/${cancellationId}`)).json.scaStatus).toBe('finalised');
    expect(await status(id)).toBe('CANC');

    sandbox.ais.setClock(Date.parse('2027-03-01T10:00:00Z'));
    expect(sandbox.periodic.view(id)!.executions.map((e) => e.executionDate)).toEqual(['2027-01-05', '2027-01-12']);
    expect(sandbox.periodic.view(id)!.cancelledOn).toBe('2027-01-13');
  });

  it('decoupled cancellation: the app approves it → CANC', async () => {
    const id = (await initiate(standingOrder('decoupled-deny'), initiationHeaders({ 'PSU-ID': 'decoupled', 'TPP-Redirect-Preferred': 'false' }))).json.paymentId;
    approveDecoupled();
    expect(await status(id)).toBe('ACCP');
    expect((await call('DELETE', url(id))).status).toBe(202);
    const started = await call('POST', `${url(id)}/cancellation-authorisations`, { body: {} });
    expect([started.status, started.json.scaStatus, started.headers.get('aspsp-sca-approach')]).toEqual([201, 'started', 'DECOUPLED']);
    approveDecoupled();
    expect((await call('GET', `${url(id)}/cancellation-authorisations/${started.json.authorisationId}`)).json.scaStatus).toBe('finalised');
    expect(await status(id)).toBe('CANC');

    // A PSU who refuses in the app refuses the order itself.
    const other = (await initiate(standingOrder('decoupled-deny'), initiationHeaders({ 'PSU-ID': 'decoupled-deny' }))).json.paymentId;
    approveDecoupled();
    expect(await status(other)).toBe('RJCT');
  });

  it('a cancellation the PSU denies on the page leaves the order live and executing', async () => {
    const created = await initiate(standingOrder('redirect-psu', { frequency: 'Weekly' }), initiationHeaders({ 'PSU-ID': 'redirect-psu' }));
    const id = created.json.paymentId;
    await openScaPage(created.json._links.scaRedirect.href);
    await submitScaDecision(created.json._links.scaRedirect.href, 'approve');
    expect((await call('DELETE', url(id))).status).toBe(202);
    const started = await call('POST', `${url(id)}/cancellation-authorisations`, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK } });
    await openScaPage(started.json._links.scaRedirect.href);
    expect((await submitScaDecision(started.json._links.scaRedirect.href, 'deny')).status).toBe(302);
    expect((await call('GET', `${url(id)}/cancellation-authorisations/${started.json.authorisationId}`)).json.scaStatus).toBe('failed');
    sandbox.ais.setClock(Date.parse('2027-01-20T10:00:00Z'));
    expect(await status(id)).toBe('ACCP');
    expect(sandbox.periodic.view(id)!.executions.map((e) => e.executionDate)).toEqual(['2027-01-05', '2027-01-12', '2027-01-19']);
  });

  it('DELETE before SCA: 204 and CANC; the pending authorisation fails', async () => {
    const created = await initiate(standingOrder('redirect-psu'), initiationHeaders({ 'PSU-ID': 'redirect-psu' }));
    const id = created.json.paymentId;
    expect((await call('DELETE', url(id))).status).toBe(204);
    expect(await status(id)).toBe('CANC');
    expect((await call('GET', created.json._links.scaStatus.href)).json.scaStatus).toBe('failed');
    expect((await submitScaDecision(created.json._links.scaRedirect.href, 'approve')).status).toBe(409);
  });

  it.each([
    ['startDate in the past', { startDate: '2027-01-01' }, 'startDate'],
    ['endDate before startDate', { endDate: '2027-01-01' }, 'endDate'],
    ['unknown frequency', { frequency: 'Hourly' }, 'frequency'],
    ['dayOfExecution with a leading zero', { dayOfExecution: '05' }, 'dayOfExecution'],
    ['MonthlyVariable without months', { frequency: 'MonthlyVariable' }, 'monthsOfExecution'],
    ['executionRule', { executionRule: 'nearest' }, 'executionRule'],
  ])('refuses %s with 400 FORMAT_ERROR naming the field', async (_name, overrides, path) => {
    const res = await call('POST', url(), { headers: initiationHeaders({ 'PSU-ID': 'decoupled' }), body: standingOrder('decoupled', overrides) });
    expect(res.status).toBe(400);
    expect(res.json.tppMessages).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'FORMAT_ERROR', path })]));
  });

  it('an unknown id, another product, or international: 403 RESOURCE_UNKNOWN / 404 PRODUCT_UNKNOWN', async () => {
    const id = (await initiate(standingOrder('decoupled'))).json.paymentId;
    expect((await call('GET', `${url(id, 'instant-sepa-credit-transfers')}/status`)).status).toBe(403);
    expect((await call('GET', `${url('00000000-0000-4000-8000-000000000000')}/status`)).status).toBe(403);
    expect((await call('POST', url('', 'international'), { headers: initiationHeaders(), body: standingOrder('decoupled') })).status).toBe(404);
  });
});
