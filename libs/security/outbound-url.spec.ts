import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  STRICT_OUTBOUND_POLICY,
  OutboundRequestFailed,
  OutboundUrlRefused,
  checkOutboundUrl,
  classifyAddress,
  outboundRequest,
  parseOutboundUrl,
  type AddressRefusal,
  type OutboundPolicy,
  type Resolver,
} from './outbound-url';

const DEV: OutboundPolicy = { allowHttp: true, allowLoopback: true };

describe('classifyAddress', () => {
  it.each<[string, AddressRefusal | undefined]>([
    // public
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.1', undefined],
    ['100.63.255.255', undefined],
    ['100.128.0.1', undefined],
    ['2606:4700:4700::1111', undefined],
    ['2a00:1450:4001:82a::200e', undefined],
    ['64:ff9b::808:808', undefined], // NAT64 of 8.8.8.8
    ['::ffff:8.8.8.8', undefined],
    // unspecified and loopback
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    // RFC 1918 and CGNAT
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared-address-space'],
    ['100.127.255.255', 'shared-address-space'],
    // link-local, cloud metadata
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    // IPv4-mapped and NAT64 carry the IPv4 verdict
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::7f00:1', 'loopback'],
    // unique-local by address, whatever the spelling
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['FD00::1', 'unique-local'],
    // multicast, broadcast, reserved, documentation
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['2001::1', 'reserved'], // Teredo
    ['2002:7f00:1::1', 'reserved'], // 6to4 of 127.0.0.1
    ['::127.0.0.1', 'reserved'], // IPv4-compatible
    ['fec0::1', 'reserved'],
    ['64:ff9b:1::1', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.7', 'documentation'],
    ['198.18.0.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    // not addresses
    ['example.com', 'not-an-ip'],
    ['fcexample.com', 'not-an-ip'],
  ])('%s → %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('parseOutboundUrl', () => {
  it.each([
    ['http://example.com/hook', STRICT_OUTBOUND_POLICY, 'scheme'],
    ['ftp://example.com/hook', DEV, 'scheme'],
    ['not a url', DEV, 'invalid-url'],
    ['https://user:pw@example.com/', STRICT_OUTBOUND_POLICY, 'credentials'],
    ['https://127.0.0.1/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://2130706433/hook', STRICT_OUTBOUND_POLICY, 'address'], // decimal 127.0.0.1
    ['https://0x7f.1/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://[::ffff:127.0.0.1]/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://[fd00::1]/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://169.254.169.254/latest/meta-data', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://localhost/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['https://a.localhost/hook', STRICT_OUTBOUND_POLICY, 'address'],
    ['http://10.0.0.1/hook', DEV, 'address'], // dev allows loopback, never private
  ])('%s is refused (%s)', (raw, policy, reason) => {
    expect(() => parseOutboundUrl(raw, policy as OutboundPolicy)).toThrow(expect.objectContaining({ reason }));
  });

  it.each([
    ['https://hooks.example.com/clearway', STRICT_OUTBOUND_POLICY],
    ['https://fcexample.com/hook', STRICT_OUTBOUND_POLICY], // a host name starting with fc is not an address
    ['https://fd.example.org/hook', STRICT_OUTBOUND_POLICY],
    ['http://127.0.0.1:8080/hook', DEV],
    ['http://[::1]:8080/hook', DEV],
  ])('%s is accepted', (raw, policy) => {
    expect(parseOutboundUrl(raw, policy).href).toBe(new URL(raw).href);
  });
});

describe('checkOutboundUrl resolves and checks every address', () => {
  const dns = (answers: Record<string, string[]>): Resolver => async (host) => {
    const list = answers[host];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  it('accepts a host whose addresses are all public', async () => {
    await expect(checkOutboundUrl('https://hooks.example.com/x', STRICT_OUTBOUND_POLICY, dns({ 'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] }))).resolves.toBeInstanceOf(URL);
  });

  it.each([
    ['one internal address among public ones', ['93.184.215.14', '10.0.0.5'], 'private'],
    ['the metadata address', ['169.254.169.254'], 'link-local'],
    ['an IPv4-mapped loopback', ['::ffff:127.0.0.1'], 'loopback'],
    ['a unique-local IPv6 address', ['fd00:ec2::254'], 'unique-local'],
    ['a CGNAT address', ['100.100.100.200'], 'shared-address-space'],
  ])('refuses a host with %s', async (_what, addresses, refusal) => {
    await expect(checkOutboundUrl('https://evil.example/x', STRICT_OUTBOUND_POLICY, dns({ 'evil.example': addresses }))).rejects.toMatchObject({
      reason: 'address',
      addressRefusal: refusal,
    });
  });

  it('refuses a host that does not resolve', async () => {
    await expect(checkOutboundUrl('https://nowhere.example/x', STRICT_OUTBOUND_POLICY, dns({}))).rejects.toMatchObject({ reason: 'dns' });
  });
});

describe('outboundRequest', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/redirect') return res.writeHead(302, { Location: '/landing' }).end();
      if (req.url === '/big') {
        res.writeHead(200);
        for (let i = 0; i < 100; i++) res.write('x'.repeat(10_000));
        return res.end();
      }
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 2_000);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`echo:${body}`));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const send = (path: string, extra: Partial<Parameters<typeof outboundRequest>[0]> = {}) =>
    outboundRequest({ url: `${base}${path}`, method: 'POST', body: 'hi', policy: DEV, timeoutMs: 1_000, maxResponseBytes: 1_024, ...extra });

  it('sends the body and reads the answer', async () => {
    const res = await send('/echo');
    expect(res).toMatchObject({ status: 200, truncated: false });
    expect(res.body.toString()).toBe('echo:hi');
  });

  it('answers a redirect as it is, without following it', async () => {
    hits.length = 0;
    const res = await send('/redirect');
    expect(res.status).toBe(302);
    expect(hits).toEqual(['/redirect']);
  });

  it('caps the response body', async () => {
    const res = await send('/big');
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(1_024);
  });

  it('gives up at the deadline', async () => {
    await expect(send('/slow', { timeoutMs: 200 })).rejects.toEqual(expect.objectContaining({ kind: 'timeout' }));
  });

  it('never connects to a refused address, even when DNS changes its answer after the check', async () => {
    hits.length = 0;
    // First answer public, then loopback: a rebinding attacker's DNS. The connection's own lookup is
    // the check, so there is no second resolution to exploit.
    let calls = 0;
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    const port = (server.address() as AddressInfo).port;
    await checkOutboundUrl(`http://rebind.example:${port}/echo`, { allowHttp: true, allowLoopback: false }, rebinding);
    await expect(
      outboundRequest({ url: `http://rebind.example:${port}/echo`, method: 'POST', policy: { allowHttp: true, allowLoopback: false }, timeoutMs: 1_000, maxResponseBytes: 100, resolve: rebinding }),
    ).rejects.toBeInstanceOf(OutboundUrlRefused);
    expect(hits).toEqual([]);
  });

  it('reports a refused connection as a network failure', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(outboundRequest({ url: `http://127.0.0.1:${port}/`, method: 'POST', policy: DEV, timeoutMs: 1_000, maxResponseBytes: 10 })).rejects.toBeInstanceOf(
      OutboundRequestFailed,
    );
  });
});
