import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { consentWorkflowId } from '../../workflows/consent.api';
import { AIS, CONSENTS, consentBody } from '../support/consents';
import { PIS } from '../support/payments';
import { PAYSERA_BIC } from '../support/paysera';
import { TestStack, eventually } from '../support/stack';

/**
 * A Paysera-profile bank (SANDLT21XXX) through Clearway's own API, the PSU in Debian's headless
 * Chromium: the same `/psd2` calls as for any Berlin Group bank; behind them mTLS with Clearway's
 * QWAC, the OAuth SCA approach (metadata, PKCE, state, code → `/callbacks/oauth` → token), a
 * payment without debtor account (the PSU picks it at the bank) and a consent whose account reads
 * carry its bearer token. Codes and tokens never reach workflow history.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INSTALL_HINT = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let stack: TestStack;
let browser: Browser;
let shop: Shop;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}. Install Debian's package (as root): ${INSTALL_HINT}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  shop = await Shop.start();
  stack = await TestStack.start({ paysera: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await shop?.close();
});

/** The PSU's browser: trusts the bank's CA the way a person would click through; it has no client certificate. */
async function psuPage(): Promise<{ page: Page; callbacks: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const callbacks: string[] = [];
  page.on('request', (req) => {
    if (req.url().includes('/callbacks/oauth')) callbacks.push(req.url());
  });
  return { page, callbacks, close: () => context.close() };
}

async function historyText(workflowId: string): Promise<string> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? String(v) : v));
}

test('a payment without debtor account: the PSU picks the account at the bank in Chromium; OAuth code redeemed; executed once', async () => {
  const token = await stack.token(await stack.newClient(), 'paymentinitiation private');
  const order = randomUUID();
  const created = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.10', 'TPP-Redirect-URI': `${shop.url}/paid?order=${order}` },
    body: { instructedAmount: { currency: 'EUR', amount: '17.31' }, creditorAccount: { iban: 'LT121000011101001000' }, creditorName: 'Vilnius Coffee UAB', remittanceInformationUnstructured: `Order ${order.slice(0, 8)}` },
  });
  expect(created.status).toBe(201);
  const { paymentId } = created.body;
  const scaLink = new URL(created.body._links.scaRedirect.href);
  expect(`${scaLink.origin}${scaLink.pathname}`).toBe(`${stack.paysera!.sandbox.origin}/oauth/authorize`);
  expect(scaLink.searchParams.get('redirect_uri')).toBe(`${stack.baseUrl}/callbacks/oauth`);
  expect(scaLink.searchParams.get('code_challenge_method')).toBe('S256');

  const psu = await psuPage();
  await psu.page.goto(scaLink.toString());
  await expect(psu.page.textContent('#amount')).resolves.toContain('17.31 EUR');
  const account = await psu.page.locator('#debtorAccount option').first().getAttribute('value');
  await psu.page.selectOption('#debtorAccount', account!);
  await psu.page.click('#approve');
  await psu.page.waitForURL((url) => url.toString().startsWith(`${shop.url}/paid`), { timeout: 30_000 });
  expect(shop.hits.map((u) => u.searchParams.get('order'))).toContain(order);
  await psu.close();

  const status = await eventually(async () => {
    const res = await stack.call('GET', `${PIS}/sepa-credit-transfers/${paymentId}/status`, { token, headers: { 'X-BicFi': PAYSERA_BIC } });
    return res.body.transactionStatus === 'ACSC' ? res.body : undefined;
  }, 60_000, 250);
  expect(status.transactionStatus).toBe('ACSC');

  const atBank = stack.paysera!.sandbox.payments.stats().payments.filter((p) => p.body.remittanceInformationUnstructured === `Order ${order.slice(0, 8)}`);
  expect(atBank).toHaveLength(1);
  expect(atBank[0]!.debtorIban).toBe(stack.paysera!.sandbox.ais.accountsOf().find((a) => a.resourceId === account)!.iban);
  expect(atBank[0]!.scaStatus).toBe('finalised');

  const code = new URL(psu.callbacks[0]!).searchParams.get('code')!;
  expect(code.length).toBeGreaterThan(20);
  const history = await historyText(paymentWorkflowId(paymentId));
  expect(history).not.toContain(code);
  expect(history).not.toMatch(/access_token|accessToken|refresh/i);
}, 120_000);

