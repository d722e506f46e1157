/**
 * Sandbox banks process: each simulated bank listens on its own port. Today the Berlin Group
 * ASPSP, the UK Open Banking ASPSP (SANDGB2LXXX) and the Interledger Open Payments ASE.
 * Berlin Group state is in memory; the Open Payments ledger lives in PostgreSQL (schema
 * `sandbox_open_payments`).
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { startBerlinGroupSandbox } from './berlin-group';
import { openPaymentsOptionsFromEnv, startOpenPaymentsSandbox } from './open-payments';
import { startPayseraSandboxFromEnv } from './paysera/from-env';
import { startUkObieSandbox } from './uk-obie';

interface RunningSandbox {
  name: string;
  url: string;
  close(): Promise<void>;
}

const logger = pino({ name: 'sandbox' });

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a TCP port, got "${raw}"`);
  return port;
}

function booleanFromEnv(name: string): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new Error(`${name} must be "true" or "false", got "${raw}"`);
}

async function main(): Promise<void> {
  const host = process.env.SANDBOX_HOST ?? '127.0.0.1';
  const sandboxes: RunningSandbox[] = [];

  // Registered first so a signal during start-up still closes whatever is already listening.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping sandbox banks');
    await Promise.allSettled(sandboxes.map((sandbox) => sandbox.close()));
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void stop(signal));
  process.once('SIGTERM', (signal) => void stop(signal));

  const berlinGroup = await startBerlinGroupSandbox({
    host,
    port: portFromEnv('SANDBOX_BG_PORT', 3001),
    // Set when the bank is reached through another address (container, tunnel) than it listens on.
    publicUrl: process.env.SANDBOX_BG_PUBLIC_URL || undefined,
    // Opt-in kindness: real banks do not deduplicate on X-Request-ID, so neither does the sandbox by default.
    deduplicateRequestIds: booleanFromEnv('SANDBOX_BG_DEDUPLICATE'),
  });
  sandboxes.push({ name: 'berlin-group', ...berlinGroup });

  const uk = await startUkObieSandbox({ host, port: portFromEnv('SANDBOX_UK_PORT', 3003), publicUrl: process.env.SANDBOX_UK_PUBLIC_URL || process.env.SANDBOX_UK_URL || undefined });
  sandboxes.push({ name: 'uk-obie', url: uk.url, close: uk.close });

  // The Paysera-profile Berlin Group bank: https with mTLS, when given its TLS material.
  const paysera = await startPayseraSandboxFromEnv(process.env, host, logger);
  if (paysera) sandboxes.push({ name: 'berlin-group-paysera', ...paysera });

  // The Open Payments ASE keeps its ledger in PostgreSQL (own schema), so it needs DATABASE_URL.
  const { databaseUrl, ...openPayments } = openPaymentsOptionsFromEnv();
  if (databaseUrl) {
    // https when given a certificate (the dev launcher makes one, signed by its dev CA).
    const { SANDBOX_OP_TLS_CERT_FILE: certFile, SANDBOX_OP_TLS_KEY_FILE: keyFile } = process.env;
    if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('SANDBOX_OP_TLS_CERT_FILE and SANDBOX_OP_TLS_KEY_FILE go together');
    const ase = await startOpenPaymentsSandbox({
      ...openPayments,
      ...(certFile && keyFile ? { tls: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') } } : {}),
      databaseUrl,
      host,
      port: portFromEnv('SANDBOX_OP_PORT', 3002),
      logger: logger.child({ sandbox: 'open-payments' }),
    });
    sandboxes.push({ name: 'open-payments', url: ase.url, close: ase.close });
  } else {
    logger.warn('DATABASE_URL is not set: the Open Payments sandbox ASE is not started');
  }
  for (const sandbox of sandboxes) logger.info({ sandbox: sandbox.name, url: sandbox.url }, 'sandbox bank listening');
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'sandbox banks failed to start');
  process.exit(1);
});
