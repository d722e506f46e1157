import { isValidIban } from '../../../../libs/domain/iban';
import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from '../index';
import { openScaPage, submitScaDecision, TPP_NOK, TPP_OK } from '../test-helpers';
import { SANDBOX_OTP } from './consents';
import { AIS, aisCall, aisClient, consentBody, consentHeaders } from './test-helpers';

const DECOUPLED_DELAY_MS = 50;
const PAGE_SIZE = 100;
/** The bank clock starts here and ticks with real time. */
const START = Date.parse('2025-06-15T10:00:00Z');
const DAY_MS = 86_400_000;
const AMOUNT = /^-?\d{1,14}\.\d{2}$/;

function minorOf(amount: string): bigint {
  const [int, frac] = amount.replace('-', '').split('.');
  const value = BigInt(int) * 100n + BigInt(frac);
  return amount.startsWith('-') ? -value : value;
}

describe('Berlin Group sandbox AIS over HTTP', () => {
  let sandbox: RunningBerlinGroupSandbox;
  let ais: ReturnType<typeof aisClient>;

  beforeAll(async () => {
    const realStart = Date.now();
    sandbox = await startBerlinGroupSandbox({
      port: 0,
      decoupledDelayMs: DECOUPLED_DELAY_MS,
      ais: { now: () => START + (Date.now() - realStart), transactionPageSize: PAGE_SIZE },
    });
    ais = aisClient(sandbox.url);
  });
  afterAll(() => sandbox.close());
  afterEach(() => {
    sandbox.ais.resetClock();
    sandbox.bank.resetFaults();
  });

  async function create(body = consentBody(), headers = consentHeaders()) {
    const res = await ais.createConsent(body, headers);
    expect(res.status).toBe(201);
    expect(res.json.consentStatus).toBe('received');
    expect(res.headers.get('location')).toBe(res.json._links.self.href);
    return { ...res.json, scaApproach: res.headers.get('aspsp-sca-approach') as string };
  }

  /** A valid consent through redirect SCA (the default PSU unless another PSU-ID is given). */
  async function validConsent(body = consentBody(), headers = consentHeaders()): Promise<string> {
    const created = await create(body, headers);
    await openScaPage(created._links.scaRedirect.href);
    expect(await submitScaDecision(created._links.scaRedirect.href, 'approve')).toMatchObject({ status: 302, location: TPP_OK });
    expect((await ais.status(created.consentId)).json.consentStatus).toBe('valid');
    return created.consentId;
  }

  async function consentStatus(consentId: string): Promise<string> {
    const res = await ais.status(consentId);
    expect(res.status).toBe(200);
    return res.json.consentStatus;
  }

  function expectError(res: { status: number; json: any }, status: number, code: string) {
    expect({ status: res.status, code: res.json?.tppMessages?.[0]?.code }).toEqual({ status, code });
  }

  const accountsOfDefaultPsu = () => sandbox.ais.accountsOf();

  describe('SCA approaches', () => {
    it('redirect approve: the page shows the access, Approve → 302 to TPP-Redirect-URI, consent valid', async () => {
      const created = await create();
      expect(created.scaApproach).toBe('REDIRECT');
      expect(created._links.scaRedirect.href).toBe(`${sandbox.url}/sca/consents/${created.authorisationId}`);
      expect((await ais.scaStatus(created.consentId, created.authorisationId)).json.scaStatus).toBe('received');

      const page = await openScaPage(created._links.scaRedirect.href);
      expect(page.status).toBe(200);
      expect(page.html).toContain('<form method="post">');
      expect(page.html).toMatch(/name="decision" value="approve"[^>]*>Approve</);
      expect(page.html).toMatch(/name="decision" value="deny"[^>]*>Deny</);
      expect(page.html).toContain('allPsd2');
      expect(page.html).toContain('SEK');
      expect((await ais.scaStatus(created.consentId, created.authorisationId)).json.scaStatus).toBe('started');

      expect(await submitScaDecision(created._links.scaRedirect.href, 'approve')).toMatchObject({ status: 302, location: TPP_OK });
      expect((await ais.scaStatus(created.consentId, created.authorisationId)).json.scaStatus).toBe('finalised');
      expect(await consentStatus(created.consentId)).toBe('valid');
      expect((await submitScaDecision(created._links.scaRedirect.href, 'deny')).status).toBe(409);
      expect(await consentStatus(created.consentId)).toBe('valid');
    });

    it('redirect deny: 302 to TPP-Nok-Redirect-URI, consent rejected, reads refused', async () => {
      const created = await create();
      await openScaPage(created._links.scaRedirect.href);
      expect(await submitScaDecision(created._links.scaRedirect.href, 'deny')).toMatchObject({ status: 302, location: TPP_NOK });
      expect(await consentStatus(created.consentId)).toBe('rejected');
      expectError(await ais.accounts(created.consentId), 401, 'CONSENT_INVALID');
    });

    it.each([
      ['decoupled', 'finalised', 'valid'],
      ['decoupled-deny', 'failed', 'rejected'],
    ])('PSU-ID %s: DECOUPLED, scaStatus started → %s, consent %s', async (psuId, scaStatus, finalStatus) => {
      // The bank clock stands still until advanced, so a slow machine cannot outrun the PSU's decision.
      sandbox.ais.setClock(sandbox.ais.now());
      const created = await create(consentBody(), consentHeaders({ 'PSU-ID': psuId, 'TPP-Redirect-URI': undefined, 'TPP-Nok-Redirect-URI': undefined }));
      expect(created.scaApproach).toBe('DECOUPLED');
      expect(created.psuMessage).toEqual(expect.any(String));
      expect(created._links.scaRedirect).toBeUndefined();
      expect((await ais.scaStatus(created.consentId, created.authorisationId)).json.scaStatus).toBe('started');
      expect(await consentStatus(created.consentId)).toBe('received');
      sandbox.ais.advanceClock(DECOUPLED_DELAY_MS + 1);
      expect((await ais.scaStatus(created.consentId, created.authorisationId)).json.scaStatus).toBe(scaStatus);
      expect(await consentStatus(created.consentId)).toBe(finalStatus);
    });

    describe('embedded (PSU-ID embedded)', () => {
      const embeddedHeaders = () => consentHeaders({ 'PSU-ID': 'embedded', 'TPP-Redirect-URI': undefined, 'TPP-Nok-Redirect-URI': undefined });

      async function authenticated() {
        const created = await create(consentBody(), embeddedHeaders());
        expect(created.scaApproach).toBe('EMBEDDED');
        expect(created._links.startAuthorisationWithPsuAuthentication.href).toBe(`${created._links.self.href}/authorisations`);
        expect(created._links.scaRedirect).toBeUndefined();
        expect(created.authorisationId).toBeUndefined();
        const started = await ais.startAuthorisation(created.consentId, { psuData: { password: 'secret' } });
        expect(started.status).toBe(201);
        expect(started.headers.get('aspsp-sca-approach')).toBe('EMBEDDED');
        expect(started.json).toMatchObject({
          scaStatus: 'psuAuthenticated',
          scaMethods: [
            { authenticationType: 'SMS_OTP', authenticationMethodId: 'SMS_OTP' },
            { authenticationType: 'PUSH_OTP', authenticationMethodId: 'PUSH_OTP' },
          ],
        });
        expect(started.json._links.selectAuthenticationMethod.href).toBe(`${created._links.self.href}/authorisations/${started.json.authorisationId}`);
        return { consentId: created.consentId as string, authorisationId: started.json.authorisationId as string };
      }

      async function selectSms(consentId: string, authorisationId: string) {
        const selected = await ais.updatePsuData(consentId, authorisationId, { authenticationMethodId: 'SMS_OTP' });
        expect(selected.status).toBe(200);
        expect(selected.json).toMatchObject({
          scaStatus: 'scaMethodSelected',
          chosenScaMethod: { authenticationType: 'SMS_OTP', authenticationMethodId: 'SMS_OTP' },
          challengeData: { otpMaxLength: 6, otpFormat: 'integer' },
        });
        expect(selected.json._links.authoriseTransaction.href).toContain(`/authorisations/${authorisationId}`);
      }

      it(`password, SMS_OTP, OTP ${SANDBOX_OTP} → finalised, consent valid`, async () => {
        const { consentId, authorisationId } = await authenticated();
        await selectSms(consentId, authorisationId);
        const done = await ais.updatePsuData(consentId, authorisationId, { scaAuthenticationData: SANDBOX_OTP });
        expect(done.status).toBe(200);
        expect(done.json.scaStatus).toBe('finalised');
        expect(await consentStatus(consentId)).toBe('valid');
        expect((await ais.listAuthorisations(consentId)).json.authorisationIds).toEqual([authorisationId]);
        expectError(await ais.updatePsuData(consentId, authorisationId, { scaAuthenticationData: SANDBOX_OTP }), 409, 'STATUS_INVALID');
      });

      it('empty start, PSU data by PUT, wrong OTP → failed, consent rejected', async () => {
        const created = await create(consentBody(), embeddedHeaders());
        const started = await ais.startAuthorisation(created.consentId, {});
        expect(started.json.scaStatus).toBe('received');
        const id = started.json.authorisationId;
        expectError(await ais.updatePsuData(created.consentId, id, { authenticationMethodId: 'SMS_OTP' }), 409, 'STATUS_INVALID');
        const authenticated = await ais.updatePsuData(created.consentId, id, { psuData: { password: 'secret' } });
        expect(authenticated.json.scaStatus).toBe('psuAuthenticated');
        expectError(await ais.updatePsuData(created.consentId, id, { authenticationMethodId: 'CHIP_OTP' }), 400, 'SCA_METHOD_UNKNOWN');
        await selectSms(created.consentId, id);
        const failed = await ais.updatePsuData(created.consentId, id, { scaAuthenticationData: '000000' });
        expect(failed.json.scaStatus).toBe('failed');
        expect(await consentStatus(created.consentId)).toBe('rejected');
      });

      it('wrong password → 401 PSU_CREDENTIALS_INVALID at start and on PUT; a retry with the right one works', async () => {
        const created = await create(consentBody(), embeddedHeaders());
        expectError(await ais.startAuthorisation(created.consentId, { psuData: { password: 'wrong' } }), 401, 'PSU_CREDENTIALS_INVALID');
        expect((await ais.listAuthorisations(created.consentId)).json.authorisationIds).toEqual([]);
        const started = await ais.startAuthorisation(created.consentId, {});
        const id = started.json.authorisationId;
        expectError(await ais.updatePsuData(created.consentId, id, { psuData: { password: 'wrong' } }), 401, 'PSU_CREDENTIALS_INVALID');
        expect((await ais.scaStatus(created.consentId, id)).json.scaStatus).toBe('received');
        expect((await ais.updatePsuData(created.consentId, id, { psuData: { password: 'right' } })).json.scaStatus).toBe('psuAuthenticated');
        expect(await consentStatus(created.consentId)).toBe('received');
      });
    });
  });

  describe('consent resource', () => {
    it('GET returns the access as granted: 9999-12-31 → today + 180 days, accounts resolved', async () => {
      const consentId = await validConsent();
      const res = await ais.getConsent(consentId);
      expect(res.status).toBe(200);
      const today = new Date(sandbox.ais.now()).toISOString().slice(0, 10);
      expect(res.json).toMatchObject({
        recurringIndicator: true,
        validUntil: new Date(Date.parse(today) + 180 * DAY_MS).toISOString().slice(0, 10),
        frequencyPerDay: 4,
        lastActionDate: today,
        consentStatus: 'valid',
      });
      const ibans = accountsOfDefaultPsu().map((a) => a.iban);
      expect(res.json.access.accounts.map((a: { iban: string }) => a.iban)).toEqual(ibans);
      expect(res.json.access.transactions).toHaveLength(4);
      expect(res.json.access.allPsd2).toBe('allAccounts');
    });

    it('one-off consents get frequencyPerDay 1; an explicit date inside the maximum is kept', async () => {
      const validUntil = new Date(sandbox.ais.now() + 30 * DAY_MS).toISOString().slice(0, 10);
      const consentId = await validConsent(consentBody({ recurringIndicator: false, frequencyPerDay: 4, validUntil }));
      expect((await ais.getConsent(consentId)).json).toMatchObject({ frequencyPerDay: 1, validUntil, recurringIndicator: false });
    });

    it('replaying X-Request-ID returns the same 201; another body with it → 400', async () => {
      const headers = consentHeaders({ 'X-Request-ID': crypto.randomUUID() });
      const first = await ais.createConsent(consentBody(), headers);
      const replay = await ais.createConsent(consentBody(), headers);
      expect(replay.status).toBe(201);
      expect(replay.json).toEqual(first.json);
      expectError(await ais.createConsent(consentBody({ frequencyPerDay: 2 }), headers), 400, 'FORMAT_ERROR');
      expect(sandbox.ais.stats().consents.find((c) => c.consentId === first.json.consentId)?.creationRequests).toBe(3);
    });

    it('DELETE → 204, terminatedByTpp, reads refused 401 CONSENT_INVALID', async () => {
      const consentId = await validConsent();
      expect((await ais.deleteConsent(consentId)).status).toBe(204);
      expect(await consentStatus(consentId)).toBe('terminatedByTpp');
      expectError(await ais.accounts(consentId), 401, 'CONSENT_INVALID');
    });

    it('the PSU revokes (HTTP control and in-process handle) → revokedByPsu, reads refused', async () => {
      const viaHttp = await validConsent();
      const revoked = await fetch(`${sandbox.url}/_sandbox/consents/${viaHttp}/revoke`, { method: 'POST' });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toEqual({ consentStatus: 'revokedByPsu' });
      expect(await consentStatus(viaHttp)).toBe('revokedByPsu');
      expectError(await ais.accounts(viaHttp), 401, 'CONSENT_INVALID');
      expect((await fetch(`${sandbox.url}/_sandbox/consents/${viaHttp}/revoke`, { method: 'POST' })).status).toBe(409);

      const inProcess = await validConsent();
      expect(sandbox.ais.revokeConsent(inProcess)).toEqual({ consentStatus: 'revokedByPsu' });
      expectError(await ais.balances(inProcess, accountsOfDefaultPsu()[0].resourceId), 401, 'CONSENT_INVALID');
      expect(sandbox.ais.stats().consents.find((c) => c.consentId === inProcess)).toMatchObject({ consentStatus: 'revokedByPsu', psuId: 'sandbox-psu' });
    });

    it('expires after validUntil on the bank clock: status expired, reads 401 CONSENT_EXPIRED', async () => {
      const validUntil = new Date(sandbox.ais.now() + DAY_MS).toISOString().slice(0, 10);
      const consentId = await validConsent(consentBody({ validUntil }));
      sandbox.ais.advanceClock(DAY_MS);
      expect(await consentStatus(consentId)).toBe('valid');
      sandbox.ais.advanceClock(DAY_MS);
      expect(await consentStatus(consentId)).toBe('expired');
      expectError(await ais.accounts(consentId), 401, 'CONSENT_EXPIRED');
      sandbox.ais.resetClock();
      expect(await consentStatus(consentId)).toBe('valid');
    });

    it('unknown consent → 403 CONSENT_UNKNOWN', async () => {
      expectError(await ais.status('nope'), 403, 'CONSENT_UNKNOWN');
      expectError(await ais.accounts('nope'), 403, 'CONSENT_UNKNOWN');
    });

    it.each([
      ['validUntil in the past', consentBody({ validUntil: '2020-01-01' })],
      ['validUntil not a date', consentBody({ validUntil: '2025-02-30' })],
      ['frequencyPerDay 0', consentBody({ frequencyPerDay: 0 })],
      ['unknown access key', consentBody({ access: { everything: 'allAccounts' } })],
      ['mixed access forms', consentBody({ access: { allPsd2: 'allAccounts', availableAccounts: 'allAccounts' } })],
      ['an IBAN that is not the PSU’s', consentBody({ access: { accounts: [{ iban: 'DE89370400440532013000' }] } })],
      ['no access', consentBody({ access: {} })],
    ])('%s → 400 FORMAT_ERROR', async (_name, body) => {
      expectError(await ais.createConsent(body, consentHeaders(), { skipRequestValidation: true }), 400, 'FORMAT_ERROR');
    });
  });

  describe('accounts and balances', () => {
    it('four accounts in three currencies with valid IBANs; other PSUs see other accounts', async () => {
      const consentId = await validConsent(consentBody({ access: { allPsd2: 'allAccountsWithOwnerName' } }));
      const res = await ais.accounts(consentId);
      expect(res.status).toBe(200);
      expect(res.json.accounts).toHaveLength(4);
      expect(new Set(res.json.accounts.map((a: { currency: string }) => a.currency))).toEqual(new Set(['EUR', 'SEK', 'USD']));
      for (const account of res.json.accounts) {
        expect(isValidIban(account.iban)).toBe(true);
        expect(account.ownerName).toEqual(expect.any(String));
        expect(account._links.balances.href).toBe(`${sandbox.url}/v1/accounts/${account.resourceId}/balances`);
      }
      const other = await validConsent(consentBody(), consentHeaders({ 'PSU-ID': 'alice' }));
      const theirs = (await ais.accounts(other)).json.accounts.map((a: { resourceId: string }) => a.resourceId);
      expect(theirs).toHaveLength(4);
      expect(theirs).not.toEqual(expect.arrayContaining([res.json.accounts[0].resourceId]));
      expect(theirs).toEqual(sandbox.ais.accountsOf('alice').map((a) => a.resourceId));
      expectError(await ais.account(consentId, theirs[0]), 403, 'RESOURCE_UNKNOWN');
    });

    it('balances: closingBooked, expected, interimAvailable as decimal strings, consistent with pending entries', async () => {
      const consentId = await validConsent();
      const [, , sek] = accountsOfDefaultPsu();
      const res = await ais.balances(consentId, sek.resourceId);
      expect(res.status).toBe(200);
      expect(res.json.account).toEqual({ iban: sek.iban, currency: 'SEK' });
      const byType = Object.fromEntries(res.json.balances.map((b: any) => [b.balanceType, b]));
      expect(Object.keys(byType).sort()).toEqual(['closingBooked', 'expected', 'interimAvailable']);
      for (const balance of res.json.balances) {
        expect(balance.balanceAmount.currency).toBe('SEK');
        expect(balance.balanceAmount.amount).toMatch(AMOUNT);
      }
      const pending = await ais.transactions(consentId, sek.resourceId, '?bookingStatus=pending', true);
      const sum = (list: any[]) => list.reduce((acc: bigint, t: any) => acc + minorOf(t.transactionAmount.amount), 0n);
      const closing = minorOf(byType.closingBooked.balanceAmount.amount);
      expect(minorOf(byType.expected.balanceAmount.amount)).toBe(closing + sum(pending.json.transactions.pending));
      expect(minorOf(byType.interimAvailable.balanceAmount.amount)).toBe(
        closing + sum(pending.json.transactions.pending.filter((t: any) => t.transactionAmount.amount.startsWith('-'))),
      );

      const withBalance = await ais.account(consentId, sek.resourceId, '?withBalance=true');
      expect(withBalance.json.account.balances).toEqual(res.json.balances);
    });
  });

  describe('transactions', () => {
    it('pages through ≥ 5,000 booked entries following next links: no duplicates, oldest first, one counted read', async () => {
      const consentId = await validConsent();
      const [eur] = accountsOfDefaultPsu();
      const dateFrom = new Date(sandbox.ais.now() - 800 * DAY_MS).toISOString().slice(0, 10);
      let res = await ais.transactions(consentId, eur.resourceId, `?bookingStatus=booked&dateFrom=${dateFrom}`);
      expect(res.status).toBe(200);
      const { first, last } = res.json.transactions._links;
      expect(res.json.transactions._links.account.href).toBe(`${sandbox.url}/v1/accounts/${eur.resourceId}`);
      expect(first.href).toMatch(new RegExp(`^${sandbox.url}/v1/accounts/${eur.resourceId}/transactions\\?.*bookingStatus=booked.*&page=1$`));
      expect(res.json.transactions._links.previous).toBeUndefined();
      const ids = new Set<string>();
      let previousKey = '';
      let pages = 0;
      for (;;) {
        pages += 1;
        for (const t of res.json.transactions.booked) {
          expect(ids.has(t.transactionId)).toBe(false);
          ids.add(t.transactionId);
          const key = t.entryReference;
          expect(key > previousKey).toBe(true);
          expect(t.bookingDate <= new Date(sandbox.ais.now()).toISOString().slice(0, 10)).toBe(true);
          expect(t.transactionAmount.amount).toMatch(AMOUNT);
          previousKey = key;
        }
        const next = res.json.transactions._links.next;
        if (!next) break;
        res = await ais.follow(next.href, AIS.transactions, consentId);
        expect(res.status).toBe(200);
        expect(res.json.transactions._links.previous).toBeDefined();
      }
      expect(ids.size).toBeGreaterThanOrEqual(5000);
      expect(pages).toBe(Math.ceil(ids.size / PAGE_SIZE));
      expect(res.json.transactions._links.last.href).toBe(last.href);
      expect(last.href).toMatch(new RegExp(`&page=${pages}$`));
      expect(sandbox.ais.stats().consents.find((c) => c.consentId === consentId)?.readsToday).toEqual({ [`transactions:${eur.resourceId}`]: 1 });
    });

    it('filters: dateFrom/dateTo, bookingStatus pending/both/information, entryReferenceFrom', async () => {
      const consentId = await validConsent();
      const [eur] = accountsOfDefaultPsu();
      const q = (query: string) => ais.transactions(consentId, eur.resourceId, query, true);

      const ranged = await q('?bookingStatus=booked&dateFrom=2025-03-01&dateTo=2025-03-10');
      const booked = ranged.json.transactions.booked;
      expect(booked.length).toBeGreaterThanOrEqual(70);
      expect(booked.every((t: any) => t.bookingDate >= '2025-03-01' && t.bookingDate <= '2025-03-10')).toBe(true);
      expect(booked[0].bookingDate).toBe('2025-03-01');
      expect(booked.at(-1).bookingDate).toBe('2025-03-10');
      expect(ranged.json.transactions.pending).toBeUndefined();

      const pending = await q('?bookingStatus=pending');
      expect(pending.json.transactions.booked).toBeUndefined();
      expect(pending.json.transactions.pending).toHaveLength(3);
      expect(pending.json.transactions.pending[0].bookingDate).toBeUndefined();

      const both = await q('?bookingStatus=both&dateFrom=2025-06-01&withBalance=true');
      expect(both.json.transactions.booked.length).toBeGreaterThan(0);
      expect(both.json.transactions.pending).toHaveLength(3);
      expect(both.json.balances).toHaveLength(3);

      const after = await q(`?bookingStatus=booked&entryReferenceFrom=${booked[4].entryReference}`);
      expect(after.json.transactions.booked[0].entryReference).toBe(booked[5].entryReference);

      expectError(await q('?bookingStatus=information&dateFrom=2025-03-01'), 400, 'PARAMETER_NOT_SUPPORTED');
      expectError(await q('?bookingStatus=booked&dateFrom=2025-03-10&dateTo=2025-03-01'), 400, 'PERIOD_INVALID');
      expectError(await q('?bookingStatus=booked'), 400, 'FORMAT_ERROR');
      expectError(await q('?dateFrom=2025-03-01'), 400, 'FORMAT_ERROR');
      expectError(await q('?bookingStatus=booked&dateFrom=2025-13-01'), 400, 'FORMAT_ERROR');
    });

    it('deltaList: everything first, then only what was booked since the last report', async () => {
      const consentId = await validConsent();
      const [, savings] = accountsOfDefaultPsu();
      const q = () => ais.transactions(consentId, savings.resourceId, '?bookingStatus=booked&deltaList=true', true);
      const first = await q();
      expect(first.json.transactions._links.last.href).toMatch(/deltaAfter=&.*page=\d+$/);
      expect((await q()).json.transactions.booked).toEqual([]);
      sandbox.ais.advanceClock(DAY_MS);
      const nextDay = await q();
      const yesterday = new Date(sandbox.ais.now() - DAY_MS).toISOString().slice(0, 10);
      expect(nextDay.json.transactions.booked.length).toBeGreaterThanOrEqual(7);
      expect(nextDay.json.transactions.booked.every((t: any) => t.bookingDate === yesterday)).toBe(true);
    });

    it('single transaction by id (transactionsDetails); unknown id → 403 RESOURCE_UNKNOWN', async () => {
      const consentId = await validConsent();
      const [, , , usd] = accountsOfDefaultPsu();
      const list = await ais.transactions(consentId, usd.resourceId, '?bookingStatus=both&dateFrom=2025-06-01', true);
      for (const t of [list.json.transactions.booked[3], list.json.transactions.pending[0]]) {
        const one = await ais.transaction(consentId, usd.resourceId, t.transactionId, true);
        expect(one.status).toBe(200);
        expect(one.json.transactionsDetails.transactionDetails).toEqual(t);
      }
      expectError(await ais.transaction(consentId, usd.resourceId, 'B-19990101001', true), 403, 'RESOURCE_UNKNOWN');
    });
  });

  describe('access checks', () => {
    it('dedicated consent: uncovered account 401, ungranted service 400, unknown account 403', async () => {
      const [eur, savings, sek] = accountsOfDefaultPsu();
      const consentId = await validConsent(consentBody({ access: { accounts: [{ iban: eur.iban }], balances: [{ iban: savings.iban, currency: 'EUR' }] } }));
      const listed = await ais.accounts(consentId);
      expect(listed.json.accounts.map((a: any) => a.resourceId)).toEqual([eur.resourceId, savings.resourceId]);
      expect((await ais.account(consentId, eur.resourceId)).status).toBe(200);
      expect((await ais.balances(consentId, savings.resourceId)).status).toBe(200);
      expectError(await ais.balances(consentId, eur.resourceId), 400, 'SERVICE_INVALID');
      expectError(await ais.account(consentId, eur.resourceId, '?withBalance=true'), 400, 'SERVICE_INVALID');
      expectError(await ais.transactions(consentId, savings.resourceId, '?bookingStatus=booked&dateFrom=2025-01-01'), 400, 'SERVICE_INVALID');
      expectError(await ais.account(consentId, sek.resourceId), 401, 'CONSENT_INVALID');
      expectError(await ais.account(consentId, 'acc-000000000000-9'), 403, 'RESOURCE_UNKNOWN');
      const granted = (await ais.getConsent(consentId)).json.access;
      expect(granted).toEqual({
        accounts: [{ iban: eur.iban, currency: 'EUR' }, { iban: savings.iban, currency: 'EUR' }],
        balances: [{ iban: savings.iban, currency: 'EUR' }],
        transactions: [],
      });
    });

    it('availableAccounts grants only the list (withBalance only with availableAccountsWithBalance)', async () => {
      const [eur] = accountsOfDefaultPsu();
      const list = await validConsent(consentBody({ access: { availableAccounts: 'allAccounts' }, recurringIndicator: false }));
      expect((await ais.accounts(list)).json.accounts).toHaveLength(4);
      expectError(await ais.accounts(list, '?withBalance=true'), 400, 'SERVICE_INVALID');
      expectError(await ais.account(list, eur.resourceId), 400, 'SERVICE_INVALID');
      const withBalance = await validConsent(consentBody({ access: { availableAccountsWithBalance: 'allAccounts' } }));
      const res = await ais.accounts(withBalance, '?withBalance=true');
      expect(res.json.accounts.every((a: any) => a.balances.length === 3)).toBe(true);
    });

    it('missing Consent-ID → 400; a consent still received → 401 CONSENT_INVALID', async () => {
      const res = await aisCall('GET', `${sandbox.url}/v1/accounts`, { template: AIS.accounts });
      expectError(res, 400, 'FORMAT_ERROR');
      const created = await create();
      expectError(await ais.accounts(created.consentId), 401, 'CONSENT_INVALID');
    });
  });

  describe('frequencyPerDay without the PSU', () => {
    it('4 reads per consent, account and endpoint a day; the 5th → 429; PSU-present reads are free; a new day resets', async () => {
      const consentId = await validConsent();
      const [eur, savings] = accountsOfDefaultPsu();
      for (let i = 0; i < 4; i++) expect((await ais.balances(consentId, eur.resourceId)).status).toBe(200);
      expectError(await ais.balances(consentId, eur.resourceId), 429, 'ACCESS_EXCEEDED');
      expect((await ais.balances(consentId, eur.resourceId, true)).status).toBe(200);
      expect((await ais.balances(consentId, savings.resourceId)).status).toBe(200);
      expect((await ais.account(consentId, eur.resourceId)).status).toBe(200);
      expect(sandbox.ais.stats().consents.find((c) => c.consentId === consentId)?.readsToday).toEqual({
        [`balances:${eur.resourceId}`]: 4,
        [`balances:${savings.resourceId}`]: 1,
        [`account:${eur.resourceId}`]: 1,
      });
      sandbox.ais.advanceClock(DAY_MS);
      expect((await ais.balances(consentId, eur.resourceId)).status).toBe(200);
    });

    it('transaction listings count once per report: page links are free', async () => {
      const consentId = await validConsent(consentBody({ frequencyPerDay: 1 }));
      const [eur] = accountsOfDefaultPsu();
      const first = await ais.transactions(consentId, eur.resourceId, '?bookingStatus=booked&dateFrom=2025-01-01');
      expect(first.status).toBe(200);
      for (const link of [first.json.transactions._links.next, first.json.transactions._links.last, first.json.transactions._links.first]) {
        expect((await ais.follow(link.href, AIS.transactions, consentId)).status).toBe(200);
      }
      expectError(await ais.transactions(consentId, eur.resourceId, '?bookingStatus=booked&dateFrom=2025-01-01'), 429, 'ACCESS_EXCEEDED');
      expect((await ais.transactions(consentId, eur.resourceId, '?bookingStatus=booked&dateFrom=2025-01-01', true)).status).toBe(200);
    });
  });

  it('fault injection applies to AIS routes', async () => {
    const consentId = await validConsent();
    sandbox.bank.setFaults({ errorRate: 1 });
    expectError(await ais.accounts(consentId), 503, 'SERVICE_UNAVAILABLE');
    sandbox.bank.resetFaults();
    expect((await ais.accounts(consentId)).status).toBe(200);
  });
});
