/**
 * `npm run docs:screenshots`: the screenshots of docs/operators.md, taken from the real Temporal UI.
 * Starts `npm run dev` on free ports and a throwaway data directory, makes a few payments and a
 * consent through the API, opens the Temporal UI in headless Chromium (Debian's, CHROMIUM_PATH to
 * override) and saves the workflow list and two payment pages into docs/images/. Then Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Page } from 'playwright-core';
import { repoRoot } from '../../libs/temporal/cli-binary';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { startDevStack, type DevStack } from './dev-stack';

const ROOT = repoRoot(__dirname);
const OUT = path.join(ROOT, 'docs', 'images');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PIS = '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers';
const LIST_COLUMNS = ['Status', 'Workflow ID', 'TransactionStatus', 'ScaStatus', 'ConsentStatus', 'BicFi', 'PaymentProduct', 'TenantId', 'Start'].map((label, i) => ({ label, pinned: i < 2 }));

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  // Status polls every 20 s: the payment in the polling phase stays there long enough to be seen.
  const dev = await startDevStack({ root: ROOT, env: { PAYMENT_POLL_INITIAL_MS: '20000', PAYMENT_POLL_MAX_MS: '20000' } });
  try {
    say(`stack up; Temporal UI ${dev.uiUrl}`);
    const token = await accessToken(dev);
    const waiting = await pay(dev, token, { amount: '142.66', psuId: 'psu-4711' }); // redirect: waits for the PSU
    const settled = await pay(dev, token, { amount: '89.00', psuId: 'decoupled' }); // ACSC
    await pay(dev, token, { amount: '10.13', psuId: 'decoupled' }); // rejected after SCA
    await pay(dev, token, { amount: '10.42', psuId: 'decoupled' }); // PDNG: polling
    await pay(dev, token, { amount: '25.00', psuId: 'exempt' }); // no SCA
    await consent(dev, token);
    await until(async () => (await status(dev, token, settled)) === 'ACSC', 60_000);
    await new Promise((r) => setTimeout(r, 3_000));

    const connection = await Connection.connect({ address: dev.temporalAddress });
    const client = new Client({ connection });
    const runOf = async (paymentId: string) => (await client.workflow.getHandle(paymentWorkflowId(paymentId)).describe()).runId;

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
      // The list shows search attributes, not summaries (Temporal's List API does not return them):
      // show Clearway's attributes as columns, as docs/operators.md tells operators to.
      await page.addInitScript(`window.localStorage.setItem('namespace-workflow-table-columns', ${JSON.stringify(JSON.stringify({ default: LIST_COLUMNS }))});`);
      await page.goto(`${dev.uiUrl}/namespaces/default/workflows`);
      await page.getByText('payment-', { exact: false }).first().waitFor({ timeout: 60_000 });
      await settle(page);
      await shot(page, 'temporal-ui-workflows.png');

      // A payment waiting for the PSU: the User Metadata tab shows summary, details and current details.
      await openWorkflow(page, dev, paymentWorkflowId(waiting), await runOf(waiting));
      await page.getByRole('link', { name: 'User Metadata' }).or(page.getByRole('tab', { name: 'User Metadata' })).or(page.getByText('User Metadata', { exact: true })).first().click();
      await settle(page);
      await shot(page, 'temporal-ui-payment-metadata.png');

      // A settled payment's history: every activity and timer with its summary.
      await page.setViewportSize({ width: 1600, height: 1300 });
      await openWorkflow(page, dev, paymentWorkflowId(settled), await runOf(settled));
      await page.getByText('Compact', { exact: true }).first().click().catch(() => undefined);
      await settle(page);
      await page.getByText('Event History', { exact: true }).last().scrollIntoViewIfNeeded();
      await shot(page, 'temporal-ui-payment-history.png');
    } finally {
      await browser.close();
      await connection.close();
    }
  } finally {
    const code = await dev.interrupt();
    say(`stack stopped (exit ${code})`);
    await dev.dispose();
  }
}

async function accessToken(dev: DevStack): Promise<string> {
  const res = await fetch(`${dev.apiUrl}/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'sandbox', client_secret: 'sandbox', scope: 'paymentinitiation accountinformation private' }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function pay(dev: DevStack, token: string, p: { amount: string; psuId: string }): Promise<string> {
  const res = await fetch(`${dev.apiUrl}${PIS}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'X-Request-ID': randomUUID(),
      'X-BicFi': 'SANDDEB0XXX',
      'PSU-IP-Address': '192.0.2.10',
      'PSU-ID': p.psuId,
      'TPP-Redirect-URI': 'https://erp.example/paid',
    },
    body: JSON.stringify({
      instructedAmount: { currency: 'EUR', amount: p.amount },
      debtorAccount: { iban: 'DE89370400440532013000' },
      creditorName: 'Enterprise GmbH',
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      remittanceInformationUnstructured: 'Invoice 42',
    }),
  });
  const body = (await res.json()) as { paymentId?: string };
  if (res.status !== 201 || !body.paymentId) throw new Error(`payment: ${res.status} ${JSON.stringify(body)}`);
  say(`payment ${body.paymentId} (${p.amount} EUR, PSU-ID ${p.psuId})`);
  return body.paymentId;
}

async function consent(dev: DevStack, token: string): Promise<void> {
  const res = await fetch(`${dev.apiUrl}/psd2/consent/v1/consents`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Request-ID': randomUUID(), 'X-BicFi': 'SANDDEB0XXX', 'PSU-ID': 'decoupled', 'PSU-IP-Address': '192.0.2.10' },
    body: JSON.stringify({ access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false }),
  });
  if (res.status !== 201) throw new Error(`consent: ${res.status} ${await res.text()}`);
}

async function status(dev: DevStack, token: string, paymentId: string): Promise<string> {
  const res = await fetch(`${dev.apiUrl}${PIS}/${paymentId}/status`, {
    headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'X-BicFi': 'SANDDEB0XXX' },
  });
  return ((await res.json()) as { transactionStatus: string }).transactionStatus;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the payments to settle');
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function openWorkflow(page: Page, dev: DevStack, workflowId: string, runId: string): Promise<void> {
  await page.goto(`${dev.uiUrl}/namespaces/default/workflows/${workflowId}/${runId}/history`);
  await page.getByText(workflowId).first().waitFor({ timeout: 60_000 });
  await settle(page);
}

/** The UI loads in pieces: wait for the network to go quiet and animations to end. */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(1_500);
}

async function shot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT, file), type: 'png' });
  say(`docs/images/${file}`);
}

function say(msg: string): void {
  console.log(`[docs:screenshots] ${msg}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
