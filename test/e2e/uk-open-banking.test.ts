import { randomUUID } from 'node:crypto';
import { BankGrantEntity } from '../../libs/persistence/entities/bank-grant.entity';
import { PaymentRepository } from '../../libs/persistence/payment.repository';
import { authoriseAtSandbox } from '../../libs/adapters/uk-obie/test-helpers';
import type { TestClient } from '../support/factories';
import { AIS, CONSENTS, consentBody } from '../support/consents';
import { PIS, finalState } from '../support/payments';
import { TestStack, eventually } from '../support/stack';

/**
 * UK Open Banking through Clearway's one API: the same /psd2 calls as for SANDDEB0XXX, with
 * `X-BicFi: SANDGB2LXXX`. The PSU authorises on the UK sandbox's page (plain form posts here),
 * comes back to Clearway's /callbacks/oauth, and the workflow redeems the code, submits the
 * payment and polls it to a final status. Every /psd2 answer is checked against the OPE contract.
 */
const UK = 'SANDGB2LXXX';
let stack: TestStack;
let client: TestClient;
let token: string;
let aisToken: string;
let payments: PaymentRepository;

beforeAll(async () => {
  stack = await TestStack.start();
  client = await stack.newClient();
  token = await stack.token(client);
  aisToken = await stack.token(client, 'accountinformation private');
  payments = new PaymentRepository(stack.dataSource);
});
afterAll(async () => {
  await stack?.close();
});

function ukPayment(amount = '25.00', creditor: Record<string, string> = { bban: '40400412345678' }) {
  return {
    instructedAmount: { currency: 'GBP', amount },
    debtorAccount: { bban: '20000010000000' },
    creditorAccount: creditor,
    creditorName: 'Jane Creditor',
    remittanceInformationUnstructured: 'INVOICE 20261201',
  };
}

function initiateUk(body: Record<string, unknown>, opts: { requestId?: string } = {}) {
  return stack.call('POST', `${PIS}/domestic`, {
    token,
    headers: {
      'X-BicFi': UK,
      'PSU-IP-Address': '192.0.2.10',
      'X-Request-ID': opts.requestId ?? randomUUID(),
      'TPP-Redirect-URI': 'https://erp.example/uk/done',
      'TPP-Nok-Redirect-URI': 'https://erp.example/uk/failed',
    },
    body,
  });
}

/** The bank sent the PSU back (fragment parameters); the browser hands them to Clearway's callback. */
async function backToClearway(params: Record<string, string>): Promise<Response> {
  return fetch(`${stack.baseUrl}/callbacks/oauth?${new URLSearchParams(params)}`, { redirect: 'manual' });
}

async function transactionStatuses(paymentId: string): Promise<string[]> {
  return (await payments.listEvents(paymentId)).filter((e) => e.kind === 'transaction_status').map((e) => e.status);
}

