import { generateKeyPair } from 'jose';
import { startUkObieSandbox, type RunningUkObieSandbox } from '../../../apps/sandbox/uk-obie';
import { BankError } from '../bank-adapter';
import type { PaymentInitiationBody } from '../../domain/payment';
import { adapterFor, authoriseAtSandbox, testIdentity, TEST_REDIRECT_URI } from './test-helpers';

const PAYMENT: PaymentInitiationBody = {
  debtorAccount: { bban: '20000010000000' },
  instructedAmount: { currency: 'GBP', amount: '12.50' },
  creditorAccount: { bban: '40400412345678' },
  creditorName: 'Jane Creditor',
  remittanceInformationUnstructured: 'INVOICE 20261201',
};
const oauth = (state: string) => ({ redirectUri: TEST_REDIRECT_URI, state });

describe('UK Open Banking adapter against the sandbox ASPSP (HTTP)', () => {
  let sandbox: RunningUkObieSandbox;
  beforeAll(async () => {
    sandbox = await startUkObieSandbox({ port: 0 });
  });
  afterAll(() => sandbox.close());

  async function initiate(adapter: ReturnType<typeof adapterFor>['adapter'], conn: ReturnType<typeof adapterFor>['conn'], state: string, amount = '12.50') {
    return adapter.initiatePayment(conn, {
      idempotencyKey: `0b7c2a3e-8d1f-4c59-a6f0-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
      paymentProduct: 'domestic',
      payment: { ...PAYMENT, instructedAmount: { currency: 'GBP', amount } },
      psu: { psuIpAddress: '198.51.100.7' },
      redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
      oauth: oauth(state),
    });
  }

  test('registers by DCR, then a payment: consent → PSU approves → code and id_token checked → submitted once with the idempotency key → settled', async () => {
    const { adapter, conn, registrations } = adapterFor(sandbox, await testIdentity());
    const started = await initiate(adapter, conn, 'p.state-approve.sig');
    expect(registrations.rows.size).toBe(1);
    expect(started.status).toEqual({ raw: 'AwaitingAuthorisation', normalised: 'RCVD' });
    expect(started.scaRedirectUrl).toContain(`${sandbox.url}/authorize?`);
    expect(await adapter.getScaStatus(conn, { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic', requestId: 'r' })).toEqual({
      raw: 'AwaitingAuthorisation',
      normalised: 'started',
    });

    const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
    expect(back.state).toBe('p.state-approve.sig');
    const grant = await adapter.exchangeAuthorisationCode(
      conn,
      { kind: 'payment', bankResourceId: started.bankPaymentId, authorisationId: started.authorisationId, redirect: oauth('p.state-approve.sig'), requestId: 'r' },
      { state: back.state!, code: back.code, idToken: back.id_token },
    );
    expect(grant.accessToken).toEqual(expect.any(String));
    // Authorised but not yet submitted: SCA is not over for Clearway.
    expect((await adapter.getScaStatus(conn, { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic', requestId: 'r' })).normalised).toBe('psuAuthenticated');

    const ref = { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic' as const, requestId: 'r', idempotencyKey: 'submit-key-approve' };
    const done = await adapter.completePaymentAuthorisation(conn, ref, grant);
    expect(done.scaStatus.normalised).toBe('finalised');
    expect(done.status).toEqual({ raw: 'AcceptedSettlementInProcess', normalised: 'ACSP' });
    // A repeat (a crashed worker's retry) with the same key: the same payment, not a second one.
    const again = await adapter.completePaymentAuthorisation(conn, ref, grant);
    expect(again.bankPaymentId).toBe(done.bankPaymentId);
    const consent = sandbox.state.paymentConsents.get(started.authorisationId!)!;
    expect(consent.paymentIds).toEqual([done.bankPaymentId]);
    expect(consent.status).toBe('Consumed');

    expect(await adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'domestic', requestId: 'r' })).toEqual({
      raw: 'AcceptedSettlementCompleted',
      normalised: 'ACSC',
    });
  });

  test('the PSU denies: the redirect carries access_denied, the consent is Rejected, SCA failed, payment RJCT', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    const started = await initiate(adapter, conn, 'p.state-deny.sig');
    const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'deny');
    expect(back).toMatchObject({ error: 'access_denied', state: 'p.state-deny.sig' });
    expect(back.code).toBeUndefined();
    const ref = { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic' as const, requestId: 'r' };
    expect((await adapter.getScaStatus(conn, ref)).normalised).toBe('failed');
    expect(await adapter.getPaymentStatus(conn, ref)).toEqual({ raw: 'Rejected', normalised: 'RJCT' });
  });

  test('an id_token that does not bind the code (c_hash), the state (s_hash) or our nonce is refused before the code is redeemed', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    const started = await initiate(adapter, conn, 'p.state-hash.sig');
    const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
    const ref = { kind: 'payment' as const, bankResourceId: started.bankPaymentId, authorisationId: started.authorisationId, redirect: oauth('p.state-hash.sig'), requestId: 'r' };
    await expect(adapter.exchangeAuthorisationCode(conn, ref, { state: back.state!, code: `${back.code}x`, idToken: back.id_token })).rejects.toThrow(/c_hash/);
    await expect(adapter.exchangeAuthorisationCode(conn, { ...ref, redirect: oauth('p.other.sig') }, { state: 'p.other.sig', code: back.code, idToken: back.id_token })).rejects.toThrow(/nonce/);
    // The genuine answer still works: nothing was redeemed by the refused attempts.
    await expect(adapter.exchangeAuthorisationCode(conn, ref, { state: back.state!, code: back.code, idToken: back.id_token })).resolves.toMatchObject({ accessToken: expect.any(String) });
  });

  test('scenario amounts: .13 is rejected after SCA, .42 is pending for three reads then settled', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    for (const [amount, expected] of [
      ['10.13', ['RJCT']],
      ['10.42', ['PDNG', 'PDNG', 'PDNG', 'ACSC']],
    ] as const) {
      const started = await initiate(adapter, conn, `p.state-${amount}.sig`, amount);
      const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
      const grant = await adapter.exchangeAuthorisationCode(
        conn,
        { kind: 'payment', bankResourceId: started.bankPaymentId, redirect: oauth(`p.state-${amount}.sig`), requestId: 'r' },
        { state: back.state!, code: back.code, idToken: back.id_token },
      );
      const done = await adapter.completePaymentAuthorisation(conn, { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic', requestId: 'r', idempotencyKey: `k-${amount}` }, grant);
      const seen: string[] = [];
      for (let i = 0; i < expected.length; i++) seen.push((await adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'domestic', requestId: 'r' })).normalised);
      expect(seen).toEqual(expected);
    }
  });

  test('a bad reference is refused by the bank with the field Clearway knows (remittanceInformationUnstructured)', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    const err = await adapter
      .initiatePayment(conn, {
        idempotencyKey: '1b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87',
        paymentProduct: 'domestic',
        payment: { ...PAYMENT, remittanceInformationUnstructured: 'aaaaaaa' },
        psu: {},
        redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
        oauth: oauth('p.s.sig'),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankError);
    expect((err as BankError).kind).toBe('rejected');
    expect((err as BankError).details.messages?.[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'remittanceInformationUnstructured' });
  });

  test('account information: consent → PSU picks accounts → reads in Berlin Group shapes, transactions paged by the bank\'s Next links', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    const created = await adapter.createConsent(conn, {
      idempotencyKey: 'consent-key-1',
      consent: { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false },
      psu: {},
      redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
      oauth: oauth('c.state-ais.sig'),
    });
    expect(created.status.normalised).toBe('received');
    const back = await authoriseAtSandbox(created.scaRedirectUrl!, 'approve', { username: 'mits', accounts: ['mits-1', 'mits-2'] });
    const grant = await adapter.exchangeAuthorisationCode(conn, { kind: 'consent', bankResourceId: created.bankConsentId, redirect: oauth('c.state-ais.sig'), requestId: 'r' }, { state: back.state!, code: back.code, idToken: back.id_token });
    expect(grant.refreshToken).toEqual(expect.any(String));
    const done = await adapter.completeConsentAuthorisation(conn, { bankConsentId: created.bankConsentId, requestId: 'r' });
    expect(done).toEqual({ scaStatus: { raw: 'Authorised', normalised: 'finalised' }, status: { raw: 'Authorised', normalised: 'valid' } });

    const ref = { bankConsentId: created.bankConsentId, requestId: 'r', grant };
    const { accounts } = await adapter.listAccounts(conn, ref, { withBalance: true });
    expect(accounts.map((a) => a.resourceId)).toEqual(['mits-1', 'mits-2']);
    expect(accounts[0]).toMatchObject({ currency: 'GBP', iban: expect.stringMatching(/^GB\d\dSAND\d{14}$/), bban: expect.stringMatching(/^\d{14}$/), cashAccountType: 'CACC' });
    expect((accounts[0]!.balances as { balanceType: string }[]).map((b) => b.balanceType)).toEqual(['closingBooked', 'interimAvailable']);

    const booked: unknown[] = [];
    let page = await adapter.getTransactions(conn, ref, 'mits-1', { bookingStatus: 'both' });
    expect(page.pending).toHaveLength(1);
    booked.push(...(page.booked ?? []));
    let pages = 1;
    while (page.pages.next) {
      page = await adapter.getTransactions(conn, ref, 'mits-1', { bookingStatus: 'both', page: page.pages.next });
      booked.push(...(page.booked ?? []));
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(booked).toHaveLength(129);
    expect(booked[0]).toMatchObject({ transactionId: 'mits-1-t002', transactionAmount: { currency: 'GBP', amount: expect.stringMatching(/^-\d+\.\d\d$/) } });
    // A page token for another account (or another host) is not followed.
    await expect(adapter.getTransactions(conn, ref, 'mits-2', { bookingStatus: 'booked', page: page.pages.first })).rejects.toThrow(/page token/);
    // Without the PSU's token, reads are refused before any call.
    await expect(adapter.listAccounts(conn, { bankConsentId: created.bankConsentId, requestId: 'r' }, { withBalance: false })).rejects.toThrow(/access token/);
  });

  test('a response whose x-jws-signature does not verify is not trusted', async () => {
    const tamper: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/open-banking/')) return res;
      const text = (await res.text()).replace('AwaitingAuthorisation', 'Authorised');
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const { adapter, conn } = adapterFor(sandbox, await testIdentity(), { fetch: tamper });
    await expect(initiate(adapter, conn, 'p.t.sig')).rejects.toThrow(/response signature refused/);
  });

  describe('Dynamic Client Registration refusals', () => {
    test('a software statement the directory did not sign', async () => {
      const identity = await testIdentity();
      const { adapter, conn } = adapterFor(sandbox, identity);
      const { privateKey } = await generateKeyPair('PS256');
      const { SignJWT } = await import('jose');
      const forged = await new SignJWT({ software_id: identity.softwareId, org_id: identity.orgId, software_jwks: { keys: [identity.publicJwk] }, software_redirect_uris: [identity.redirectUri] })
        .setProtectedHeader({ alg: 'PS256', kid: 'sandbox-directory-1' })
        .setIssuer('OpenBanking Ltd')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      await expect(adapter.client!.register(conn, { softwareStatement: forged })).rejects.toThrow(/invalid_software_statement/);
    });

    test('a registration request signed with a key the statement does not list', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      const { privateKey } = await generateKeyPair('PS256');
      await expect(adapter.client!.register(conn, { signingKey: privateKey })).rejects.toThrow(/invalid_client_metadata.*does not verify/);
    });

    test('an expired registration request', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      await expect(adapter.client!.register(conn, { expiresInS: -60 })).rejects.toThrow(/invalid_client_metadata.*exp/);
    });

    test('a valid one gets a client_id', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      await expect(adapter.client!.register(conn)).resolves.toMatch(/^client-/);
    });
  });
});
