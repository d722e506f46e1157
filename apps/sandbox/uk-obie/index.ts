/**
 * UK Open Banking (OBIE Read/Write 3.1.11, DCR 3.3, FAPI) sandbox ASPSP, BIC `SANDGB2LXXX`: an
 * authorisation server (discovery, DCR, private_key_jwt token endpoint, hybrid-flow authorisation
 * page with a signed request object) and the PIS/AIS resource server under `/open-banking/v3.1`,
 * with a sandbox software-statement issuer standing in for the Open Banking Directory. Strict by
 * default: signatures, idempotency for 24 h, Stripe's reference rules. State is in memory.
 * Scenarios: see `resources.ts` (amounts) and `accounts.ts` (test users); docs/uk-open-banking.md.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { JWK } from 'jose';
import { buildAuthServerRouter, issueSoftwareStatement } from './auth-server';
import { buildResourceRouter } from './resources';
import { UkSandboxState } from './state';

export { RS_PREFIX } from './resources';
export { DIRECTORY_ISSUER, TRUST_ANCHOR, halfHash } from './auth-server';
export { SANDBOX_UK_PSUS } from './accounts';
export type { UkSandboxState } from './state';

/** The sandbox bank's org id at the (sandbox) directory: the `aud` of registration requests (DCR 3.3: base62, ≤ 18 characters). */
export const SANDBOX_UK_ORG_ID = '0015800001SandUK1';

export interface UkObieSandboxOptions {
  port?: number;
  host?: string;
  /** Where TPPs and browsers reach it, when not where it listens. */
  publicUrl?: string;
  now?: () => number;
  /**
   * Serve over https asking every client for a certificate (mTLS): `tls_client_auth` is offered to
   * clients with a certificate from `clientCaPem`, and their tokens are bound to it. Without: http,
   * `private_key_jwt` only. The PSU's browser needs no certificate.
   */
  tls?: { certPem: string; keyPem: string; clientCaPem: string };
}

export interface RunningUkObieSandbox {
  /** e.g. http://127.0.0.1:3003: the issuer, and the ASPSP base URL Clearway is configured with. */
  url: string;
  state: UkSandboxState;
  /** The directory's side: a software statement for a TPP's keys and redirect URIs. */
  issueSoftwareStatement(s: { softwareId: string; orgId: string; jwks: { keys: JWK[] }; redirectUris: string[]; roles?: string[]; expiresInS?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startUkObieSandbox(opts: UkObieSandboxOptions = {}): Promise<RunningUkObieSandbox> {
  const { port = 0, host = '127.0.0.1' } = opts;
  const state = await UkSandboxState.create(opts.now);
  let issuer = opts.publicUrl?.replace(/\/$/, '') ?? '';
  const ctx = { state, issuer: () => issuer, orgId: SANDBOX_UK_ORG_ID, mtls: Boolean(opts.tls) };
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => void res.json({ status: 'up' }));
  app.use(buildAuthServerRouter(ctx));
  app.use(buildResourceRouter(ctx));
  app.use((req, res) => void res.status(404).json({ Code: '404 Not Found', Message: `No route ${req.method} ${req.path}`, Errors: [{ ErrorCode: 'UK.OBIE.NotFound', Message: 'No such resource' }] }));
  const server = opts.tls
    ? https
        .createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem, ca: [opts.tls.clientCaPem], requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, app)
        .listen(port, host)
    : app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const reachable = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const url = `${opts.tls ? 'https' : 'http'}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${address.port}`;
  if (!issuer) issuer = url;
  return {
    url: issuer,
    state,
    issueSoftwareStatement: (s) => issueSoftwareStatement(state, { roles: ['PISP', 'AISP'], ...s }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
