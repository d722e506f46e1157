import { bgHeaders, paymentWithoutDebtor, pkcePair, startPayseraTestKit, type PayseraTestKit } from './test-helpers';

const REDIRECT_URI = 'http://127.0.0.1:3000/callbacks/oauth';

describe('Paysera-profile sandbox bank (mTLS, QWAC roles, OAuth SCA)', () => {
  let kit: PayseraTestKit;
  let clock: number;

  beforeAll(async () => {
    clock = Date.now();
    kit = await startPayseraTestKit({ now: () => clock, accessTokenTtlSeconds: 300 });
  });
  afterAll(() => kit.close());

  const post = (cert: Parameters<PayseraTestKit['fetchAs']>[0], path: string, body: unknown) =>
    kit.fetchAs(cert)(`${kit.sandbox.url}${path}`, { method: 'POST', headers: bgHeaders(), body: JSON.stringify(body) });

  describe('mTLS refusals (Berlin Group 401 codes)', () => {
    it('no client certificate: 401 CERTIFICATE_MISSING', async () => {
      const res = await post(undefined, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor());
      expect(res.status).toBe(401);
      expect((await res.json()).tppMessages[0].code).toBe('CERTIFICATE_MISSING');
    });

    it('a QWAC from a CA the bank does not trust: 401 CERTIFICATE_INVALID', async () => {
      const res = await post(kit.foreign, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor());
      expect(res.status).toBe(401);
      expect((await res.json()).tppMessages[0].code).toBe('CERTIFICATE_INVALID');
    });

    it('a trusted certificate without the PSD2 qcStatement: 401 CERTIFICATE_INVALID', async () => {
      const res = await post(kit.plain, '/v1/consents', {});
      expect(res.status).toBe(401);
      expect((await res.json()).tppMessages[0]).toMatchObject({ code: 'CERTIFICATE_INVALID', text: expect.stringContaining('qcStatement') });
    });

    it('PSP_AI only: payments refused with 401 ROLE_INVALID, consents allowed', async () => {
      const aisOnly = await kit.withRoles(['PSP_AI']);
      const payment = await post(aisOnly, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor());
      expect(payment.status).toBe(401);
      expect((await payment.json()).tppMessages[0]).toMatchObject({ code: 'ROLE_INVALID', text: expect.stringContaining('PSP_PI') });
      const consent = await post(aisOnly, '/v1/consents', { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '2099-01-01', frequencyPerDay: 4, combinedServiceIndicator: false });
      expect(consent.status).toBe(201);
    });

    it('PSP_PI only: consents refused with 401 ROLE_INVALID, payments allowed', async () => {
      const pisOnly = await kit.withRoles(['PSP_PI']);
      const consent = await post(pisOnly, '/v1/consents', { access: { allPsd2: 'allAccounts' } });
      expect(consent.status).toBe(401);
      expect((await consent.json()).tppMessages[0]).toMatchObject({ code: 'ROLE_INVALID', text: expect.stringContaining('PSP_AI') });
      expect((await post(pisOnly, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor())).status).toBe(201);
    });

    it("another TPP's payment is not visible", async () => {
      const created = await (await post(kit.qwac, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor())).json();
      const other = await kit.withRoles(['PSP_PI']);
      const res = await kit.fetchAs(other)(`${kit.sandbox.url}/v1/payments/sepa-credit-transfers/${created.paymentId}/status`, { headers: bgHeaders() });
      expect(res.status).toBe(403);
    });
  });

  it('does not deduplicate on X-Request-ID: the same id twice makes two payments', async () => {
    const headers = bgHeaders();
    const send = () =>
      kit.fetchAs(kit.qwac)(`${kit.sandbox.url}/v1/payments/sepa-credit-transfers`, { method: 'POST', headers, body: JSON.stringify(paymentWithoutDebtor('1.00')) });
    const [a, b] = [await (await send()).json(), await (await send()).json()];
    expect(a.paymentId).not.toBe(b.paymentId);
    expect(kit.sandbox.payments.stats().requestsById[headers['X-Request-ID']!]).toBe(2);
  });

  it('a payment without debtor account: OAuth link → metadata → PSU picks the account → code + PKCE → token → authorised', async () => {
    const tpp = kit.fetchAs(kit.qwac);
    const browser = kit.fetchAs(undefined);
    const created = await post(kit.qwac, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor('12.34'));
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('OAUTH');
    const body = await created.json();
    expect(body).toMatchObject({ transactionStatus: 'RCVD', _links: { scaOAuth: { href: `${kit.sandbox.origin}/.well-known/oauth-authorization-server` } } });
    expect(body._links.scaRedirect).toBeUndefined();

    const metadata = await (await tpp(body._links.scaOAuth.href)).json();
    expect(metadata).toMatchObject({ issuer: kit.sandbox.origin, code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['tls_client_auth'] });

    const pkce = pkcePair();
    const params = {
      response_type: 'code',
      client_id: 'PSDLT-BOL-DEV0001',
      redirect_uri: REDIRECT_URI,
      scope: `PIS:${body.paymentId}`,
      state: 'state-0123456789',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    };
    const page = await browser(`${metadata.authorization_endpoint}?${new URLSearchParams(params)}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('TEST MODE');
    expect(html).toContain('12.34 EUR');
    const account = /<option value="([^"]+)"/.exec(html)![1]!;

    const approved = await browser(metadata.authorization_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, decision: 'approve', debtorAccount: account }).toString(),
      redirect: 'manual',
    });
    expect(approved.status).toBe(303);
    const back = new URL(approved.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe(params.state);
    const code = back.searchParams.get('code')!;

    // The PSU's approval alone authorises nothing: the TPP must redeem the code.
    const statusUrl = `${kit.sandbox.url}/v1/payments/sepa-credit-transfers/${body.paymentId}/status`;
    expect((await (await tpp(statusUrl, { headers: bgHeaders() })).json()).transactionStatus).toBe('RCVD');

    const token = (form: Record<string, string>, as = tpp) =>
      as(metadata.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: 'PSDLT-BOL-DEV0001' };
    const noCert = await token({ ...exchange, code_verifier: pkce.verifier }, browser);
    expect(noCert.status).toBe(401);
    const wrongVerifier = await token({ ...exchange, code_verifier: pkcePair().verifier });
    expect(wrongVerifier.status).toBe(400);
    expect((await wrongVerifier.json()).error).toBe('invalid_grant');
    const tokens = await token({ ...exchange, code_verifier: pkce.verifier });
    expect(tokens.status).toBe(200);
    expect(await tokens.json()).toMatchObject({ token_type: 'Bearer', scope: `PIS:${body.paymentId}`, refresh_token: expect.any(String) });

    expect((await (await tpp(statusUrl, { headers: bgHeaders() })).json()).transactionStatus).toBe('ACSP');
    expect((await (await tpp(statusUrl, { headers: bgHeaders() })).json()).transactionStatus).toBe('ACSC');
    const payment = await (await tpp(`${kit.sandbox.url}/v1/payments/sepa-credit-transfers/${body.paymentId}`, { headers: bgHeaders() })).json();
    expect(payment.debtorAccount.iban).toBe(kit.sandbox.ais.accountsOf().find((a) => a.resourceId === account)!.iban);

    const replay = await token({ ...exchange, code_verifier: pkce.verifier });
    expect((await replay.json()).error).toBe('invalid_grant');
  });

  it('the PSU denies: redirected with access_denied and the payment is rejected', async () => {
    const body = await (await post(kit.qwac, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor('2.00'))).json();
    const metadata = await (await kit.fetchAs(kit.qwac)(body._links.scaOAuth.href)).json();
    const params = {
      response_type: 'code',
      client_id: 'PSDLT-BOL-DEV0001',
      redirect_uri: REDIRECT_URI,
      scope: `PIS:${body.paymentId}`,
      state: 'state-deny-0001',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    };
    const denied = await kit.fetchAs(undefined)(metadata.authorization_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, decision: 'deny' }).toString(),
      redirect: 'manual',
    });
    const back = new URL(denied.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(params.state);
    expect(kit.sandbox.payments.get(body.paymentId)!.transactionStatus).toBe('RJCT');
  });

  it.each([
    [{ code_challenge_method: 'plain' }, 'S256'],
    [{ state: undefined }, 'state'],
    [{ scope: 'PIS:unknown-payment' }, 'unknown payment'],
  ])('refuses an authorization request with %j (redirected with an error naming %s)', async (override, words) => {
    const body = await (await post(kit.qwac, '/v1/payments/sepa-credit-transfers', paymentWithoutDebtor('3.00'))).json();
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: 'PSDLT-BOL-DEV0001',
      redirect_uri: REDIRECT_URI,
      scope: `PIS:${body.paymentId}`,
      state: 'state-0123456789',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ...override,
    };
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
    const res = await kit.fetchAs(undefined)(`${kit.sandbox.origin}/oauth/authorize?${query}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!).searchParams.get('error_description')).toContain(words);
  });

  it('a consent through OAuth: account reads need its bearer token; expired tokens refused; refresh rotates', async () => {
    const tpp = kit.fetchAs(kit.qwac);
    const created = await post(kit.qwac, '/v1/consents', { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '2099-01-01', frequencyPerDay: 4, combinedServiceIndicator: false });
    expect(created.status).toBe(201);
    const consent = await created.json();
    expect(consent._links.scaOAuth.href).toContain('/.well-known/oauth-authorization-server');
    const metadata = await (await tpp(consent._links.scaOAuth.href)).json();
    const pkce = pkcePair();
    const params = {
      response_type: 'code',
      client_id: 'PSDLT-BOL-DEV0001',
      redirect_uri: REDIRECT_URI,
      scope: `AIS:${consent.consentId}`,
      state: 'state-consent-01',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    };
    const approved = await kit.fetchAs(undefined)(metadata.authorization_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, decision: 'approve' }).toString(),
      redirect: 'manual',
    });
    const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
    const token = (form: Record<string, string>) =>
      tpp(metadata.token_endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    const tokens = await (await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: pkce.verifier })).json();
    const status = await (await tpp(`${kit.sandbox.url}/v1/consents/${consent.consentId}/status`, { headers: bgHeaders() })).json();
    expect(status.consentStatus).toBe('valid');

    const accounts = (bearer?: string) =>
      tpp(`${kit.sandbox.url}/v1/accounts`, { headers: bgHeaders({ 'Consent-ID': consent.consentId, ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) }) });
    const without = await accounts();
    expect(without.status).toBe(401);
    expect((await without.json()).tppMessages[0].code).toBe('TOKEN_UNKNOWN');
    const withToken = await accounts(tokens.access_token);
    expect(withToken.status).toBe(200);
    expect((await withToken.json()).accounts.length).toBeGreaterThan(0);

    clock += 301_000;
    const expired = await accounts(tokens.access_token);
    expect(expired.status).toBe(401);
    expect((await expired.json()).tppMessages[0].code).toBe('TOKEN_EXPIRED');

    const refreshed = await (await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).json();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await accounts(refreshed.access_token)).status).toBe(200);
    const again = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect((await again.json()).error).toBe('invalid_grant');
    latest = { consentId: consent.consentId, tokens: refreshed, tokenEndpoint: metadata.token_endpoint };
  });

  /** The consent, tokens and token endpoint of the test above (certificate binding is checked on them). */
  let latest: { consentId: string; tokens: { access_token: string; refresh_token: string }; tokenEndpoint: string };

  describe('access tokens are bound to the client certificate (RFC 8705 cnf x5t#S256), not to the client id', () => {
    const readAccounts = (cert: Parameters<PayseraTestKit['fetchAs']>[0], bearer: string) =>
      kit.fetchAs(cert)(`${kit.sandbox.url}/v1/accounts`, { headers: bgHeaders({ 'Consent-ID': latest.consentId, Authorization: `Bearer ${bearer}` }) });

    it('the metadata says so', async () => {
      const metadata = await (await kit.fetchAs(kit.qwac)(`${kit.sandbox.origin}/.well-known/oauth-authorization-server`)).json();
      expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    });

    it.each([
      ['the same client id (a renewed QWAC: same organizationIdentifier and roles, new key)', () => kit.qwacRenewed],
      ["another TPP's QWAC with PSP_AI", () => kit.withRoles(['PSP_AI'])],
    ])('a token presented with another certificate is refused (401 TOKEN_INVALID): %s', async (_name, other) => {
      expect((await readAccounts(kit.qwac, latest.tokens.access_token)).status).toBe(200);
      const refused = await readAccounts(await other(), latest.tokens.access_token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
      expect((await refused.json()).tppMessages[0]).toMatchObject({ code: 'TOKEN_INVALID', text: expect.stringContaining('another client certificate') });
      // Still good with the certificate it was issued to.
      expect((await readAccounts(kit.qwac, latest.tokens.access_token)).status).toBe(200);
    });

    it('after a renewal, a refresh over the new certificate gives tokens bound to it (and no longer to the old one)', async () => {
      const renewed = kit.fetchAs(kit.qwacRenewed);
      const res = await renewed(latest.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: latest.tokens.refresh_token }).toString(),
      });
      expect(res.status).toBe(200);
      const tokens = await res.json();
      expect((await readAccounts(kit.qwacRenewed, tokens.access_token)).status).toBe(200);
      expect((await readAccounts(kit.qwac, tokens.access_token)).status).toBe(401);
    });
  });
});
