/**
 * The Open Payments adapter against the real sandbox ASE, over HTTP, on a fresh schema: grants
 * (non-interactive and interactive with the finish-redirect hash), payments, idempotency, token
 * rotation and revocation, and error classification.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_TENANT_ID } from '../../../apps/sandbox/open-payments/config';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../../apps/sandbox/open-payments/test-helpers';
import { createDevTls } from '../../security/dev-certificates';
import { BankError } from '../bank-adapter';
import {
  generateIdentityKey,
  GRANT_PENDING,
  INVALID_TOKEN,
  isContinuationRefused,
  loadIdentity,
  OpenPaymentsHttpAdapter,
  outgoingPaymentProgress,
  verifyInteractionHash,
  type FinalizedGrant,
  type OpAccessToken,
  type OpenPaymentsIdentity,
  type OutgoingPayment,
  type PendingGrant,
  type WalletAddress,
} from '.';

const FINISH_URI = 'http://127.0.0.1:1/clearway/finish';
/** The sandbox listens on 127.0.0.1 over http: what development allows. */
const DEV = { policy: { allowHttp: true, allowLoopback: true } } as const;

let sandbox: TestAse;
let sutIdentity: OpenPaymentsIdentity;
let sut: OpenPaymentsHttpAdapter;
let alice: WalletAddress;
let bob: WalletAddress;

