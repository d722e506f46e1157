import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import type { DataSource } from 'typeorm';
import { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from '../apps/worker/worker';
import { createApiApp } from '../apps/api/app';
import { hashSecret } from '../apps/api/auth/secret-hash';
import { generateIdentityKey } from '../libs/adapters/open-payments';
import { loadConfig, type ClearwayConfig } from '../libs/config/config';
import { createLogger } from '../libs/observability/logger';
import { ClientRepository } from '../libs/persistence/client.repository';
import { connectAndMigrate } from '../libs/persistence/data-source';
import { registerSearchAttributes, startTemporalDevServer, type TemporalDevServer } from '../libs/temporal/dev-server';
import type { AseHostMessage, AseHostOptions } from './ase-host';

export interface SystemOptions {
  /** Existing Temporal server (host:port); otherwise a dev server is started. */
  temporalAddress?: string;
  /** SQLite file for the dev server we start; omitted means in memory. */
  temporalDbFile?: string;
  databaseName: string;
  decoupledDelayMs: number;
  /** PAYMENT_POLL_INITIAL_MS for the API: first status poll interval after SCA. */
  statusPollInitialMs: number;
  /** DATABASE_POOL_SIZE for the API and the worker. */
  databasePoolSize: number;
  logLevel: string;
  /** Worker entry script (default `dist/apps/worker/main.js`), its arguments and extra env: bench-local worker hosts. */
  workerScript?: string;
  workerArgs?: string[];
  workerEnv?: Record<string, string>;
  /** Extra environment for the API and the worker (e.g. rate limits). */
  env?: Record<string, string>;
  /** Also start the Open Payments sandbox ASE (its own process and database) with Clearway's client wallet registered. */
  openPayments?: { autoApprove: boolean; settlementDelayMs?: number; aliceBalance?: bigint };
}

/**
 * The whole engine, composed from the real components as `npm run dev` would: a Temporal dev server,
 * a dedicated PostgreSQL database, the API in this process, and the worker (`dist/apps/worker/main.js`)
 * and the Berlin Group sandbox bank (`bench/sandbox-host.ts`) as child processes, so their CPU and
 * memory can be told apart: the bank's is not ours. The Open Payments ASE, when asked for, is not
 * ours either: its own process (`bench/ase-host.ts`) and database.
 */
export class BenchSystem {
  private readonly cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
  config!: ClearwayConfig;
  dataSource!: DataSource;
  temporal!: Client;
  apiUrl!: string;
  devServer?: TemporalDevServer;
  worker?: ChildProcess;
  /** The Berlin Group sandbox bank's process (bench/sandbox-host.ts): the bank is not ours, its CPU is counted apart. */
  bank?: ChildProcess;
  bankUrl!: string;
  /** Set when `openPayments` was asked for: the counterparty wallet, not ours (its CPU is counted with the bank's). */
  ase?: { url: string; process: ChildProcess; balances(): Promise<Record<string, bigint>> };
  private readonly logTail: string[] = [];
  workerWarnings = 0;
  /** HTTP requests the API has received. */
  httpRequests = 0;

  constructor(readonly opts: SystemOptions) {}

  async start(): Promise<void> {
    const temporalAddress = await this.startTemporal();
    const databaseUrl = await this.recreateDatabase(this.opts.databaseName);

    this.bankUrl = await this.startBank();
    const openPaymentsEnv = this.opts.openPayments ? await this.startOpenPaymentsAse(this.opts.openPayments) : {};

    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: String(this.opts.databasePoolSize),
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: `bench-${randomUUID()}`,
      API_PORT: '0',
      SANDBOX_BG_URL: this.bankUrl,
      PAYMENT_POLL_INITIAL_MS: String(this.opts.statusPollInitialMs),
      PAYMENT_POLL_MAX_MS: '1000',
      ...openPaymentsEnv,
      ...this.opts.env,
    };
    this.config = loadConfig(env);
    this.dataSource = await connectAndMigrate({ url: databaseUrl, poolSize: this.opts.databasePoolSize, applicationName: 'clearway-bench-api' });
    this.onCleanup('database connection', () => this.dataSource.destroy());

    const connection = await Connection.connect({ address: temporalAddress });
    this.onCleanup('temporal client', () => connection.close());
    this.temporal = new Client({ connection, namespace: this.config.temporal.namespace });

    const logger = createLogger('bench-api', this.opts.logLevel);
    const app: NestExpressApplication = await createApiApp({ config: this.config, dataSource: this.dataSource, temporal: this.temporal, logger });
    await app.listen(0, '127.0.0.1');
    this.onCleanup('api', () => app.close());
    this.apiUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    app.getHttpServer().on('request', () => (this.httpRequests += 1));
    // SCA callback URLs handed to the bank must reach this API instance.
    this.config.api.publicBaseUrl = this.apiUrl;

    await this.startWorker({ ...env, ...this.opts.workerEnv, PUBLIC_BASE_URL: this.apiUrl });
  }

  /** A fresh OAuth2 client and an access token from the real token endpoint. */
  async accessToken(scope = 'paymentinitiation private'): Promise<string> {
    const clientId = `bench-${randomUUID()}`;
    const clientSecret = randomUUID();
    await new ClientRepository(this.dataSource).upsert({
      clientId,
      tenantId: `tenant-${randomUUID()}`,
      secretHash: await hashSecret(clientSecret),
      // The services of the requested scope ('private'/'corporate' are the context, not services).
      allowedScopes: scope.split(' ').filter((s) => s && s !== 'private' && s !== 'corporate'),
    });
    const res = await fetch(`${this.apiUrl}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }),
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** Stops everything that was started, in reverse order, and drops the bench database. Never throws. */
  async stop(): Promise<void> {
    while (this.cleanups.length) {
      const { name, run } = this.cleanups.pop()!;
      try {
        await run();
      } catch (err) {
        console.error(`cleanup of ${name} failed: ${(err as Error).message}`);
      }
    }
  }

  /** The processes whose CPU the benches measure: ours (worker, Temporal) and the bank's and the ASE's. */
  pids(): { worker?: number; temporal?: number; bank?: number; ase?: number } {
    return { worker: this.worker?.pid, temporal: this.devServer?.process.pid, bank: this.bank?.pid, ase: this.ase?.process.pid };
  }

  workerLogTail(): string {
    return this.logTail.join('\n');
  }

  private onCleanup(name: string, run: () => Promise<unknown>): void {
    this.cleanups.push({ name, run });
  }

  /**
   * The ASE in its own process (bench/ase-host.ts) on a database of its own (`<bench database>_ase`),
   * so neither its process nor its PostgreSQL backends count as ours; returns the OPEN_PAYMENTS_*
   * env for the API and worker.
   */
  private async startOpenPaymentsAse(op: NonNullable<SystemOptions['openPayments']>): Promise<Record<string, string>> {
    const identity = generateIdentityKey('clearway-bench-key');
    const options: AseHostOptions = {
      databaseUrl: await this.recreateDatabase(`${this.opts.databaseName}_ase`),
      autoApprove: op.autoApprove,
      settlementDelayMs: op.settlementDelayMs ?? 0,
      wallets: [
        { name: 'alice', publicName: 'Alice', balance: String(op.aliceBalance ?? 100_000n) },
        { name: 'bob', publicName: 'Bob', balance: '0' },
      ],
      clearwayJwk: identity.publicJwk,
    };
    const child = fork(join(__dirname, 'ase-host.js'), [], { env: { ...process.env, BENCH_ASE: JSON.stringify(options) }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.onCleanup('open payments ASE', () => stopChild(child));
    const errors: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      errors.push(line);
      if (errors.length > 30) errors.shift();
    });
    const next = <T extends AseHostMessage['type']>(type: T) =>
      new Promise<Extract<AseHostMessage, { type: T }>>((resolve, reject) => {
        const exited = () => reject(new Error(`the Open Payments ASE exited:\n${errors.join('\n')}`));
        const onMessage = (message: AseHostMessage) => {
          if (message.type !== type) return;
          child.off('message', onMessage);
          child.off('exit', exited);
          resolve(message as Extract<AseHostMessage, { type: T }>);
        };
        child.on('message', onMessage);
        child.once('exit', exited);
      });
    const { url } = await next('listening');
    this.ase = {
      url,
      process: child,
      balances: async () => {
        const answer = next('balances');
        child.send({ type: 'balances' });
        const { balances } = await answer;
        return Object.fromEntries(Object.entries(balances).map(([name, value]) => [name, BigInt(value)]));
      },
    };
    return {
      OPEN_PAYMENTS_WALLET_ADDRESS: `${url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
    };
  }

  private async startTemporal(): Promise<string> {
    if (this.opts.temporalAddress) {
      await registerSearchAttributes(this.opts.temporalAddress);
      return this.opts.temporalAddress;
    }
    this.devServer = await startTemporalDevServer({ port: 0, headless: true, dbFilename: this.opts.temporalDbFile, logLevel: 'error' });
    const server = this.devServer;
    this.onCleanup('temporal dev server', () => server.stop());
    return server.address;
  }

  /** Drops and creates database `name` (dropped again on stop); returns its URL. */
  private async recreateDatabase(name: string): Promise<string> {
    const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name "${name}"`);
    const admin = async (sql: string) => {
      const pg = new PgClient({ connectionString: serverUrl });
      await pg.connect();
      try {
        await pg.query(sql);
      } finally {
        await pg.end();
      }
    };
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin(`CREATE DATABASE ${name}`);
    this.onCleanup(`database ${name}`, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Starts bench/sandbox-host.js and answers the bank's URL once it listens. */
  private async startBank(): Promise<string> {
    const child = spawn(process.execPath, [join(__dirname, 'sandbox-host.js')], {
      env: { ...process.env, BENCH_DECOUPLED_DELAY_MS: String(this.opts.decoupledDelayMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.bank = child;
    this.onCleanup('sandbox bank', () => stopChild(child));
    const errors: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      errors.push(line);
      if (errors.length > 30) errors.shift();
    });
    const lines = createInterface({ input: child.stdout! });
    return new Promise<string>((resolve, reject) => {
      const failed = () => reject(new Error(`the sandbox bank exited before listening:\n${errors.join('\n')}`));
      child.once('exit', failed);
      lines.once('line', (line) => {
        child.off('exit', failed);
        const url = /^listening (\S+)$/.exec(line)?.[1];
        if (url) resolve(url);
        else reject(new Error(`the sandbox bank said "${line}" instead of its URL`));
      });
    });
  }

  private async startWorker(env: Record<string, string>): Promise<void> {
    // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches the worker only.
    // The worker runs as in production (WORKER_NODE_FLAGS: heap cap; WORKER_PROCESS_ENV: malloc
    // arenas, e.g. MALLOC_ARENA_MAX=16 in the bench's environment for glibc's default here), plus any bench flags.
    const nodeArgs = [...WORKER_NODE_FLAGS, ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    const script = this.opts.workerScript ?? join(__dirname, '../apps/worker/main.js');
    const child = spawn(process.execPath, [...nodeArgs, script, ...(this.opts.workerArgs ?? [])], {
      env: { ...process.env, ...WORKER_PROCESS_ENV, ...env, LOG_LEVEL: this.opts.logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.worker = child;
    this.onCleanup('worker', () => stopChild(child));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (/"level":(40|50|60)/.test(line)) this.workerWarnings++;
        this.logTail.push(line);
        if (this.logTail.length > 30) this.logTail.shift();
      });
    }
    await this.waitForWorkerPoller(child);
  }

  /** The worker process is ready once it polls our task queue for workflow tasks. */
  private async waitForWorkerPoller(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}:\n${this.workerLogTail()}`);
      const described = await this.temporal.workflowService.describeTaskQueue({
        namespace: this.config.temporal.namespace,
        taskQueue: { name: this.config.temporal.taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((described.pollers ?? []).length > 0) return;
      await sleep(200);
    }
    throw new Error(`worker did not poll ${this.config.temporal.taskQueue} within 60 s:\n${this.workerLogTail()}`);
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}
