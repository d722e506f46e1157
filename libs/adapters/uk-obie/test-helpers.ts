import { exportJWK, generateKeyPair } from 'jose';
import type { RunningUkObieSandbox } from '../../../apps/sandbox/uk-obie';
import { SANDBOX_UK_ORG_ID } from '../../../apps/sandbox/uk-obie';
import type { BankConnection } from '../bank-adapter';
import type { BankTls } from '../bank-tls';
import { UkObieAdapter, type UkRegistrationStore, type UkTppIdentity } from './index';

export const TEST_REDIRECT_URI = 'https://clearway.example/callbacks/oauth';

export async function testIdentity(overrides: Partial<UkTppIdentity> = {}): Promise<UkTppIdentity> {
  const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
  const kid = overrides.kid ?? 'test-kid-1';
  return {
    orgId: 'test-org',
    softwareId: 'test-software',
    signingKey: privateKey,
    kid,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'PS256', use: 'sig' },
    redirectUri: TEST_REDIRECT_URI,
    trustAnchor: 'openbanking.org.uk',
    ...overrides,
  };
}

export function memoryRegistrations(): UkRegistrationStore & { rows: Map<string, string> } {
  const rows = new Map<string, string>();
  return {
    rows,
    find: async (bic, base) => rows.get(`${bic}|${base}`),
    save: async (bic, base, id) => {
      const k = `${bic}|${base}`;
      if (!rows.has(k)) rows.set(k, id);
      return rows.get(k)!;
    },
    forget: async (bic, base, id) => {
      if (rows.get(`${bic}|${base}`) === id) rows.delete(`${bic}|${base}`);
    },
  };
}

/** The adapter as the worker builds it, against a sandbox, with its directory issuing our statement. */
export function adapterFor(sandbox: RunningUkObieSandbox, identity: UkTppIdentity, opts: { fetch?: typeof fetch; tls?: BankTls; clientCertificateRef?: string } = {}) {
  const registrations = memoryRegistrations();
  const adapter = new UkObieAdapter({
    identity: async () => identity,
    registrations,
    profileFor: () => ({ orgId: SANDBOX_UK_ORG_ID, jwsProfile: '3.1.4+', trustAnchors: ['openbanking.org.uk'] }),
    softwareStatementFor: async (_conn, id) =>
      sandbox.issueSoftwareStatement({ softwareId: id.softwareId, orgId: id.orgId, jwks: { keys: [id.publicJwk] }, redirectUris: [id.redirectUri] }),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  const conn: BankConnection = { bicFi: 'SANDGB2LXXX', baseUrl: sandbox.url, ...(opts.clientCertificateRef ? { clientCertificateRef: opts.clientCertificateRef } : {}) };
  return { adapter, conn, registrations };
}

/**
 * Drives the sandbox's authorisation page with plain HTTP form posts, as a browser would:
 * returns the redirect's fragment parameters (code, id_token, state, or error).
 */
export async function authoriseAtSandbox(
  authUrl: string,
  decision: 'approve' | 'deny',
  opts: { username?: string; password?: string; accounts?: string[] } = {},
): Promise<Record<string, string>> {
  const page = await fetch(authUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`authorisation page: ${page.status} ${html}`);
  const ticket = /name="ticket" value="([^"]+)"/.exec(html)?.[1];
  if (!ticket) throw new Error('no ticket on the authorisation page');
  const username = opts.username ?? 'rora';
  const form = new URLSearchParams({ ticket, decision, username, password: opts.password ?? `${username}.` });
  for (const a of opts.accounts ?? [`${username}-1`]) form.append('account', a);
  const res = await fetch(new URL('authorize', authUrl), { method: 'POST', body: form, redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`authorisation decision: ${res.status} ${await res.text()}`);
  return Object.fromEntries(new URLSearchParams(new URL(location).hash.slice(1)));
}