async function registerClient(name: string): Promise<{ walletAddress: string; keyId: string; privateKeyPem: string }> {
  const key = generateIdentityKey(`${name}-key`);
  const res = await fetch(`${sandbox.url}/_sandbox/wallets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, assetCode: 'EUR', assetScale: 2, jwks: { keys: [key.publicJwk] } }),
  });
  expect(res.status).toBe(201);
  return { walletAddress: `${sandbox.url}/${name}`, keyId: key.publicJwk.kid, privateKeyPem: key.privateKeyPem };
}

async function caught(promise: Promise<unknown>): Promise<BankError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(BankError);
    return err as BankError;
  }
  throw new Error('expected a BankError');
}

const code = (err: BankError) => err.details.messages?.[0]?.code;

beforeAll(async () => {
  // Settlement after a short delay, so the adapter really has to poll until sent.
  sandbox = await startTestAse({ settlementDelayMs: 100 });
  sutIdentity = loadIdentity(await registerClient('clearway'));
  sut = new OpenPaymentsHttpAdapter(sutIdentity, { ...DEV, timeoutMs: 5_000 });
  alice = await sut.getWalletAddress(`${sandbox.url}/alice`);
  bob = await sut.getWalletAddress(`${sandbox.url}/bob`);
});

afterAll(async () => {
  await sandbox?.dispose();
});

afterEach(() => {
  sandbox.ase.resetFaults();
});

/** Interactive outgoing-payment grant on alice, approved on the consent page. */
async function approvedOutgoingGrant(debit: { value: string; assetCode: string; assetScale: number }) {
  const clientNonce = randomUUID();
  const pending = (await sut.requestGrant(alice.authServer, {
    access: [{ type: 'outgoing-payment', actions: ['create', 'read', 'list'], identifier: alice.id, limits: { debitAmount: debit } }],
    interact: { finishUri: FINISH_URI, nonce: clientNonce },
  })) as PendingGrant;
  expect(pending).toMatchObject({ kind: 'pending', interactRedirect: expect.stringContaining(`${alice.authServer}/interact/`), finishNonce: expect.any(String) });

  const decided = await decideOnConsentPage(pending.interactRedirect, 'approve');
  expect(decided.status).toBe(303);
  const finish = new URL(decided.location!);
  expect(`${finish.origin}${finish.pathname}`).toBe(FINISH_URI);
  const interactRef = finish.searchParams.get('interact_ref')!;
  const hashInput = { clientNonce, finishNonce: pending.finishNonce, interactRef, grantEndpoint: alice.authServer };
  return { pending, interactRef, hash: finish.searchParams.get('hash'), hashInput };
}

describe('wallet addresses', () => {
  it('resolves a wallet address', () => {
    expect(alice).toEqual({
      id: `${sandbox.url}/alice`,
      publicName: 'Alice',
      assetCode: 'EUR',
      assetScale: 2,
      authServer: `${sandbox.url}/auth/${DEFAULT_TENANT_ID}`,
      resourceServer: sandbox.url,
    });
  });

  it('answers an unknown wallet address with not_found', async () => {
    const err = await caught(sut.getWalletAddress(`${sandbox.url}/nobody`));
    expect(err).toMatchObject({ kind: 'not_found', details: { httpStatus: 404 } });
  });
});

describe('incoming payment → quote → consent → outgoing payment', () => {
  it('moves the money once, with rotation and revocation of the outgoing-payment grant', async () => {
    // Non-interactive incoming-payment grant on bob, and the payment to be paid.
    const incomingGrant = await sut.requestGrant(bob.authServer, {
      access: [{ type: 'incoming-payment', actions: ['create', 'read'], identifier: bob.id }],
    });
    expect(incomingGrant).toMatchObject({ kind: 'finalized', accessToken: { value: expect.any(String), manage: expect.any(String) } });
    const incoming = await sut.createIncomingPayment(bob.resourceServer, (incomingGrant as FinalizedGrant).accessToken.value, {
      walletAddress: bob.id,
      incomingAmount: { value: '2500', assetCode: 'EUR', assetScale: 2 },
      metadata: { externalRef: 'INV-1' },
    });
    expect(incoming).toMatchObject({ walletAddress: bob.id, completed: false, receivedAmount: { value: '0' }, incomingAmount: { value: '2500' } });

    // Quote on alice for that receiver.
    const quoteGrant = (await sut.requestGrant(alice.authServer, { access: [{ type: 'quote', actions: ['create', 'read'] }] })) as FinalizedGrant;
    expect(quoteGrant.kind).toBe('finalized');
    const quote = await sut.createQuote(alice.resourceServer, quoteGrant.accessToken.value, { walletAddress: alice.id, receiver: incoming.id });
    // The ASE's fee (5 + 30 bps, as a real wallet charges one) is added to what alice pays.
    expect(quote).toMatchObject({ walletAddress: alice.id, receiver: incoming.id, debitAmount: { value: '2512' }, receiveAmount: { value: '2500' } });

    // Interactive outgoing-payment grant: consent page, finish redirect hash, continue.
    const { pending, interactRef, hash, hashInput } = await approvedOutgoingGrant(quote.debitAmount);
    // Multi-tenant shape: the hash is over authServer exactly as the wallet gave it, no slash added.
    expect(hashInput.grantEndpoint).toBe(`${sandbox.url}/auth/${DEFAULT_TENANT_ID}`);
    expect(verifyInteractionHash(hashInput, hash)).toBe(true);
    expect(verifyInteractionHash({ ...hashInput, grantEndpoint: `${hashInput.grantEndpoint}/` }, hash)).toBe(false);
    expect(verifyInteractionHash({ ...hashInput, clientNonce: 'someone-else' }, hash)).toBe(false);
    expect(verifyInteractionHash(hashInput, `${hash}x`)).toBe(false);
    expect(verifyInteractionHash(hashInput, null)).toBe(false);

    const outgoingGrant = (await sut.continueGrant(pending.continue, interactRef)) as FinalizedGrant;
    expect(outgoingGrant).toMatchObject({ kind: 'finalized', accessToken: { value: expect.any(String), expiresIn: expect.any(Number) }, continue: { uri: pending.continue.uri } });
    // The interact_ref is single-use: the repeat is refused for good (the token is never given twice).
    const repeat = await caught(sut.continueGrant(pending.continue, interactRef));
    expect(repeat).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    expect(isContinuationRefused(repeat)).toBe(true);

    // Outgoing payment. A retry with the same Idempotency-Key is not deduplicated (the header is not
    // Open Payments): the quote is what stops a second payment, and the list finds the first one.
    const token = outgoingGrant.accessToken.value;
    const key = randomUUID();
    const body = { walletAddress: alice.id, quoteId: quote.id, metadata: { clearwayTransferId: 't-1' } };
    const first = await sut.createOutgoingPayment(alice.resourceServer, token, body, key);
    const retried = await caught(sut.createOutgoingPayment(alice.resourceServer, token, body, key));
    // Refused (the grant's limit is spent, and the quote was used): a 4xx, never a second payment.
    expect(retried).toMatchObject({ kind: 'rejected' });
    expect(first).toMatchObject({ walletAddress: alice.id, receiver: incoming.id, failed: false, debitAmount: { value: '2512' }, quoteId: quote.id });
    const listed = await sut.listOutgoingPayments(alice.resourceServer, token, { walletAddress: alice.id, first: 10 });
    expect(listed).toMatchObject({ hasNextPage: false, result: [{ id: first.id, quoteId: quote.id, metadata: { clearwayTransferId: 't-1' } }] });

    let payment: OutgoingPayment = first;
    for (let i = 0; i < 50 && outgoingPaymentProgress(payment) === 'sending'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      payment = await sut.getOutgoingPayment(first.id, token);
    }
    // Sent in full: sentAmount, net of the fee, is the receive amount, never the debit amount.
    expect(outgoingPaymentProgress(payment)).toBe('completed');
    expect(payment).toMatchObject({ id: first.id, failed: false, sentAmount: { value: '2500', assetCode: 'EUR', assetScale: 2 }, debitAmount: { value: '2512' } });
    expect((await sut.getIncomingPayment(incoming.id, (incomingGrant as FinalizedGrant).accessToken.value)).completed).toBe(true);

    // Unknown payment under a working token.
    const unknown = await caught(sut.getOutgoingPayment(`${alice.resourceServer}/outgoing-payments/${randomUUID()}`, token));
    expect(unknown).toMatchObject({ kind: 'not_found', details: { httpStatus: 404 } });

    // Rotation: a new token works, the old one is dead.
    const rotated: OpAccessToken = await sut.rotateToken(outgoingGrant.accessToken);
    expect(rotated.value).not.toBe(token);
    expect((await sut.getOutgoingPayment(first.id, rotated.value)).id).toBe(first.id);
    const old = await caught(sut.getOutgoingPayment(first.id, token));
    expect(old).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    expect(code(old)).toBe(INVALID_TOKEN);
    expect(old.message).not.toContain(token);

    // Revoking the grant kills every token under it.
    await sut.revokeGrant(outgoingGrant.continue!);
    const revoked = await caught(sut.getOutgoingPayment(first.id, rotated.value));
    expect(revoked).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    expect(code(revoked)).toBe(INVALID_TOKEN);
    expect(JSON.stringify(revoked.details)).not.toContain(rotated.value);
    const rotateAfterRevoke = await caught(sut.rotateToken(rotated));
    expect(rotateAfterRevoke.kind).toBe('rejected');

    const balances = await sandbox.ase.balances();
    expect(balances.bob).toBe(2500n);
  });

  it('continuing before the person decided is retryable grant_pending with the AS wait', async () => {
    const pending = (await sut.requestGrant(alice.authServer, {
      access: [{ type: 'outgoing-payment', actions: ['create'], identifier: alice.id, limits: { debitAmount: { value: '100', assetCode: 'EUR', assetScale: 2 } } }],
      interact: { finishUri: FINISH_URI, nonce: randomUUID() },
    })) as PendingGrant;
    const err = await caught(sut.continueGrant(pending.continue));
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true, details: { retryAfterMs: (pending.continue.waitSeconds ?? 0) * 1000 } });
    expect(code(err)).toBe(GRANT_PENDING);
  });

  it('a denied consent makes the continuation refused for good (404 invalid_continuation, as Rafiki)', async () => {
    const clientNonce = randomUUID();
    const pending = (await sut.requestGrant(alice.authServer, {
      access: [{ type: 'outgoing-payment', actions: ['create'], identifier: alice.id, limits: { debitAmount: { value: '100', assetCode: 'EUR', assetScale: 2 } } }],
      interact: { finishUri: FINISH_URI, nonce: clientNonce },
    })) as PendingGrant;
    const decided = await decideOnConsentPage(pending.interactRedirect, 'deny');
    expect(new URL(decided.location!).searchParams.get('result')).toBe('grant_rejected');
    const err = await caught(sut.continueGrant(pending.continue, 'made-up-ref'));
    expect(err).toMatchObject({ kind: 'not_found', details: { httpStatus: 404 } });
    expect(code(err)).toBe('invalid_continuation');
    expect(isContinuationRefused(err)).toBe(true);
  });
});

describe('errors', () => {
  it('400 too_fast on a continuation (Rafiki: sooner than `wait`) is retryable after a delay, not a refusal', async () => {
    const identity = loadIdentity({ walletAddress: 'http://127.0.0.1/clearway', keyId: 'k1', privateKeyPem: generateIdentityKey('k1').privateKeyPem });
    const tooFast: typeof fetch = async () =>
      new Response(JSON.stringify({ error: { code: 'too_fast', description: 'continued grant faster than "wait" period' } }), { status: 400, headers: { 'Content-Type': 'application/json' } });
    const stubbed = new OpenPaymentsHttpAdapter(identity, { fetch: tooFast, policy: { allowHttp: true, allowLoopback: true } });
    const err = await caught(stubbed.continueGrant({ uri: 'http://127.0.0.1/auth/t/continue/1', accessToken: 'C' }, 'ref'));
    expect(err).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 400, retryAfterMs: 5_000 } });
    expect(isContinuationRefused(err)).toBe(false);
  });

  it('a request tampered with after signing is rejected with 401 (not taken for a dead token)', async () => {
    const identity = loadIdentity(await registerClient('tamper'));
    const tampering: typeof fetch = (input, init) =>
      fetch(input, { ...init, body: typeof init?.body === 'string' ? init.body.replace('/bob', '/bOb') : init?.body });
    const tampered = new OpenPaymentsHttpAdapter(identity, { ...DEV, fetch: tampering });
    const err = await caught(tampered.requestGrant(bob.authServer, { access: [{ type: 'incoming-payment', actions: ['create'], identifier: bob.id }] }));
    expect(err).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    expect(code(err)).toBe('invalid_client');

    const grant = (await sut.requestGrant(bob.authServer, { access: [{ type: 'incoming-payment', actions: ['create'], identifier: bob.id }] })) as FinalizedGrant;
    const tamperingRs: typeof fetch = (input, init) =>
      fetch(input, { ...init, body: typeof init?.body === 'string' ? init.body.replace('"2500"', '"2501"') : init?.body });
    const sutTampered = new OpenPaymentsHttpAdapter(sutIdentity, { ...DEV, fetch: tamperingRs });
    const rsErr = await caught(sutTampered.createIncomingPayment(bob.resourceServer, grant.accessToken.value, { walletAddress: bob.id, incomingAmount: { value: '2500', assetCode: 'EUR', assetScale: 2 } }));
    expect(rsErr).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
    expect(code(rsErr)).not.toBe(INVALID_TOKEN);
  });

  it('a client whose key is not in its jwks is rejected', async () => {
    const registered = await registerClient('stranger');
    const other = generateIdentityKey('stranger-key');
    const stranger = new OpenPaymentsHttpAdapter(loadIdentity({ ...registered, privateKeyPem: other.privateKeyPem }), DEV);
    const err = await caught(stranger.requestGrant(bob.authServer, { access: [{ type: 'incoming-payment', actions: ['create'], identifier: bob.id }] }));
    expect(err).toMatchObject({ kind: 'rejected', details: { httpStatus: 401 } });
  });

  it('classifies rate limiting, outages and timeouts', async () => {
    sandbox.ase.setFaults({ rateLimitEvery: 1, retryAfterSeconds: 2 });
    const limited = await caught(sut.getWalletAddress(alice.id));
    expect(limited).toMatchObject({ kind: 'rate_limited', retryable: true, details: { httpStatus: 429, retryAfterMs: 2000 } });

    sandbox.ase.setFaults({ rateLimitEvery: 0, errorRate: 1 });
    expect(await caught(sut.requestGrant(alice.authServer, { access: [{ type: 'quote', actions: ['create'] }] }))).toMatchObject({ kind: 'unavailable', details: { httpStatus: 503 } });

    sandbox.ase.setFaults({ errorRate: 0, latencyMs: 500 });
    const impatient = new OpenPaymentsHttpAdapter(sutIdentity, { ...DEV, timeoutMs: 100 });
    const timedOut = await caught(impatient.getWalletAddress(alice.id));
    expect(timedOut).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('timed out') });
  });
});

describe('over https, the only scheme a real wallet serves', () => {
  let secure: TestAse;
  let client: { walletAddress: string; keyId: string; privateKeyPem: string };

  beforeAll(async () => {
    secure = await startTestAse({ https: true });
    const key = generateIdentityKey('clearway-tls-key');
    await secure.ase.registerWallet({ name: 'clearway', jwks: [key.publicJwk] });
    client = { walletAddress: `${secure.url}/clearway`, keyId: key.publicJwk.kid, privateKeyPem: key.privateKeyPem };
  });
  afterAll(async () => {
    await secure?.dispose();
  });

  it('trusts the wallet through the extra CA it is given: signed grants and resources work', async () => {
    expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const adapter = new OpenPaymentsHttpAdapter(loadIdentity(client), { ...DEV, extraCaPem: secure.ca!.pem });
    const bobTls = await adapter.getWalletAddress(`${secure.url}/bob`);
    expect(bobTls.authServer).toBe(`${secure.url}/auth/${DEFAULT_TENANT_ID}`);
    const grant = (await adapter.requestGrant(bobTls.authServer, { access: [{ type: 'incoming-payment', actions: ['create', 'complete'], identifier: bobTls.id }] })) as FinalizedGrant;
    const incoming = await adapter.createIncomingPayment(bobTls.resourceServer, grant.accessToken.value, { walletAddress: bobTls.id });
    expect(incoming.id.startsWith(`${secure.url}/incoming-payments/`)).toBe(true);
    expect((await adapter.completeIncomingPayment(incoming.id, grant.accessToken.value)).completed).toBe(true);
  });

  it('without that CA the certificate is not trusted: no request goes through (verification is never off)', async () => {
    const untrusting = new OpenPaymentsHttpAdapter(loadIdentity(client), DEV);
    expect(await caught(untrusting.getWalletAddress(`${secure.url}/bob`))).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('network error') });
    const otherCa = await createDevTls(['127.0.0.1']);
    const wrongCa = new OpenPaymentsHttpAdapter(loadIdentity(client), { ...DEV, extraCaPem: otherCa.caPem });
    expect(await caught(wrongCa.getWalletAddress(`${secure.url}/bob`))).toMatchObject({ kind: 'unavailable' });
  });
});
