/**
 * What the ASE refuses and what it guarantees: signatures (RFC 9421 / 9530) on the AS and RS,
 * GNAP interaction rules, grant limits per interval, expiries, and the ledger invariants under
 * random and concurrent payments.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_TENANT_ID } from './config';
import { decideOnConsentPage, newKey, signedCall, startTestAse, type TestAse, type TestKey } from './test-helpers';

const EUR = (value: number | bigint) => ({ value: String(value), assetCode: 'EUR', assetScale: 2 });
/** The sandbox's default fee: 5 minor units plus 30 basis points, rounded down. */
const fee = (amount: bigint) => 5n + (amount * 30n) / 10_000n;

describe('Open Payments sandbox ASE: security, limits and ledger', () => {
  let sandbox: TestAse;
  let key: TestKey;
  let client: string;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    sandbox = await startTestAse({ accessTokenTtlSeconds: 600 });
    key = newKey('clearway-key');
    await sandbox.ase.registerWallet({ name: 'clearway', jwks: [key.jwk] });
    client = sandbox.ase.walletUrl('clearway');
    alice = sandbox.ase.walletUrl('alice');
    bob = sandbox.ase.walletUrl('bob');
  });

  afterEach(async () => {
    await sandbox?.dispose();
  });

  const grantRequest = (body: Record<string, unknown>, k = key) => signedCall(sandbox.ase.grants.authServerUrl, { key: k, body: { client, ...body } });

  async function incomingToken(wallet = bob): Promise<string> {
    const res = await grantRequest({ access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: wallet }, { type: 'quote', actions: ['create', 'read'] }] } });
    expect(res.status).toBe(200);
    return res.json.access_token.value;
  }

  async function incomingPayment(token: string, wallet = bob, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await signedCall(`${sandbox.url}/incoming-payments`, { key, token, body: { walletAddress: wallet, ...extra } });
    expect(res.status).toBe(201);
    return res.json.id;
  }

  async function pendingOutgoingGrant(limits?: Record<string, unknown>, wallet = alice, actions = ['create', 'read']) {
    const nonce = randomUUID();
    const res = await grantRequest({
      access_token: { access: [{ type: 'outgoing-payment', actions, identifier: wallet, ...(limits ? { limits } : {}) }] },
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: 'https://clearway.example/finish', nonce } },
    });
    expect(res.status).toBe(200);
    return res.json as { interact: { redirect: string; finish: string }; continue: { uri: string; access_token: { value: string } } };
  }

  const continueGrant = (pending: { continue: { uri: string; access_token: { value: string } } }, body: Record<string, unknown>, k = key) =>
    signedCall(pending.continue.uri, { key: k, token: pending.continue.access_token.value, body });

  async function outgoingToken(limits?: Record<string, unknown>, wallet = alice): Promise<{ token: string; manage: string }> {
    const pending = await pendingOutgoingGrant(limits, wallet);
    const { location } = await decideOnConsentPage(pending.interact.redirect, 'approve');
    const interactRef = new URL(location!).searchParams.get('interact_ref')!;
    const res = await continueGrant(pending, { interact_ref: interactRef });
    expect(res.status).toBe(200);
    return { token: res.json.access_token.value, manage: res.json.access_token.manage };
  }

  const pay = (token: string, receiver: string, value: number | bigint, wallet = alice, headers?: Record<string, string>) =>
    signedCall(`${sandbox.url}/outgoing-payments`, { key, token, body: { walletAddress: wallet, incomingPayment: receiver, debitAmount: EUR(value) }, extraHeaders: headers });

  async function total(): Promise<bigint> {
    return Object.values(await sandbox.ase.balances()).reduce((a, b) => a + b, 0n);
  }

  describe('HTTP message signatures', () => {
    const body = () => ({ client, access_token: { access: [{ type: 'incoming-payment', actions: ['create'], identifier: bob }] } });

    it('accepts a correctly signed grant request', async () => {
      expect((await signedCall(sandbox.ase.grants.authServerUrl, { key, body: body() })).status).toBe(200);
    });

    it('serves its auth server under its tenant, like a multi-tenant Rafiki: another tenant or the bare /auth is unknown', async () => {
      expect(sandbox.ase.grants.authServerUrl).toBe(`${sandbox.url}/auth/${DEFAULT_TENANT_ID}`);
      expect((await signedCall(`${sandbox.url}/auth`, { key, body: body() })).status).toBe(404);
      expect((await signedCall(`${sandbox.url}/auth/${randomUUID()}`, { key, body: body() })).status).toBe(404);
    });

    it.each([
      ['tampered body', { mutateBody: (b: string) => b.replace('create', 'read') }],
      ['missing Signature headers', { dropHeaders: ['Signature', 'Signature-Input'] }],
      ['missing Content-Digest', { dropHeaders: ['Content-Digest'] }],
      ['stale created (10 minutes old)', { created: Math.floor(Date.now() / 1000) - 600 }],
      ['created in the future', { created: Math.floor(Date.now() / 1000) + 3600 }],
    ])('refuses a grant request with %s → 401', async (_name, tamper) => {
      const res = await signedCall(sandbox.ase.grants.authServerUrl, { key, body: body(), ...tamper });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_client');
    });

    it('refuses a key that is not in the client JWKS, even under a known keyid → 401', async () => {
      const impostor = newKey(key.keyId);
      expect((await signedCall(sandbox.ase.grants.authServerUrl, { key: impostor, body: body() })).status).toBe(401);
      expect((await signedCall(sandbox.ase.grants.authServerUrl, { key: newKey('other-kid'), body: body() })).status).toBe(401);
    });

    it('verifies resource-server requests with the token client\'s key', async () => {
      const token = await incomingToken();
      const url = `${sandbox.url}/incoming-payments`;
      const ok = { key, token, body: { walletAddress: bob } };
      expect((await signedCall(url, { ...ok, mutateBody: (b) => b.replace('}', ',"metadata":{}}') })).status).toBe(401);
      expect((await signedCall(url, { ...ok, key: newKey(key.keyId) })).status).toBe(401);
      expect((await signedCall(url, { ...ok, dropHeaders: ['Signature'] })).status).toBe(401);
      expect((await signedCall(url, { ...ok, created: Math.floor(Date.now() / 1000) - 301 })).status).toBe(401);
      // Authorization must be covered when present.
      const unsignedAuth = await signedCall(url, { key, body: { walletAddress: bob }, extraHeaders: {} });
      expect(unsignedAuth.status).toBe(401);
      const created = await signedCall(url, ok);
      expect(created.status).toBe(201);
      expect((await signedCall(created.json.id, { key, token, dropHeaders: ['Signature-Input'] })).status).toBe(401);
    });

    it('fetches a foreign client\'s keys from {client}/jwks.json', async () => {
      const foreignKey = newKey('foreign-1');
      const express = (await import('express')).default;
      const app = express();
      app.get('/pay/shop/jwks.json', (_req, res) => void res.json({ keys: [foreignKey.jwk] }));
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const foreign = `http://127.0.0.1:${(server.address() as { port: number }).port}/pay/shop`;
        const res = await signedCall(sandbox.ase.grants.authServerUrl, { key: foreignKey, body: { client: foreign, access_token: { access: [{ type: 'quote', actions: ['create'] }] } } });
        expect(res.status).toBe(200);
        expect((await signedCall(sandbox.ase.grants.authServerUrl, { key, body: { client: foreign, access_token: { access: [{ type: 'quote', actions: ['create'] }] } } })).status).toBe(401);
      } finally {
        server.close();
      }
    });
  });

  describe('GNAP interaction', () => {
    it('refuses a replayed interact_ref as a current Rafiki does: 401 request_denied', async () => {
      const pending = await pendingOutgoingGrant({ debitAmount: EUR(100) });
      const { location } = await decideOnConsentPage(pending.interact.redirect, 'approve');
      const interactRef = new URL(location!).searchParams.get('interact_ref')!;
      expect((await continueGrant(pending, { interact_ref: interactRef })).status).toBe(200);
      const replay = await continueGrant(pending, { interact_ref: interactRef });
      expect(replay.status).toBe(401);
      expect(replay.json.error.code).toBe('request_denied');
    });

    it('a lost continuation answer: the grant is issued, the repeat is refused, the continuation token still revokes it (and the unseen token)', async () => {
      const pending = await pendingOutgoingGrant({ debitAmount: EUR(100) });
      const { location } = await decideOnConsentPage(pending.interact.redirect, 'approve');
      const interactRef = new URL(location!).searchParams.get('interact_ref')!;
      sandbox.ase.failGrantContinuations({ lostResponses: 1 });
      const lost = await continueGrant(pending, { interact_ref: interactRef });
      expect(lost.status).toBe(503);
      expect(sandbox.ase.takeContinuationFault()).toBeUndefined();
      const grantId = pending.continue.uri.split('/').pop()!;
      const issued = () => sandbox.ase.db.pool.query(`SELECT revoked FROM ${sandbox.ase.db.table('access_tokens')} WHERE grant_id = $1`, [grantId]);
      expect((await issued()).rows).toEqual([{ revoked: false }]);
      const repeat = await continueGrant(pending, { interact_ref: interactRef });
      expect(repeat.status).toBe(401);
      expect(repeat.json.error.code).toBe('request_denied');
      expect((await signedCall(pending.continue.uri, { key, token: pending.continue.access_token.value, method: 'DELETE' })).status).toBe(204);
      expect((await issued()).rows).toEqual([{ revoked: true }]);
      const afterRevoke = await continueGrant(pending, { interact_ref: interactRef });
      expect(afterRevoke.status).toBe(404);
      expect(afterRevoke.json.error.code).toBe('invalid_continuation');
    });

    it('refuses a wrong interact_ref (404 invalid_continuation) and a wrong continuation token', async () => {
      const pending = await pendingOutgoingGrant();
      await decideOnConsentPage(pending.interact.redirect, 'approve');
      const wrong = await continueGrant(pending, { interact_ref: randomUUID() });
      expect(wrong.status).toBe(404);
      expect(wrong.json.error.code).toBe('invalid_continuation');
      expect((await signedCall(pending.continue.uri, { key, token: 'WRONG', body: {} })).status).toBe(401);
    });

    it('deny → redirect with result=grant_rejected, continue refused with request_denied', async () => {
      const pending = await pendingOutgoingGrant({ debitAmount: EUR(100) });
      const { location } = await decideOnConsentPage(pending.interact.redirect, 'deny');
      expect(new URL(location!).searchParams.get('result')).toBe('grant_rejected');
      expect(new URL(location!).searchParams.get('interact_ref')).toBeNull();
      const res = await continueGrant(pending, {});
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('request_denied');
      // The page cannot be decided twice.
      const again = await fetch(pending.interact.redirect, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'decision=approve', redirect: 'manual' });
      expect(again.status).toBe(400);
    });

    it('autoApprove: continuing without a browser issues the token', async () => {
      sandbox.ase.setAutoApprove(true);
      const pending = await pendingOutgoingGrant({ debitAmount: EUR(100) });
      // The redirect URL sends a browser straight to the finish URI, with hash and interact_ref.
      const page = await fetch(pending.interact.redirect, { redirect: 'manual' });
      expect(page.status).toBe(303);
      expect(new URL(page.headers.get('location')!).searchParams.get('interact_ref')).toEqual(expect.any(String));
      const res = await continueGrant(pending, {});
      expect(res.status).toBe(200);
      expect(res.json.access_token.value).toEqual(expect.any(String));
    });

    it('refuses outgoing-payment access without interaction', async () => {
      const res = await grantRequest({ access_token: { access: [{ type: 'outgoing-payment', actions: ['create'], identifier: alice }] } });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
    });
  });

  describe('grant limits and expiries', () => {
    it('enforces debitAmount: the payment beyond the limit is refused', async () => {
      const receiver = await incomingPayment(await incomingToken());
      const { token } = await outgoingToken({ debitAmount: EUR(1000) });
      expect((await pay(token, receiver, 600)).status).toBe(201);
      const over = await pay(token, receiver, 600);
      expect(over.status).toBe(403);
      expect((await pay(token, receiver, 400)).json.grantSpentDebitAmount).toEqual(EUR(1000));
    });

    it('enforces the limit per interval period: refused in the period, allowed in the next', async () => {
      sandbox.ase.setClock(new Date('2027-01-15T10:00:00Z'));
      const incoming = await incomingToken();
      const { token, manage } = await outgoingToken({ debitAmount: EUR(1000), interval: 'R12/2027-01-01T00:00:00Z/P1M' });
      const receiver = await incomingPayment(incoming);
      expect((await pay(token, receiver, 800)).status).toBe(201);
      expect((await pay(token, receiver, 300)).status).toBe(403);

      sandbox.ase.setClock(new Date('2027-02-01T00:00:01Z'));
      // The token expired with the business clock; rotating it keeps the grant.
      expect((await pay(token, receiver, 300)).status).toBe(401);
      const rotated = await signedCall(manage, { key, token, method: 'POST' });
      expect(rotated.status).toBe(200);
      const next = rotated.json.access_token.value;
      const receiver2 = await incomingPayment(await incomingToken());
      const paid = await pay(next, receiver2, 300);
      expect(paid.status).toBe(201);
      expect(paid.json.grantSpentDebitAmount).toEqual(EUR(300));
      const spent = await signedCall(`${sandbox.url}/outgoing-payment-grant`, { key, token: next });
      expect(spent.json.spentDebitAmount).toEqual(EUR(300));
    });

    it('refuses an expired quote', async () => {
      const incoming = await incomingToken();
      const receiver = await incomingPayment(incoming);
      const quote = await signedCall(`${sandbox.url}/quotes`, { key, token: incoming, body: { walletAddress: alice, receiver, method: 'ilp', debitAmount: EUR(100) } });
      expect(quote.status).toBe(201);
      expect(Date.parse(quote.json.expiresAt) - Date.parse(quote.json.createdAt)).toBe(300_000);
      const { token } = await outgoingToken();
      sandbox.ase.advanceClock(300_001);
      const res = await signedCall(`${sandbox.url}/outgoing-payments`, { key, token, body: { walletAddress: alice, quoteId: quote.json.id } });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('invalid_quote');
    });

    it('refuses paying an expired incoming payment and overpaying incomingAmount', async () => {
      const incoming = await incomingToken();
      const expiring = await incomingPayment(incoming, bob, { expiresAt: new Date(sandbox.ase.now().getTime() + 60_000).toISOString() });
      const capped = await incomingPayment(incoming, bob, { incomingAmount: EUR(500) });
      const { token } = await outgoingToken();
      expect((await pay(token, capped, 400)).json.failed).toBe(false);
      expect((await pay(token, capped, 200)).json.failed).toBe(true);
      sandbox.ase.advanceClock(61_000);
      expect((await pay(token, expiring, 100)).status).toBe(400);
    });

    it('Idempotency-Key is not Open Payments: by default a repeated create is a second payment; deduplication is opt-in', async () => {
      const receiver = await incomingPayment(await incomingToken());
      const { token } = await outgoingToken();
      const before = (await sandbox.ase.balanceOf('alice'))!;
      const key1 = { 'Idempotency-Key': randomUUID() };
      const first = await pay(token, receiver, 250, alice, key1);
      const second = await pay(token, receiver, 250, alice, key1);
      expect(second.json.id).not.toBe(first.json.id);
      expect(await sandbox.ase.balanceOf('alice')).toBe(before - 500n);

      sandbox.ase.setIdempotencyDeduplication(true);
      const key2 = { 'Idempotency-Key': randomUUID() };
      const [a, b] = await Promise.all([pay(token, receiver, 250, alice, key2), pay(token, receiver, 250, alice, key2)]);
      expect(a.json.id).toBe(b.json.id);
      expect(await sandbox.ase.balanceOf('alice')).toBe(before - 750n);
    });
  });

  describe('fees', () => {

    it('default fees (5 + 30 bps): a fixed-send quote deducts the fee, a fixed-receive quote adds it; sentAmount excludes it', async () => {
      expect(sandbox.ase.currentFees()).toEqual({ fixed: 5n, basisPoints: 30 });
      const incoming = await incomingToken();
      const send = await signedCall(`${sandbox.url}/quotes`, { key, token: incoming, body: { walletAddress: alice, receiver: await incomingPayment(incoming), method: 'ilp', debitAmount: EUR(2500) } });
      // 30 bps of 2500 is 7.5: rounded down, as Rafiki does.
      expect(send.json).toMatchObject({ debitAmount: EUR(2500), receiveAmount: EUR(2500n - 12n) });
      const receive = await signedCall(`${sandbox.url}/quotes`, { key, token: incoming, body: { walletAddress: alice, receiver: await incomingPayment(incoming), method: 'ilp', receiveAmount: EUR(2500) } });
      expect(receive.json).toMatchObject({ debitAmount: EUR(2500n + fee(2500n)), receiveAmount: EUR(2500) });
      const tooSmall = await signedCall(`${sandbox.url}/quotes`, { key, token: incoming, body: { walletAddress: alice, receiver: await incomingPayment(incoming), method: 'ilp', debitAmount: EUR(5) } });
      expect(tooSmall.status).toBe(400);
      expect(tooSmall.json.error.code).toBe('invalid_amount');

      const { token } = await outgoingToken();
      const before = await sandbox.ase.balances();
      const paid = await signedCall(`${sandbox.url}/outgoing-payments`, { key, token, body: { walletAddress: alice, quoteId: send.json.id } });
      expect(paid.status).toBe(201);
      expect(paid.json).toMatchObject({ failed: false, debitAmount: EUR(2500), receiveAmount: EUR(2488), sentAmount: EUR(2488) });
      const after = await sandbox.ase.balances();
      expect(after.alice! - before.alice!).toBe(-2500n);
      expect(after.bob! - before.bob!).toBe(2488n);
      expect(after['ase-fees-eur-2']! - before['ase-fees-eur-2']!).toBe(12n);
    });

    it('configurable over HTTP; the fee account is not a wallet address', async () => {
      const put = await fetch(`${sandbox.url}/_sandbox/fees`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fixed: '0', basisPoints: 100 }) });
      expect(await put.json()).toEqual({ fixed: '0', basisPoints: 100 });
      const incoming = await incomingToken();
      const quote = await signedCall(`${sandbox.url}/quotes`, { key, token: incoming, body: { walletAddress: alice, receiver: await incomingPayment(incoming), method: 'ilp', debitAmount: EUR(1000) } });
      expect(quote.json.receiveAmount).toEqual(EUR(990));
      const bad = await fetch(`${sandbox.url}/_sandbox/fees`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fixed: -1, basisPoints: 1 }) });
      expect(bad.status).toBe(400);
      expect((await fetch(`${sandbox.url}/ase-fees-eur-2`)).status).toBe(404);
      await expect(sandbox.ase.registerWallet({ name: 'ase-fees-usd-2' })).rejects.toThrow(/Invalid wallet name/);
    });
  });

  describe('incoming payments (current Rafiki)', () => {
    it('one without incomingAmount is not completed by a payment: it stays open until completed or expired', async () => {
      const incoming = await incomingToken();
      const open = await incomingPayment(incoming);
      const { token } = await outgoingToken();
      expect((await pay(token, open, 1000)).json.failed).toBe(false);
      const read = await signedCall(open, { key, token: incoming });
      expect(read.json).toMatchObject({ completed: false, receivedAmount: EUR(1000n - fee(1000n)) });
      // Still payable: a second payment lands on it too.
      expect((await pay(token, open, 1000)).json.failed).toBe(false);

      const completeGrant = await grantRequest({ access_token: { access: [{ type: 'incoming-payment', actions: ['complete', 'read'], identifier: bob }] } });
      const completed = await signedCall(`${open}/complete`, { key, token: completeGrant.json.access_token.value, method: 'POST' });
      expect(completed.status).toBe(200);
      expect(completed.json).toMatchObject({ completed: true, receivedAmount: EUR(2n * (1000n - fee(1000n))) });
      // Completed: no further payment is accepted, and it cannot be completed again (Rafiki: wrong state).
      expect((await pay(token, open, 100)).status).toBe(400);
      const again = await signedCall(`${open}/complete`, { key, token: completeGrant.json.access_token.value, method: 'POST' });
      expect(again.status).toBe(409);
      expect(again.json.error.code).toBe('invalid_state');
    });

  });

  describe('lost responses and listing', () => {
    it('a lost create response: the payment exists, and listing with the Open Payments filters finds it by its metadata', async () => {
      const receiver = await incomingPayment(await incomingToken());
      const pending = await pendingOutgoingGrant(undefined, alice, ['create', 'read', 'list']);
      const { location } = await decideOnConsentPage(pending.interact.redirect, 'approve');
      const granted = await continueGrant(pending, { interact_ref: new URL(location!).searchParams.get('interact_ref')! });
      const token = granted.json.access_token.value;
      for (let i = 0; i < 3; i += 1) expect((await pay(token, await incomingPayment(await incomingToken()), 100 + i)).status).toBe(201);

      sandbox.ase.failOutgoingPaymentCreates({ unavailable: 1, lostResponses: 1 });
      const body = { walletAddress: alice, incomingPayment: receiver, debitAmount: EUR(777), metadata: { clearwayTransferId: 't-1' } };
      const refused = await signedCall(`${sandbox.url}/outgoing-payments`, { key, token, body });
      expect(refused.status).toBe(503);
      const lost = await signedCall(`${sandbox.url}/outgoing-payments`, { key, token, body });
      expect(lost.status).toBe(503);
      expect(lost.json.error.description).toMatch(/lost/);

      const list = (query: string) => signedCall(`${sandbox.url}/outgoing-payments?wallet-address=${encodeURIComponent(alice)}&${query}`, { key, token });
      const page1 = await list('first=2');
      expect(page1.status).toBe(200);
      expect(page1.json.pagination).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const page2 = await list(`first=2&cursor=${page1.json.pagination.endCursor}`);
      expect(page2.json.pagination).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      const all = [...page1.json.result, ...page2.json.result];
      expect(all).toHaveLength(4);
      const mine = all.filter((p: { metadata?: { clearwayTransferId?: string } }) => p.metadata?.clearwayTransferId === 't-1');
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ debitAmount: EUR(777), failed: false });
      const back = await list(`last=2&cursor=${page2.json.pagination.startCursor}`);
      expect(back.json.result.map((p: { id: string }) => p.id)).toEqual(page1.json.result.map((p: { id: string }) => p.id));
      // Without the list action the grant may not list.
      const { token: noList } = await outgoingToken();
      expect((await signedCall(`${sandbox.url}/outgoing-payments?wallet-address=${encodeURIComponent(alice)}`, { key, token: noList })).status).toBe(403);
    });
  });

  describe('ledger invariants', () => {
    it('keeps the sum of balances constant and none negative across a random sequence', async () => {
      const start = await total();
      const incoming = { alice: await incomingToken(alice), bob: await incomingToken(bob) };
      const outgoing = { alice: (await outgoingToken(undefined, alice)).token, bob: (await outgoingToken(undefined, bob)).token };
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (let i = 0; i < 30; i += 1) {
        const from = random() < 0.5 ? 'alice' : 'bob';
        const to = from === 'alice' ? 'bob' : 'alice';
        const receiver = await incomingPayment(incoming[to], sandbox.ase.walletUrl(to));
        const res = await pay(outgoing[from], receiver, 10 + Math.floor(random() * 60_000), sandbox.ase.walletUrl(from));
        expect(res.status).toBe(201);
        const balances = await sandbox.ase.balances();
        expect(Object.values(balances).every((b) => b >= 0n)).toBe(true);
        expect(await total()).toBe(start);
      }
      // The ledger explains every balance: opening + credits − debits.
      const db = new Client({ connectionString: process.env.CLEARWAY_TEST_DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query(
          `SELECT w.name, w.balance,
             (SELECT COALESCE(SUM(amount), 0) FROM "${sandbox.schema}".ledger_entries WHERE credit_wallet = w.name) -
             (SELECT COALESCE(SUM(amount), 0) FROM "${sandbox.schema}".ledger_entries WHERE debit_wallet = w.name) AS net
           FROM "${sandbox.schema}".wallets w`,
        );
        const opening: Record<string, bigint> = { alice: 100_000n };
        for (const row of rows) expect({ [row.name]: BigInt(row.balance) }).toEqual({ [row.name]: (opening[row.name] ?? 0n) + BigInt(row.net) });
        // Fees were charged on every payment, and went to the fee account.
        expect(rows.find((r) => r.name === 'ase-fees-eur-2')!.balance).not.toBe('0');
        const { rows: settled } = await db.query(
          `SELECT count(*)::int AS n, (SELECT count(*)::int FROM "${sandbox.schema}".ledger_entries WHERE kind = 'transfer') AS entries,
             (SELECT count(*)::int FROM "${sandbox.schema}".ledger_entries WHERE kind = 'fee') AS fees
           FROM "${sandbox.schema}".outgoing_payments WHERE state = 'completed'`,
        );
        expect(settled[0].n).toBe(settled[0].entries);
        expect(settled[0].n).toBe(settled[0].fees);
      } finally {
        await db.end();
      }
    });

    it('concurrent payments beyond alice\'s balance: exactly the affordable ones succeed', async () => {
      const balance = (await sandbox.ase.balanceOf('alice'))!;
      const amount = balance / 4n + 1n; // three fit, the fourth does not
      const incoming = await incomingToken();
      const receivers = await Promise.all(Array.from({ length: 10 }, () => incomingPayment(incoming)));
      const { token } = await outgoingToken();
      const results = await Promise.all(receivers.map((receiver) => pay(token, receiver, amount)));
      expect(results.every((r) => r.status === 201)).toBe(true);
      expect(results.filter((r) => r.json.failed === false)).toHaveLength(3);
      expect(await sandbox.ase.balanceOf('alice')).toBe(balance - 3n * amount);
      expect(await sandbox.ase.balanceOf('bob')).toBe(3n * (amount - fee(amount)));
    });
  });
});
