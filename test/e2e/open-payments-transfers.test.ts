import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { OpTransferRepository } from '../../libs/persistence/op-transfer.repository';
import { opTransferWorkflowId } from '../../workflows/op-transfer.api';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import type { TestClient } from '../support/factories';
import { TestStack, eventually } from '../support/stack';

/**
 * Interledger Open Payments transfers end to end: HTTP → API → transfer workflow (real Temporal
 * dev server) → worker → Open Payments adapter (signed GNAP and resource-server calls) → the
 * sandbox ASE over https (its certificate from a dev CA the worker trusts), its ledger and ours in
 * PostgreSQL.
 */
let ase: TestAse;
let stack: TestStack;
let client: TestClient;
let token: string;
let transfers: OpTransferRepository;
const TRANSFERS = '/openpayments/v1/transfers';

beforeAll(async () => {
  // https, as every real wallet: a certificate from a throwaway dev CA that the worker is told to trust.
  ase = await startTestAse({ https: true });
  const identity = generateIdentityKey('clearway-test-key');
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  stack = await TestStack.start({
    env: {
      OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
      OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '100',
      OPEN_PAYMENTS_LOOKUP_INITIAL_SECONDS: '2',
      // The unknown-outcome test waits for the quote's expiry plus this margin (a minute by default).
      OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS: '3',
      OPEN_PAYMENTS_EXTRA_CA_FILE: ase.ca!.file,
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

async function waitForStatus(transferId: string, status: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const res = await stack.call('GET', `${TRANSFERS}/${transferId}`, { token });
    return res.body.status === status ? res.body : undefined;
  }, timeoutMs, 100);
}

const sum = (b: Record<string, bigint>) => Object.values(b).reduce((a, v) => a + v, 0n);

/** The incoming payment as bob's wallet sees it (read with a grant of bob's own key). */
async function incomingAt(url: string): Promise<{ completed: boolean; receivedAmount: unknown }> {
  const rows = await aseQuery(`SELECT completed, received_amount::text AS received FROM "${ase.schema}".incoming_payments WHERE id = $1`, [url.split('/').pop()]);
  return { completed: rows[0].completed, receivedAmount: eur(rows[0].received) };
}

async function outgoingPaymentsOf(transferId: string): Promise<{ id: string; state: string }[]> {
  return aseQuery(`SELECT id, state FROM "${ase.schema}".outgoing_payments WHERE metadata->>'clearwayTransferId' = $1`, [transferId]);
}

async function aseQuery(sql: string, params: unknown[]): Promise<any[]> {
  const pg = new PgClient({ connectionString: process.env.CLEARWAY_TEST_DATABASE_URL });
  await pg.connect();
  try {
    return (await pg.query(sql, params)).rows;
  } finally {
    await pg.end();
  }
}

test('alice pays bob 10.00: approved at her wallet, sent exactly once, money conserved', async () => {
  const before = await ase.ase.balances();
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('1000'), redirectUri: 'https://shop.example/paid', metadata: { order: 'A-1' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ transferId: expect.any(String), status: 'awaiting_authorisation' });
  const redirect: string = created.body._links.scaRedirect.href;
  // https, and the wallet's auth server multi-tenant shaped (a path, no trailing slash), like a current Rafiki.
  expect(alice()).toMatch(/^https:\/\//);
  expect(redirect.startsWith(`${ase.ase.grants.authServerUrl}/interact/`)).toBe(true);

  const { page, location } = await decideOnConsentPage(redirect, 'approve', ase.fetch);
  expect(page).toContain('Approve');
  expect(location!.startsWith(`${stack.baseUrl}/openpayments/callbacks/transfers/${created.body.transferId}/finish`)).toBe(true);
  const back = await fetch(location!, { redirect: 'manual' });
  expect(back.status).toBe(302);
  expect(back.headers.get('location')).toBe(`https://shop.example/paid?transferId=${created.body.transferId}`);

  // The wallet charges its fee (5 + 30 bps): sent in full is 992 of the 1000 debited, and completed.
  const done = await waitForStatus(created.body.transferId, 'completed');
  expect(done.sentAmount).toEqual(eur('992'));
  expect(done.quote).toMatchObject({ debitAmount: eur('1000'), receiveAmount: eur('992') });
  const after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-1000n);
  expect(after.bob! - before.bob!).toBe(992n);
  expect(after['ase-fees-eur-2']! - before['ase-fees-eur-2']!).toBe(8n);
  expect(sum(after)).toBe(sum(before));
  // The incoming payment Clearway created at bob's wallet (no incomingAmount) is completed, not left open.
  const row0 = (await transfers.findById(created.body.transferId))!;
  expect((await incomingAt(row0.incomingPaymentUrl!)).completed).toBe(true);

  // Tokens are sealed at rest and never in workflow history.
  const row = (await transfers.findById(created.body.transferId))!;
  expect(row.accessTokenSealed).toMatch(/^v2\.dev\./); // sealed with the encryption key ring's current key (libs/security/secret-box.ts)
  const history = JSON.stringify(await stack.temporal.workflow.getHandle(opTransferWorkflowId(created.body.transferId)).fetchHistory());
  expect(history).not.toContain('GNAP');
  expect(history).not.toContain(alice());
  const d = await stack.temporal.workflow.getHandle(opTransferWorkflowId(created.body.transferId)).describe();
  expect(d.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(expect.arrayContaining([['TransferStatus', 'completed']]));
});

test('a receiveAmount transfer: the quote adds the wallet\'s fee to what alice pays, bob gets the amount', async () => {
  const before = await ase.ase.balances();
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), receiveAmount: eur('2500') });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
  await fetch(location!, { redirect: 'manual' });
  const done = await waitForStatus(created.body.transferId, 'completed');
  expect(done.quote).toMatchObject({ debitAmount: eur('2512'), receiveAmount: eur('2500') });
  expect(done.sentAmount).toEqual(eur('2500'));
  const after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-2512n);
  expect(after.bob! - before.bob!).toBe(2500n);
});

