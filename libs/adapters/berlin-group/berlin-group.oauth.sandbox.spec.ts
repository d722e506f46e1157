/**
 * The Berlin Group adapter against the Paysera-profile sandbox over https with mTLS: OAuth SCA
 * (metadata → authorization URL with PKCE and state → code → token → authorised) for payments
 * and consents, bearer tokens on account reads, refresh, and the bank's certificate refusals.
 */
import { randomUUID } from 'node:crypto';
import { startPayseraTestKit, type PayseraTestKit } from '../../../apps/sandbox/paysera/test-helpers';
import { KeyRing } from '../../security/key-ring';
import { PkceVerifiers, s256 } from '../../security/pkce';
import { BankError, type BankConnection, type InitiatePaymentCommand } from '../bank-adapter';
import { BankTls } from '../bank-tls';
import type { PaymentInitiationBody } from '../../domain/payment';
import { BerlinGroupAdapter } from '.';

const REDIRECT_URI = 'http://127.0.0.1:3000/callbacks/oauth';

describe('Berlin Group adapter: OAuth SCA approach and mTLS (Paysera-profile sandbox)', () => {
  let kit: PayseraTestKit;
  let tls: BankTls;
  let sut: BerlinGroupAdapter;
  let conn: BankConnection;
  const ring = new KeyRing('hmac', [{ id: 'k2', secret: 'x'.repeat(40) }, { id: 'k1', secret: 'y'.repeat(40) }]);
  const pkce = new PkceVerifiers(ring);

  beforeAll(async () => {
    kit = await startPayseraTestKit();
    const aisOnly = await kit.withRoles(['PSP_AI']);
    tls = new BankTls({ clientCertificates: { qwac: kit.qwac, 'ais-only': aisOnly, foreign: kit.foreign }, extraCaPem: kit.caPem });
    sut = new BerlinGroupAdapter({ tls, pkce });
    conn = { bicFi: 'SANDLT21XXX', baseUrl: kit.sandbox.url, clientCertificateRef: 'qwac' };
  });
  afterAll(async () => {
    await tls.close();
    await kit.close();
  });

  const state = (id: string) => `p.${id}.k2.signature-${id.slice(0, 8)}`;
  const paymentCommand = (oauthState: string, payment: Partial<PaymentInitiationBody> = {}): InitiatePaymentCommand => ({
    idempotencyKey: randomUUID(),
    paymentProduct: 'sepa-credit-transfers',
    // No debtor account: the PSU picks it at the bank.
    payment: { instructedAmount: { currency: 'EUR', amount: '25.00' }, creditorAccount: { iban: 'LT121000011101001000' }, creditorName: 'Vilnius Coffee UAB', ...payment } as PaymentInitiationBody,
    psu: { psuIpAddress: '192.0.2.1' },
    redirect: { okUri: 'http://127.0.0.1:3000/ok', nokUri: 'http://127.0.0.1:3000/nok' },
    oauth: { redirectUri: REDIRECT_URI, state: oauthState },
  });

  /** The PSU in a browser (no client certificate): opens the page, approves (picking the first account offered). */
  async function psuApproves(authorizationUrl: string): Promise<URL> {
    const browser = kit.fetchAs(undefined);
    const html = await (await browser(authorizationUrl)).text();
    const account = /<option value="([^"]+)"/.exec(html)?.[1];
    const form = new URLSearchParams(new URL(authorizationUrl).searchParams);
    form.set('decision', 'approve');
    if (account) form.set('debtorAccount', account);
    const res = await browser(authorizationUrl.split('?')[0]!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    return new URL(res.headers.get('location')!);
  }

  it('payment: the authorization URL carries client_id from the QWAC, scope, state and the S256 challenge; the code redeemed authorises it', async () => {
    const s = state(randomUUID());
    const initiated = await sut.initiatePayment(conn, paymentCommand(s));
    expect(initiated.scaApproach).toBe('OAUTH');
    const url = new URL(initiated.scaRedirectUrl!);
    expect(`${url.origin}${url.pathname}`).toBe(`${kit.sandbox.origin}/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'PSDLT-BOL-DEV0001',
      redirect_uri: REDIRECT_URI,
      scope: `PIS:${initiated.bankPaymentId}`,
      state: s,
      code_challenge: s256(pkce.verifier(s)),
      code_challenge_method: 'S256',
    });
    // The verifier is not in the URL and is the same whenever it is derived again (no storage needed).
    expect(initiated.scaRedirectUrl).not.toContain(pkce.verifier(s));

    const back = await psuApproves(initiated.scaRedirectUrl!);
    const ref = { kind: 'payment' as const, bankResourceId: initiated.bankPaymentId, redirect: { redirectUri: REDIRECT_URI, state: s }, requestId: randomUUID() };
    const grant = await sut.exchangeAuthorisationCode(conn, ref, { state: back.searchParams.get('state')!, code: back.searchParams.get('code')! });
    expect(grant).toMatchObject({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', scope: `PIS:${initiated.bankPaymentId}` });
    expect(grant.expiresAt).toBeGreaterThan(Date.now());

    const done = await sut.completePaymentAuthorisation(
      conn,
      { bankPaymentId: initiated.bankPaymentId, paymentProduct: 'sepa-credit-transfers', authorisationId: initiated.authorisationId!, requestId: randomUUID(), idempotencyKey: randomUUID() },
      grant,
    );
    expect(done).toEqual({ scaStatus: { raw: 'finalised', normalised: 'finalised' }, status: { raw: 'ACSP', normalised: 'ACSP' } });
    expect(kit.sandbox.payments.get(initiated.bankPaymentId)!.debtorIban).toBeDefined();

    // The same code again is refused: `rejected`, never retried.
    const again = sut.exchangeAuthorisationCode(conn, ref, { state: s, code: back.searchParams.get('code')! });
    await expect(again).rejects.toMatchObject({ kind: 'rejected', details: { messages: [{ code: 'invalid_grant' }] } });
  });

  it('the metadata URL is the directory\'s (or the well-known one at the API origin); a bank whose scaOAuth link differs gets no link, never a mismatched exchange later', async () => {
    const named = await sut.initiatePayment({ ...conn, oauthMetadataUrl: `${kit.sandbox.origin}/.well-known/oauth-authorization-server` }, paymentCommand(state(randomUUID())));
    expect(named.scaRedirectUrl).toMatch(/\/oauth\/authorize\?/);
    const elsewhere = await sut.initiatePayment({ ...conn, oauthMetadataUrl: 'https://auth.bank.example/.well-known/oauth-authorization-server' }, paymentCommand(state(randomUUID())));
    expect(elsewhere.scaApproach).toBe('OAUTH');
    expect(elsewhere.scaRedirectUrl).toBeUndefined();
  });

  it('a PSU who denies, or an answer with another state, is `rejected` without asking the bank for tokens', async () => {
    const s = state(randomUUID());
    const ref = { kind: 'payment' as const, bankResourceId: 'x', redirect: { redirectUri: REDIRECT_URI, state: s }, requestId: randomUUID() };
    await expect(sut.exchangeAuthorisationCode(conn, ref, { state: s, error: 'access_denied' })).rejects.toMatchObject({ kind: 'rejected' });
    await expect(sut.exchangeAuthorisationCode(conn, ref, { state: `${s}x`, code: 'abc' })).rejects.toMatchObject({ kind: 'rejected' });
  });

  it('a PKCE verifier from another key ring does not redeem the code (the bank checks the challenge)', async () => {
    const s = state(randomUUID());
    const initiated = await sut.initiatePayment(conn, paymentCommand(s));
    const back = await psuApproves(initiated.scaRedirectUrl!);
    const stranger = new BerlinGroupAdapter({ tls, pkce: new PkceVerifiers(new KeyRing('hmac', [{ id: 'k2', secret: 'z'.repeat(40) }])) });
    const ref = { kind: 'payment' as const, bankResourceId: initiated.bankPaymentId, redirect: { redirectUri: REDIRECT_URI, state: s }, requestId: randomUUID() };
    await expect(stranger.exchangeAuthorisationCode(conn, ref, { state: s, code: back.searchParams.get('code')! })).rejects.toMatchObject({ kind: 'rejected' });
    expect(kit.sandbox.payments.get(initiated.bankPaymentId)!.transactionStatus).toBe('RCVD');
  });

  it('consent: authorised through OAuth; account reads carry its bearer token; an expired token is refreshed', async () => {
    const s = `c.${randomUUID()}.k2.sig`;
    const created = await sut.createConsent(conn, {
      idempotencyKey: randomUUID(),
      consent: { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '2099-12-31', frequencyPerDay: 4, combinedServiceIndicator: false },
      psu: { psuIpAddress: '192.0.2.1' },
      redirect: { okUri: 'http://127.0.0.1:3000/ok', nokUri: 'http://127.0.0.1:3000/nok' },
      oauth: { redirectUri: REDIRECT_URI, state: s },
    });
    expect(created.scaApproach).toBe('OAUTH');
    expect(new URL(created.scaRedirectUrl!).searchParams.get('scope')).toBe(`AIS:${created.bankConsentId}`);
    const back = await psuApproves(created.scaRedirectUrl!);
    const grant = await sut.exchangeAuthorisationCode(
      conn,
      { kind: 'consent', bankResourceId: created.bankConsentId, redirect: { redirectUri: REDIRECT_URI, state: s }, requestId: randomUUID() },
      { state: s, code: back.searchParams.get('code')! },
    );
    const done = await sut.completeConsentAuthorisation(conn, { bankConsentId: created.bankConsentId, authorisationId: created.authorisationId, requestId: randomUUID() }, grant);
    expect(done).toEqual({ scaStatus: { raw: 'finalised', normalised: 'finalised' }, status: { raw: 'valid', normalised: 'valid' } });

    const read = { bankConsentId: created.bankConsentId, requestId: randomUUID(), psu: { psuIpAddress: '192.0.2.1' } };
    const withoutToken = sut.listAccounts(conn, read, { withBalance: false });
    await expect(withoutToken).rejects.toMatchObject({ kind: 'rejected', details: { httpStatus: 401, messages: [{ code: 'TOKEN_UNKNOWN' }] } });
    const accounts = await sut.listAccounts(conn, { ...read, grant }, { withBalance: true });
    expect(accounts.accounts.length).toBeGreaterThan(0);

    const refreshed = await sut.refreshGrant(conn, grant);
    expect(refreshed.accessToken).not.toBe(grant.accessToken);
    expect(refreshed.refreshToken).not.toBe(grant.refreshToken);
    expect((await sut.listAccounts(conn, { ...read, grant: refreshed }, { withBalance: false })).accounts.length).toBeGreaterThan(0);
    // The old access token went with the rotated refresh token.
    await expect(sut.listAccounts(conn, { ...read, grant }, { withBalance: false })).rejects.toMatchObject({ details: { httpStatus: 401 } });
  });

  describe('mTLS refusals through the adapter', () => {
    it.each([
      ['no client certificate configured for the bank', 'CERTIFICATE_MISSING', {}],
      ['a certificate from a CA the bank does not trust', 'CERTIFICATE_INVALID', { clientCertificateRef: 'foreign' }],
      ['a QWAC without PSP_PI', 'ROLE_INVALID', { clientCertificateRef: 'ais-only' }],
    ])('%s: the initiation is refused (401 %s), a final refusal', async (_name, code, override) => {
      const { clientCertificateRef: _ref, ...bare } = conn;
      const err = await sut.initiatePayment({ ...bare, ...override }, paymentCommand(state(randomUUID()))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BankError);
      expect(err).toMatchObject({ kind: 'rejected', fate: 'refused', details: { httpStatus: 401, messages: [{ code }] } });
    });

    it('a certificate reference with no material configured fails before anything is sent', async () => {
      const err = await sut.initiatePayment({ ...conn, clientCertificateRef: 'missing' }, paymentCommand(state(randomUUID()))).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'protocol', fate: 'not_processed' });
    });
  });
});
