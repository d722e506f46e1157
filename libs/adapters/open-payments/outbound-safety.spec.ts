/**
 * Every URL a wallet returns (authServer, resourceServer, continue.uri, manage, payment ids,
 * interaction URLs) is an outbound target like a user-given one: checked on every call, after DNS,
 * before any byte leaves; and no answer is read beyond its cap.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BankError } from '../bank-adapter';
import type { OutboundPolicy, Resolver } from '../../security/outbound-url';
import { generateIdentityKey, loadIdentity, OpenPaymentsHttpAdapter, OUTBOUND_URL_REFUSED, type OpenPaymentsClientOptions } from '.';

const identity = loadIdentity({ walletAddress: 'https://clearway.example/clearway', keyId: 'k1', privateKeyPem: generateIdentityKey('k1').privateKeyPem });
const PRODUCTION: OutboundPolicy = { allowHttp: false, allowLoopback: false };
const DEV: OutboundPolicy = { allowHttp: true, allowLoopback: true };

/** DNS as the tests want it: wallet.example is public, evil.example points inside. */
const resolve: Resolver = async (host) => {
  const table: Record<string, string> = { 'wallet.example': '93.184.215.14', 'evil.example': '192.168.1.20', 'cgnat.example': '100.64.3.4', 'ula.example': 'fd12:3456::1' };
  if (!table[host]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address: table[host]!, family: table[host]!.includes(':') ? 6 : 4 }];
};

/** A wallet played by an injected fetch: records what was really sent. */
function stubWallet(answer: (url: string) => unknown) {
  const calls: string[] = [];
  const fetchStub: typeof fetch = async (input) => {
    calls.push(String(input));
    return new Response(JSON.stringify(answer(String(input))), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return { calls, fetch: fetchStub };
}

async function refusal(promise: Promise<unknown>): Promise<BankError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BankError);
  const bankError = err as BankError;
  expect(bankError).toMatchObject({ kind: 'protocol', retryable: false });
  expect(bankError.details.messages?.[0]?.code).toBe(OUTBOUND_URL_REFUSED);
  return bankError;
}

function adapter(opts: OpenPaymentsClientOptions) {
  return new OpenPaymentsHttpAdapter(identity, { resolve, ...opts });
}

describe('wallet-returned URLs (production policy)', () => {
  const walletAnswer = (authServer: string, resourceServer: string) => ({
    id: 'https://wallet.example/alice',
    publicName: 'Alice',
    assetCode: 'EUR',
    assetScale: 2,
    authServer,
    resourceServer,
  });

  it.each([
    ['the metadata address', 'https://169.254.169.254/latest/meta-data', 'link-local'],
    ['an IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/auth', 'loopback'],
    ['an IPv4-mapped metadata address', 'https://[::ffff:a9fe:a9fe]/auth', 'link-local'],
    ['a host that resolves to a private address', 'https://evil.example/auth', 'private'],
    ['a host that resolves to CGNAT', 'https://cgnat.example/auth', 'shared-address-space'],
    ['a host that resolves to unique-local IPv6', 'https://ula.example/auth', 'unique-local'],
    ['plain http', 'http://wallet.example/auth', undefined],
  ])('authServer at %s: no grant request is sent', async (_label, authServer, addressRefusal) => {
    const wallet = stubWallet(() => walletAnswer(authServer, 'https://wallet.example'));
    const sut = adapter({ policy: PRODUCTION, fetch: wallet.fetch });
    const address = await sut.getWalletAddress('https://wallet.example/alice');
    expect(address.authServer).toBe(authServer);
    const err = await refusal(sut.requestGrant(address.authServer, { access: [{ type: 'quote', actions: ['create'] }] }));
    expect(err.message).toMatch(addressRefusal ? /resolves to/ : /https/);
    expect(wallet.calls).toEqual(['https://wallet.example/alice']);
  });

  it('a private resourceServer: no incoming payment, quote or outgoing payment request is sent', async () => {
    const wallet = stubWallet(() => walletAnswer('https://wallet.example/auth', 'https://10.1.2.3/rs'));
    const sut = adapter({ policy: PRODUCTION, fetch: wallet.fetch });
    const { resourceServer } = await sut.getWalletAddress('https://wallet.example/alice');
    await refusal(sut.createIncomingPayment(resourceServer, 'tok', { walletAddress: 'https://wallet.example/alice' }));
    await refusal(sut.createQuote(resourceServer, 'tok', { walletAddress: 'https://wallet.example/alice', receiver: 'https://wallet.example/bob/incoming-payments/1' }));
    await refusal(sut.createOutgoingPayment(resourceServer, 'tok', { walletAddress: 'https://wallet.example/alice', quoteId: 'q' }, 'key'));
    await refusal(sut.listOutgoingPayments(resourceServer, 'tok', { walletAddress: 'https://wallet.example/alice', first: 10 }));
    expect(wallet.calls).toHaveLength(1);
  });

  it('continue.uri, manage, interaction URL and payment ids from the wallet are checked too', async () => {
    const wallet = stubWallet((url) =>
      url.endsWith('/auth')
        ? {
            interact: { redirect: 'http://wallet.example/interact', finish: 'n' },
            continue: { uri: 'https://169.254.169.254/continue', access_token: { value: 'ct' }, wait: 1 },
          }
        : {},
    );
    const sut = adapter({ policy: PRODUCTION, fetch: wallet.fetch });
    // An interaction URL a browser would be sent to over plain http is refused.
    const interaction = await refusal(
      sut.requestGrant('https://wallet.example/auth', { access: [{ type: 'quote', actions: ['create'] }], interact: { finishUri: 'https://clearway.example/finish', nonce: 'n' } }),
    );
    expect(interaction.message).toMatch(/interaction URL/);
    await refusal(sut.continueGrant({ uri: 'https://169.254.169.254/continue', accessToken: 'ct' }));
    await refusal(sut.revokeGrant({ uri: 'https://[::ffff:10.0.0.1]/continue', accessToken: 'ct' }));
    await refusal(sut.rotateToken({ value: 't', manage: 'https://evil.example/token/1' }));
    await refusal(sut.getOutgoingPayment('https://[fd00::1]/outgoing-payments/1', 't'));
    await refusal(sut.getIncomingPayment('https://100.100.100.100/incoming-payments/1', 't'));
    await refusal(sut.completeIncomingPayment('https://127.0.0.1/incoming-payments/1', 't'));
    expect(wallet.calls).toEqual(['https://wallet.example/auth']);
  });
});

