import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from './index';
import { BG, call, initiationHeaders, openScaPage, paymentBody, submitScaDecision, TPP_OK } from './test-helpers';

const DELAY_MS = 60_000;
let scaOffsetMs = 0;
const START = Date.parse('2027-01-04T10:00:00Z');

describe('Berlin Group sandbox: cancellation authorisation of a future-dated single payment', () => {
  let sandbox: RunningBerlinGroupSandbox;
  const url = (id = '') => `${sandbox.url}/v1/payments/sepa-credit-transfers${id ? `/${id}` : ''}`;
  const status = async (id: string) => (await call('GET', `${url(id)}/status`, { template: BG.status })).json.transactionStatus;

  beforeAll(async () => {
    sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: DELAY_MS, now: () => Date.now() + scaOffsetMs });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.ais.setClock(START));

  async function authorisedFutureDated(psuId: string) {
    const created = await call('POST', url(), { headers: initiationHeaders({ 'PSU-ID': psuId }), body: paymentBody({ requestedExecutionDate: '2027-01-08' }), template: BG.initiate });
    expect(created.status).toBe(201);
    if (psuId === 'decoupled') scaOffsetMs += DELAY_MS + 1;
    else {
      await openScaPage(created.json._links.scaRedirect.href);
      await submitScaDecision(created.json._links.scaRedirect.href, 'approve');
    }
    expect(await status(created.json.paymentId)).toBe('ACCP');
    return created.json.paymentId as string;
  }

  it('decoupled: DELETE → 202 startAuthorisation, the app approves → CANC, never executed on its date', async () => {
    const id = await authorisedFutureDated('decoupled');
    const early = await call('POST', `${url(id)}/cancellation-authorisations`, { body: {} });
    expect([early.status, early.json.tppMessages[0].code]).toEqual([409, 'STATUS_INVALID']);
    const del = await call('DELETE', url(id), { template: BG.payment });
    expect(del.status).toBe(202);
    expect(del.json).toMatchObject({ transactionStatus: 'ACCP', _links: { startAuthorisation: { href: `${url(id)}/cancellation-authorisations` } } });
    const started = await call('POST', del.json._links.startAuthorisation.href, { body: {} });
    expect([started.status, started.json.scaStatus, started.headers.get('aspsp-sca-approach')]).toEqual([201, 'started', 'DECOUPLED']);
    expect((await call('GET', `${url(id)}/cancellation-authorisations`)).json).toEqual({ cancellationIds: [started.json.authorisationId] });
    scaOffsetMs += DELAY_MS + 1;
    expect((await call('GET', started.json._links.scaStatus.href)).json.scaStatus).toBe('finalised');
    expect(await status(id)).toBe('CANC');
    sandbox.ais.setClock(Date.parse('2027-01-11T10:00:00Z'));
    expect(await status(id)).toBe('CANC');
    expect(sandbox.bank.getPayment(id)!.executed).toBe(false);
  });

  it('redirect: the PSU denies the cancellation on the page → the payment stays ACCP and executes on its date', async () => {
    const id = await authorisedFutureDated('redirect-psu');
    expect((await call('DELETE', url(id))).status).toBe(202);
    const started = await call('POST', `${url(id)}/cancellation-authorisations`, { body: {}, headers: { 'TPP-Redirect-URI': TPP_OK } });
    expect(started.json._links.scaRedirect.href).toBe(`${sandbox.url}/sca/cancellations/${started.json.authorisationId}`);
    expect((await openScaPage(started.json._links.scaRedirect.href)).html).toContain('Authorise cancellation of payment');
    expect((await submitScaDecision(started.json._links.scaRedirect.href, 'deny')).status).toBe(302);
    expect((await call('GET', `${url(id)}/cancellation-authorisations/${started.json.authorisationId}`)).json.scaStatus).toBe('failed');
    expect(await status(id)).toBe('ACCP');
    sandbox.ais.setClock(Date.parse('2027-01-08T10:00:00Z'));
    expect(await status(id)).toBe('ACSP');
    expect(await status(id)).toBe('ACSC');
    expect((await call('DELETE', url(id))).status).toBe(405);
  });
});
