import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * One place for every request Clearway sends to a URL a client (or a wallet) gave it: webhooks,
 * TPP notifications, and Open Payments wallets. Outside development a target must be https and
 * resolve to public addresses only: DNS is resolved, **every** resolved address is checked, and the
 * connection goes to the address that was checked (the check is the socket's `lookup`), so a DNS
 * answer that changes between check and connect (rebinding) cannot reach an internal address.
 * Redirects are never followed, response bodies are capped, and every request has a deadline.
 */
export interface OutboundPolicy {
  /** Plain http targets: development and tests only. */
  allowHttp: boolean;
  /** Loopback targets (127.0.0.0/8, ::1): development and tests only, where receivers run locally. */
  allowLoopback: boolean;
}

/** Production: https to public addresses, nothing else. */
export const STRICT_OUTBOUND_POLICY: OutboundPolicy = Object.freeze({ allowHttp: false, allowLoopback: false });

/** What an address is, when it is not a public unicast address. */
export type AddressRefusal =
  | 'not-an-ip'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared-address-space'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved';

const REFUSAL_TEXT: Record<AddressRefusal, string> = {
  'not-an-ip': 'not an IP address',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  'shared-address-space': 'a carrier-grade NAT (100.64.0.0/10) address',
  'link-local': 'a link-local address (169.254.0.0/16, fe80::/10: cloud metadata lives there)',
  'unique-local': 'a unique-local IPv6 address (fc00::/7)',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation or benchmarking address',
  reserved: 'a reserved address',
};

/** IANA special-purpose registries (IPv4 and IPv6), reduced to what may never be a webhook target. */
const RANGES: { cidr: string; refusal: AddressRefusal }[] = [
  { cidr: '0.0.0.0/8', refusal: 'unspecified' },
  { cidr: '10.0.0.0/8', refusal: 'private' },
  { cidr: '100.64.0.0/10', refusal: 'shared-address-space' },
  { cidr: '127.0.0.0/8', refusal: 'loopback' },
  { cidr: '169.254.0.0/16', refusal: 'link-local' },
  { cidr: '172.16.0.0/12', refusal: 'private' },
  { cidr: '192.0.0.0/24', refusal: 'reserved' },
  { cidr: '192.0.2.0/24', refusal: 'documentation' },
  { cidr: '192.88.99.0/24', refusal: 'reserved' },
  { cidr: '192.168.0.0/16', refusal: 'private' },
  { cidr: '198.18.0.0/15', refusal: 'documentation' },
  { cidr: '198.51.100.0/24', refusal: 'documentation' },
  { cidr: '203.0.113.0/24', refusal: 'documentation' },
  { cidr: '224.0.0.0/4', refusal: 'multicast' },
  { cidr: '255.255.255.255/32', refusal: 'broadcast' },
  { cidr: '240.0.0.0/4', refusal: 'reserved' },
  { cidr: '::/128', refusal: 'unspecified' },
  { cidr: '::1/128', refusal: 'loopback' },
  { cidr: '::/96', refusal: 'reserved' }, // IPv4-compatible (deprecated)
  { cidr: '64:ff9b:1::/48', refusal: 'reserved' }, // local-use NAT64
  { cidr: '100::/64', refusal: 'reserved' }, // discard-only
  { cidr: '2001::/23', refusal: 'reserved' }, // IETF protocol assignments, Teredo included
  { cidr: '2001:db8::/32', refusal: 'documentation' },
  { cidr: '2002::/16', refusal: 'reserved' }, // 6to4: tunnels to any IPv4 address
  { cidr: '3fff::/20', refusal: 'documentation' },
  { cidr: '5f00::/16', refusal: 'reserved' }, // SRv6 SIDs
  { cidr: 'fc00::/7', refusal: 'unique-local' },
  { cidr: 'fe80::/10', refusal: 'link-local' },
  { cidr: 'fec0::/10', refusal: 'reserved' }, // site-local (deprecated)
  { cidr: 'ff00::/8', refusal: 'multicast' },
];

/** Most specific range first, so 255.255.255.255 is "broadcast" rather than the 240.0.0.0/4 it sits in. */
const BLOCKS = RANGES.map(({ cidr, refusal }) => {
  const [network, bits] = cidr.split('/') as [string, string];
  const family = isIP(network) === 6 ? ('ipv6' as const) : ('ipv4' as const);
  const list = new BlockList();
  list.addSubnet(network, Number(bits), family);
  return { list, family, bits: Number(bits), refusal };
}).sort((a, b) => b.bits - a.bits);

/**
 * The IPv4 address an IPv6 address carries and will be delivered to: IPv4-mapped (`::ffff:a.b.c.d`)
 * and NAT64 (`64:ff9b::/96`). Checked as IPv4, so `::ffff:127.0.0.1` is loopback and
 * `64:ff9b::a9fe:a9fe` is the metadata address.
 */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!mapped && !nat64) return undefined;
  return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
}

/** Eight 16-bit groups, or undefined when not IPv6. Accepts a trailing dotted IPv4 and a zone id. */
function expandIpv6(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const zeros = tail === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  const groups = [...left, ...zeros, ...right];
  return groups.length === 8 ? groups : undefined;
}

/** `undefined` for a public unicast address, else why it is not one. */
export function classifyAddress(address: string): AddressRefusal | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'not-an-ip';
  const v4 = family === 6 ? embeddedIpv4(bare) : bare;
  const [checked, type] = v4 ? [v4, 'ipv4' as const] : [bare, 'ipv6' as const];
  return BLOCKS.find((b) => b.family === type && b.list.check(checked, type))?.refusal;
}

