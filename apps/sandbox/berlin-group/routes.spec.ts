import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createBerlinGroupSandboxRouter, startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from './index';
import {
  amount,
  BG,
  bgClient,
  call,
  followScaStatus,
  initiationHeaders,
  openScaPage,
  paymentBody,
  submitScaDecision,
  TPP_NOK,
  TPP_OK,
} from './test-helpers';

/** Long, and passed by moving the bank's clock: the decoupled outcome never races the test. */
const DECOUPLED_DELAY_MS = 60_000;
const PENDING_POLLS = 3;

let clockOffsetMs = 0;
/** Time passes at the bank (its clock only: nothing else waits). */
const advanceBankClock = (ms: number) => void (clockOffsetMs += ms);

describe('Berlin Group sandbox over HTTP', () => {
  let sandbox: RunningBerlinGroupSandbox;
  let bg: ReturnType<typeof bgClient>;

  beforeAll(async () => {
    sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: DECOUPLED_DELAY_MS, pendingPolls: PENDING_POLLS, now: () => Date.now() + clockOffsetMs });
    bg = bgClient(sandbox.url);
  });
  afterAll(() => sandbox.close());

  /** Initiates and returns the 201 body, asserting the parts every scenario shares. */
  async function initiate(body = paymentBody(), headers = initiationHeaders()) {
    const res = await bg.initiate(body, headers);
    expect(res.status).toBe(201);
    expect(res.json.transactionStatus).toBe('RCVD');
    expect(res.headers.get('location')).toBe(res.json._links.self.href);
    expect(res.json._links.status.href).toBe(`${res.json._links.self.href}/status`);
    expect(res.json._links.scaStatus.href).toBe(`${res.json._links.self.href}/authorisations/${res.json.authorisationId}`);
    return { ...res.json, scaApproach: res.headers.get('aspsp-sca-approach') };
  }

  async function approveOnPage(scaRedirect: string) {
    const decided = await submitScaDecision(scaRedirect, 'approve');
    expect(decided).toMatchObject({ status: 302, location: TPP_OK });
  }

  async function statusOf(paymentId: string): Promise<string> {
    const res = await bg.status(paymentId);
    expect(res.status).toBe(200);
    return res.json.transactionStatus;
  }

  it('listens where it says, mounted under /berlin-group', () => {
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/berlin-group$/);
  });

  describe('redirect SCA', () => {
    it('approve: page shows the payment, PSU approves, 302 to TPP-Redirect-URI, status reads ACSP then ACSC', async () => {
      const created = await initiate();
      expect(created.scaApproach).toBe('REDIRECT');
      expect(created._links.scaRedirect.href).toBe(`${sandbox.url}/sca/${created.authorisationId}`);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('received');

      const page = await openScaPage(created._links.scaRedirect.href);
      expect(page.status).toBe(200);
      expect(page.html).toContain('<form method="post">');
      expect(page.html).toMatch(/name="decision" value="approve"[^>]*>Approve</);
      expect(page.html).toMatch(/name="decision" value="deny"[^>]*>Deny</);
      expect(page.html).toContain('10.00 EUR');
      expect(page.html).toContain('Fietsenwinkel &lt;Utrecht&gt; &amp; Co');
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('started');
      expect(await statusOf(created.paymentId)).toBe('RCVD');

      await approveOnPage(created._links.scaRedirect.href);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('finalised');
      const payment = await bg.getPayment(created.paymentId);
      expect(payment.json).toMatchObject({ ...paymentBody(), transactionStatus: 'ACSP' });
      expect(await statusOf(created.paymentId)).toBe('ACSP');
      expect(await statusOf(created.paymentId)).toBe('ACSC');
      expect(await statusOf(created.paymentId)).toBe('ACSC');
    });

    it('deny: 302 to TPP-Nok-Redirect-URI, SCA failed, RJCT', async () => {
      const created = await initiate();
      const decided = await submitScaDecision(created._links.scaRedirect.href, 'deny');
      expect(decided).toMatchObject({ status: 302, location: TPP_NOK });
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('failed');
      expect(await statusOf(created.paymentId)).toBe('RJCT');
    });

    it('deny without TPP-Nok-Redirect-URI falls back to TPP-Redirect-URI', async () => {
      const created = await initiate(paymentBody(), initiationHeaders({ 'TPP-Nok-Redirect-URI': undefined }));
      expect(await submitScaDecision(created._links.scaRedirect.href, 'deny')).toMatchObject({ status: 302, location: TPP_OK });
    });

    it('a second decision is refused with 409 and changes nothing', async () => {
      const created = await initiate();
      await approveOnPage(created._links.scaRedirect.href);
      const second = await submitScaDecision(created._links.scaRedirect.href, 'deny');
      expect(second.status).toBe(409);
      expect(second.html).toContain('already approved');
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('finalised');
      expect(await statusOf(created.paymentId)).toBe('ACSP');
      expect((await openScaPage(created._links.scaRedirect.href)).html).not.toContain('<form');
    });

    it.each([
      ['an unknown decision', 'maybe', 400],
    ])('answers %s (%s) with HTML %d', async (_name, decision, status) => {
      const created = await initiate();
      expect((await submitScaDecision(created._links.scaRedirect.href, decision)).status).toBe(status);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('received');
    });

    it('an unknown SCA page is a 404 HTML page', async () => {
      const page = await openScaPage(`${sandbox.url}/sca/${randomUUID()}`);
      expect(page.status).toBe(404);
      expect(page.html).toContain('<!doctype html>');
    });
  });

  describe('SCA exempted (PSU-ID: exempt)', () => {
    it('executes without SCA: 201 ACSP with self and status links only, no ASPSP-SCA-Approach; settles; 405 on cancel', async () => {
      const res = await bg.initiate(paymentBody(), initiationHeaders({ 'PSU-ID': 'exempt', 'TPP-Redirect-URI': undefined, 'TPP-Nok-Redirect-URI': undefined }));
      expect(res.status).toBe(201);
      expect(res.json).toEqual({
        transactionStatus: 'ACSP',
        paymentId: expect.any(String),
        _links: { self: { href: res.headers.get('location') }, status: { href: `${res.headers.get('location')}/status` } },
      });
      expect(res.headers.get('aspsp-sca-approach')).toBeNull();
      expect((await bg.listAuthorisations(res.json.paymentId)).json).toEqual({ authorisationIds: [] });
      expect(await statusOf(res.json.paymentId)).toBe('ACSP');
      expect(await statusOf(res.json.paymentId)).toBe('ACSC');
      const cancel = await bg.cancel(res.json.paymentId);
      expect(cancel.status).toBe(405);
      expect(cancel.json.tppMessages[0]).toMatchObject({ code: 'CANCELLATION_INVALID' });
      expect(sandbox.bank.getPayment(res.json.paymentId)).toMatchObject({ scaStatus: 'exempted', executed: true });
    });
  });

  describe('decoupled SCA', () => {
    it('PSU-ID decoupled: approved in the "app" after the delay, then ACSP, ACSC', async () => {
      const created = await initiate(paymentBody(), initiationHeaders({ 'PSU-ID': 'decoupled', 'TPP-Redirect-URI': undefined }));
      expect(created.scaApproach).toBe('DECOUPLED');
      expect(created._links.scaRedirect).toBeUndefined();
      expect(created.psuMessage).toEqual(expect.any(String));
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('started');
      expect(await statusOf(created.paymentId)).toBe('RCVD');
      expect((await openScaPage(`${sandbox.url}/sca/${created.authorisationId}`)).status).toBe(404);

      advanceBankClock(DECOUPLED_DELAY_MS + 20);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('finalised');
      expect((await bg.getPayment(created.paymentId)).json.transactionStatus).toBe('ACSP');
      expect([await statusOf(created.paymentId), await statusOf(created.paymentId)]).toEqual(['ACSP', 'ACSC']);
    });

    it('PSU-ID decoupled-deny: SCA fails after the delay, RJCT', async () => {
      const created = await initiate(paymentBody(), initiationHeaders({ 'PSU-ID': 'decoupled-deny' }));
      expect(created.scaApproach).toBe('DECOUPLED');
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('started');
      advanceBankClock(DECOUPLED_DELAY_MS + 20);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('failed');
      expect(await statusOf(created.paymentId)).toBe('RJCT');
    });

    it('TPP-Redirect-Preferred: false gets decoupled SCA without a redirect URI', async () => {
      const created = await initiate(
        paymentBody(),
        initiationHeaders({ 'TPP-Redirect-Preferred': 'false', 'TPP-Redirect-URI': undefined, 'TPP-Nok-Redirect-URI': undefined }),
      );
      expect(created.scaApproach).toBe('DECOUPLED');
    });
  });

  describe('amount scenarios', () => {
    it('cents 13: the bank rejects after SCA', async () => {
      const created = await initiate(paymentBody(amount('10.13')));
      await approveOnPage(created._links.scaRedirect.href);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('finalised');
      expect(await statusOf(created.paymentId)).toBe('RJCT');
      expect(await statusOf(created.paymentId)).toBe('RJCT');
    });

    it(`cents 42: exactly ${PENDING_POLLS} pending status reads after SCA, then ACSC`, async () => {
      const created = await initiate(paymentBody(amount('99.42')), initiationHeaders({ 'PSU-ID': 'decoupled' }));
      expect(await statusOf(created.paymentId)).toBe('RCVD'); // reads before SCA do not count
      advanceBankClock(DECOUPLED_DELAY_MS + 20);
      expect((await bg.getPayment(created.paymentId)).json.transactionStatus).toBe('ACSP');
      const reads: string[] = [];
      for (let i = 0; i < PENDING_POLLS + 2; i += 1) reads.push(await statusOf(created.paymentId));
      expect(reads).toEqual(['PDNG', 'PDNG', 'PDNG', 'ACSC', 'ACSC']);
    });
  });

  describe('cancellation', () => {
    it('before SCA: 204, CANC, the SCA page refuses, a second DELETE is 405', async () => {
      const created = await initiate();
      expect((await bg.cancel(created.paymentId)).status).toBe(204);
      expect(await statusOf(created.paymentId)).toBe('CANC');
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('failed');
      expect((await submitScaDecision(created._links.scaRedirect.href, 'approve')).status).toBe(409);
      const again = await bg.cancel(created.paymentId);
      expect(again.status).toBe(405);
      expect(again.json.tppMessages[0].code).toBe('CANCELLATION_INVALID');
    });

    it('a decoupled payment cancelled before the app decides stays CANC', async () => {
      const created = await initiate(paymentBody(), initiationHeaders({ 'PSU-ID': 'decoupled' }));
      expect((await bg.cancel(created.paymentId)).status).toBe(204);
      advanceBankClock(DECOUPLED_DELAY_MS + 20);
      expect(await statusOf(created.paymentId)).toBe('CANC');
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('failed');
    });

    it('after SCA: 405 CANCELLATION_INVALID and the payment carries on', async () => {
      const created = await initiate();
      await approveOnPage(created._links.scaRedirect.href);
      const res = await bg.cancel(created.paymentId);
      expect(res.status).toBe(405);
      expect(res.json.tppMessages).toEqual([expect.objectContaining({ category: 'ERROR', code: 'CANCELLATION_INVALID' })]);
      expect(await statusOf(created.paymentId)).toBe('ACSP');
    });
  });

  describe('authorisation sub-resources', () => {
    it('explicit start, list, SCA status, PSU data update; the first finished authorisation decides', async () => {
      const created = await initiate();
      const started = await bg.startAuthorisation(created.paymentId);
      expect(started.status).toBe(201);
      expect(started.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
      expect(started.json).toEqual({
        scaStatus: 'received',
        authorisationId: expect.any(String),
        _links: {
          scaRedirect: { href: `${sandbox.url}/sca/${started.json.authorisationId}` },
          scaStatus: { href: `${created._links.self.href}/authorisations/${started.json.authorisationId}` },
        },
      });

      const list = await bg.listAuthorisations(created.paymentId);
      expect(list.json).toEqual({ authorisationIds: [created.authorisationId, started.json.authorisationId] });

      const status = await bg.scaStatus(created.paymentId, started.json.authorisationId);
      expect(status.json).toEqual({ scaStatus: 'received' });

      for (const psuData of [{}, { psuData: { password: 'sandbox' } }]) {
        const updated = await bg.updatePsuData(created.paymentId, started.json.authorisationId, psuData);
        expect(updated.status).toBe(200);
        expect(updated.json).toMatchObject({ scaStatus: 'received', _links: { scaStatus: { href: expect.any(String) } } });
      }

      await approveOnPage(started.json._links.scaRedirect.href);
      expect(await followScaStatus(created._links.scaStatus.href)).toBe('received');
      expect((await submitScaDecision(created._links.scaRedirect.href, 'deny')).status).toBe(409);
      expect(await statusOf(created.paymentId)).toBe('ACSP');

      const late = await bg.startAuthorisation(created.paymentId);
      expect(late.status).toBe(409);
      expect(late.json.tppMessages[0].code).toBe('STATUS_INVALID');
    });

    it('explicit start on a decoupled payment is decoupled too', async () => {
      const created = await initiate(paymentBody(), initiationHeaders({ 'PSU-ID': 'decoupled' }));
      const started = await bg.startAuthorisation(created.paymentId, {}, { 'PSU-ID': 'decoupled' });
      expect(started.status).toBe(201);
      expect(started.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
      expect(started.json).toMatchObject({ scaStatus: 'started', psuMessage: expect.any(String) });
      expect(started.json._links.scaRedirect).toBeUndefined();
      advanceBankClock(DECOUPLED_DELAY_MS + 20);
      expect((await bg.scaStatus(created.paymentId, started.json.authorisationId)).json.scaStatus).toBe('finalised');
    });

    it('unknown authorisation ids are 403 RESOURCE_UNKNOWN', async () => {
      const created = await initiate();
      const other = await initiate();
      for (const authorisationId of [randomUUID(), other.authorisationId]) {
        const res = await bg.scaStatus(created.paymentId, authorisationId);
        expect(res.status).toBe(403);
        expect(res.json.tppMessages[0]).toMatchObject({ code: 'RESOURCE_UNKNOWN', path: 'authorisationId' });
        expect((await bg.updatePsuData(created.paymentId, authorisationId)).status).toBe(403);
      }
    });
  });

  describe('X-Request-ID: no deduplication unless asked', () => {
    it('by default a repeated X-Request-ID creates a second payment, as at a real bank', async () => {
      const headers = initiationHeaders();
      const first = await initiate(paymentBody(), headers);
      const second = await initiate(paymentBody(), headers);
      expect(second.paymentId).not.toBe(first.paymentId);
      expect(sandbox.bank.findPaymentsByRequestId(headers['X-Request-ID']).map((p) => p.paymentId)).toEqual([first.paymentId, second.paymentId]);
      expect(sandbox.bank.stats().payments.filter((p) => p.requestId === headers['X-Request-ID']).map((p) => p.initiationRequests)).toEqual([2, 2]);
    });

    it('Sandbox-Deduplicate must be true or false', async () => {
      const res = await bg.initiate(paymentBody(), initiationHeaders({ 'Sandbox-Deduplicate': 'yes' }));
      expect(res.status).toBe(400);
      expect(res.json.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', text: expect.stringContaining('Sandbox-Deduplicate') });
    });

    it('GET/PUT /_sandbox/settings switches deduplication sandbox-wide', async () => {
      const settings = (method: string, body?: unknown) => call(method, `${sandbox.url}/_sandbox/settings`, { body });
      expect((await settings('GET')).json).toEqual({ deduplicateRequestIds: false });
      expect((await settings('PUT', { deduplicateRequestIds: 'on' })).status).toBe(400);
      try {
        expect((await settings('PUT', { deduplicateRequestIds: true })).json).toEqual({ deduplicateRequestIds: true });
        const headers = initiationHeaders();
        const first = await initiate(paymentBody(), headers);
        expect((await initiate(paymentBody(), headers)).paymentId).toBe(first.paymentId);
      } finally {
        await settings('PUT', { deduplicateRequestIds: false });
      }
      expect(sandbox.bank.deduplicates()).toBe(false);
    });

    it('with Sandbox-Deduplicate: true a replay returns the same 201 and creates nothing; stats count every request', async () => {
      const headers = initiationHeaders({ 'Sandbox-Deduplicate': 'true' });
      const first = await bg.initiate(paymentBody(), headers);
      const { endToEndIdentification, ...rest } = paymentBody();
      const reordered = { ...rest, endToEndIdentification };
      const replay = await bg.initiate(reordered, headers);
      expect(replay.status).toBe(201);
      expect(replay.json).toEqual(first.json);
      expect(replay.headers.get('location')).toBe(first.headers.get('location'));
      expect(replay.headers.get('aspsp-sca-approach')).toBe('REDIRECT');

      const before = sandbox.bank.stats().totals;
      const conflict = await bg.initiate(paymentBody(amount('11.00')), headers);
      expect(conflict.status).toBe(400);
      expect(conflict.json.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', text: expect.stringContaining(headers['X-Request-ID']) });
      expect(conflict.json.tppMessages[0].text).toContain('different');

      const stats = sandbox.bank.stats();
      expect(stats.totals.paymentsCreated).toBe(before.paymentsCreated);
      expect(stats.payments.filter((p) => p.requestId === headers['X-Request-ID'])).toEqual([
        { paymentId: first.json.paymentId, requestId: headers['X-Request-ID'], initiationRequests: 3, transactionStatus: 'RCVD', scaStatus: 'received', executed: false },
      ]);
      expect(sandbox.bank.findPaymentsByRequestId(headers['X-Request-ID']).map((p) => p.paymentId)).toEqual([first.json.paymentId]);
    });

    it('with Sandbox-Deduplicate: true the same body under another product with the same key is a conflict', async () => {
      const headers = initiationHeaders({ 'Sandbox-Deduplicate': 'true' });
      await bg.initiate(paymentBody(), headers);
      const res = await bgClient(sandbox.url, 'instant-sepa-credit-transfers').initiate(paymentBody(), headers);
      expect(res.status).toBe(400);
    });
  });

  describe('request validation', () => {
    const ibanWithBadChecksum = 'DE89370400440532013001';
    const cases: [string, { headers?: Record<string, string | undefined>; body?: unknown }, string][] = [
      ['missing X-Request-ID', { headers: { 'X-Request-ID': undefined } }, 'X-Request-ID'],
      ['X-Request-ID not a UUID', { headers: { 'X-Request-ID': 'abc' } }, 'X-Request-ID'],
      ['missing PSU-IP-Address', { headers: { 'PSU-IP-Address': undefined } }, 'PSU-IP-Address'],
      ['PSU-IP-Address not an IP', { headers: { 'PSU-IP-Address': 'localhost' } }, 'PSU-IP-Address'],
      ['missing TPP-Redirect-URI for redirect SCA', { headers: { 'TPP-Redirect-URI': undefined } }, 'TPP-Redirect-URI'],
      ['relative TPP-Redirect-URI', { headers: { 'TPP-Redirect-URI': '/ok' } }, 'TPP-Redirect-URI'],
      ['bad TPP-Nok-Redirect-URI', { headers: { 'TPP-Nok-Redirect-URI': 'nope' } }, 'TPP-Nok-Redirect-URI'],
      ['bad TPP-Redirect-Preferred', { headers: { 'TPP-Redirect-Preferred': 'yes' } }, 'TPP-Redirect-Preferred'],
      ['missing instructedAmount', { body: paymentBody({ instructedAmount: undefined }) }, 'instructedAmount'],
      ['missing debtorAccount', { body: paymentBody({ debtorAccount: undefined }) }, 'debtorAccount'],
      ['missing creditorAccount', { body: paymentBody({ creditorAccount: undefined }) }, 'creditorAccount'],
      ['missing creditorName', { body: paymentBody({ creditorName: undefined }) }, 'creditorName'],
      ['debtor IBAN checksum', { body: paymentBody({ debtorAccount: { iban: ibanWithBadChecksum } }) }, 'debtorAccount.iban'],
      ['creditor IBAN checksum', { body: paymentBody({ creditorAccount: { iban: ibanWithBadChecksum } }) }, 'creditorAccount.iban'],
      ['zero amount', { body: paymentBody(amount('0.00')) }, 'instructedAmount.amount'],
      ['negative amount', { body: paymentBody(amount('-5.00')) }, 'instructedAmount.amount'],
      ['comma decimal', { body: paymentBody(amount('10,50')) }, 'instructedAmount.amount'],
      ['number amount', { body: { ...paymentBody(), instructedAmount: { currency: 'EUR', amount: 10.5 } } }, 'instructedAmount.amount'],
      ['bad currency', { body: paymentBody({ instructedAmount: { currency: 'eur', amount: '1.00' } }) }, 'instructedAmount.currency'],
      ['JSON array body', { body: [] }, 'JSON object'],
    ];

    it.each(cases)('%s → 400 FORMAT_ERROR naming it', async (_name, { headers, body }, named) => {
      const res = await call('POST', `${sandbox.url}/v1/payments/sepa-credit-transfers`, {
        headers: initiationHeaders(headers),
        body: body ?? paymentBody(),
        template: BG.initiate,
        skipRequestValidation: true,
        withoutRequestId: headers !== undefined && 'X-Request-ID' in headers && headers['X-Request-ID'] === undefined,
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const messages = res.json.tppMessages as { code: string; text: string; path?: string }[];
      expect(messages.every((m) => m.code === 'FORMAT_ERROR')).toBe(true);
      expect(messages.map((m) => `${m.path ?? ''} ${m.text}`).join(' | ')).toContain(named);
    });

    it('reports every problem at once', async () => {
      const res = await call('POST', `${sandbox.url}/v1/payments/sepa-credit-transfers`, {
        headers: initiationHeaders({ 'PSU-IP-Address': undefined }),
        body: { creditorName: 'x' },
        template: BG.initiate,
        skipRequestValidation: true,
      });
      expect(res.json.tppMessages.map((m: { path?: string }) => m.path)).toEqual([
        undefined,
        'instructedAmount',
        'debtorAccount',
        'creditorAccount',
      ]);
    });

    it.each([
      ['malformed JSON', '{"instructedAmount":', 'not valid JSON'],
      ['a body over 100kb', JSON.stringify({ ...paymentBody(), pad: 'x'.repeat(110_000) }), 'larger than 100kb'],
    ])('%s → 400 FORMAT_ERROR, never 500', async (_name, rawBody, text) => {
      const res = await call('POST', `${sandbox.url}/v1/payments/sepa-credit-transfers`, {
        headers: initiationHeaders(),
        rawBody,
        template: BG.initiate,
      });
      expect(res.status).toBe(400);
      expect(res.json.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', text: expect.stringContaining(text) });
    });

    it('a non-JSON content type is a FORMAT_ERROR', async () => {
      const res = await fetch(`${sandbox.url}/v1/payments/sepa-credit-transfers`, {
        method: 'POST',
        headers: { ...initiationHeaders(), 'Content-Type': 'text/plain' },
        body: 'hello',
      });
      expect(res.status).toBe(400);
    });
  });

  describe('unknown resources', () => {
    it.each([
      ['an unknown product', 'POST', '/v1/payments/target-2-payments', BG.initiate, 404, 'PRODUCT_UNKNOWN'],
      ['an XML (pain.001) product', 'POST', '/v1/payments/pain.001-sepa-credit-transfers', BG.initiate, 404, 'PRODUCT_UNKNOWN'],
      ['a product we do not offer on GET', 'GET', `/v1/payments/cross-border-credit-transfers/${randomUUID()}`, BG.payment, 404, 'PRODUCT_UNKNOWN'],
      ['bulk payments at SANDNL2AXXX (not offered there)', 'POST', '/nl/v1/bulk-payments/sepa-credit-transfers', BG.initiate, 400, 'SERVICE_INVALID'],
      ['an unknown payment id', 'GET', `/v1/payments/sepa-credit-transfers/${randomUUID()}`, BG.payment, 403, 'RESOURCE_UNKNOWN'],
      ['an unknown payment id (status)', 'GET', `/v1/payments/sepa-credit-transfers/${randomUUID()}/status`, BG.status, 403, 'RESOURCE_UNKNOWN'],
      ['an unknown payment id (cancel)', 'DELETE', `/v1/payments/sepa-credit-transfers/${randomUUID()}`, BG.payment, 403, 'RESOURCE_UNKNOWN'],
      ['an unknown payment id (authorisations)', 'GET', `/v1/payments/sepa-credit-transfers/${randomUUID()}/authorisations`, BG.authorisations, 403, 'RESOURCE_UNKNOWN'],
    ] as const)('%s → %s %s', async (_name, method, path, template, status, code) => {
      const res = await call(method, `${sandbox.url}${path}`, {
        headers: method === 'POST' ? initiationHeaders() : {},
        body: method === 'POST' ? paymentBody() : undefined,
        template,
      });
      expect(res.status).toBe(status);
      expect(res.json.tppMessages[0].code).toBe(code);
    });

    it('a payment addressed under another product is unknown', async () => {
      const created = await initiate();
      const res = await bgClient(sandbox.url, 'domestic').getPayment(created.paymentId);
      expect(res.status).toBe(403);
    });

    it.each(['/v1/nothing/here/at/all/really', '/nothing', '/_sandbox/nope'])('unknown route %s → 404 JSON', async (path) => {
      const res = await call('GET', `${sandbox.url}${path}`);
      expect(res.status).toBe(404);
      expect(res.json.tppMessages[0].code).toBe('RESOURCE_UNKNOWN');
    });

    it('outside the mount → 404 JSON', async () => {
      const res = await call('GET', sandbox.url.replace('/berlin-group', '/elsewhere'));
      expect(res.status).toBe(404);
      expect(res.json.tppMessages).toBeDefined();
    });
  });

  it.each(['instant-sepa-credit-transfers', 'domestic', 'international'])('offers the %s product', async (product) => {
    const res = await bgClient(sandbox.url, product).initiate(paymentBody());
    expect(res.status).toBe(201);
    expect(res.json._links.self.href).toContain(`/v1/payments/${product}/`);
  });
});

describe('createBerlinGroupSandboxRouter in a host app', () => {
  it('mounts anywhere and builds links from the request when no publicUrl is set', async () => {
    const { router, bank } = createBerlinGroupSandboxRouter({ decoupledDelayMs: 10 });
    const app = express().use('/banks/berlin-group', router);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/banks/berlin-group`;
      const res = await bgClient(base).initiate(paymentBody());
      expect(res.status).toBe(201);
      expect(res.json._links.scaRedirect.href).toBe(`${base}/sca/${res.json.authorisationId}`);
      expect(bank.stats().totals.paymentsCreated).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('uses publicUrl for links when given', async () => {
    const sandbox = await startBerlinGroupSandbox({ port: 0, publicUrl: 'https://sandbox.clearway.example/berlin-group/' });
    try {
      const res = await bgClient(sandbox.url).initiate(paymentBody());
      expect(res.json._links.self.href).toBe(`https://sandbox.clearway.example/berlin-group/v1/payments/sepa-credit-transfers/${res.json.paymentId}`);
      expect(res.json._links.scaRedirect.href).toMatch(/^https:\/\/sandbox\.clearway\.example\/berlin-group\/sca\//);
    } finally {
      await sandbox.close();
    }
  });
});