describe('UK domestic payments (SANDGB2LXXX)', () => {
  test('approve: 201 with the bank\'s authorisation link, PSU back through /callbacks/oauth, submitted once, settled (ACSC)', async () => {
    const created = await initiateUk(ukPayment());
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
    expect(created.body.transactionStatus).toBe('RCVD');
    const href: string = created.body._links.scaRedirect.href;
    expect(href.startsWith(`${stack.ukSandbox.url}/authorize?`)).toBe(true);
    const paymentId: string = created.body.paymentId;

    const fragment = await authoriseAtSandbox(href, 'approve', { username: 'ivsa' });
    expect(fragment.code).toEqual(expect.any(String));
    const back = await backToClearway(fragment);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('https://erp.example/uk/done');

    const done = await finalState(stack, paymentId);
    expect(done.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['BicFi', UK],
        ['PaymentProduct', 'domestic'],
        ['TransactionStatus', 'ACSC'],
        ['ScaStatus', 'finalised'],
      ]),
    );
    expect(await transactionStatuses(paymentId)).toEqual(['ACSP', 'ACSC']);
    const status = await stack.call('GET', `${PIS}/domestic/${paymentId}/status`, { token, headers: { 'X-BicFi': UK } });
    expect(status.body.transactionStatus).toBe('ACSC');

    // One payment at the bank for this Clearway payment; its tokens are gone; no code or token in history.
    const consentId = [...stack.ukSandbox.state.paymentConsents.values()].find((c) => c.psu === 'ivsa')!;
    expect(consentId.paymentIds).toHaveLength(1);
    expect(await stack.dataSource.getRepository(BankGrantEntity).countBy({ resourceId: paymentId })).toBe(0);
    const history = JSON.stringify(await stack.temporal.workflow.getHandle(done.workflowId).fetchHistory());
    expect(history).not.toContain(fragment.code!);
    expect(history).not.toContain(fragment.id_token!);
  });

  test('deny: the PSU goes to the nok URI, the payment is RJCT', async () => {
    const created = await initiateUk(ukPayment('26.00', { iban: 'GB33BUKB20201555555555' }));
    expect(created.status).toBe(201);
    const fragment = await authoriseAtSandbox(created.body._links.scaRedirect.href, 'deny');
    expect(fragment.error).toBe('access_denied');
    const back = await backToClearway(fragment);
    expect(back.headers.get('location')).toBe('https://erp.example/uk/failed');
    await finalState(stack, created.body.paymentId);
    expect((await transactionStatuses(created.body.paymentId)).at(-1)).toBe('RJCT');
    const sca = (await payments.listEvents(created.body.paymentId)).filter((e) => e.kind === 'sca_status').map((e) => e.status);
    expect(sca.at(-1)).toBe('failed');
  });

  test('rejected by the bank after SCA (pence 13): RJCT', async () => {
    const created = await initiateUk(ukPayment('10.13'));
    await backToClearway(await authoriseAtSandbox(created.body._links.scaRedirect.href, 'approve'));
    await finalState(stack, created.body.paymentId);
    expect(await transactionStatuses(created.body.paymentId)).toEqual(['RJCT']);
  });

  test('pending then settled (pence 42): PDNG, then ACSC by polling', async () => {
    const created = await initiateUk(ukPayment('10.42'));
    await backToClearway(await authoriseAtSandbox(created.body._links.scaRedirect.href, 'approve', { username: 'mits' }));
    await finalState(stack, created.body.paymentId);
    expect(await transactionStatuses(created.body.paymentId)).toEqual(['PDNG', 'ACSC']);
  });

  test('bad input is refused with the field named, before anything is stored', async () => {
    const bad = await initiateUk(ukPayment('5.00', { bban: '4040-0412' }));
    expect(bad.status).toBe(400);
    expect(bad.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'creditorAccount.bban' });
    // The bank's rule (Stripe's reference rule) comes back naming our field.
    const refused = await initiateUk({ ...ukPayment('5.00'), remittanceInformationUnstructured: 'x' });
    expect(refused.status).toBe(400);
    expect(refused.body.tppMessages[0]).toMatchObject({ path: 'remittanceInformationUnstructured' });
  });

  test('a forged or foreign state at /callbacks/oauth is refused', async () => {
    const res = await backToClearway({ code: 'abc', state: `p.${randomUUID()}.h1.forged` });
    expect(res.status).toBe(404);
    const relay = await fetch(`${stack.baseUrl}/callbacks/oauth`);
    expect(await relay.text()).toContain('location.hash');
  });
});

