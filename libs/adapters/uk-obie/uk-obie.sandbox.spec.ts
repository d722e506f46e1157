import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, type JWK } from 'jose';
import { startUkObieSandbox, type RunningUkObieSandbox } from '../../../apps/sandbox/uk-obie';
import { BankError } from '../bank-adapter';
import type { PaymentInitiationBody } from '../../domain/payment';
import { adapterFor, authoriseAtSandbox, testIdentity, TEST_REDIRECT_URI } from './test-helpers';
import type { UkTppIdentity } from './client';
import { Agent, fetch as undiciFetch } from 'undici';
import { BankTls } from '../bank-tls';
import { createTestCa, DEV_QWAC_STATEMENT } from '../../security/dev-certificates';

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

  describe('international payments (OBIE international-payment-consents / international-payments)', () => {
    const INTL: PaymentInitiationBody = {
      ...PAYMENT,
      instructedAmount: { currency: 'EUR', amount: '40.00' },
      creditorAccount: { iban: 'FR1420041010050500013M02606' },
      creditorAgent: 'BNPAFRPPXXX',
    };
    const intl = (payment: PaymentInitiationBody, idempotencyKey = randomUUID(), state = 'i.s.sig') => ({
      idempotencyKey,
      paymentProduct: 'international' as const,
      payment,
      psu: {},
      redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
      oauth: oauth(state),
    });
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BankError);
      expect((err as BankError).kind).toBe('rejected');
      return (err as BankError).details;
    };

    test('approve → submitted once per idempotency key (a retry gets the same InternationalPaymentId) → settled; the domestic resources do not know it', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      const started = await adapter.initiatePayment(conn, intl(INTL, randomUUID(), 'i.approve.sig'));
      expect(started.status).toEqual({ raw: 'AwaitingAuthorisation', normalised: 'RCVD' });
      const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
      const grant = await adapter.exchangeAuthorisationCode(conn, { kind: 'payment', bankResourceId: started.bankPaymentId, redirect: oauth('i.approve.sig'), requestId: 'r' }, { state: back.state!, code: back.code, idToken: back.id_token });
      const ref = { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'international' as const, requestId: 'r', idempotencyKey: 'intl-submit-1' };
      const done = await adapter.completePaymentAuthorisation(conn, ref, grant);
      expect(done.status).toEqual({ raw: 'AcceptedSettlementInProcess', normalised: 'ACSP' });
      expect((await adapter.completePaymentAuthorisation(conn, ref, grant)).bankPaymentId).toBe(done.bankPaymentId);
      const consent = sandbox.state.paymentConsents.get(started.authorisationId!)!;
      expect(consent).toMatchObject({ kind: 'international', status: 'Consumed', paymentIds: [done.bankPaymentId] });
      expect(consent.initiation).toMatchObject({ CurrencyOfTransfer: 'EUR', InstructedAmount: { Amount: '40.00', Currency: 'EUR' } });
      expect(await adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'international', requestId: 'r' })).toEqual({ raw: 'AcceptedSettlementCompleted', normalised: 'ACSC' });
      // An international payment is not reachable as a domestic one.
      const wrong = await refusal(adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'domestic', requestId: 'r' }));
      expect(wrong.httpStatus).toBe(400);
    });

    test('the consent key is honoured: the same key and body give the same consent, the same key with another body is refused', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      const key = randomUUID();
      const a = await adapter.initiatePayment(conn, intl(INTL, key));
      const b = await adapter.initiatePayment(conn, intl(INTL, key));
      expect(b.bankPaymentId).toBe(a.bankPaymentId);
      const other = await refusal(adapter.initiatePayment(conn, intl({ ...INTL, instructedAmount: { currency: 'EUR', amount: '41.00' } }, key)));
      expect(other.httpStatus).toBe(400);
    });

    test('what the UK bank cannot take is refused naming the Clearway field', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      const consentsBefore = sandbox.state.paymentConsents.size;
      // Refused by the adapter, before any bank call: no scheduled international payments; a BBAN needs its bank.
      expect((await refusal(adapter.initiatePayment(conn, intl({ ...INTL, requestedExecutionDate: '2099-01-01' })))).messages?.[0]).toMatchObject({ path: 'requestedExecutionDate' });
      expect((await refusal(adapter.initiatePayment(conn, intl({ ...INTL, creditorAccount: { bban: '021000021123456789' }, creditorAgent: undefined })))).messages?.[0]).toMatchObject({ path: 'creditorAgent' });
      // Refused by the bank, mapped back to our fields.
      expect((await refusal(adapter.initiatePayment(conn, intl({ ...INTL, creditorAccount: { iban: 'FR1420041010050500013M02606', currency: 'JPY' } })))).messages?.[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'creditorAccount.currency' });
      expect((await refusal(adapter.initiatePayment(conn, intl({ ...INTL, instructedAmount: { currency: 'USD', amount: '40.00' }, creditorAccount: { iban: 'FR1420041010050500013M02606', currency: 'EUR' } })))).messages?.[0]).toMatchObject({ path: 'instructedAmount.currency' });
      expect((await refusal(adapter.initiatePayment(conn, intl({ ...INTL, creditorAgent: 'NOTABIC' })))).messages?.[0]).toMatchObject({ path: 'creditorAgent' });
      expect(sandbox.state.paymentConsents.size).toBe(consentsBefore);
    });
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
      await expect(adapter.client!.register(conn)).resolves.toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('Dynamic Client Registration management (DCR 3.3 /register/{ClientId}, client-credentials token)', () => {
    const SECOND_URI = 'https://clearway.example/callbacks/oauth-2';
    const statementFor = (identity: UkTppIdentity, over: { jwks?: JWK[]; redirectUris?: string[]; softwareId?: string } = {}) =>
      sandbox.issueSoftwareStatement({
        softwareId: over.softwareId ?? identity.softwareId,
        orgId: identity.orgId,
        jwks: { keys: over.jwks ?? [identity.publicJwk] },
        redirectUris: over.redirectUris ?? [identity.redirectUri],
      });
    const manage = (clientId: string, init: { method?: string; token?: string; authorization?: string } = {}) =>
      fetch(`${sandbox.url}/register/${clientId}`, {
        method: init.method ?? 'GET',
        headers: init.authorization !== undefined ? { Authorization: init.authorization } : init.token ? { Authorization: `Bearer ${init.token}` } : {},
      });

    test('reads back what it registered', async () => {
      const { adapter, conn } = adapterFor(sandbox, await testIdentity());
      const clientId = await adapter.client!.clientId(conn);
      const registration = await adapter.client!.readRegistration(conn);
      expect(registration).toMatchObject({ client_id: clientId, redirect_uris: [TEST_REDIRECT_URI], token_endpoint_auth_method: 'private_key_jwt', software_id: 'test-software' });
      expect(String(registration.software_statement).split('.')).toHaveLength(3);
    });

    test('updates its redirect URIs (with a statement listing them); URIs the statement lacks are refused and nothing changes', async () => {
      const identity = await testIdentity();
      const { adapter, conn } = adapterFor(sandbox, identity);
      const both = [TEST_REDIRECT_URI, SECOND_URI];
      const updated = await adapter.client!.updateRegistration(conn, { softwareStatement: await statementFor(identity, { redirectUris: both }), redirectUris: both });
      expect(updated.redirect_uris).toEqual(both);
      expect((await adapter.client!.readRegistration(conn)).redirect_uris).toEqual(both);
      await expect(adapter.client!.updateRegistration(conn, { redirectUris: ['https://elsewhere.example/cb'] })).rejects.toThrow(/invalid_redirect_uri/);
      expect((await adapter.client!.readRegistration(conn)).redirect_uris).toEqual(both);
    });

    test('rotates its key: a new statement signed with the new key; then only the new key authenticates the client', async () => {
      const identity = await testIdentity();
      const { adapter, conn, registrations } = adapterFor(sandbox, identity);
      const clientId = await adapter.client!.clientId(conn);
      const next = await testIdentity({ kid: 'test-kid-2' });
      const statement = await statementFor(identity, { jwks: [next.publicJwk] });
      // Signed with a key the new statement does not list: refused.
      await expect(adapter.client!.updateRegistration(conn, { softwareStatement: statement })).rejects.toThrow(/invalid_client_metadata.*does not verify/);
      await adapter.client!.updateRegistration(conn, { softwareStatement: statement, signingKey: next.signingKey, kid: next.kid });

      // The identity switched to the new key: tokens again, same client.
      const rotated = adapterFor(sandbox, { ...next, softwareStatement: statement });
      rotated.registrations.rows.set([...registrations.rows.keys()][0]!, clientId);
      expect((await rotated.adapter.client!.readRegistration(rotated.conn)).client_id).toBe(clientId);
      // The old key is no longer the client's.
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'PS256', kid: identity.kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(`${sandbox.url}/token`)
        .setIssuedAt()
        .setExpirationTime('2m')
        .setJti(randomUUID())
        .sign(identity.signingKey);
      const old = await fetch(`${sandbox.url}/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'payments', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
      });
      expect(old.status).toBe(401);
      expect(((await old.json()) as { error: string }).error).toBe('invalid_client');
    });

    test('refuses an update that is expired or for another software, and keeps the registration', async () => {
      const identity = await testIdentity();
      const { adapter, conn } = adapterFor(sandbox, identity);
      await expect(adapter.client!.updateRegistration(conn, { expiresInS: -60 })).rejects.toThrow(/invalid_client_metadata.*exp/);
      const otherSoftware = await statementFor(identity, { softwareId: 'other-software' });
      await expect(adapter.client!.updateRegistration(conn, { softwareStatement: otherSoftware })).rejects.toThrow(/invalid_client_metadata|invalid_software_statement/);
      expect((await adapter.client!.readRegistration(conn)).redirect_uris).toEqual([TEST_REDIRECT_URI]);
    });

    test('no token, a bad token or a token bought with a PSU authorisation: 401 with WWW-Authenticate; another client\'s token: 403', async () => {
      const mine = adapterFor(sandbox, await testIdentity());
      const theirs = adapterFor(sandbox, await testIdentity());
      const clientId = await mine.adapter.client!.clientId(mine.conn);
      for (const authorization of ['', 'Bearer not-a-token', 'Basic dXNlcjpwYXNz']) {
        const res = await manage(clientId, { authorization });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      }
      const foreign = await manage(clientId, { token: await theirs.adapter.client!.clientToken(theirs.conn, 'payments') });
      expect(foreign.status).toBe(403);
      for (const method of ['PUT', 'DELETE']) expect((await manage(clientId, { method, token: await theirs.adapter.client!.clientToken(theirs.conn, 'payments') })).status).toBe(403);
      expect(sandbox.state.clients.has(clientId)).toBe(true);
      // A PSU-authorised (authorization code) token of the same client is not for managing it.
      const started = await initiate(mine.adapter, mine.conn, 'p.dcr-psu.sig');
      const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
      const grant = await mine.adapter.exchangeAuthorisationCode(
        mine.conn,
        { kind: 'payment', bankResourceId: started.bankPaymentId, redirect: oauth('p.dcr-psu.sig'), requestId: 'r' },
        { state: back.state!, code: back.code, idToken: back.id_token },
      );
      expect((await manage(clientId, { token: grant.accessToken })).status).toBe(401);
    });

    test('deletes its registration: the bank forgets the client and its tokens, the adapter forgets the client id', async () => {
      const { adapter, conn, registrations } = adapterFor(sandbox, await testIdentity());
      const clientId = await adapter.client!.clientId(conn);
      const token = await adapter.client!.clientToken(conn, 'payments');
      expect((await manage(clientId, { token })).status).toBe(200);
      await adapter.client!.deleteRegistration(conn);
      expect(registrations.rows.size).toBe(0);
      expect(sandbox.state.clients.has(clientId)).toBe(false);
      expect((await manage(clientId, { token })).status).toBe(401);
      // The next use registers anew.
      expect(await adapter.client!.clientId(conn)).not.toBe(clientId);
    });
  });
});

describe('DCR management with an expired client-credentials token (the bank\'s clock moves on)', () => {
  let ahead = 0;
  let sandbox: RunningUkObieSandbox;
  beforeAll(async () => {
    sandbox = await startUkObieSandbox({ port: 0, now: () => Date.now() + ahead });
  });
  afterAll(() => sandbox.close());

  test('401 invalid_token once the token expired (1 h), for read, update and delete alike', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity());
    await adapter.client!.readRegistration(conn);
    ahead = 3601_000;
    // The adapter still holds the token it thinks valid: the bank refuses it.
    await expect(adapter.client!.readRegistration(conn)).rejects.toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    await expect(adapter.client!.updateRegistration(conn, {})).rejects.toMatchObject({ details: { httpStatus: 401 } });
    await expect(adapter.client!.deleteRegistration(conn)).rejects.toMatchObject({ details: { httpStatus: 401 } });
    expect(sandbox.state.clients.size).toBe(1);
  });
});

describe('tls_client_auth where the bank serves mTLS (RFC 8705): chosen by the directory row\'s client certificate', () => {
  let sandbox: RunningUkObieSandbox;
  let tls: BankTls;
  let caPem: string;
  let qwac: { certPem: string; keyPem: string };
  let other: { certPem: string; keyPem: string };
  let foreign: { certPem: string; keyPem: string };
  const agents: Agent[] = [];
  beforeAll(async () => {
    const ca = await createTestCa();
    caPem = ca.caPem;
    const server = await ca.issue({ kind: 'server', hosts: ['127.0.0.1'] });
    qwac = await ca.issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
    other = await ca.issue({ kind: 'qwac', commonName: 'Another TPP', organizationIdentifier: 'PSDGB-FCA-OTHER01', psd2: DEV_QWAC_STATEMENT });
    // The same subject as Clearway's, from a CA the bank does not trust.
    foreign = await (await createTestCa({ name: 'CN=Unknown QTSP' })).issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
    sandbox = await startUkObieSandbox({ port: 0, tls: { certPem: server.certPem, keyPem: server.keyPem, clientCaPem: ca.caPem } });
    tls = new BankTls({ clientCertificates: { qwac }, extraCaPem: ca.caPem });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await tls.close();
    await sandbox.close();
  });
  const fetchAs = (cert?: { certPem: string; keyPem: string }) => {
    const agent = new Agent({ connect: { ca: caPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
    agents.push(agent);
    return (url: string, init: Record<string, unknown> = {}) => undiciFetch(url, { ...init, dispatcher: agent });
  };
  const ccToken = (cert: { certPem: string; keyPem: string } | undefined, clientId: string) =>
    fetchAs(cert)(`${sandbox.url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'payments', client_id: clientId }).toString() });

  test('registers with tls_client_auth and its certificate subject, then works with no client assertion at all', async () => {
    const discovery = (await (await fetchAs(qwac)(`${sandbox.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(['private_key_jwt', 'tls_client_auth']);
    const { adapter, conn } = adapterFor(sandbox, await testIdentity(), { tls, clientCertificateRef: 'qwac' });
    const started = await adapter.initiatePayment(conn, {
      idempotencyKey: randomUUID(),
      paymentProduct: 'domestic',
      payment: PAYMENT,
      psu: { psuIpAddress: '198.51.100.7' },
      redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
      oauth: oauth('p.mtls.sig'),
    });
    expect(started.status.normalised).toBe('RCVD');
    const registration = await adapter.client!.readRegistration(conn);
    expect(registration).toMatchObject({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: expect.stringContaining('organizationIdentifier=PSDLT-BOL-DEV0001') });
    expect(registration).not.toHaveProperty('token_endpoint_auth_signing_alg');
    expect(sandbox.state.clients.get(String(registration.client_id))).toMatchObject({ authMethod: 'tls_client_auth' });

    // Its tokens come from the certificate alone, and are bound to it (cnf x5t#S256).
    const clientId = String(registration.client_id);
    const res = await ccToken(qwac, clientId);
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    const consentUrl = `${sandbox.url}/open-banking/v3.1/pisp/domestic-payment-consents/${started.authorisationId}`;
    const read = (cert: { certPem: string; keyPem: string }) => fetchAs(cert)(consentUrl, { headers: { Authorization: `Bearer ${token}` } });
    expect((await read(qwac)).status).toBe(200);
    expect((await read(other)).status).toBe(401);
  });

  test('the token endpoint refuses the client without its certificate: another subject, the same subject from an untrusted CA, or none', async () => {
    const { adapter, conn } = adapterFor(sandbox, await testIdentity(), { tls, clientCertificateRef: 'qwac' });
    const clientId = await adapter.client!.clientId(conn);
    for (const cert of [other, foreign, undefined]) {
      const res = await ccToken(cert, clientId);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
    }
  });

  test('registering tls_client_auth for a subject other than the presented certificate, or without one, is refused', async () => {
    const identity = await testIdentity();
    // The directory row names a certificate the TLS connection does not present (other agent): subject mismatch.
    const mismatched = new BankTls({ clientCertificates: { qwac, mine: other }, extraCaPem: caPem });
    const { adapter, conn } = adapterFor(sandbox, identity, { tls: mismatched, clientCertificateRef: 'qwac' });
    const presentingOther = { ...conn, clientCertificateRef: 'mine' };
    const client = adapter.client!;
    const dnOfQwac = client.tokenEndpointAuth(conn);
    expect(dnOfQwac).toMatchObject({ method: 'tls_client_auth' });
    // Sign the request for the QWAC's subject, send it presenting the other certificate.
    const spy = jest.spyOn(client, 'tokenEndpointAuth').mockReturnValue(dnOfQwac);
    await expect(client.register(presentingOther)).rejects.toThrow(/invalid_client_metadata.*subject DN/);
    spy.mockRestore();
    await mismatched.close();
    // Over plain http (no certificate): the http sandbox of the other tests has no tls_client_auth.
    const plain = await startUkObieSandbox({ port: 0 });
    try {
      const viaHttp = adapterFor(plain, identity, { tls, clientCertificateRef: 'qwac' });
      await expect(viaHttp.adapter.client!.register(viaHttp.conn)).rejects.toThrow(/invalid_client_metadata.*tls_client_auth needs mTLS/);
    } finally {
      await plain.close();
    }
  });
});
