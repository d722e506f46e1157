import path from 'node:path';
import { loadOpenApi, specsDir, validateRequestBody, validateResponse } from '../../../test/support/openapi-contract';
import { adapterFor, authoriseAtSandbox, testIdentity, TEST_REDIRECT_URI } from '../../../libs/adapters/uk-obie/test-helpers';
import { startUkObieSandbox, type RunningUkObieSandbox } from './index';

/**
 * The UK sandbox bank and the uk-obie adapter against the OBIE Read/Write 3.1.11 OpenAPI files:
 * every request body the adapter sends and every answer the bank gives (status, body, headers) on a
 * payment and an account-information journey must match the spec.
 */
const PIS = loadOpenApi(path.join(specsDir, 'uk-obie/v3.1.11r4/payment-initiation-openapi.yaml'));
const AIS = loadOpenApi(path.join(specsDir, 'uk-obie/v3.1.11r4/account-info-openapi.yaml'));

interface Exchange {
  method: string;
  url: URL;
  requestBody?: string;
  status: number;
  responseBody: string;
  headers: Headers;
}

let sandbox: RunningUkObieSandbox;
const exchanges: Exchange[] = [];
const recording: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const text = await res.text();
  exchanges.push({ method: init?.method ?? 'GET', url: new URL(String(input)), requestBody: typeof init?.body === 'string' ? init.body : undefined, status: res.status, responseBody: text, headers: res.headers });
  return new Response(res.status === 204 ? null : text, { status: res.status, headers: res.headers });
};

beforeAll(async () => {
  sandbox = await startUkObieSandbox({ port: 0 });
});
afterAll(() => sandbox.close());

test('a payment and an account-information journey: every resource request and answer matches OBIE 3.1.11', async () => {
  const { adapter, conn } = adapterFor(sandbox, await testIdentity(), { fetch: recording });
  const oauth = (state: string) => ({ redirectUri: TEST_REDIRECT_URI, state });
  const started = await adapter.initiatePayment(conn, {
    idempotencyKey: '2b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87',
    paymentProduct: 'domestic',
    payment: {
      debtorAccount: { bban: '20000010000000' },
      instructedAmount: { currency: 'GBP', amount: '12.50' },
      creditorAccount: { iban: 'GB33BUKB20201555555555' },
      creditorName: 'Jane Creditor',
      remittanceInformationUnstructured: 'INVOICE 20261201',
    },
    psu: { psuIpAddress: '198.51.100.7' },
    redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
    oauth: oauth('p.contract.sig'),
  });
  const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
  const grant = await adapter.exchangeAuthorisationCode(conn, { kind: 'payment', bankResourceId: started.bankPaymentId, redirect: oauth('p.contract.sig'), requestId: 'r' }, { state: back.state!, code: back.code, idToken: back.id_token });
  const done = await adapter.completePaymentAuthorisation(conn, { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'domestic', requestId: 'r', idempotencyKey: 'contract-submit' }, grant);
  await adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'domestic', requestId: 'r' });
  // payment-details: the sandbox offers it (Stripe does not); the adapter does not need it.
  await recording(`${sandbox.url}/open-banking/v3.1/pisp/domestic-payments/${done.bankPaymentId}/payment-details`, {
    method: 'GET',
    headers: { Authorization: `Bearer ${await adapter.client!.clientToken(conn, 'payments')}`, 'x-fapi-interaction-id': 'contract-1' },
  });

  const consent = await adapter.createConsent(conn, {
    idempotencyKey: 'contract-consent',
    consent: { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '2099-12-31', frequencyPerDay: 4, combinedServiceIndicator: false },
    psu: {},
    redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
    oauth: oauth('c.contract.sig'),
  });
  const aisBack = await authoriseAtSandbox(consent.scaRedirectUrl!, 'approve', { accounts: ['rora-1', 'rora-2'] });
  const aisGrant = await adapter.exchangeAuthorisationCode(conn, { kind: 'consent', bankResourceId: consent.bankConsentId, redirect: oauth('c.contract.sig'), requestId: 'r' }, { state: aisBack.state!, code: aisBack.code, idToken: aisBack.id_token });
  await adapter.getConsent(conn, { bankConsentId: consent.bankConsentId, requestId: 'r' });
  const ref = { bankConsentId: consent.bankConsentId, requestId: 'r', grant: aisGrant };
  await adapter.listAccounts(conn, ref, { withBalance: true });
  await adapter.getAccount(conn, ref, 'rora-1', { withBalance: false });
  const page = await adapter.getTransactions(conn, ref, 'rora-1', { bookingStatus: 'both', dateFrom: '2025-01-01' });
  await adapter.getTransactions(conn, ref, 'rora-1', { bookingStatus: 'both', page: page.pages.next });
  await adapter.deleteConsent(conn, { bankConsentId: consent.bankConsentId, requestId: 'r' });

  const resourceCalls = exchanges.filter((e) => e.url.pathname.startsWith('/open-banking/v3.1/'));
  expect(resourceCalls.length).toBeGreaterThanOrEqual(14);
  const problems: string[] = [];
  for (const e of resourceCalls) {
    const [, , , api, ...rest] = e.url.pathname.split('/');
    const spec = api === 'pisp' ? PIS : AIS;
    const specPath = `/${rest.join('/')}`;
    if (e.requestBody !== undefined) {
      for (const p of validateRequestBody(spec, { method: e.method, path: specPath, body: JSON.parse(e.requestBody) })) problems.push(`${e.method} ${specPath} request: ${p}`);
    }
    for (const p of validateResponse(spec, {
      method: e.method,
      path: specPath,
      status: e.status,
      body: e.responseBody ? JSON.parse(e.responseBody) : undefined,
      contentType: e.headers.get('content-type') ?? undefined,
      headers: e.headers,
    })) {
      problems.push(`${e.method} ${specPath} → ${e.status}: ${p}`);
    }
  }
  expect(problems).toEqual([]);

  // The check has teeth: a consent answer without its status, or an unknown status, is caught.
  const consentAnswer = JSON.parse(resourceCalls.find((e) => e.method === 'POST' && e.url.pathname.endsWith('/domestic-payment-consents'))!.responseBody);
  const broken = (data: Record<string, unknown>) =>
    validateResponse(PIS, { method: 'POST', path: '/domestic-payment-consents', status: 201, body: { ...consentAnswer, Data: { ...consentAnswer.Data, ...data } } });
  expect(broken({ Status: 'Approved' })).not.toEqual([]);
  expect(broken({ ConsentId: undefined })).not.toEqual([]);
});

