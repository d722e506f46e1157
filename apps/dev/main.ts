import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { hashSecret } from '../api/auth/secret-hash';
import { loadConfig } from '../../libs/config/config';
import { loadObservabilityConfig } from '../../libs/observability/config';
import { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from '../worker/worker';
import { ClientRepository } from '../../libs/persistence/client.repository';
import { connectAndMigrate } from '../../libs/persistence/data-source';
import { registerSearchAttributes, startTemporalDevServer, waitForTemporal, type TemporalDevServer } from '../../libs/temporal/dev-server';
import { repoRoot } from '../../libs/temporal/cli-binary';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-database';
import { loadOrCreateDevIdentity, registerDevWallet } from './open-payments-identity';
import { fetchTrusting } from '../../libs/adapters/open-payments/client';
import { loadOrCreateDevTls } from '../../libs/security/dev-certificates';
import { payseraDevEnv } from './paysera-sandbox';
import { loadOrCreateDevUkSigningKey } from './uk-obie-identity';

/**
 * `npm run dev`: the whole stack on embedded defaults. Temporal dev server (with UI), PGlite
 * unless DATABASE_URL is set, the sandbox bank, the worker and the API, each its own process
 * except the database. Ctrl-C stops everything.
 */
const ROOT = repoRoot(__dirname);
/** `.data/` by default; CLEARWAY_DATA_DIR for a throwaway stack (`npm run docs:screenshots`). */
const DATA = process.env.CLEARWAY_DATA_DIR ? path.resolve(process.env.CLEARWAY_DATA_DIR) : path.join(ROOT, '.data');
const SANDBOX_CLIENT = { clientId: 'sandbox', clientSecret: 'sandbox', tenantId: 'sandbox' };

interface Running {
  database?: EmbeddedDatabase;
  temporal?: TemporalDevServer;
  children: { name: string; child: ChildProcess }[];
}

async function main(): Promise<void> {
  const running: Running = { children: [] };
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    // In order: the API stops taking requests, then the worker drains, then the banks go.
    for (const name of ['api', 'worker', 'sandbox']) {
      await Promise.all(running.children.filter((c) => c.name === name).map(({ child }) => terminate(child)));
    }
    await running.temporal?.stop();
    await running.database?.stop();
    say('stopped');
    process.exit(code);
  };
  // Ctrl-C reaches only this launcher (the children run in process groups of their own), which
  // stops each child once, in order: no child sees two signals, so none complains about a second.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));

  try {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'development' };

    if (!env.DATABASE_URL) {
      const port = Number(env.PGLITE_PORT ?? 5433);
      running.database = await startEmbeddedDatabase({ dataDir: path.join(DATA, 'pglite'), port, maxConnections: 16 });
      env.DATABASE_URL = running.database.url;
      env.DATABASE_POOL_SIZE ??= '4';
      say(`database: embedded PGlite at ${running.database.url} (data in .data/pglite)`);
    } else {
      say('database: DATABASE_URL');
    }
    const config = loadConfig(env);

    const ds = await connectAndMigrate({ url: config.databaseUrl!, poolSize: 1, applicationName: 'clearway-dev' });
    await new ClientRepository(ds).upsert({
      clientId: SANDBOX_CLIENT.clientId,
      tenantId: SANDBOX_CLIENT.tenantId,
      secretHash: await hashSecret(SANDBOX_CLIENT.clientSecret),
      allowedScopes: ['aspspinformation', 'paymentinitiation', 'accountinformation', 'webhooks'],
    });
    await ds.destroy();
    say('database: migrations applied, sandbox client ready');

    if (!process.env.TEMPORAL_ADDRESS) {
      const [host, port] = config.temporal.address.split(':');
      running.temporal = await startTemporalDevServer({
        port: Number(env.TEMPORAL_PORT ?? port),
        uiPort: Number(env.TEMPORAL_UI_PORT ?? 8233),
        dbFilename: path.join(DATA, 'temporal.db'),
        ownProcessGroup: true,
        onLog: (line) => process.env.TEMPORAL_LOG && prefix('temporal', line),
      });
      env.TEMPORAL_ADDRESS = running.temporal.address;
      say(`temporal: dev server on ${host}:${port}, UI ${running.temporal.uiUrl}`);
    } else {
      await waitForTemporal(config.temporal.address, 30_000, config.temporal.namespace);
      await registerSearchAttributes(config.temporal.address, undefined, config.temporal.namespace);
      say(`temporal: using ${config.temporal.address}`);
    }

    // The sandbox ASE serves https, as every real wallet does, with a certificate from a dev CA
    // generated into .data/dev-ca; Clearway's worker trusts that CA (never: no verification).
    // SANDBOX_OP_TLS=false serves plain http instead.
    const aseTls = env.SANDBOX_OP_TLS === 'false' ? undefined : await loadOrCreateDevTls(DATA, devTlsHosts(config.sandbox.host, env.SANDBOX_OP_PUBLIC_URL));
    if (aseTls) {
      env.SANDBOX_OP_TLS_CERT_FILE = aseTls.certFile;
      env.SANDBOX_OP_TLS_KEY_FILE = aseTls.keyFile;
      env.OPEN_PAYMENTS_EXTRA_CA_FILE ??= aseTls.caFile;
      say(`sandbox ASE: https, certificate from the dev CA ${path.relative(ROOT, aseTls.caFile)} (trust it in a browser to skip the warning)`);
    }
    const aseFetch = aseTls ? fetchTrusting(aseTls.caPem) : fetch;
    // The Paysera-profile bank (SANDLT21XXX): https with mTLS; Clearway presents its dev QWAC.
    Object.assign(env, payseraDevEnv(aseTls ?? (await loadOrCreateDevTls(DATA, devTlsHosts(config.sandbox.host, undefined))), env));

    // Clearway as an Open Payments client: a dev key, and its wallet at the sandbox ASE.
    const aseUrl = (env.SANDBOX_OP_PUBLIC_URL ?? `${aseTls ? 'https' : 'http'}://${config.sandbox.host}:${env.SANDBOX_OP_PORT ?? 3002}`).replace(/\/$/, '');
    const identity = env.OPEN_PAYMENTS_PRIVATE_KEY ? undefined : loadOrCreateDevIdentity(DATA);
    if (identity) {
      env.OPEN_PAYMENTS_WALLET_ADDRESS = `${aseUrl}/clearway`;
      env.OPEN_PAYMENTS_KEY_ID = identity.keyId;
      env.OPEN_PAYMENTS_PRIVATE_KEY = Buffer.from(identity.privateKeyPem).toString('base64');
    }

    // Clearway as a UK Open Banking TPP: a dev signing key; the UK sandbox bank issues its software statement.
    if (!env.UK_OBIE_SIGNING_KEY && !env.UK_OBIE_SIGNING_KEY_FILE) env.UK_OBIE_SIGNING_KEY_FILE = await loadOrCreateDevUkSigningKey(DATA);

    for (const name of ['sandbox', 'worker', 'api'] as const) {
      const flags = ['--enable-source-maps', ...(name === 'worker' ? WORKER_NODE_FLAGS : [])];
      const child = spawn(process.execPath, [...flags, path.join(ROOT, 'dist/apps', name, 'main.js')], {
        env: name === 'worker' ? { ...env, ...WORKER_PROCESS_ENV } : env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: the terminal's Ctrl-C goes to the launcher alone, which stops it (see stop).
        detached: true,
      });
      running.children.push({ name, child });
      pipeLines(name, child);
      child.on('exit', (code, signal) => {
        if (stopping) return;
        say(`${name} exited (${signal ?? code}); stopping the stack`);
        void stop(1);
      });
    }

    await waitForHttp(`http://${config.api.host}:${config.api.port}/health`, 60_000);
    if (identity) {
      await waitForHttp(`${aseUrl}/health`, 30_000, aseFetch);
      await registerDevWallet(aseUrl, identity, aseFetch);
    }
    console.log(
      [
        '',
        '  Clearway is running (development mode)',
        `  API            ${config.api.publicBaseUrl}   (base path /psd2)`,
        `  API docs       ${config.api.publicBaseUrl}/docs   (OpenAPI at /openapi.json)`,
        `  Metrics        ${config.api.publicBaseUrl}/metrics, worker ${devWorkerMetricsUrl(env, config)}   (traces: OTEL_TRACES_EXPORTER=otlp, docs/observability.md)`,
        `  Temporal UI    ${running.temporal?.uiUrl ?? '(external cluster)'}`,
        `  Temporal gRPC  ${config.temporal.address}`,
        `  Sandbox bank   ${config.sandbox.bgUrl}   (BIC SANDDEB0XXX)`,
        `  Sandbox bank   ${config.sandbox.bgUrl.replace(/\/+$/, '')}/nl   (BIC SANDNL2AXXX: single payments only, no bulk; try a batch: npx clearway batch sample)`,
        `  Sandbox bank   ${config.sandbox.payseraUrl}   (BIC SANDLT21XXX: OAuth SCA, mTLS with the dev QWAC .data/dev-ca/clearway-qwac.pem)`,
        `  UK sandbox bank ${config.ukObie.sandboxUrl}   (BIC SANDGB2LXXX, UK Open Banking 3.1; PSUs rora/rora., mits/mits., ivsa/ivsa.)`,
        `  Sandbox wallets ${aseUrl}/alice (1,000.00 EUR), ${aseUrl}/bob   (Interledger Open Payments)`,
        `  Credentials    client_id=${SANDBOX_CLIENT.clientId} client_secret=${SANDBOX_CLIENT.clientSecret}   (dev mode only)`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    console.error(err);
    await stop(1);
  }
}

function devWorkerMetricsUrl(env: NodeJS.ProcessEnv, config: ReturnType<typeof loadConfig>): string {
  const metrics = loadObservabilityConfig(env, config).workerMetrics;
  return metrics ? `http://${metrics.host}:${metrics.port}/metrics` : '(off)';
}

function say(msg: string): void {
  console.log(`[dev] ${msg}`);
}

function prefix(name: string, line: string): void {
  console.log(`[${name}] ${line}`);
}

function pipeLines(name: string, child: ChildProcess): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => prefix(name, line));
  }
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The names the sandbox's certificate must cover: loopback, its host, and the public URL's host. */
function devTlsHosts(host: string, publicUrl: string | undefined): string[] {
  const hosts = new Set(['127.0.0.1', 'localhost', '::1']);
  if (host !== '0.0.0.0' && host !== '::') hosts.add(host);
  if (publicUrl) hosts.add(new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''));
  return [...hosts];
}

async function waitForHttp(url: string, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetchImpl(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

void main();