/** Why the policy refuses this address, or undefined when it may be reached. */
export function refusalFor(address: string, policy: OutboundPolicy): AddressRefusal | undefined {
  const refusal = classifyAddress(address);
  if (refusal === 'loopback' && policy.allowLoopback) return undefined;
  return refusal;
}

export type OutboundRefusalReason = 'invalid-url' | 'scheme' | 'credentials' | 'address' | 'dns';

/** A URL Clearway will not send to; `message` names why, without echoing secrets. */
export class OutboundUrlRefused extends Error {
  override readonly name = 'OutboundUrlRefused';
  constructor(
    readonly reason: OutboundRefusalReason,
    message: string,
    readonly address?: string,
    readonly addressRefusal?: AddressRefusal,
  ) {
    super(message);
  }
}

/**
 * What can be said about a URL without the network: absolute http(s) (https unless the policy
 * allows http), no user-info, and, when the host is an IP literal, an allowed address.
 */
export function parseOutboundUrl(raw: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundUrlRefused('invalid-url', 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new OutboundUrlRefused('scheme', policy.allowHttp ? 'must be an http(s) URL' : 'must be an https URL');
  }
  if (url.username || url.password) throw new OutboundUrlRefused('credentials', 'must not contain user name or password');
  const host = hostOf(url);
  if (isIP(host)) refuseAddress(host, policy);
  else if (!policy.allowLoopback && (host === 'localhost' || host.endsWith('.localhost'))) {
    throw new OutboundUrlRefused('address', 'must not point at localhost', host, 'loopback');
  }
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function refuseAddress(address: string, policy: OutboundPolicy): void {
  const refusal = refusalFor(address, policy);
  if (refusal) throw new OutboundUrlRefused('address', `resolves to ${REFUSAL_TEXT[refusal]}`, address, refusal);
}

/** How a host name becomes addresses; tests hand in their own to play DNS. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Resolves a host and checks every address it has; the first allowed one is where to connect. */
export async function resolveAllowed(hostname: string, policy: OutboundPolicy, resolve: Resolver = systemResolver): Promise<LookupAddress[]> {
  if (isIP(hostname)) {
    refuseAddress(hostname, policy);
    return [{ address: hostname, family: isIP(hostname) }];
  }
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(hostname);
  } catch (err) {
    throw new OutboundUrlRefused('dns', `host ${hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!addresses.length) throw new OutboundUrlRefused('dns', `host ${hostname} has no addresses`);
  // Every address, not just the first: a host with one public and one internal address is refused.
  for (const { address } of addresses) refuseAddress(address, policy);
  return addresses;
}

/** Parses, resolves and checks a URL: what endpoint registration runs before storing one. */
export async function checkOutboundUrl(raw: string, policy: OutboundPolicy, resolve?: Resolver): Promise<URL> {
  const url = parseOutboundUrl(raw, policy);
  await resolveAllowed(hostOf(url), policy, resolve);
  return url;
}

/**
 * A socket `lookup` that only ever hands out checked addresses: given to http(s).request (or an
 * Agent, or undici's `connect.lookup`), the connection goes exactly where the check looked.
 */
export function pinnedLookup(policy: OutboundPolicy, resolve?: Resolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolveAllowed(hostname, policy, resolve).then(
      (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family)),
      (err) => callback(err),
    );
  }) as LookupFunction;
}

export interface OutboundRequest {
  url: string;
  method: 'POST' | 'GET' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  policy: OutboundPolicy;
  /** The whole exchange (DNS, connect, TLS, headers, body) must finish within this. */
  timeoutMs: number;
  /** The response body is read up to this many bytes; the rest is discarded. */
  maxResponseBytes: number;
  /** Keep-alive agents for a hot path; one per scheme. */
  agents?: { http?: HttpAgent; https?: HttpsAgent };
  resolve?: Resolver;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body was longer than maxResponseBytes and was cut. */
  truncated: boolean;
  latencyMs: number;
}

/** A network failure or the deadline, after the URL passed its checks. */
export class OutboundRequestFailed extends Error {
  override readonly name = 'OutboundRequestFailed';
  constructor(
    readonly kind: 'timeout' | 'network',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One request to a checked target. Redirects are answered as they are (a 3xx is the response),
 * never followed. Throws OutboundUrlRefused before any connection for a refused URL or address.
 */
export async function outboundRequest(req: OutboundRequest): Promise<OutboundResponse> {
  const url = parseOutboundUrl(req.url, req.policy);
  const started = performance.now();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = url.protocol === 'https:' ? req.agents?.https : req.agents?.http;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      fn();
    };
    const request = send(
      url,
      {
        method: req.method,
        headers: { ...req.headers, ...(req.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(req.body)) } : {}) },
        lookup: pinnedLookup(req.policy, req.resolve),
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          const room = req.maxResponseBytes - size;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            size += room;
            truncated = true;
            // Enough read: stop the transfer rather than drain an endless body.
            res.destroy();
            done();
            return;
          }
          chunks.push(chunk);
          size += chunk.length;
        });
        const done = () =>
          finish(() =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated, latencyMs: Math.round(performance.now() - started) }),
          );
        res.on('end', done);
        res.on('error', (err) => finish(() => reject(new OutboundRequestFailed('network', err.message))));
      },
    );
    const deadline = setTimeout(() => {
      finish(() => reject(new OutboundRequestFailed('timeout', `no complete answer within ${req.timeoutMs} ms`)));
      request.destroy();
    }, req.timeoutMs);
    request.on('error', (err) =>
      finish(() => reject(err instanceof OutboundUrlRefused ? err : new OutboundRequestFailed('network', (err as NodeJS.ErrnoException).code ?? err.message))),
    );
    request.end(req.body);
  });
}