describe('UK international payments (SANDGB2LXXX)', () => {
  test('EUR to a French IBAN: international-payment-consents → PSU approves → international-payments once → ACSC; what the bank cannot take is refused naming the field', async () => {
    const intl = (body: Record<string, unknown>) =>
      stack.call('POST', `${PIS}/international`, {
        token,
        headers: { 'X-BicFi': UK, 'PSU-IP-Address': '192.0.2.11', 'X-Request-ID': randomUUID(), 'TPP-Redirect-URI': 'https://erp.example/uk/done' },
        body,
      });
    const body = {
      instructedAmount: { currency: 'EUR', amount: '40.00' },
      debtorAccount: { bban: '20000010000000' },
      creditorAccount: { iban: 'FR1420041010050500013M02606' },
      creditorAgent: 'BNPAFRPPXXX',
      creditorName: 'Societe Creanciere',
      remittanceInformationUnstructured: 'INVOICE 20261204',
    };
    const created = await intl(body);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${PIS}/international/${created.body.paymentId}`);
    const paymentId: string = created.body.paymentId;
    await backToClearway(await authoriseAtSandbox(created.body._links.scaRedirect.href, 'approve', { username: 'ivsa' }));
    const done = await finalState(stack, paymentId);
    expect(done.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([['PaymentProduct', 'international'], ['TransactionStatus', 'ACSC']]),
    );
    expect(await transactionStatuses(paymentId)).toEqual(['ACSP', 'ACSC']);
    const atBank = [...stack.ukSandbox.state.paymentConsents.values()].filter((c) => c.kind === 'international');
    expect(atBank).toHaveLength(1);
    expect(atBank[0]).toMatchObject({ status: 'Consumed', initiation: { CurrencyOfTransfer: 'EUR' } });
    expect(atBank[0]!.paymentIds).toHaveLength(1);
    const status = await stack.call('GET', `${PIS}/international/${paymentId}/status`, { token, headers: { 'X-BicFi': UK } });
    expect(status.body.transactionStatus).toBe('ACSC');

    const scheduled = await intl({ ...body, requestedExecutionDate: '2099-01-04' });
    expect(scheduled.status).toBe(400);
    expect(scheduled.body.tppMessages[0]).toMatchObject({ path: 'requestedExecutionDate' });
    const yen = await intl({ ...body, creditorAccount: { iban: 'FR1420041010050500013M02606', currency: 'JPY' } });
    expect(yen.status).toBe(400);
    expect(yen.body.tppMessages[0]).toMatchObject({ path: 'creditorAccount.currency' });
  });
});

describe('UK consents and account information (SANDGB2LXXX)', () => {
  test('consent → PSU authorises two accounts → valid → accounts, balances and paged transactions in Berlin Group shapes', async () => {
    const created = await stack.call('POST', CONSENTS, {
      token: aisToken,
      headers: { 'X-BicFi': UK, 'X-Request-ID': randomUUID(), 'PSU-IP-Address': '192.0.2.20', 'TPP-Redirect-URI': 'https://erp.example/uk/consent-done' },
      body: consentBody(),
    });
    expect(created.status).toBe(201);
    const consentId: string = created.body.consentId;
    const fragment = await authoriseAtSandbox(created.body._links.scaRedirect.href, 'approve', { username: 'rora', accounts: ['rora-1', 'rora-2'] });
    const back = await backToClearway(fragment);
    expect(back.headers.get('location')).toBe('https://erp.example/uk/consent-done');
    await eventually(async () => {
      const res = await stack.call('GET', `${CONSENTS}/${consentId}/status`, { token: aisToken, headers: { 'X-BicFi': UK } });
      return res.body.consentStatus === 'valid';
    }, 30_000);

    const headers = { 'X-BicFi': UK, 'Consent-ID': consentId, 'PSU-IP-Address': '192.0.2.30' };
    const list = await stack.call('GET', `${AIS}?withBalance=true`, { token: aisToken, headers });
    expect(list.status).toBe(200);
    expect(list.body.accounts.map((a: { resourceId: string }) => a.resourceId)).toEqual(['rora-1', 'rora-2']);
    expect(list.body.accounts[0]).toMatchObject({ currency: 'GBP', iban: expect.stringMatching(/^GB/) });

    const balances = await stack.call('GET', `${AIS}/rora-1/balances`, { token: aisToken, headers });
    expect(balances.body.balances.map((b: { balanceType: string }) => b.balanceType)).toEqual(['closingBooked', 'interimAvailable']);

    const seen = new Set<string>();
    let path: string | undefined = `${AIS}/rora-1/transactions?bookingStatus=booked&dateFrom=2025-01-01`;
    let pages = 0;
    while (path) {
      const page: { status: number; body: any } = await stack.call('GET', path, { token: aisToken, headers });
      expect(page.status).toBe(200);
      for (const t of page.body.transactions.booked ?? []) seen.add(t.transactionId);
      path = page.body.transactions._links?.next?.href?.replace(stack.baseUrl, '');
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen.size).toBe(129);
  });
});


test('the directory names the UK bank, its protocol, products and SCA approaches', async () => {
  const dirToken = await stack.token(client, 'aspspinformation private');
  const res = await stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${UK}`, { token: dirToken });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    bicFi: UK,
    city: 'London',
    country: 'United Kingdom',
    protocol: 'uk-obie',
    globalPaymentProducts: ['domestic', 'international'],
    supportedScaApproaches: ['REDIRECT'],
    sandbox: true,
  });
  const british = await stack.call('GET', '/psd2/aspspinformation/v1/aspsps?isoCountryCodes=GB', { token: dirToken });
  expect(british.body.map((a: { bicFi: string }) => a.bicFi)).toEqual([UK]);
});