const DCR = loadOpenApi(path.join(specsDir, 'uk-obie/dcr/v3.3/client-registration-openapi.yaml'));

test('Dynamic Client Registration: register, read back, update, delete — every answer matches OBIE DCR 3.3', async () => {
  exchanges.length = 0;
  // Directory ids are base62 (DCR 3.3 `iss`: software id, 1–22 characters).
  const identity = await testIdentity({ softwareId: 'ClearwayTest01', orgId: '0015800001ClwyTst' });
  const { adapter, conn } = adapterFor(sandbox, identity, { fetch: recording });
  await adapter.client!.clientId(conn);
  await adapter.client!.readRegistration(conn);
  await adapter.client!.updateRegistration(conn, { redirectUris: [TEST_REDIRECT_URI] });
  await adapter.client!.deleteRegistration(conn);
  const calls = exchanges.filter((e) => e.url.pathname.startsWith('/register'));
  expect(calls.map((e) => `${e.method} ${e.status}`)).toEqual(['POST 201', 'GET 200', 'PUT 200', 'DELETE 204']);
  const problems = calls.flatMap((e) => {
    const specPath = e.url.pathname.replace(/^\/register\/.+$/, '/register/{ClientId}');
    return validateResponse(DCR, {
      method: e.method,
      path: specPath,
      status: e.status,
      body: e.responseBody ? JSON.parse(e.responseBody) : undefined,
      contentType: e.headers.get('content-type') ?? undefined,
      headers: e.headers,
    }).map((p) => `${e.method} ${specPath} → ${e.status}: ${p}`);
  });
  expect(problems).toEqual([]);
  // With teeth: an answer without the registered redirect URIs, or with an unknown auth method, is caught.
  const answer = JSON.parse(calls[1]!.responseBody);
  expect(validateResponse(DCR, { method: 'GET', path: '/register/{ClientId}', status: 200, body: { ...answer, redirect_uris: undefined } })).not.toEqual([]);
  expect(validateResponse(DCR, { method: 'GET', path: '/register/{ClientId}', status: 200, body: { ...answer, token_endpoint_auth_method: 'magic' } })).not.toEqual([]);
});

