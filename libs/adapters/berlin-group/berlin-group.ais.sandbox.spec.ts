/**
 * The AIS half of the Berlin Group adapter against the real BG sandbox bank, over HTTP: consent
 * SCA flows, account reads, paging through a full history, frequency limits and revocation.
 */
import { randomUUID } from 'node:crypto';
import { MAX_CONSENT_DAYS, startBerlinGroupSandbox } from '../../../apps/sandbox/berlin-group';
import {
  BankError,
  type AccountReadRef,
  type BankConnection,
  type ConsentRef,
  type CreateConsentCommand,
  type PsuContext,
} from '../bank-adapter';
import type { ConsentRequest } from '../../domain/consent';
import type { BankScaStatus } from '../../domain/transaction-status';
import { consentGoneCode } from './ais-transformers';
import { BerlinGroupAdapter } from '.';

type Sandbox = Awaited<ReturnType<typeof startBerlinGroupSandbox>>;

let sandbox: Sandbox;
let conn: BankConnection;
const sut = new BerlinGroupAdapter();
const redirect = { okUri: 'https://tpp.example/callback/ok', nokUri: 'https://tpp.example/callback/nok' };
const PSU_IP = '192.0.2.10';

beforeAll(async () => {
  sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 50 });
  conn = { bicFi: 'SANDDEFFXXX', baseUrl: sandbox.url, timeoutMs: 10_000 };
});

afterAll(async () => {
  await sandbox?.close();
});

/** PSU present: the PSU's IP address goes to the bank (and reads do not count against the limit). */
function present(psuId: string): PsuContext {
  return { psuId, psuIpAddress: PSU_IP, psuUserAgent: 'clearway-tests' };
}

function consentRequest(over: Partial<ConsentRequest> = {}): ConsentRequest {
  return {
    access: { allPsd2: 'allAccounts' },
    recurringIndicator: true,
    validUntil: '9999-12-31',
    frequencyPerDay: 4,
    combinedServiceIndicator: false,
    ...over,
  };
}

function createCommand(psuId: string, over: Partial<ConsentRequest> = {}): CreateConsentCommand {
  return { idempotencyKey: randomUUID(), consent: consentRequest(over), psu: present(psuId), redirect };
}

const consentRef = (bankConsentId: string, psuId: string): ConsentRef => ({ bankConsentId, requestId: randomUUID(), psu: present(psuId) });
/** A read without the PSU (no PSU-IP-Address): counts against frequencyPerDay. */
const unattended = (bankConsentId: string): AccountReadRef => ({ bankConsentId, requestId: randomUUID() });
const attended = (bankConsentId: string, psuId: string): AccountReadRef => ({ bankConsentId, requestId: randomUUID(), psu: present(psuId) });

async function pollScaUntilFinal(ref: ConsentRef, authorisationId: string): Promise<BankScaStatus> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await sut.getConsentScaStatus(conn, { ...ref, requestId: randomUUID(), authorisationId });
    if (['finalised', 'failed', 'exempted'].includes(status.normalised) || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A valid consent, authorised by the decoupled PSU. */
async function validConsent(over: Partial<ConsentRequest> = {}): Promise<string> {
  const created = await sut.createConsent(conn, createCommand('decoupled', over));
  const ref = consentRef(created.bankConsentId, 'decoupled');
  const authorisationId = created.authorisationId ?? (await sut.startConsentAuthorisation(conn, { ...ref, redirect })).authorisationId;
  expect((await pollScaUntilFinal(ref, authorisationId)).normalised).toBe('finalised');
  expect((await sut.getConsentStatus(conn, { ...ref, requestId: randomUUID() })).normalised).toBe('valid');
  return created.bankConsentId;
}

async function caught(p: Promise<unknown>): Promise<BankError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BankError) return err;
    throw err;
  }
  throw new Error('expected a BankError');
}