test('the PSU denies at the bank: the payment is rejected, nothing executes', async () => {
  const token = await stack.token(await stack.newClient(), 'paymentinitiation private');
  const reference = `Deny ${randomUUID().slice(0, 8)}`;
  const created = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.10', 'TPP-Redirect-URI': `${shop.url}/paid`, 'TPP-Nok-Redirect-URI': `${shop.url}/not-paid` },
    body: { instructedAmount: { currency: 'EUR', amount: '9.99' }, creditorAccount: { iban: 'LT121000011101001000' }, creditorName: 'Vilnius Coffee UAB', remittanceInformationUnstructured: reference },
  });
  expect(created.status).toBe(201);
  const psu = await psuPage();
  await psu.page.goto(created.body._links.scaRedirect.href);
  await psu.page.click('#deny');
  await psu.page.waitForURL((url) => url.toString().startsWith(`${shop.url}/not-paid`), { timeout: 30_000 });
  expect(new URL(psu.callbacks[0]!).searchParams.get('error')).toBe('access_denied');
  await psu.close();

  const status = await eventually(async () => {
    const res = await stack.call('GET', `${PIS}/sepa-credit-transfers/${created.body.paymentId}/status`, { token, headers: { 'X-BicFi': PAYSERA_BIC } });
    return res.body.transactionStatus === 'RJCT' ? res.body : undefined;
  }, 60_000, 250);
  expect(status.transactionStatus).toBe('RJCT');
  const atBank = stack.paysera!.sandbox.payments.stats().payments.filter((p) => p.body.remittanceInformationUnstructured === reference);
  expect(atBank.map((p) => p.transactionStatus)).toEqual(['RJCT']);
}, 120_000);

test('a consent through the OAuth flow in Chromium, then account reads carry its bearer token', async () => {
  const token = await stack.token(await stack.newClient(), 'accountinformation private');
  const created = await stack.call('POST', CONSENTS, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.20', 'TPP-Redirect-URI': `${shop.url}/consented` },
    body: consentBody(),
  });
  expect(created.status).toBe(201);
  const { consentId } = created.body;
  const scaLink = new URL(created.body._links.scaRedirect.href);
  expect(scaLink.searchParams.get('scope')).toMatch(/^AIS:/);

  const psu = await psuPage();
  await psu.page.goto(scaLink.toString());
  await expect(psu.page.textContent('h1')).resolves.toContain('Grant access');
  await psu.page.click('#approve');
  await psu.page.waitForURL((url) => url.toString().startsWith(`${shop.url}/consented`), { timeout: 30_000 });
  await psu.close();

  await eventually(async () => {
    const res = await stack.call('GET', `${CONSENTS}/${consentId}/status`, { token, headers: { 'X-BicFi': PAYSERA_BIC } });
    return res.body.consentStatus === 'valid';
  }, 60_000, 250);

  const read = (path: string) => stack.call('GET', `${AIS}${path}`, { token, headers: { 'X-BicFi': PAYSERA_BIC, 'Consent-ID': consentId, 'PSU-IP-Address': '192.0.2.20' } });
  const accounts = await read('?withBalance=true');
  expect(accounts.status).toBe(200);
  expect(accounts.body.accounts.length).toBeGreaterThan(0);
  const first = accounts.body.accounts[0];
  const balances = await read(`/${first.resourceId}/balances`);
  expect(balances.status).toBe(200);
  expect(balances.body.balances.length).toBeGreaterThan(0);
  const transactions = await read(`/${first.resourceId}/transactions?bookingStatus=booked&dateFrom=${new Date(Date.now() - 30 * 86400_000).toISOString().slice(0, 10)}`);
  expect(transactions.status).toBe(200);
  expect(transactions.body.transactions.booked.length).toBeGreaterThan(0);

  // The bank saw each read with a bearer token for this consent: without one it refuses (see the sandbox's own tests).
  const code = new URL(psu.callbacks[0]!).searchParams.get('code')!;
  const history = await historyText(consentWorkflowId(consentId));
  expect(history).not.toContain(code);
  expect(history).not.toMatch(/access_token|accessToken|refreshToken/i);
}, 120_000);

test('directory: SANDLT21XXX is a Lithuanian Berlin Group bank with the OAuth SCA approach', async () => {
  const token = await stack.token(await stack.newClient(), 'aspspinformation private');
  const res = await stack.call('GET', `/psd2/aspspinformation/v1/aspsps/${PAYSERA_BIC}`, { token });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ bicFi: PAYSERA_BIC, country: 'Lithuania', protocol: 'berlin-group', supportedScaApproaches: ['OAUTH'], sandbox: true });
});

class Shop {
  readonly hits: URL[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Shop> {
    let shop: Shop | undefined;
    const server = createServer((req, res) => {
      shop!.hits.push(new URL(req.url ?? '/', shop!.url));
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Shop</title><h1>Back at the shop</h1>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    shop = new Shop(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return shop;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
