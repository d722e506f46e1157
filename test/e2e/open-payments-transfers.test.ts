import { randomUUID } from 'node:crypto';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { OpTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { opTransferWorkflowId } from '../../workflows/op-transfer.api';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import type { TestClient } from '../support/factories';
import { TestStack, eventually } from '../support/stack';

/**
 * Interledger Open Payments transfers end to end: HTTP → API → transfer workflow (real Temporal
 * dev server) → worker → Open Payments adapter (signed GNAP and resource-server calls) → the
 * sandbox ASE over HTTP, its ledger and ours in PostgreSQL.
 */
let ase: TestAse;
let stack: TestStack;
let client: TestClient;
let token: string;
let transfers: OpTransferRepository;
const TRANSFERS = '/openpayments/v1/transfers';

beforeAll(async () => {
  ase = await startTestAse();
  const identity = generateIdentityKey('clearway-test-key');
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  stack = await TestStack.start({
    env: {
      OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
      OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '100',
    },
  });
  client = await stack.newClient();
  token = await stack.token(client, 'paymentinitiation private');
  transfers = new OpTransferRepository(stack.dataSource);
});
afterAll(async () => {
  await stack?.close();
  await ase?.dispose();
});

const alice = () => `${ase.url}/alice`;
const bob = () => `${ase.url}/bob`;
const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });

function createTransfer(body: Record<string, unknown>, requestId = randomUUID()) {
  return stack.call('POST', TRANSFERS, { token, headers: { 'X-Request-ID': requestId }, body });
}

async function waitForStatus(transferId: string, status: string) {
  return eventually(async () => {
    const res = await stack.call('GET', `${TRANSFERS}/${transferId}`, { token });
    return res.body.status === status ? res.body : undefined;
  }, 30_000, 100);
}

test('alice pays bob 10.00: approved at her wallet, sent exactly once, money conserved', async () => {
  const before = await ase.ase.balances();
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('1000'), redirectUri: 'https://shop.example/paid', metadata: { order: 'A-1' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ transferId: expect.any(String), status: 'awaiting_authorisation' });
  const redirect: string = created.body._links.scaRedirect.href;
  // The wallet's auth server is multi-tenant shaped (a path, no trailing slash), like a current Rafiki.
  expect(redirect.startsWith(`${ase.ase.grants.authServerUrl}/interact/`)).toBe(true);

  const { page, location } = await decideOnConsentPage(redirect, 'approve');
  expect(page).toContain('Approve');
  expect(location!.startsWith(`${stack.baseUrl}/openpayments/callbacks/transfers/${created.body.transferId}/finish`)).toBe(true);
  const back = await fetch(location!, { redirect: 'manual' });
  expect(back.status).toBe(302);
  expect(back.headers.get('location')).toBe(`https://shop.example/paid?transferId=${created.body.transferId}`);

  const done = await waitForStatus(created.body.transferId, 'completed');
  expect(done.sentAmount).toEqual(eur('1000'));
  const after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-1000n);
  expect(after.bob! - before.bob!).toBe(1000n);
  const sum = (b: Record<string, bigint>) => Object.values(b).reduce((a, v) => a + v, 0n);
  expect(sum(after)).toBe(sum(before));

  // Tokens are sealed at rest and never in workflow history.
  const row = (await transfers.findById(created.body.transferId))!;
  expect(row.accessTokenSealed).toMatch(/^v1\./);
  const history = JSON.stringify(await stack.temporal.workflow.getHandle(opTransferWorkflowId(created.body.transferId)).fetchHistory());
  expect(history).not.toContain('GNAP');
  expect(history).not.toContain(alice());
  const d = await stack.temporal.workflow.getHandle(opTransferWorkflowId(created.body.transferId)).describe();
  expect(d.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(expect.arrayContaining([['TransferStatus', 'completed']]));
});

test('the PSU denies at the wallet: rejected, nothing paid, grant revoked', async () => {
  const before = await ase.ase.balances();
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('500') });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'deny');
  const back = await fetch(location!, { redirect: 'manual' });
  expect(back.status).toBe(200);
  const done = await waitForStatus(created.body.transferId, 'rejected');
  expect(done.reason).toMatch(/denied/);
  expect(await ase.ase.balances()).toEqual(before);
  expect((await transfers.findById(created.body.transferId))!.continueTokenSealed).toBeNull();
});

test('a forged finish redirect (wrong hash) fails the transfer with a clear reason', async () => {
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('100') });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve');
  const forged = new URL(location!);
  forged.searchParams.set('hash', Buffer.from('not the hash').toString('base64'));
  await fetch(forged, { redirect: 'manual' });
  const done = await waitForStatus(created.body.transferId, 'failed');
  expect(done.reason).toMatch(/hash/i);
});

test('DELETE before approval cancels and revokes the grant', async () => {
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), receiveAmount: eur('250') });
  const del = await stack.call('DELETE', `${TRANSFERS}/${created.body.transferId}`, { token });
  expect(del.status).toBe(200);
  expect(del.body.status).toBe('cancelled');
  // The grant is revoked: the PSU can no longer approve it at the wallet.
  await expect(decideOnConsentPage(created.body._links.scaRedirect.href, 'approve')).rejects.toThrow(/consent page answered/);
  expect((await stack.call('GET', `${TRANSFERS}/${created.body.transferId}`, { token })).body.status).toBe('cancelled');
});

test('the same X-Request-ID returns the same transfer; list shows it', async () => {
  const requestId = randomUUID();
  const body = { senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('42') };
  const first = await createTransfer(body, requestId);
  const second = await createTransfer(body, requestId);
  expect(second.body.transferId).toBe(first.body.transferId);
  const list = await stack.call('GET', `${TRANSFERS}?limit=100`, { token });
  expect(list.body.transfers.map((t: { transferId: string }) => t.transferId)).toContain(first.body.transferId);
  await stack.call('DELETE', `${TRANSFERS}/${first.body.transferId}`, { token });
});

describe('bad input: clear 4xx, nothing sent', () => {
  test.each([
    ['both amounts', () => ({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('1'), receiveAmount: eur('1') }), 'receiveAmount'],
    ['no amount', () => ({ senderWalletAddress: alice(), receiver: bob() }), 'debitAmount'],
    ['value 0', () => ({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('0') }), 'debitAmount.value'],
    ['value not an integer string', () => ({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('10.5') }), 'debitAmount.value'],
    ['not a URL', () => ({ senderWalletAddress: 'alice', receiver: bob(), debitAmount: eur('1') }), 'senderWalletAddress'],
  ])('%s', async (_name, body, field) => {
    const res = await createTransfer(body());
    expect(res.status).toBe(400);
    expect(`${res.body.tppMessages[0].path} ${res.body.tppMessages[0].text}`).toContain(field);
  });

  test('an asset mismatch between sender and amount', async () => {
    const res = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: { value: '100', assetCode: 'USD', assetScale: 2 } });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0].text).toMatch(/USD/);
  });

  test('a URL that is not an Open Payments wallet', async () => {
    const res = await createTransfer({ senderWalletAddress: `${stack.baseUrl}/health`, receiver: bob(), debitAmount: eur('100') });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0].text).toMatch(/not an Open Payments wallet/);
  });

  test('an unknown transfer id is 404', async () => {
    expect((await stack.call('GET', `${TRANSFERS}/${randomUUID()}`, { token })).status).toBe(404);
  });
});
