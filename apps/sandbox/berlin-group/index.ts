/**
 * Berlin Group NextGenPSD2 1.3.12 sandbox ASPSP (single payments and account information): a
 * product feature, like a payment provider's test mode. Our Berlin Group adapter talks to it exactly
 * as to a real bank. Scenarios and status sequences are documented in `bank.ts` (PIS) and
 * `ais/consents.ts` (AIS).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AisSandboxBank } from './ais/consents';
import type { BerlinGroupSandboxBank } from './bank';
import { buildBerlinGroupSandboxRouter, type BerlinGroupSandboxRouterOptions } from './routes';
import type { BulkPaymentsSandboxBank } from './bulk-payments';
export { BulkPaymentsSandboxBank } from './bulk-payments';

export { BerlinGroupSandboxBank } from './bank';
export type {
  BerlinGroupSandboxOptions,
  PaymentStats,
  SandboxPaymentView,
  SandboxScaApproach,
  SandboxStats,
} from './bank';
export type { SandboxFaults } from './faults';
export { SandboxErrorCode, SANDBOX_ERROR_HTTP } from './errors';
export { AisSandboxBank, SANDBOX_OTP, WRONG_PASSWORD, MAX_CONSENT_DAYS } from './ais/consents';
export type { AisSandboxOptions, AisStats, ConsentStats, SandboxConsentView } from './ais/consents';
export { accountsOf as sandboxAccountsOf, DEFAULT_PSU_ID } from './ais/accounts';
export type { BerlinGroupSandboxRouterOptions } from './routes';

/** Where the sandbox is mounted on its server. */
export const BERLIN_GROUP_SANDBOX_MOUNT = '/berlin-group';

export interface RunningBerlinGroupSandbox {
  /** e.g. http://127.0.0.1:3001/berlin-group — the BankConnection.baseUrl; API paths are `${url}/v1/payments/...`. */
  url: string;
  /** In-process handle: setFaults(partial), resetFaults(), stats(), payment lookup. */
  bank: BerlinGroupSandboxBank;
  /** AIS in-process handle: revokeConsent(id), setClock/advanceClock/resetClock, stats(), accountsOf(psuId). */
  ais: AisSandboxBank;
  /** Bulk payments of SANDDEB0XXX: stats(), getBulk(id), findBulksByRequestId(requestId). */
  bulk: BulkPaymentsSandboxBank;
  /** The second bank, SANDNL2AXXX (no bulk payments), at `${url}/nl`. */
  nl: { url: string; bank: BerlinGroupSandboxBank };
  close(): Promise<void>;
}

/** The router to mount under `/berlin-group` in an existing express app. */
export function createBerlinGroupSandboxRouter(opts: BerlinGroupSandboxRouterOptions = {}): {
  router: express.Router;
  bank: BerlinGroupSandboxBank;
  ais: AisSandboxBank;
} {
  const { router, bank, ais } = buildBerlinGroupSandboxRouter(opts);
  return { router, bank, ais };
}

/** Starts a standalone HTTP server with the sandbox mounted under `/berlin-group`. */
export async function startBerlinGroupSandbox(
  opts: BerlinGroupSandboxRouterOptions & { port?: number /* 0 = ephemeral */; host?: string } = {},
): Promise<RunningBerlinGroupSandbox> {
  const { port = 0, host = '127.0.0.1', ...options } = opts;
  const sandbox = buildBerlinGroupSandboxRouter(options);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/health', (_req, res) => void res.json({ status: 'up' }));
  app.use(BERLIN_GROUP_SANDBOX_MOUNT, sandbox.router);
  app.use((req, res) => {
    res.status(404).json({
      tppMessages: [{ category: 'ERROR', code: 'RESOURCE_UNKNOWN', text: `No route ${req.method} ${req.path}` }],
    });
  });

  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  // Bound to every interface: report loopback, and build links from each request's Host header.
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const reachable = wildcard ? (address.family === 'IPv6' ? '::1' : '127.0.0.1') : address.address;
  const hostForUrl = reachable.includes(':') ? `[${reachable}]` : reachable;
  const url = `http://${hostForUrl}:${address.port}${BERLIN_GROUP_SANDBOX_MOUNT}`;
  if (!wildcard) sandbox.setDefaultPublicUrl(url);

  return {
    url,
    bank: sandbox.bank,
    ais: sandbox.ais,
    bulk: sandbox.bulk!,
    nl: { url: `${url}/nl`, bank: sandbox.nl!.bank },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
