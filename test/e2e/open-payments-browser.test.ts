import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import { TestStack, eventually } from '../support/stack';

/**
 * The PSU's side of an Open Payments transfer in a real browser: Debian's headless Chromium, driven
 * by playwright-core, opens the wallet's consent page, clicks a button and follows the redirects
 * (ASE → Clearway's finish callback → the shop's redirectUri) the way a person's browser would.
 *
 * Chromium comes from Debian (`npm test` installs it via scripts/ensure-tools.mjs); Playwright's own browser download does not
 * work on our machines, so a missing binary is a failure that names the install command.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INSTALL_HINT = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium';
/** Without the background-networking flags Chromium keeps dialling Google's hosts, which this network refuses. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TRANSFERS = '/openpayments/v1/transfers';

let ase: TestAse;
let stack: TestStack;
let token: string;
let browser: Browser;
let shop: Shop;
let tmp: string;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Install Debian's package (as root): ${INSTALL_HINT}`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clearway-op-browser-'));
  // launch() gives every browser a fresh, empty profile directory of its own (removed on close).
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  shop = await Shop.start();
  // Plain http, the dev option (the transfer and crash tests run the ASE over https).
  ase = await startTestAse();
  const identity = generateIdentityKey('clearway-browser-key');
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  stack = await TestStack.start({
    env: {
      OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
      OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '100',
    },
  });
  token = await stack.token(await stack.newClient(), 'paymentinitiation private');
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await ase?.dispose();
  await shop?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
const sum = (b: Record<string, bigint>) => Object.values(b).reduce((a, v) => a + v, 0n);

async function createTransfer(value: string, order: string) {
  const res = await stack.call('POST', TRANSFERS, {
    token,
    headers: { 'X-Request-ID': randomUUID() },
    body: { senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: eur(value), redirectUri: `${shop.url}/paid?order=${order}` },
  });
  if (res.status !== 201) throw new Error(`POST ${TRANSFERS} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { transferId: res.body.transferId as string, scaRedirect: res.body._links.scaRedirect.href as string };
}

async function waitForStatus(transferId: string, status: string) {
  return eventually(async () => {
    const res = await stack.call('GET', `${TRANSFERS}/${transferId}`, { token });
    return res.body.status === status ? res.body : undefined;
  }, 30_000, 100);
}

/** Opens the consent page, checks what it asks for, clicks the button, and waits until the browser is back at the shop. */
async function decideInBrowser(scaRedirect: string, button: 'Approve' | 'Deny', order: string, screenshot?: string) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const visited: string[] = [];
    // Every hop of the top-level navigation, redirects included (each redirect is a new request).
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) visited.push(request.url());
    });
    const opened = await page.goto(scaRedirect);
    expect(opened?.status()).toBe(200);
    const consent = {
      client: (await page.locator('#client').textContent())?.trim(),
      debitLimit: (await page.locator('#debit-limit').textContent())?.trim(),
    };
    await Promise.all([page.waitForURL((url) => url.href.startsWith(`${shop.url}/paid`), { timeout: 15_000 }), page.getByRole('button', { name: button }).click()]);
    const landed = { url: page.url(), text: await page.locator('body').innerText() };
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { consent, landed, visited, order };
  } finally {
    await context.close();
  }
}

test('approved in Chromium: the browser goes ASE → Clearway finish → shop, the transfer completes, money moves once', async () => {
  const before = await ase.ase.balances();
  const { transferId, scaRedirect } = await createTransfer('1234', 'B-1');
  expect(scaRedirect.startsWith(`${ase.ase.grants.authServerUrl}/interact/`)).toBe(true);

  const screenshot = path.join(tmp, 'approved.png');
  const { consent, landed, visited } = await decideInBrowser(scaRedirect, 'Approve', 'B-1', screenshot);

  expect(consent).toEqual({ client: `${ase.url}/clearway`, debitLimit: '12.34 EUR' });
  expect(visited.some((u) => u.startsWith(`${stack.baseUrl}/openpayments/callbacks/transfers/${transferId}/finish?`))).toBe(true);
  expect(new URL(landed.url).searchParams.get('transferId')).toBe(transferId);
  expect(landed.text).toContain('Back at the shop: order B-1');
  expect(shop.hits.filter((h) => h.searchParams.get('transferId') === transferId).map((h) => h.searchParams.get('order'))).toEqual(['B-1']);

  const png = fs.readFileSync(screenshot);
  expect(png.length).toBeGreaterThan(1000);
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);

  // The wallet's fee (5 + 30 bps of 12.34 = 0.08) comes out of what bob receives.
  const done = await waitForStatus(transferId, 'completed');
  expect(done.sentAmount).toEqual(eur('1226'));
  const after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-1234n);
  expect(after.bob! - before.bob!).toBe(1226n);
  expect(sum(after)).toBe(sum(before));
  // Settled once: a late extra poll or replay must not move money again.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await ase.ase.balances()).toEqual(after);
});

test('denied in Chromium: the browser still lands at the shop, the transfer is rejected, nothing moves', async () => {
  const before = await ase.ase.balances();
  const { transferId, scaRedirect } = await createTransfer('500', 'B-2');

  const { consent, landed, visited } = await decideInBrowser(scaRedirect, 'Deny', 'B-2');

  expect(consent.debitLimit).toBe('5.00 EUR');
  const finish = visited.find((u) => u.startsWith(`${stack.baseUrl}/openpayments/callbacks/transfers/${transferId}/finish?`));
  expect(new URL(finish!).searchParams.get('result')).toBe('grant_rejected');
  expect(new URL(landed.url).searchParams.get('transferId')).toBe(transferId);

  const done = await waitForStatus(transferId, 'rejected');
  expect(done.reason).toMatch(/denied/);
  expect(await ase.ase.balances()).toEqual(before);
});

/** The merchant's return page: records every hit of the browser. */
class Shop {
  readonly hits: URL[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Shop> {
    let shop: Shop | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', shop!.url);
      shop!.hits.push(url);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Shop</title><h1>Back at the shop: order ${url.searchParams.get('order') ?? '?'}</h1>`);
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
