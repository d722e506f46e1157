/**
 * Interledger Open Payments sandbox ASE (account servicing entity): wallet address server, GNAP
 * authorization server and resource server on one HTTP server, money in PostgreSQL. Customers
 * develop against it with the official `@interledger/open-payments` client (use `useHttp: true`
 * for the plain-http dev default). See `README.md` in this folder.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { OpenPaymentsSandboxAse } from './ase';
import type { OpenPaymentsSandboxOptions } from './config';
import { buildOpenPaymentsApp } from './routes';

export { OpenPaymentsSandboxAse, DEFAULT_SCHEMA } from './ase';
export { openPaymentsOptionsFromEnv, DEFAULT_TENANT_ID, DEFAULT_WALLETS } from './config';
export type { OpenPaymentsSandboxOptions, SandboxWalletSeed, KnownClient } from './config';
export { contentDigest, signRequest, verifyContentDigest, verifyRequestSignature } from '../../../libs/security/http-signatures';
export type { Ed25519Jwk } from '../../../libs/security/http-signatures';

export interface RunningOpenPaymentsSandbox {
  /** Base URL, e.g. http://127.0.0.1:3002; wallets are `${url}/alice`, the AS `${url}/auth/{tenantId}`. */
  url: string;
  /** In-process handle: clock, faults, wallets, balances, autoApprove, settlePending. */
  ase: OpenPaymentsSandboxAse;
  close(): Promise<void>;
}

/** Migrates its schema, seeds the wallets and listens. */
export async function startOpenPaymentsSandbox(
  opts: OpenPaymentsSandboxOptions & { port?: number /* 0 = ephemeral */; host?: string; logger?: Logger },
): Promise<RunningOpenPaymentsSandbox> {
  const { port = 0, host = '127.0.0.1', logger, ...options } = opts;
  const ase = await OpenPaymentsSandboxAse.open(options);
  const app = buildOpenPaymentsApp(ase, logger);
  const server = app.listen(port, host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await ase.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const reachable = wildcard ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  const hostForUrl = reachable.includes(':') ? `[${reachable}]` : reachable;
  ase.setDefaultBaseUrl(`http://${hostForUrl}:${address.port}`);
  return {
    url: ase.url,
    ase,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      await ase.close();
    },
  };
}