describe('BerlinGroupAdapter AIS ↔ BG sandbox', () => {
  describe('consent SCA', () => {
    it('decoupled: SCA finalises and the consent becomes valid', async () => {
      const created = await sut.createConsent(conn, createCommand('decoupled'));
      expect(created.scaApproach).toBe('DECOUPLED');
      expect(created.status.normalised).toBe('received');
      await validConsent();
    });

    it('decoupled-deny: SCA fails and the consent is rejected', async () => {
      const created = await sut.createConsent(conn, createCommand('decoupled-deny'));
      const ref = consentRef(created.bankConsentId, 'decoupled-deny');
      const authorisationId = created.authorisationId ?? (await sut.startConsentAuthorisation(conn, { ...ref, redirect })).authorisationId;
      expect((await pollScaUntilFinal(ref, authorisationId)).normalised).toBe('failed');
      expect((await sut.getConsentStatus(conn, ref)).normalised).toBe('rejected');
    });

    it('embedded: credentials → methods → select → OTP → finalised, consent valid', async () => {
      const created = await sut.createConsent(conn, createCommand('embedded'));
      expect(created.scaApproach).toBe('EMBEDDED');
      expect(created.authorisationId).toBeUndefined();
      const ref = consentRef(created.bankConsentId, 'embedded');
      const authorisationId = created.authorisationId ?? (await sut.startConsentAuthorisation(conn, { ...ref, redirect })).authorisationId;
      const authRef = { ...ref, authorisationId };

      const authenticated = await sut.updateConsentPsuData(conn, authRef, { kind: 'credentials', psuId: 'embedded', password: 'sandbox' });
      expect(authenticated.scaStatus.normalised).toBe('psuAuthenticated');
      expect(authenticated.scaMethods).toEqual([
        expect.objectContaining({ authenticationType: 'SMS_OTP', authenticationMethodId: 'SMS_OTP' }),
        expect.objectContaining({ authenticationType: 'PUSH_OTP', authenticationMethodId: 'PUSH_OTP' }),
      ]);

      const method = authenticated.scaMethods![0]!;
      const selected = await sut.updateConsentPsuData(conn, authRef, { kind: 'selectMethod', authenticationMethodId: method.authenticationMethodId });
      expect(selected.scaStatus.normalised).toBe('scaMethodSelected');
      expect(selected.chosenScaMethod?.authenticationMethodId).toBe(method.authenticationMethodId);
      expect(selected.challengeData).toMatchObject({ otpMaxLength: 6, otpFormat: 'integer' });

      const done = await sut.updateConsentPsuData(conn, authRef, { kind: 'otp', scaAuthenticationData: '123456' });
      expect(done.scaStatus).toEqual({ raw: 'finalised', normalised: 'finalised' });
      expect(await sut.getConsentScaStatus(conn, authRef)).toEqual({ raw: 'finalised', normalised: 'finalised' });
      expect((await sut.getConsentStatus(conn, ref)).normalised).toBe('valid');
    });

    it('embedded: a wrong OTP fails the SCA', async () => {
      const created = await sut.createConsent(conn, createCommand('embedded'));
      const ref = consentRef(created.bankConsentId, 'embedded');
      const authorisationId = created.authorisationId ?? (await sut.startConsentAuthorisation(conn, { ...ref, redirect })).authorisationId;
      const authRef = { ...ref, authorisationId };
      const { scaMethods } = await sut.updateConsentPsuData(conn, authRef, { kind: 'credentials', password: 'sandbox' });
      await sut.updateConsentPsuData(conn, authRef, { kind: 'selectMethod', authenticationMethodId: scaMethods![0]!.authenticationMethodId });

      const wrong = await sut.updateConsentPsuData(conn, authRef, { kind: 'otp', scaAuthenticationData: '000000' });
      expect(wrong.scaStatus).toEqual({ raw: 'failed', normalised: 'failed' });
      expect((await sut.getConsentScaStatus(conn, authRef)).normalised).toBe('failed');
      expect((await sut.getConsentStatus(conn, ref)).normalised).toBe('rejected');
    });

    it('embedded: a wrong password → rejected with PSU_CREDENTIALS_INVALID, and the PSU may try again', async () => {
      const created = await sut.createConsent(conn, createCommand('embedded'));
      const ref = consentRef(created.bankConsentId, 'embedded');
      const { authorisationId } = await sut.startConsentAuthorisation(conn, { ...ref, redirect });
      const authRef = { ...ref, authorisationId };

      const err = await caught(sut.updateConsentPsuData(conn, authRef, { kind: 'credentials', password: 'wrong' }));
      expect(err).toMatchObject({ kind: 'rejected', retryable: false, details: { httpStatus: 401 } });
      expect(err.details.messages).toEqual([expect.objectContaining({ code: 'PSU_CREDENTIALS_INVALID', text: expect.any(String) })]);

      const retried = await sut.updateConsentPsuData(conn, authRef, { kind: 'credentials', password: 'right' });
      expect(retried.scaStatus.normalised).toBe('psuAuthenticated');
    });

    it('re-creating with the same idempotencyKey creates a second consent: the bank does not deduplicate', async () => {
      const before = sandbox.ais.stats().totals.consentsCreated;
      const cmd = createCommand('decoupled');
      const first = await sut.createConsent(conn, cmd);
      const again = await sut.createConsent(conn, cmd);
      expect(again.bankConsentId).not.toBe(first.bankConsentId);
      expect(sandbox.ais.stats().totals.consentsCreated).toBe(before + 2);
    });

    it('on a bank that deduplicates (opt-in scenario) the same idempotencyKey returns the same consent, created once', async () => {
      sandbox.ais.setDeduplication(true);
      try {
        const before = sandbox.ais.stats().totals.consentsCreated;
        const cmd = createCommand('decoupled');
        const first = await sut.createConsent(conn, cmd);
        expect(await sut.createConsent(conn, cmd)).toEqual(first);
        expect(sandbox.ais.stats().totals.consentsCreated).toBe(before + 1);
      } finally {
        sandbox.ais.setDeduplication(false);
      }
    });

    it('redirect: the PSU approves on the bank page and the consent becomes valid', async () => {
      const created = await sut.createConsent(conn, createCommand('alice'));
      expect(created.scaApproach).toBe('REDIRECT');
      expect(created.scaRedirectUrl).toMatch(/^https?:\/\//);
      expect(await decideOnScaPage(created.scaRedirectUrl!, 'approve')).toMatch(/^https:\/\/tpp\.example\/callback\/ok/);
      const ref = consentRef(created.bankConsentId, 'alice');
      if (created.authorisationId) {
        expect((await sut.getConsentScaStatus(conn, { ...ref, authorisationId: created.authorisationId })).normalised).toBe('finalised');
      }
      expect(await sut.getConsentStatus(conn, ref)).toEqual({ raw: 'valid', normalised: 'valid' });
    });
  });

  describe('consent details and lifecycle', () => {
    it('getConsent: 9999-12-31 comes back as the real date the bank granted', async () => {
      const id = await validConsent();
      const details = await sut.getConsent(conn, consentRef(id, 'decoupled'));
      expect(details).toMatchObject({ status: { normalised: 'valid' }, frequencyPerDay: 4, access: { allPsd2: 'allAccounts' } });
      expect(details.validUntil).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(details.validUntil).not.toBe('9999-12-31');
      // The sandbox grants its maximum, today + MAX_CONSENT_DAYS (bank day in UTC).
      const granted = new Date(sandbox.ais.now() + MAX_CONSENT_DAYS * 86_400_000).toISOString().slice(0, 10);
      expect(details.validUntil).toBe(granted);
    });

    it('delete → terminatedByTpp, and reads are refused with the consent code', async () => {
      const id = await validConsent();
      await sut.deleteConsent(conn, consentRef(id, 'decoupled'));
      expect(await sut.getConsentStatus(conn, consentRef(id, 'decoupled'))).toEqual({ raw: 'terminatedByTpp', normalised: 'terminatedByTpp' });
      const err = await caught(sut.listAccounts(conn, attended(id, 'decoupled'), { withBalance: false }));
      expect(err.kind).toBe('rejected');
      expect(consentGoneCode(err)).toBeDefined();
    });

    it('revoked in-process (sandbox.ais.revokeConsent) → getConsent says revokedByPsu, final', async () => {
      const id = await validConsent();
      sandbox.ais.revokeConsent(id);
      expect((await sut.getConsent(conn, consentRef(id, 'decoupled'))).status).toEqual({ raw: 'revokedByPsu', normalised: 'revokedByPsu' });
    });

    it('revoked by the PSU → the next read is rejected with CONSENT_INVALID, the status says revokedByPsu', async () => {
      const id = await validConsent();
      await revokeAsPsu(id);
      const err = await caught(sut.listAccounts(conn, attended(id, 'decoupled'), { withBalance: false }));
      expect(err).toMatchObject({ kind: 'rejected', retryable: false });
      expect(err.details.messages?.map((m) => m.code)).toContain('CONSENT_INVALID');
      expect(consentGoneCode(err)).toBe('CONSENT_INVALID');
      expect((await sut.getConsentStatus(conn, consentRef(id, 'decoupled'))).normalised).toBe('revokedByPsu');
    });

    it('an unknown consent → rejected with CONSENT_UNKNOWN', async () => {
      const err = await caught(sut.getBalances(conn, attended('no-such-consent', 'decoupled'), 'acc-x'));
      expect(err.kind).toBe('rejected');
      expect(consentGoneCode(err)).toBe('CONSENT_UNKNOWN');
    });
  });

  describe('account reads', () => {
    let consentId: string;
    beforeAll(async () => {
      consentId = await validConsent();
    });

    it('lists accounts in several currencies with balances, reads one and its balances', async () => {
      const { accounts } = await sut.listAccounts(conn, attended(consentId, 'decoupled'), { withBalance: true });
      expect(accounts.length).toBeGreaterThan(1);
      expect(new Set(accounts.map((a) => a.currency)).size).toBeGreaterThan(1);
      for (const a of accounts) expect(a).toMatchObject({ resourceId: expect.any(String), balances: expect.any(Array) });

      const accountId = accounts[0]!.resourceId as string;
      const { account } = await sut.getAccount(conn, attended(consentId, 'decoupled'), accountId, { withBalance: false });
      expect(account).toMatchObject({ resourceId: accountId, currency: accounts[0]!.currency });

      const { balances } = await sut.getBalances(conn, attended(consentId, 'decoupled'), accountId);
      expect(balances.length).toBeGreaterThan(0);
      for (const b of balances) expect(b).toMatchObject({ balanceType: expect.any(String), balanceAmount: { currency: accounts[0]!.currency } });
    });

    it('pages through the whole two-year history by tokens, every transaction once, then reads one by id', async () => {
      const { accounts } = await sut.listAccounts(conn, attended(consentId, 'decoupled'), { withBalance: false });
      const accountId = accounts[0]!.resourceId as string;
      const dateFrom = new Date(Date.now() - 2 * 366 * 86_400_000).toISOString().slice(0, 10);

      const ids: string[] = [];
      let page = await sut.getTransactions(conn, attended(consentId, 'decoupled'), accountId, { bookingStatus: 'booked', dateFrom });
      const { first, last } = page.pages;
      expect(page.pages).toEqual({ first: expect.stringMatching(/^bg1\./), next: expect.stringMatching(/^bg1\./), last: expect.any(String) });
      let pages = 1;
      for (;;) {
        expect(page.booked!.length).toBeLessThanOrEqual(100);
        for (const t of page.booked ?? []) ids.push(t.transactionId as string);
        if (!page.pages.next) break;
        expect(pages).toBeLessThan(1_000);
        page = await sut.getTransactions(conn, attended(consentId, 'decoupled'), accountId, { bookingStatus: 'booked', page: page.pages.next });
        expect(page.pages.previous).toEqual(expect.any(String));
        pages += 1;
      }
      expect(ids.length).toBeGreaterThanOrEqual(5_000);
      expect(new Set(ids).size).toBe(ids.length);
      expect(pages).toBe(Math.ceil(ids.length / 100));
      expect(page.pages.last).toBe(last);
      expect(page.pages.first).toBe(first);

      const { transactionsDetails } = await sut.getTransaction(conn, attended(consentId, 'decoupled'), accountId, ids[1234]!);
      expect(transactionsDetails).toMatchObject({ transactionDetails: { transactionId: ids[1234] } });
    });

    it('following page tokens without the PSU counts once against frequencyPerDay (the first page)', async () => {
      const id = await validConsent({ frequencyPerDay: 1 });
      const { accounts } = await sut.listAccounts(conn, attended(id, 'decoupled'), { withBalance: false });
      const accountId = accounts[1]!.resourceId as string;
      const dateFrom = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
      let page = await sut.getTransactions(conn, unattended(id), accountId, { bookingStatus: 'both', dateFrom });
      expect(page.pending?.length).toBeGreaterThan(0);
      let followed = 0;
      while (page.pages.next) {
        page = await sut.getTransactions(conn, unattended(id), accountId, { bookingStatus: 'both', page: page.pages.next });
        followed += 1;
      }
      expect(followed).toBeGreaterThan(0);
      const err = await caught(sut.getTransactions(conn, unattended(id), accountId, { bookingStatus: 'both', dateFrom }));
      expect(err.kind).toBe('rate_limited');
    });

    it("another account's page token is refused before anything is sent", async () => {
      const { accounts } = await sut.listAccounts(conn, attended(consentId, 'decoupled'), { withBalance: false });
      const [a, b] = accounts.map((x) => x.resourceId as string);
      const dateFrom = new Date(Date.now() - 365 * 86_400_000).toISOString().slice(0, 10);
      const first = await sut.getTransactions(conn, attended(consentId, 'decoupled'), a!, { bookingStatus: 'booked', dateFrom });
      expect(first.pages.next).toEqual(expect.any(String));
      const readsBefore = sandbox.ais.stats().consents.find((c) => c.consentId === consentId)!;
      const err = await caught(sut.getTransactions(conn, attended(consentId, 'decoupled'), b!, { bookingStatus: 'booked', page: first.pages.next }));
      expect(err).toMatchObject({ kind: 'rejected', details: {} });
      expect(err.details.httpStatus).toBeUndefined(); // refused here, never sent
      expect(sandbox.ais.stats().consents.find((c) => c.consentId === consentId)).toEqual(readsBefore);
    });

    it('an unknown account → not_found', async () => {
      const err = await caught(sut.getBalances(conn, attended(consentId, 'decoupled'), 'acc-unknown'));
      expect(err.kind).toBe('not_found');
    });
  });

  describe('frequencyPerDay without the PSU', () => {
    it('four reads without the PSU, then 429 ACCESS_EXCEEDED → rate_limited; with the PSU present no limit', async () => {
      const id = await validConsent({ frequencyPerDay: 4 });
      const { accounts } = await sut.listAccounts(conn, attended(id, 'decoupled'), { withBalance: false });
      const accountId = accounts[0]!.resourceId as string;

      for (let i = 0; i < 4; i++) await sut.getBalances(conn, unattended(id), accountId);
      const err = await caught(sut.getBalances(conn, unattended(id), accountId));
      expect(err).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429 } });
      expect(err.details.messages?.map((m) => m.code)).toContain('ACCESS_EXCEEDED');

      for (let i = 0; i < 6; i++) await sut.getBalances(conn, attended(id, 'decoupled'), accountId);
    });
  });
});

/** What the PSU does in their banking app: revoke the consent (the sandbox's control endpoint). */
async function revokeAsPsu(consentId: string): Promise<void> {
  const res = await fetch(`${sandbox.url}/_sandbox/consents/${encodeURIComponent(consentId)}/revoke`, {
    method: 'POST',
    signal: AbortSignal.timeout(5_000),
  });
  expect(res.status).toBeLessThan(300);
}

/** What the PSU's browser does: open the bank's SCA page, press a button, follow the bank's 302. */
async function decideOnScaPage(scaRedirectUrl: string, decision: 'approve' | 'deny'): Promise<string | null> {
  const page = await fetch(scaRedirectUrl, { signal: AbortSignal.timeout(5_000) });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('name="decision"');
  const submitted = await fetch(scaRedirectUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(5_000),
  });
  expect(submitted.status).toBe(302);
  return submitted.headers.get('location');
}
