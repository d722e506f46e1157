import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { PIS, finalState } from '../support/payments';
import { TestStack } from '../support/stack';

/**
 * The PSU's side of a UK payment in a real browser (Debian's headless Chromium, playwright-core):
 * the bank's authorisation page (log in, pick the account, Approve or Deny), the bank's redirect
 * to Clearway's `/callbacks/oauth` with the code and ID token in the URL fragment, which only the
 * browser sees — Clearway's relay page posts it on — and the client's own redirect URI at the end.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const UK = 'SANDGB2LXXX';

let stack: TestStack;
let token: string;
let browser: Browser;
let shop: { server: Server; url: string; hits: URL[] };

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}. Install Debian's package: apt-get install -y chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const hits: URL[] = [];
  const server = createServer((req, res) => {
    hits.push(new URL(req.url ?? '/', 'http://shop'));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Shop</title><h1>Back at the shop</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  shop = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
  stack = await TestStack.start();
  token = await stack.token(await stack.newClient(), 'paymentinitiation private');
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise<void>((resolve) => (shop ? shop.server.close(() => resolve()) : resolve()));
});

async function ukPayment(amount: string, order: string) {
  const res = await stack.call('POST', `${PIS}/domestic`, {
    token,
    headers: {
      'X-BicFi': UK,
      'PSU-IP-Address': '192.0.2.10',
      'X-Request-ID': randomUUID(),
      'TPP-Redirect-URI': `${shop.url}/paid?order=${order}`,
      'TPP-Nok-Redirect-URI': `${shop.url}/failed?order=${order}`,
    },
    body: {
      instructedAmount: { currency: 'GBP', amount },
      debtorAccount: { bban: '20000010000000' },
      creditorAccount: { bban: '40400412345678' },
      creditorName: 'Jane Creditor',
      remittanceInformationUnstructured: `ORDER ${order}`,
    },
  });
  expect(res.status).toBe(201);
  return { paymentId: res.body.paymentId as string, href: res.body._links.scaRedirect.href as string };
}

test.each([
  ['approve', 'paid', 'ACSC', '15.00'],
  ['deny', 'failed', 'RJCT', '16.00'],
] as const)('%s in the browser: back at the shop (%s), payment %s', async (decision, landing, final, amount) => {
  const order = `UK${randomUUID().slice(0, 8)}`;
  const { paymentId, href } = await ukPayment(amount, order);
  const page = await (await browser.newContext()).newPage();
  await page.goto(href);
  await page.fill('#username', 'mits');
  await page.fill('#password', 'mits.');
  await page.check('input[value="mits-1"]');
  await Promise.all([page.waitForURL(`${shop.url}/${landing}?order=${order}`, { timeout: 30_000 }), page.click(`#${decision}`)]);
  expect(shop.hits.map((u) => u.pathname + u.search)).toContain(`/${landing}?order=${order}`);
  await page.close();
  const done = await finalState(stack, paymentId);
  expect(done.typedSearchAttributes.getAll().find((p) => p.key.name === 'TransactionStatus')?.value).toBe(final);
});
