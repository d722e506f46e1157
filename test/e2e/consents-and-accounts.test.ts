import { randomUUID } from 'node:crypto';
import { isValidIban } from '../../libs/domain/iban';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../libs/domain/ids';
import { ConsentRepository } from '../../libs/persistence/consent.repository';
import { AIS, CONSENTS, aisGet, consentBody, consentHandle, createConsent, inDays, waitForConsentStatus } from '../support/consents';
import type { TestClient } from '../support/factories';
import { BIC, pressScaButton } from '../support/payments';
import { TestStack, eventually } from '../support/stack';

/**
 * Consents and account information end to end: HTTP → API → consent workflow (real Temporal dev
 * server) → worker → Berlin Group adapter → sandbox bank over HTTP, with PostgreSQL. Every /psd2
 * response is checked against the Open Payments Europe contract by TestStack.call.
 */
let stack: TestStack;
let client: TestClient;
let token: string;
let consents: ConsentRepository;

beforeAll(async () => {
  stack = await TestStack.start({ env: { CONSENT_STATUS_CHECK_SECONDS: '3600' } });
  client = await stack.newClient();
  token = await stack.token(client, 'accountinformation private');
  consents = new ConsentRepository(stack.dataSource);
});
afterAll(async () => {
  await stack?.close();
});

async function validConsent(overrides: Record<string, unknown> = {}, psuId = 'decoupled'): Promise<string> {
  const created = await createConsent(stack, { token, psuId, body: consentBody(overrides) });
  expect(created.status).toBe(201);
  await waitForConsentStatus(stack, token, created.body.consentId, 'valid');
  return created.body.consentId;
}

describe('consent creation at a bank that does not deduplicate X-Request-ID', () => {
  const createRequestId = (consentId: string) => deriveUuid(CLEARWAY_ID_NAMESPACE, consentId, 'create-consent');
  const consentIdFor = (requestId: string) => deriveUuid(CLEARWAY_ID_NAMESPACE, client.tenantId, 'consent', requestId);

  /** The bank loses its answer to the next consent creation only. */
  async function loseNextCreationAnswer(): Promise<() => Promise<void>> {
    const before = stack.sandbox.ais.stats().totals.creationRequests;
    stack.sandbox.bank.setFaults({ dropResponseRate: 1 });
    return () => eventually(async () => stack.sandbox.ais.stats().totals.creationRequests > before, 10_000, 10).then(() => void stack.sandbox.bank.resetFaults());
  }

  test('redirect: the answer is lost, Clearway creates it again; the PSU gets one link, the first consent stays unauthorised', async () => {
    const requestId = randomUUID();
    const lost = await loseNextCreationAnswer();
    // No PSU-ID: the bank cannot push anything to the PSU's app, so only Clearway's link reaches the PSU.
    const pending = createConsent(stack, { token, requestId, redirectUri: 'https://pfm.example/linked' });
    await lost();
    const created = await pending;
    expect(created.status).toBe(201);

    const atBank = stack.sandbox.ais.stats().consents.filter((c) => c.requestId === createRequestId(consentIdFor(requestId)));
    expect(atBank).toHaveLength(2);
    const kept = (await consents.findById(created.body.consentId))!.bankConsentId;
    expect(atBank.map((c) => c.consentId)).toContain(kept);
    const [orphan] = atBank.filter((c) => c.consentId !== kept);
    // The link handed out is the kept consent's; the other one is never shown and stays unauthorised.
    expect(stack.sandbox.ais.getConsentView(kept!)!.authorisationIds.some((id) => created.body._links.scaRedirect.href.endsWith(id))).toBe(true);
    await pressScaButton(created.body._links.scaRedirect.href, 'approve');
    await waitForConsentStatus(stack, token, created.body.consentId, 'valid');
    expect(stack.sandbox.ais.stats().consents.find((c) => c.consentId === orphan!.consentId)?.consentStatus).toBe('received');
  });

  test('decoupled: the answer is lost and the bank may prompt the PSU itself: no second consent; the client hears 503, the consent is rejected', async () => {
    const requestId = randomUUID();
    const lost = await loseNextCreationAnswer();
    const pending = createConsent(stack, { token, psuId: 'decoupled', requestId });
    await lost();
    const created = await pending;
    expect(created.status).toBe(503);
    const consentId = consentIdFor(requestId);
    expect(stack.sandbox.ais.stats().consents.filter((c) => c.requestId === createRequestId(consentId))).toHaveLength(1);
    const row = await eventually(async () => {
      const row = await consents.findById(consentId);
      return row?.consentStatus === 'rejected' && row;
    });
    expect(row.statusReason).toMatch(/answer was lost.*no second consent/);
  });
});

