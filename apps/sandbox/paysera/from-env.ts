import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { startPayseraSandbox, type RunningPayseraSandbox } from '.';

/**
 * The Paysera-profile bank for `apps/sandbox/main.ts`: started when SANDBOX_PAYSERA_TLS_CERT_FILE,
 * _KEY_FILE and SANDBOX_PAYSERA_CLIENT_CA_FILE (the CA whose client certificates it accepts) are
 * set, on SANDBOX_PAYSERA_PORT (3004). It is https only: without TLS material it does not start.
 */
export async function startPayseraSandboxFromEnv(env: NodeJS.ProcessEnv, host: string, logger: Logger): Promise<RunningPayseraSandbox | undefined> {
  const { SANDBOX_PAYSERA_TLS_CERT_FILE: cert, SANDBOX_PAYSERA_TLS_KEY_FILE: key, SANDBOX_PAYSERA_CLIENT_CA_FILE: ca } = env;
  if (!cert && !key && !ca) {
    logger.warn('SANDBOX_PAYSERA_TLS_* are not set: the Paysera-profile sandbox bank (SANDLT21XXX, https + mTLS only) is not started');
    return undefined;
  }
  if (!cert || !key || !ca) throw new Error('SANDBOX_PAYSERA_TLS_CERT_FILE, SANDBOX_PAYSERA_TLS_KEY_FILE and SANDBOX_PAYSERA_CLIENT_CA_FILE go together');
  const raw = env.SANDBOX_PAYSERA_PORT;
  const port = raw ? Number(raw) : 3004;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`SANDBOX_PAYSERA_PORT must be a TCP port, got "${raw}"`);
  return startPayseraSandbox({
    host,
    port,
    publicUrl: env.SANDBOX_PAYSERA_PUBLIC_URL || undefined,
    tls: { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8'), clientCaPem: readFileSync(ca, 'utf8') },
  });
}
