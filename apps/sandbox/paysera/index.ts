/**
 * A Berlin Group sandbox bank with Paysera's profile (BIC SANDLT21XXX, Lithuania): OAuth SCA
 * only, mutual TLS required, TPPs identified by QWAC client certificates carrying PSD2 roles,
 * debtor account optional on initiation. Served over https only, asking every client for a
 * certificate; the PSU's browser pages need none.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { buildPayseraSandbox, PAYSERA_API_MOUNT, type CertificateRefusalRecord, type PayseraSandboxOptions } from './routes';
import type { PayseraPayments } from './payments';
import type { AisSandboxBank } from '../berlin-group/ais/consents';
import type { SandboxAuthorizationServer } from './oauth-server';

export { PAYSERA_API_MOUNT } from './routes';
export type { PayseraSandboxOptions } from './routes';

export interface PayseraSandboxTls {
  /** The bank's server certificate and key. */
  certPem: string;
  keyPem: string;
  /** CAs whose client certificates the bank accepts (the QTSPs it trusts). */
  clientCaPem: string;
}

export interface RunningPayseraSandbox {
  /** Base URL of the Berlin Group API (BankConnection.baseUrl), e.g. https://127.0.0.1:3004/psd2. */
  url: string;
  /** Origin: metadata at `${origin}/.well-known/oauth-authorization-server`. */
  origin: string;
  payments: PayseraPayments;
  ais: AisSandboxBank;
  oauth: SandboxAuthorizationServer;
  /** TPP calls refused for their certificate, oldest first (the last 1000). */
  refusals: CertificateRefusalRecord[];
  close(): Promise<void>;
}

export async function startPayseraSandbox(
  opts: PayseraSandboxOptions & { tls: PayseraSandboxTls; port?: number; host?: string },
): Promise<RunningPayseraSandbox> {
  const { tls, port = 0, host = '127.0.0.1', ...options } = opts;
  const sandbox = buildPayseraSandbox(options);
  const server = https.createServer(
    {
      cert: tls.certPem,
      key: tls.keyPem,
      ca: [tls.clientCaPem],
      requestCert: true,
      // Checked per request instead, so a TPP gets a Berlin Group answer (401 CERTIFICATE_…) and the
      // PSU's browser, which has no certificate, still reaches the authorisation page.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    sandbox.app,
  );
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const reachable = wildcard ? '127.0.0.1' : address.address;
  const hostForUrl = reachable.includes(':') ? `[${reachable}]` : reachable;
  const origin = (options.publicUrl ?? `https://${hostForUrl}:${address.port}`).replace(/\/+$/, '');
  if (!wildcard) sandbox.setDefaultPublicUrl(origin);
  return {
    url: `${origin}${PAYSERA_API_MOUNT}`,
    origin,
    payments: sandbox.payments,
    ais: sandbox.ais,
    oauth: sandbox.oauth,
    refusals: sandbox.refusals,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