test('the PSU denies at the wallet: rejected, nothing paid, grant revoked', async () => {
  const before = await ase.ase.balances();
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('500') });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'deny', ase.fetch);
  const back = await fetch(location!, { redirect: 'manual' });
  expect(back.status).toBe(200);
  const done = await waitForStatus(created.body.transferId, 'rejected');
  expect(done.reason).toMatch(/denied/);
  expect(await ase.ase.balances()).toEqual(before);
  const row = (await transfers.findById(created.body.transferId))!;
  expect(row.continueTokenSealed).toBeNull();
  // Nothing will come to the incoming payment created for it: completed, not left waiting.
  expect(await incomingAt(row.incomingPaymentUrl!)).toMatchObject({ completed: true, receivedAmount: eur('0') });
});

describe('unknown outcomes: the wallet loses the answer to the outgoing payment', () => {
  afterEach(() => ase.ase.failOutgoingPaymentCreates({}));

  test('the payment was created: the retry finds it among the grant\'s payments instead of paying again', async () => {
    const before = await ase.ase.balances();
    ase.ase.failOutgoingPaymentCreates({ lostResponses: 1 });
    const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('1234') });
    const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
    await fetch(location!, { redirect: 'manual' });

    const done = await waitForStatus(created.body.transferId, 'completed');
    expect(done.sentAmount).toEqual(eur(String(1234n - (5n + (1234n * 30n) / 10_000n))));
    const mine = await outgoingPaymentsOf(created.body.transferId);
    expect(mine).toHaveLength(1);
    expect((await ase.ase.balances()).alice! - before.alice!).toBe(-1234n);
  });

  test('503 before the wallet did anything: the retry looks first, finds nothing, sends the same quote again and pays once', async () => {
    const before = await ase.ase.balances();
    ase.ase.failOutgoingPaymentCreates({ unavailable: 1 });
    const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('555') });
    const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
    await fetch(location!, { redirect: 'manual' });

    await waitForStatus(created.body.transferId, 'completed');
    expect(await outgoingPaymentsOf(created.body.transferId)).toHaveLength(1);
    expect((await ase.ase.balances()).alice! - before.alice!).toBe(-555n);
  });

  test('a refusal after unanswered requests is not taken at its word: unknown, looked up until the quote can no longer pay, then failed; nothing paid', async () => {
    const before = await ase.ase.balances();
    // Two 503s, then the wallet refuses the third request: by then the 2 s quote has expired.
    ase.ase.setQuoteTtl(2_000);
    ase.ase.failOutgoingPaymentCreates({ unavailable: 2 });
    try {
      const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('321') });
      const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
      await fetch(location!, { redirect: 'manual' });

      const unknown = await waitForStatus(created.body.transferId, 'unknown');
      expect(unknown.reason).toMatch(/refused a repeated request \(invalid_quote\).*looking it up at the wallet/);
      const failed = await waitForStatus(created.body.transferId, 'failed', 120_000);
      expect(failed.reason).toMatch(/never created the outgoing payment/);
      expect(await outgoingPaymentsOf(created.body.transferId)).toHaveLength(0);
      expect(await ase.ase.balances()).toEqual(before);
      const row = (await transfers.findById(created.body.transferId))!;
      expect(row.continueTokenSealed).toBeNull(); // revoked once ruled out, not before
      expect(await incomingAt(row.incomingPaymentUrl!)).toMatchObject({ completed: true });
    } finally {
      ase.ase.setQuoteTtl(300_000);
    }
  }, 150_000);
});

