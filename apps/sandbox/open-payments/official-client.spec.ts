/**
 * The official `@interledger/open-payments` client (validating every response against its own
 * OpenAPI specs) runs the whole Open Payments sequence against the sandbox ASE, and the ASE's
 * responses are checked again against the same YAML specs with our contract validator.
 */
import { createHash, randomUUID } from 'node:crypto';
import { expectValidResponse } from '../../../test/support/openapi-contract';
import { DEFAULT_TENANT_ID } from './config';
import { decideOnConsentPage, newKey, OfficialClient, rsSpec, asSpec, waSpec, signedCall, startTestAse, type TestAse, type TestKey } from './test-helpers';

describe('Open Payments sandbox ASE with the official client', () => {
  let sandbox: TestAse;
  let key: TestKey;
  let op: OfficialClient;
  let clientUrl: string;

  beforeAll(async () => {
    // Settlement after a short delay, so the client really has to poll until sent.
    sandbox = await startTestAse({ settlementDelayMs: 100 });
    key = newKey('clearway-key-1');
    const registered = await fetch(`${sandbox.url}/_sandbox/wallets`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'clearway', publicName: 'Clearway', assetCode: 'EUR', assetScale: 2, jwks: { keys: [key.jwk] } }),
    });
    expect(registered.status).toBe(201);
    clientUrl = `${sandbox.url}/clearway`;
    op = new OfficialClient(clientUrl, key);
  });

  afterAll(async () => {
    op?.close();
    await sandbox?.dispose();
  });

  it('wallet address → grants → incoming payment → quote → consent → outgoing payment, money moved exactly once', async () => {
    const before = await sandbox.ase.balances();
    const total = Object.values(before).reduce((a, b) => a + b, 0n);

    const alice = await op.call('walletAddress.get', { url: `${sandbox.url}/alice` });
    const bob = await op.call('walletAddress.get', { url: `${sandbox.url}/bob` });
    expect(alice).toEqual({
      id: `${sandbox.url}/alice`,
      publicName: 'Alice',
      assetCode: 'EUR',
      assetScale: 2,
      authServer: `${sandbox.url}/auth/${DEFAULT_TENANT_ID}`,
      resourceServer: sandbox.url,
    });
    const keys = await op.call('walletAddress.getKeys', { url: clientUrl });
    expect(keys.keys).toEqual([key.jwk]);

    // Non-interactive incoming-payment grant on bob.
    const incomingGrant = await op.call('grant.request', { url: bob.authServer }, {
      access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read', 'list', 'complete'], identifier: bob.id }] },
    });
    expect(incomingGrant.access_token.value).toEqual(expect.any(String));
    const incoming = await op.call('incomingPayment.create', { url: bob.resourceServer, accessToken: incomingGrant.access_token.value }, {
      walletAddress: bob.id,
      incomingAmount: { value: '2500', assetCode: 'EUR', assetScale: 2 },
      metadata: { externalRef: 'INV-2027-001' },
    });
    expect(incoming).toMatchObject({ walletAddress: bob.id, completed: false, receivedAmount: { value: '0' } });
    expect(incoming.id).toMatch(new RegExp(`^${sandbox.url}/incoming-payments/[0-9a-f-]{36}$`));

    // Non-interactive quote grant, quote from alice to the incoming payment.
    const quoteGrant = await op.call('grant.request', { url: alice.authServer }, {
      access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] },
    });
    const quote = await op.call('quote.create', { url: alice.resourceServer, accessToken: quoteGrant.access_token.value }, {
      walletAddress: alice.id,
      receiver: incoming.id,
      method: 'ilp',
    });
    expect(quote).toMatchObject({ debitAmount: { value: '2500', assetCode: 'EUR' }, receiveAmount: { value: '2500' }, method: 'ilp' });
    expect(Date.parse(quote.expiresAt)).toBeGreaterThan(Date.now());

    // Interactive outgoing-payment grant.
    const clientNonce = randomUUID();
    const pending = await op.call('grant.request', { url: alice.authServer }, {
      access_token: {
        access: [{ type: 'outgoing-payment', actions: ['create', 'read', 'list'], identifier: alice.id, limits: { debitAmount: quote.debitAmount } }],
      },
      interact: { start: ['redirect'], finish: { method: 'redirect', uri: 'https://clearway.example/op/finish?session=1', nonce: clientNonce } },
    });
    expect(pending.interact.redirect).toMatch(`${alice.authServer}/interact/`);
    expect(pending.continue.uri).toMatch(`${alice.authServer}/continue/`);

    // Before the decision, continuing only says "wait".
    const early = await op.call('grant.continue', { url: pending.continue.uri, accessToken: pending.continue.access_token.value });
    expect(early.access_token).toBeUndefined();
    expect(early.continue.wait).toBeGreaterThan(0);

    const consent = await decideOnConsentPage(pending.interact.redirect, 'approve');
    expect(consent.page).toContain(clientUrl);
    expect(consent.page).toContain('25.00 EUR');
    expect(consent.status).toBe(303);
    const finish = new URL(consent.location!);
    expect(`${finish.origin}${finish.pathname}`).toBe('https://clearway.example/op/finish');
    expect(finish.searchParams.get('session')).toBe('1');
    const interactRef = finish.searchParams.get('interact_ref')!;
    // The client's check (RFC 9635 §4.2.3 as Open Payments uses it): over the grant endpoint the
    // official client called, which is the wallet's multi-tenant authServer unchanged.
    const expectedHash = createHash('sha256').update(`${clientNonce}\n${pending.interact.finish}\n${interactRef}\n${alice.authServer}`).digest('base64');
    expect(finish.searchParams.get('hash')).toBe(expectedHash);

    const granted = await op.call('grant.continue', { url: pending.continue.uri, accessToken: pending.continue.access_token.value }, { interact_ref: interactRef });
    expect(granted.access_token.access[0]).toMatchObject({ type: 'outgoing-payment', identifier: alice.id });
    const accessToken: string = granted.access_token.value;

    const created = await op.call('outgoingPayment.create', { url: alice.resourceServer, accessToken }, {
      walletAddress: alice.id,
      quoteId: quote.id,
      metadata: { description: 'Invoice INV-2027-001' },
    });
    expect(created).toMatchObject({ failed: false, receiver: incoming.id, sentAmount: { value: '0' }, grantSpentDebitAmount: { value: '2500' } });

    let payment = created;
    for (let i = 0; i < 50 && payment.sentAmount.value !== payment.debitAmount.value; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      payment = await op.call('outgoingPayment.get', { url: created.id, accessToken });
    }
    expect(payment).toMatchObject({ failed: false, sentAmount: { value: '2500' }, debitAmount: { value: '2500' } });

    const received = await op.call('incomingPayment.get', { url: incoming.id, accessToken: incomingGrant.access_token.value });
    expect(received).toMatchObject({ completed: true, receivedAmount: { value: '2500' } });
    const listed = await op.call('incomingPayment.list', { url: bob.resourceServer, walletAddress: bob.id, accessToken: incomingGrant.access_token.value }, { first: 10 });
    expect(listed.result.map((p: { id: string }) => p.id)).toEqual([incoming.id]);
    const outgoingList = await op.call('outgoingPayment.list', { url: alice.resourceServer, walletAddress: alice.id, accessToken });
    expect(outgoingList.result).toHaveLength(1);
    const spent = await op.call('outgoingPayment.getGrantSpentAmounts', { url: alice.resourceServer, accessToken });
    expect(spent.spentDebitAmount).toEqual({ value: '2500', assetCode: 'EUR', assetScale: 2 });

    // The same quote cannot pay twice; money moved exactly once.
    await expect(op.call('outgoingPayment.create', { url: alice.resourceServer, accessToken }, { walletAddress: alice.id, quoteId: quote.id })).rejects.toThrow(/"status":(400|403)/);
    await sandbox.ase.settlePending();
    const after = await sandbox.ase.balances();
    expect(after.alice).toBe(before.alice - 2500n);
    expect(after.bob).toBe(before.bob + 2500n);
    expect(Object.values(after).reduce((a, b) => a + b, 0n)).toBe(total);

    // Token rotation and revocation, grant revocation.
    const rotated = await op.call('token.rotate', { url: granted.access_token.manage, accessToken });
    expect(rotated.access_token.value).not.toBe(accessToken);
    await expect(op.call('outgoingPayment.get', { url: created.id, accessToken })).rejects.toThrow(/"status":401/);
    await op.call('outgoingPayment.get', { url: created.id, accessToken: rotated.access_token.value });
    await op.call('token.revoke', { url: rotated.access_token.manage, accessToken: rotated.access_token.value });
    await expect(op.call('outgoingPayment.get', { url: created.id, accessToken: rotated.access_token.value })).rejects.toThrow(/"status":401/);
    await op.call('grant.cancel', { url: incomingGrant.continue.uri, accessToken: incomingGrant.continue.access_token.value });
    await expect(op.call('incomingPayment.get', { url: incoming.id, accessToken: incomingGrant.access_token.value })).rejects.toThrow(/"status":401/);
  });

  it('answers match the Open Payments 1.3 OpenAPI specs', async () => {
    const wallet = await fetch(`${sandbox.url}/alice`, { headers: { Accept: 'application/json' } });
    expectValidResponse(waSpec, { method: 'GET', path: '/', status: wallet.status, body: await wallet.json() });
    const jwks = await fetch(`${sandbox.url}/alice/jwks.json`);
    expectValidResponse(waSpec, { method: 'GET', path: '/jwks.json', status: jwks.status, body: await jwks.json() });

    const bobUrl = `${sandbox.url}/bob`;
    const aliceUrl = `${sandbox.url}/alice`;
    const grant = await signedCall(sandbox.ase.grants.authServerUrl, {
      key,
      body: { client: clientUrl, access_token: { access: [{ type: 'incoming-payment', actions: ['create', 'read', 'list', 'complete'], identifier: bobUrl }, { type: 'quote', actions: ['create', 'read'] }] } },
    });
    expectValidResponse(asSpec, { method: 'POST', path: '/', status: grant.status, body: grant.json });
    const token = grant.json.access_token.value;

    const created = await signedCall(`${sandbox.url}/incoming-payments`, { key, token, body: { walletAddress: bobUrl, incomingAmount: { value: '100', assetCode: 'EUR', assetScale: 2 } } });
    expectValidResponse(rsSpec, { method: 'POST', path: '/incoming-payments', status: created.status, body: created.json });
    const got = await signedCall(created.json.id, { key, token });
    expectValidResponse(rsSpec, { method: 'GET', path: '/incoming-payments/{id}', status: got.status, body: got.json });
    const publicView = await fetch(created.json.id);
    expectValidResponse(rsSpec, { method: 'GET', path: '/incoming-payments/{id}', status: publicView.status, body: await publicView.json() });
    const list = await signedCall(`${sandbox.url}/incoming-payments?wallet-address=${encodeURIComponent(bobUrl)}&first=1`, { key, token });
    expectValidResponse(rsSpec, { method: 'GET', path: '/incoming-payments', status: list.status, body: list.json });
    expect(list.json.pagination).toMatchObject({ hasNextPage: expect.any(Boolean), hasPreviousPage: false });

    const quote = await signedCall(`${sandbox.url}/quotes`, { key, token, body: { walletAddress: aliceUrl, receiver: created.json.id, method: 'ilp' } });
    expectValidResponse(rsSpec, { method: 'POST', path: '/quotes', status: quote.status, body: quote.json });
    const quoteGot = await signedCall(quote.json.id, { key, token });
    expectValidResponse(rsSpec, { method: 'GET', path: '/quotes/{id}', status: quoteGot.status, body: quoteGot.json });

    const completed = await signedCall(`${created.json.id}/complete`, { key, token, method: 'POST' });
    expectValidResponse(rsSpec, { method: 'POST', path: '/incoming-payments/{id}/complete', status: completed.status, body: completed.json });
    expect(completed.json.completed).toBe(true);

    const unauthorised = await signedCall(created.json.id, { key, token: 'nope' });
    expectValidResponse(rsSpec, { method: 'GET', path: '/incoming-payments/{id}', status: unauthorised.status, body: unauthorised.json });
    expect(unauthorised.status).toBe(401);
  });
});
