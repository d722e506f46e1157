import { randomUUID } from 'node:crypto';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import { mandateWorkflowId } from '../../workflows/mandate.api';
import { opTransferWorkflowId } from '../../workflows/op-transfer.api';
import type { TestClient } from '../support/factories';
import { registerClearwayWallet } from '../support/open-payments';
import { TestStack, eventually } from '../support/stack';
import { eventSummaries, statusViewOf, uiMetadataOf } from '../support/ui-metadata';

/**
 * Open Payments transfers and mandates in the Temporal UI (docs/operators.md): summaries name the
 * amount and the wallet's host, never the wallets themselves; current details follow the phase;
 * steps are labelled; `statusView` answers as the API does.
 */
let ase: TestAse;
let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  ase = await startTestAse();
  stack = await TestStack.start({ env: { ...(await registerClearwayWallet(ase)), OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '100' } });
  client = await stack.newClient();
  token = await stack.token(client, 'paymentinitiation private');
});
afterAll(async () => {
  await stack?.close();
  await ase?.dispose();
});

const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
const host = () => new URL(ase.url).host;

function expectNoWallets(...texts: (string | undefined)[]): void {
  for (const text of texts) {
    expect(text ?? '').not.toContain(`${ase.url}/alice`);
    expect(text ?? '').not.toContain(`${ase.url}/bob`);
  }
}

test('a transfer: summary with amount and wallet host, the PSU wait and the result in words, labelled steps', async () => {
  const created = await stack.call('POST', '/openpayments/v1/transfers', {
    token,
    headers: { 'X-Request-ID': randomUUID() },
    body: { senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: eur('1250'), redirectUri: 'https://shop.example/paid' },
  });
  expect(created.status).toBe(201);
  const transferId: string = created.body.transferId;
  const handle = stack.temporal.workflow.getHandle(opTransferWorkflowId(transferId));

  const waiting = await uiMetadataOf(handle);
  expect(waiting.summary).toBe(`Open Payments transfer 12.50 EUR (debit) · ${host()} · tenant ${client.tenantId}`);
  expect(waiting.details).toContain(`[Transfer (API)](${stack.baseUrl}/openpayments/v1/transfers/${transferId})`);
  expect(waiting.current).toMatch(/^Waiting for the PSU's SCA since \d\d:\d\d \(interactive grant at the wallet\); times out at \d\d:\d\d UTC$/);
  expect(await statusViewOf(handle)).toMatchObject({ resource: 'transfer', id: transferId, api: { status: 'awaiting_authorisation' } });

  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
  await fetch(location!, { redirect: 'manual' });
  const done = await eventually(async () => {
    const m = await uiMetadataOf(handle);
    return m.current === 'Final: completed' ? m : undefined;
  }, 30_000);
  expect((await statusViewOf(handle)).api).toMatchObject({ status: 'completed' });

  const events = await eventSummaries(handle);
  expect(events.activities.slice(0, 4)).toEqual([
    'Resolve the wallet addresses',
    'Create the incoming payment at the receiver',
    'Quote at the sender',
    'Request the interactive grant',
  ]);
  expect(events.activities).toEqual(expect.arrayContaining(['Continue the grant', 'Create the outgoing payment', 'Record status completed']));
  expect(events.timers).toContain('Grant window (PSU approval timeout)');
  expectNoWallets(waiting.summary, waiting.details, waiting.current, done.current, events.all);
});

test('a mandate: summary with amount, period and wallet host; cancelled, it says so', async () => {
  const created = await stack.call('POST', '/openpayments/v1/mandates', {
    token,
    headers: { 'X-Request-ID': randomUUID() },
    body: { senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: eur('500'), interval: `R12/${new Date().toISOString().slice(0, 19)}Z/P1D`, redirectUri: 'https://shop.example/subscribed' },
  });
  expect(created.status).toBe(201);
  const mandateId: string = created.body.mandateId;
  const handle = stack.temporal.workflow.getHandle(mandateWorkflowId(mandateId));

  const waiting = await uiMetadataOf(handle);
  expect(waiting.summary).toBe(`Mandate 5.00 EUR per P1D (R12) · ${host()} · tenant ${client.tenantId}`);
  expect(waiting.details).toContain(`[Mandate (API)](${stack.baseUrl}/openpayments/v1/mandates/${mandateId})`);
  expect(waiting.current).toMatch(/^Waiting for the PSU's SCA since .* \(interactive grant at the wallet\)/);

  expect((await stack.call('DELETE', `/openpayments/v1/mandates/${mandateId}`, { token })).status).toBeLessThan(300);
  const ended = await eventually(async () => {
    const m = await uiMetadataOf(handle);
    return m.current.startsWith('Final: cancelled') ? m : undefined;
  }, 30_000);
  expect(await statusViewOf(handle)).toMatchObject({ resource: 'mandate', id: mandateId, api: { status: 'cancelled' } });
  expectNoWallets(waiting.summary, waiting.details, ended.current, (await eventSummaries(handle)).all);
});