test('the answer to the grant continuation is lost: the wallet will not answer twice, so the transfer ends failed with that reason; nothing paid, the grant and its unseen token revoked', async () => {
  const before = await ase.ase.balances();
  ase.ase.failGrantContinuations({ lostResponses: 1 });
  try {
    const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('777') });
    const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
    await fetch(location!, { redirect: 'manual' });

    const done = await waitForStatus(created.body.transferId, 'failed');
    expect(done.reason).toMatch(/answer to the grant continuation was lost/);
    expect(done.reason).toMatch(/Nothing was paid/);
    expect(done.reason).not.toContain(new URL(ase.url).host);
    expect(ase.ase.takeContinuationFault()).toBeUndefined(); // the lost answer was spent: the wallet did issue a token
    expect(await outgoingPaymentsOf(created.body.transferId)).toHaveLength(0);
    expect(await ase.ase.balances()).toEqual(before);
    const row = (await transfers.findById(created.body.transferId))!;
    expect(row.accessTokenSealed).toBeNull();
    expect(row.continueTokenSealed).toBeNull();
    // The token issued in the lost answer, which Clearway never saw, is revoked with its grant.
    const tokens = await aseQuery(
      `SELECT t.revoked, g.finalization FROM "${ase.schema}".access_tokens t JOIN "${ase.schema}".grants g ON g.id = t.grant_id WHERE g.interact_id = $1`,
      [new URL(created.body._links.scaRedirect.href).pathname.split('/').at(-2)],
    );
    expect(tokens).toEqual([{ revoked: true, finalization: 'revoked' }]);
    expect(await incomingAt(row.incomingPaymentUrl!)).toMatchObject({ completed: true });
  } finally {
    ase.ase.failGrantContinuations({});
  }
});

test('a forged finish redirect (wrong hash) fails the transfer with a clear reason', async () => {
  const created = await createTransfer({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('100') });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch);
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
  await expect(decideOnConsentPage(created.body._links.scaRedirect.href, 'approve', ase.fetch)).rejects.toThrow(/consent page answered/);
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

test('a transfer refused by the wallet, repeated with the same X-Request-ID, gets the first answer again (no wallet host, URL or internal id); another body under that id is refused', async () => {
  const requestId = randomUUID();
  // 0.03 EUR does not cover the wallet's fixed fee of 0.05: its quote is refused.
  const body = { senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('3') };
  const first = await createTransfer(body, requestId);
  expect(first.status).toBe(400);
  expect(first.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'invalid_amount' });
  const repeat = await createTransfer(body, requestId);
  expect({ status: repeat.status, body: repeat.body }).toEqual({ status: first.status, body: first.body });
  const other = await createTransfer({ ...body, debitAmount: eur('4') }, requestId);
  expect(other.status).toBe(400);
  expect(other.body.tppMessages[0]).toMatchObject({ code: 'PARAMETER_NOT_CONSISTENT', path: 'X-Request-ID' });
  for (const answer of [first, repeat, other]) {
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain(new URL(ase.url).host);
    expect(text).not.toMatch(/\/(quotes|incoming-payments|auth)\//);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  }
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