describe('over the real transport (pinned to the checked address)', () => {
  let server: Server;
  let base: string;
  let hits: string[];
  let bodyBytes: number;

  beforeAll(async () => {
    hits = [];
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/big') {
        // An endless-looking answer: 2 MiB of JSON string, streamed.
        res.write('{"id":"');
        const chunk = 'x'.repeat(64 * 1024);
        for (let i = 0; i < bodyBytes / chunk.length; i++) res.write(chunk);
        res.end('"}');
        return;
      }
      res.end(JSON.stringify({ id: `${base}/alice`, assetCode: 'EUR', assetScale: 2, authServer: 'http://169.254.169.254/latest', resourceServer: `http://[::ffff:127.0.0.1]:${(server.address() as AddressInfo).port}/rs` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    hits = [];
    bodyBytes = 2 * 1024 * 1024;
  });

  it('even in development, the metadata address is refused', async () => {
    const sut = adapter({ policy: DEV });
    const address = await sut.getWalletAddress(`${base}/alice`);
    const err = await refusal(sut.requestGrant(address.authServer, { access: [{ type: 'quote', actions: ['create'] }] }));
    expect(err.message).toMatch(/link-local/);
  });

  it('an IPv4-mapped loopback resourceServer is refused without a connection where loopback is not allowed', async () => {
    const dev = adapter({ policy: DEV });
    const { resourceServer } = await dev.getWalletAddress(`${base}/alice`);
    hits = [];
    // The server really listens there: had the check not held, it would have been hit.
    const sut = adapter({ policy: { allowHttp: true, allowLoopback: false } });
    await refusal(sut.createIncomingPayment(resourceServer, 'tok', { walletAddress: `${base}/alice` }));
    expect(hits).toEqual([]);
  });

  it('an oversized body is refused, not read whole', async () => {
    const sut = adapter({ policy: DEV, maxResponseBytes: 256 * 1024 });
    const err = await sut.getWalletAddress(`${base}/big`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BankError);
    expect(err).toMatchObject({ kind: 'protocol', message: expect.stringContaining('larger than 262144 bytes') });
    // Under the cap the same answer is read (and then refused as a wallet address for its shape, not its size).
    bodyBytes = 64 * 1024;
    const small = await sut.getWalletAddress(`${base}/big`).catch((e: unknown) => e);
    expect((small as Error).message).not.toContain('larger than');
  });

  it('an oversized body through an injected fetch is refused too', async () => {
    const huge: typeof fetch = async () => new Response('x'.repeat(300_000), { status: 200 });
    const sut = adapter({ policy: DEV, fetch: huge, maxResponseBytes: 100_000 });
    expect(await sut.getWalletAddress(`${base}/alice`).catch((e: unknown) => e)).toMatchObject({ kind: 'protocol', message: expect.stringContaining('larger than') });
  });
});