describe('consent SCA', () => {
  test('decoupled: received → valid; the bank resolves 9999-12-31 to its maximum', async () => {
    const created = await createConsent(stack, { token, psuId: 'decoupled', body: consentBody({ validUntil: '9999-12-31' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
    expect(created.body).toMatchObject({ consentStatus: 'received', consentId: expect.any(String) });
    await waitForConsentStatus(stack, token, created.body.consentId, 'valid');
    const got = await stack.call('GET', `${CONSENTS}/${created.body.consentId}`, { token, headers: { 'X-BicFi': BIC } });
    expect(got.body).toMatchObject({ consentStatus: 'valid', recurringIndicator: true, frequencyPerDay: 4, access: { allPsd2: 'allAccounts' } });
    expect(got.body.validUntil).not.toBe('9999-12-31');
    expect(got.body.validUntil >= inDays(179)).toBe(true);
    const described = await consentHandle(stack, created.body.consentId).describe();
    expect(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([['ConsentStatus', 'valid'], ['BicFi', BIC], ['TenantId', client.tenantId]]),
    );
  });

  test('redirect: approve on the bank page, PSU lands on the client URI', async () => {
    const created = await createConsent(stack, { token, psuId: 'alice', redirectUri: 'https://pfm.example/linked', nokRedirectUri: 'https://pfm.example/failed' });
    expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
    const { page, bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'approve');
    expect(page).toContain('Approve');
    const back = await fetch(bankRedirect, { redirect: 'manual' });
    expect(back.headers.get('location')).toBe('https://pfm.example/linked');
    await waitForConsentStatus(stack, token, created.body.consentId, 'valid');
  });

  test('redirect deny → rejected', async () => {
    const created = await createConsent(stack, { token, psuId: 'bob', redirectUri: 'https://pfm.example/linked', nokRedirectUri: 'https://pfm.example/failed' });
    const { bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'deny');
    expect((await fetch(bankRedirect, { redirect: 'manual' })).headers.get('location')).toBe('https://pfm.example/failed');
    await waitForConsentStatus(stack, token, created.body.consentId, 'rejected');
  });

  test('decoupled-deny → rejected', async () => {
    const created = await createConsent(stack, { token, psuId: 'decoupled-deny' });
    await waitForConsentStatus(stack, token, created.body.consentId, 'rejected');
  });

  test('embedded: password, then SCA method, then OTP; the secrets never enter workflow history', async () => {
    const created = await createConsent(stack, { token, psuId: 'embedded' });
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('EMBEDDED');
    const id = created.body.consentId;
    expect(created.body._links.startAuthorisationWithPsuAuthentication.href).toBe(`${CONSENTS}/${id}/authorisations`);

    const started = await stack.call('POST', `${CONSENTS}/${id}/authorisations`, { token, headers: { 'X-BicFi': BIC }, body: { psuData: { password: 'correct horse' } } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ scaStatus: 'psuAuthenticated', authorisationId: expect.any(String) });
    expect(started.body.scaMethods.map((m: { authenticationMethodId: string }) => m.authenticationMethodId)).toEqual(['SMS_OTP', 'PUSH_OTP']);
    const auth = `${CONSENTS}/${id}/authorisations/${started.body.authorisationId}`;

    const selected = await stack.call('PUT', auth, { token, headers: { 'X-BicFi': BIC }, body: { authenticationMethodId: 'SMS_OTP' } });
    expect(selected.status).toBe(200);
    expect(selected.body).toMatchObject({ scaStatus: 'scaMethodSelected', chosenScaMethod: { authenticationMethodId: 'SMS_OTP' }, challengeData: { otpMaxLength: 6 } });

    const otp = await stack.call('PUT', auth, { token, headers: { 'X-BicFi': BIC }, body: { scaAuthenticationData: '123456' } });
    expect(otp.body.scaStatus).toBe('finalised');
    await waitForConsentStatus(stack, token, id, 'valid');
    expect((await stack.call('GET', auth, { token, headers: { 'X-BicFi': BIC } })).body).toEqual({ scaStatus: 'finalised' });

    // Every payload the workflow ever saw (inputs, results, update arguments), decoded.
    const decoded: string[] = [];
    JSON.stringify(await consentHandle(stack, id).fetchHistory(), (key, value) => {
      if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
      return value;
    });
    const payloads = decoded.join('\n');
    expect(payloads).toContain('"kind":"otp"');
    expect(payloads).not.toContain('correct horse');
    expect(payloads).not.toContain('"123456"');
    // This client's hand-offs: the test database is shared by every suite of the run, and another
    // suite's may wait there for their expiry (an OAuth answer whose workflow had ended, for one).
    const [{ count }] = await stack.dataSource.query('SELECT count(*)::int AS count FROM sensitive_handoffs WHERE tenant_id = $1', [client.tenantId]);
    expect(count).toBe(0);
  });

  test('embedded: a wrong password is 401 PSU_CREDENTIALS_INVALID, a wrong OTP rejects the consent', async () => {
    const created = await createConsent(stack, { token, psuId: 'embedded' });
    const id = created.body.consentId;
    const wrong = await stack.call('POST', `${CONSENTS}/${id}/authorisations`, { token, headers: { 'X-BicFi': BIC }, body: { psuData: { password: 'wrong' } } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.tppMessages[0].code).toBe('PSU_CREDENTIALS_INVALID');

    const list = await stack.call('GET', `${CONSENTS}/${id}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
    const auth = `${CONSENTS}/${id}/authorisations/${list.body.authorisationIds[0]}`;
    expect((await stack.call('PUT', auth, { token, headers: { 'X-BicFi': BIC }, body: { psuData: { password: 'right' } } })).body.scaStatus).toBe('psuAuthenticated');
    await stack.call('PUT', auth, { token, headers: { 'X-BicFi': BIC }, body: { authenticationMethodId: 'PUSH_OTP' } });
    const otp = await stack.call('PUT', auth, { token, headers: { 'X-BicFi': BIC }, body: { scaAuthenticationData: '000000' } });
    expect(otp.body.scaStatus).toBe('failed');
    await waitForConsentStatus(stack, token, id, 'rejected');
  });
});

describe('account information', () => {
  let consentId: string;
  beforeAll(async () => {
    consentId = await validConsent({ frequencyPerDay: 4 });
  });

  test('accounts in more than one currency, with balances', async () => {
    const list = await aisGet(stack, token, consentId, '?withBalance=true', { psuPresent: true });
    expect(list.status).toBe(200);
    const accounts = list.body.accounts as { resourceId: string; iban: string; currency: string; _links: Record<string, { href: string }> }[];
    expect(new Set(accounts.map((a) => a.currency)).size).toBeGreaterThanOrEqual(2);
    for (const account of accounts) {
      expect(isValidIban(account.iban)).toBe(true);
      expect(account._links.balances.href).toBe(`${AIS}/${account.resourceId}/balances`);
    }
    const balances = await aisGet(stack, token, consentId, `/${accounts[0]!.resourceId}/balances`, { psuPresent: true });
    expect(balances.body.balances.map((b: { balanceType: string }) => b.balanceType).sort()).toEqual(['closingBooked', 'expected', 'interimAvailable']);
    for (const b of balances.body.balances) expect(b.balanceAmount.amount).toMatch(/^-?\d+(\.\d{1,3})?$/);
    const account = await aisGet(stack, token, consentId, `/${accounts[0]!.resourceId}`, { psuPresent: true });
    expect(account.body.resourceId).toBe(accounts[0]!.resourceId);
  });

  test('transactions page through all 5,000+ entries via _links.next; one transaction by id', async () => {
    const accounts = (await aisGet(stack, token, consentId, '', { psuPresent: true })).body.accounts;
    const accountId = accounts[0].resourceId;
    const seen = new Set<string>();
    let path: string | undefined = `/${accountId}/transactions?bookingStatus=booked&dateFrom=${inDays(-800)}`;
    let pages = 0;
    while (path) {
      const page = await aisGet(stack, token, consentId, path, { psuPresent: true });
      expect(page.status).toBe(200);
      for (const t of page.body.transactions.booked ?? []) seen.add(t.transactionId);
      pages += 1;
      const next: string | undefined = page.body.transactions._links.next?.href;
      path = next ? next.slice(AIS.length) : undefined;
    }
    expect(seen.size).toBeGreaterThanOrEqual(5000);
    expect(pages).toBe(Math.ceil(seen.size / 100));
    const one = [...seen][1234]!;
    const detail = await aisGet(stack, token, consentId, `/${accountId}/transactions/${one}`, { psuPresent: true });
    expect(detail.status).toBe(200);
    expect(JSON.stringify(detail.body)).toContain(one);
    // No account data in the consent workflow's history.
    const history = JSON.stringify(await consentHandle(stack, consentId).fetchHistory());
    expect(history).not.toContain(one);
    expect(history).not.toContain(accounts[0].iban);
  }, 120_000);

  test('frequencyPerDay: the 5th read without the PSU in 24 h is 429 ACCESS_EXCEEDED; reads with the PSU are not counted', async () => {
    const limited = await validConsent({ frequencyPerDay: 4 });
    const accountId = (await aisGet(stack, token, limited, '', { psuPresent: true })).body.accounts[0].resourceId;
    for (let i = 0; i < 4; i++) expect((await aisGet(stack, token, limited, `/${accountId}/balances`)).status).toBe(200);
    const fifth = await aisGet(stack, token, limited, `/${accountId}/balances`);
    expect(fifth.status).toBe(429);
    expect(fifth.body.tppMessages[0].code).toBe('ACCESS_EXCEEDED');
    expect((await aisGet(stack, token, limited, `/${accountId}/balances`, { psuPresent: true })).status).toBe(200);
    // Per account and endpoint: transactions of the same account are a separate budget.
    expect((await aisGet(stack, token, limited, `/${accountId}/transactions?dateFrom=${inDays(-3)}`)).status).toBe(200);
  });

  test('bad input and scope', async () => {
    const accountId = (await aisGet(stack, token, consentId, '', { psuPresent: true })).body.accounts[0].resourceId;
    const cases: [string, number, string, Record<string, string>?][] = [
      [`/${accountId}/transactions?dateFrom=2026-05-01&dateTo=2026-04-01`, 400, 'PERIOD_INVALID'],
      [`/${accountId}/transactions?dateFrom=2026-02-30`, 400, 'FORMAT_ERROR'],
      [`/${accountId}/transactions?dateFrom=2026-01-01&bookingStatus=everything`, 400, 'PARAMETER_NOT_SUPPORTED'],
      [`/${accountId}/transactions?bookingStatus=booked&page=forged.token`, 400, 'FORMAT_ERROR'],
      [`/not-an-account/balances`, 404, 'RESOURCE_UNKNOWN'],
      ['', 400, 'FORMAT_ERROR', { 'Consent-ID': '' }],
      ['', 404, 'RESOURCE_UNKNOWN', { 'Consent-ID': randomUUID() }],
    ];
    for (const [path, status, code, headers] of cases) {
      const res = await aisGet(stack, token, consentId, path, { psuPresent: true, headers });
      expect([path, res.status, res.body.tppMessages?.[0]?.code]).toEqual([path, status, code]);
    }
    const intruder = await stack.newClient();
    const intruderToken = await stack.token(intruder, 'accountinformation private');
    expect((await aisGet(stack, intruderToken, consentId, '', { psuPresent: true })).status).toBe(404);
    expect((await stack.call('GET', `${CONSENTS}/${consentId}`, { token: intruderToken, headers: { 'X-BicFi': BIC } })).status).toBe(404);

    const balancesOnly = await validConsent({ access: { availableAccountsWithBalance: 'allAccounts' } });
    const denied = await aisGet(stack, token, balancesOnly, `/${accountId}/transactions?dateFrom=${inDays(-3)}`, { psuPresent: true });
    expect(denied.status).toBe(400);
    expect(denied.body.tppMessages[0].code).toBe('SERVICE_INVALID');
  });
});

describe('lifecycle', () => {
  test('DELETE terminates (terminatedByTpp); reads are then 401 CONSENT_INVALID', async () => {
    const id = await validConsent();
    const del = await stack.call('DELETE', `${CONSENTS}/${id}`, { token, headers: { 'X-BicFi': BIC } });
    expect(del.status).toBe(204);
    await waitForConsentStatus(stack, token, id, 'terminatedByTpp');
    const read = await aisGet(stack, token, id, '', { psuPresent: true });
    expect(read.status).toBe(401);
    expect(read.body.tppMessages[0].code).toBe('CONSENT_INVALID');
    expect((await stack.call('DELETE', `${CONSENTS}/${id}`, { token, headers: { 'X-BicFi': BIC } })).status).toBe(204);
    const events = (await consents.listEvents(id)).filter((e) => e.kind === 'consent_status').map((e) => e.status);
    expect(events).toEqual(['valid', 'terminatedByTpp']);
  });

  test('revoked by the PSU at the bank: the next read is refused and the consent becomes revokedByPsu', async () => {
    const id = await validConsent();
    const bankConsentId = (await consents.findById(id))!.bankConsentId!;
    expect(stack.sandbox.ais.revokeConsent(bankConsentId)).toEqual({ consentStatus: 'revokedByPsu' });
    const read = await aisGet(stack, token, id, '', { psuPresent: true });
    expect(read.status).toBe(401);
    expect(read.body.tppMessages[0].code).toBe('CONSENT_INVALID');
    await waitForConsentStatus(stack, token, id, 'revokedByPsu');
    const final = await eventually(async () => {
      const d = await consentHandle(stack, id).describe();
      return d.status.name === 'COMPLETED' ? d : undefined;
    });
    expect(final.status.name).toBe('COMPLETED');
  });

  test('a client retrying POST with the same X-Request-ID gets the same consent', async () => {
    const requestId = randomUUID();
    const first = await createConsent(stack, { token, psuId: 'decoupled', requestId });
    const second = await createConsent(stack, { token, psuId: 'decoupled', requestId });
    expect(second.body.consentId).toBe(first.body.consentId);
    const conflicting = await createConsent(stack, { token, psuId: 'decoupled', requestId, body: consentBody({ frequencyPerDay: 2 }) });
    expect(conflicting.status).toBe(400);
    expect(conflicting.body.tppMessages[0].code).toBe('PARAMETER_NOT_CONSISTENT');
  });
});

describe('bad consent requests: 400 naming the field, nothing stored', () => {
  test.each([
    ['validUntil in the past', consentBody({ validUntil: '2020-01-01' }), 'validUntil'],
    ['validUntil not a date', consentBody({ validUntil: 'tomorrow' }), 'validUntil'],
    ['frequencyPerDay < 1', consentBody({ frequencyPerDay: 0 }), 'frequencyPerDay'],
    ['frequencyPerDay not an integer', consentBody({ frequencyPerDay: 1.5 }), 'frequencyPerDay'],
    ['unknown access key', consentBody({ access: { allPsd2: 'allAccounts', cards: [] } }), 'access.cards'],
    ['bad IBAN in access', consentBody({ access: { accounts: [{ iban: 'DE89370400440532013001' }] } }), 'access.accounts[0].iban'],
    ['empty access', consentBody({ access: {} }), 'access'],
    ['missing recurringIndicator', { ...consentBody(), recurringIndicator: undefined }, 'recurringIndicator'],
  ])('%s', async (_name, body, field) => {
    const [{ count: before }] = await stack.dataSource.query('SELECT count(*)::int AS count FROM consents');
    const res = await createConsent(stack, { token, psuId: 'decoupled', body });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0]).toMatchObject({ category: 'ERROR', path: field });
    const [{ count: after }] = await stack.dataSource.query('SELECT count(*)::int AS count FROM consents');
    expect(after).toBe(before);
  });
});