test('an international payment (EUR to an IBAN, and a BBAN with its creditor agent): every request and answer matches OBIE 3.1.11', async () => {
  exchanges.length = 0;
  const { adapter, conn } = adapterFor(sandbox, await testIdentity(), { fetch: recording });
  const oauth = { redirectUri: TEST_REDIRECT_URI, state: 'i.contract.sig' };
  const base = {
    debtorAccount: { bban: '20000010000000' },
    creditorName: 'Société Créancière',
    creditorAddress: { streetName: 'Rue de Rivoli', buildingNumber: '1', postCode: '75001', townName: 'Paris', country: 'FR' },
    remittanceInformationUnstructured: 'INVOICE 20261202',
  };
  const started = await adapter.initiatePayment(conn, {
    idempotencyKey: '7c1f0d2e-3b4a-4c59-a6f0-3e2d1c0b9a88',
    paymentProduct: 'international',
    payment: { ...base, instructedAmount: { currency: 'EUR', amount: '40.00' }, creditorAccount: { iban: 'FR1420041010050500013M02606' }, creditorAgent: 'BNPAFRPPXXX' },
    psu: {},
    redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
    oauth,
  });
  const back = await authoriseAtSandbox(started.scaRedirectUrl!, 'approve');
  const grant = await adapter.exchangeAuthorisationCode(conn, { kind: 'payment', bankResourceId: started.bankPaymentId, redirect: oauth, requestId: 'r' }, { state: back.state!, code: back.code, idToken: back.id_token });
  const done = await adapter.completePaymentAuthorisation(conn, { bankPaymentId: started.bankPaymentId, authorisationId: started.authorisationId!, paymentProduct: 'international', requestId: 'r', idempotencyKey: 'contract-intl' }, grant);
  expect(done.bankPaymentId).toMatch(/^ip/);
  expect((await adapter.getPaymentStatus(conn, { bankPaymentId: done.bankPaymentId!, paymentProduct: 'international', requestId: 'r' })).raw).toBe('AcceptedSettlementCompleted');
  await recording(`${sandbox.url}/open-banking/v3.1/pisp/international-payments/${done.bankPaymentId}/payment-details`, {
    method: 'GET',
    headers: { Authorization: `Bearer ${await adapter.client!.clientToken(conn, 'payments')}` },
  });
  // A BBAN creditor with its bank's BIC, instructed in GBP, transferred in USD.
  await adapter.initiatePayment(conn, {
    idempotencyKey: '7c1f0d2e-3b4a-4c59-a6f0-3e2d1c0b9a89',
    paymentProduct: 'international',
    payment: { ...base, instructedAmount: { currency: 'GBP', amount: '30.00' }, creditorAccount: { bban: '021000021123456789', currency: 'USD' }, creditorAgent: 'CHASUS33XXX' },
    psu: {},
    redirect: { okUri: 'https://x.example/ok', nokUri: 'https://x.example/nok' },
    oauth: { redirectUri: TEST_REDIRECT_URI, state: 'i2.contract.sig' },
  });

  const calls = exchanges.filter((e) => e.url.pathname.startsWith('/open-banking/v3.1/pisp/international'));
  expect(calls.map((e) => `${e.method} ${e.url.pathname.split('/')[4]} ${e.status}`)).toEqual([
    'POST international-payment-consents 201',
    'GET international-payment-consents 200',
    'POST international-payments 201',
    'GET international-payments 200',
    'GET international-payments 200',
    'POST international-payment-consents 201',
  ]);
  const problems: string[] = [];
  for (const e of calls) {
    const specPath = `/${e.url.pathname.split('/').slice(4).join('/')}`;
    if (e.requestBody !== undefined) for (const p of validateRequestBody(PIS, { method: e.method, path: specPath, body: JSON.parse(e.requestBody) })) problems.push(`${e.method} ${specPath} request: ${p}`);
    for (const p of validateResponse(PIS, { method: e.method, path: specPath, status: e.status, body: JSON.parse(e.responseBody), contentType: e.headers.get('content-type') ?? undefined, headers: e.headers })) problems.push(`${e.method} ${specPath} → ${e.status}: ${p}`);
  }
  expect(problems).toEqual([]);
  const consent = JSON.parse(calls[0]!.responseBody);
  expect(consent.Data.Initiation).toMatchObject({ CurrencyOfTransfer: 'EUR', CreditorAgent: { SchemeName: 'UK.OBIE.BICFI', Identification: 'BNPAFRPPXXX' }, Creditor: { PostalAddress: { Country: 'FR', TownName: 'Paris' } } });
  expect(consent.Data.ExchangeRateInformation).toEqual({ UnitCurrency: 'GBP', ExchangeRate: 1.165, RateType: 'Indicative' });
  expect(JSON.parse(calls[5]!.requestBody!).Data.Initiation).toMatchObject({ CurrencyOfTransfer: 'USD', InstructedAmount: { Currency: 'GBP' }, CreditorAccount: { SchemeName: 'UK.OBIE.BBAN' } });
  // With teeth: an international answer without its currency of transfer is caught.
  expect(validateResponse(PIS, { method: 'POST', path: '/international-payment-consents', status: 201, body: { ...consent, Data: { ...consent.Data, Initiation: { ...consent.Data.Initiation, CurrencyOfTransfer: undefined } } } })).not.toEqual([]);
});
