import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DataSource } from 'typeorm';
import { createApiApp } from '../../apps/api/app';
import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from '../../apps/sandbox/berlin-group';
import { startUkObieSandbox, type RunningUkObieSandbox } from '../../apps/sandbox/uk-obie';
import { ukTestSigningKeyEnv } from './uk-obie';
import { bundleWorkflows, createClearwayWorker, installTemporalRuntime } from '../../apps/worker/worker';
import { loadConfig, type ClearwayConfig } from '../../libs/config/config';
import { createLogger, type Logger } from '../../libs/observability/logger';
import { activeTracing } from '../../libs/observability/tracing';
import { createDataSource } from '../../libs/persistence/data-source';
import { createApiClient, type TestClient } from './factories';
import { sharedWorkflowBundle } from './workflow-bundle';
import { documentsOperation, openApiFromDocument, validateResponse, type OpenApiSpec } from './openapi-contract';
import { payseraStackConfig, startPayseraTestKit, type PayseraSandboxOptions, type PayseraTestKit } from './paysera';

/**
 * Every response a test receives through {@link TestStack.call} is checked against the document
 * the API itself serves at `/openapi.json`: the `/psd2` operations there are the Open Payments
 * Europe contract's, verbatim (built from ../shared/specs at startup), Clearway's extensions are
 * its own descriptions. So the served documentation cannot drift from what the API answers.
 * OPE's responses use `oneOf` over overlapping shapes (a SEPA 201 also satisfies the Swedish giro
 * 201), which no body can satisfy strictly, so `oneOf` is read as `anyOf` here.
 */
let servedContract: Promise<OpenApiSpec> | undefined;

export interface StackOptions {
  /** Run the worker in this process (default). False: the test runs its own worker(s). */
  worker?: boolean;
  sandbox?: Parameters<typeof startBerlinGroupSandbox>[0];
  env?: Record<string, string>;
  /** The API's logger (default: silent unless TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Also start the Paysera-profile bank (SANDLT21XXX: https, mTLS, OAuth SCA), with these options, and give the worker its QWAC. */
  paysera?: boolean | PayseraSandboxOptions;
}

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * The whole system for an end-to-end test: the Berlin Group sandbox bank over HTTP, the API on
 * an ephemeral port, a worker on its own task queue, the shared Temporal dev server and the test
 * database prepared by globalSetup. Nothing is faked.
 */
export class TestStack {
  /** The Paysera-profile bank, with `paysera: true`. */
  paysera?: PayseraTestKit;
  /** The UK Open Banking sandbox bank (SANDGB2LXXX), on its own port. */
  ukSandbox!: RunningUkObieSandbox;

  private constructor(
    readonly config: ClearwayConfig,
    readonly dataSource: DataSource,
    readonly temporal: Client,
    readonly sandbox: RunningBerlinGroupSandbox,
    readonly app: NestExpressApplication,
    readonly baseUrl: string,
    private readonly connections: { client: Connection; native?: NativeConnection },
    /** What the API serves at /openapi.json. */
    readonly contract: OpenApiSpec,
    private worker?: { worker: Worker; running: Promise<void> },
  ) {}

  static async start(opts: StackOptions = {}): Promise<TestStack> {
    const sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 300, ...opts.sandbox });
    const paysera = opts.paysera ? await startPayseraTestKit(opts.paysera === true ? {} : opts.paysera) : undefined;
    const ukSandbox = await startUkObieSandbox({ port: 0 });
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: process.env.CLEARWAY_TEST_DATABASE_URL!,
      TEMPORAL_ADDRESS: process.env.CLEARWAY_TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
      API_PORT: '0',
      SANDBOX_BG_URL: sandbox.url,
      SANDBOX_UK_URL: ukSandbox.url,
      ...(await ukTestSigningKeyEnv()),
      PAYMENT_POLL_INITIAL_MS: '200',
      PAYMENT_POLL_MAX_MS: '1000',
      // No webhook sweep Schedule per test task queue (it would outlive the stack); webhook tests opt in.
      WEBHOOK_SWEEP_SECONDS: '0',
      // Rate limits have their own test (rate-limits.test.ts); here they would only couple tests to each other.
      RATE_LIMIT_PER_CLIENT: '100000',
      TOKEN_RATE_LIMIT_PER_ADDRESS: '100000',
      TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
      ...opts.env,
    });
    if (paysera) Object.assign(config, payseraStackConfig(config, paysera));
    const logger = opts.logger ?? createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
    const dataSource = createDataSource({ url: config.databaseUrl!, poolSize: 5 });
    await dataSource.initialize();
    const client = await Connection.connect({ address: config.temporal.address });
    const temporal = new Client({ connection: client, namespace: config.temporal.namespace });
    const app = await createApiApp({ config, dataSource, temporal, logger });
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const baseUrl = `http://127.0.0.1:${port}`;
    // Callback URLs handed to the bank must reach this API instance.
    config.api.publicBaseUrl = baseUrl;

    // The document is the same for every stack of a test file (same routes, same specs): fetched once.
    servedContract ??= fetch(`${baseUrl}/openapi.json`)
      .then((res) => res.json())
      .then((doc) => openApiFromDocument(doc, 'served /openapi.json', { oneOfAsAnyOf: true }));
    servedContract.catch(() => (servedContract = undefined));
    const stack = new TestStack(config, dataSource, temporal, sandbox, app, baseUrl, { client }, await servedContract);
    stack.paysera = paysera;
    stack.ukSandbox = ukSandbox;
    if (opts.worker !== false) await stack.startWorker();
    return stack;
  }

  async startWorker(): Promise<void> {
    installTemporalRuntime(createLogger('temporal-sdk', process.env.TEST_LOG_LEVEL ?? 'silent'), 'ERROR');
    // The run's bundle from global-setup (workflows/, no interceptors), unless tracing wants its interceptors bundled in.
    bundle ??= activeTracing() ? bundleWorkflows() : sharedWorkflowBundle();
    const native = await NativeConnection.connect({ address: this.config.temporal.address });
    this.connections.native = native;
    const worker = await createClearwayWorker({
      config: this.config,
      dataSource: this.dataSource,
      connection: native,
      logger: createLogger('test-worker', process.env.TEST_LOG_LEVEL ?? 'silent'),
      workflowBundle: await bundle,
    });
    this.worker = { worker, running: worker.run() };
  }

  async stopWorker(): Promise<void> {
    if (!this.worker) return;
    this.worker.worker.shutdown();
    await this.worker.running;
    this.worker = undefined;
    await this.connections.native?.close();
    this.connections.native = undefined;
  }

  async close(): Promise<void> {
    await this.stopWorker();
    await this.app.close();
    await this.connections.client.close();
    await this.dataSource.destroy();
    await this.sandbox.close();
    await this.paysera?.close();
    await this.ukSandbox.close();
  }

  newClient(opts?: Parameters<typeof createApiClient>[1]): Promise<TestClient> {
    return createApiClient(this.dataSource, opts);
  }

  /** An access token for `scope`, through the real token endpoint. */
  async token(client: TestClient, scope = 'paymentinitiation private'): Promise<string> {
    const res = await fetch(`${this.baseUrl}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope }),
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A JSON API call with a fresh X-Request-ID unless the test sets one. */
  async call(
    method: string,
    path: string,
    opts: { token?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string; contract?: boolean } = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { 'X-Request-ID': randomUUID(), ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['Content-Type'] ??= 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    // Every /psd2 response, and every response of an extension the served document describes.
    if (opts.contract !== false && (path.startsWith('/psd2/') || documentsOperation(this.contract, method, path))) {
      // OPE's ASPSP-information errors are specified as a bare tppMessages array while its own
      // examples show `{ tppMessages: [...] }`; we send the object (as everywhere else) and check its array.
      const aspspError = path.startsWith('/psd2/aspspinformation/') && res.status >= 400;
      const errors = validateResponse(this.contract, {
        method,
        path,
        status: res.status,
        body: aspspError ? (parsed as { tppMessages?: unknown })?.tppMessages : parsed,
        contentType: res.headers.get('content-type') ?? undefined,
      });
      if (errors.length) throw new Error(`${method} ${path} → ${res.status} breaks the served /openapi.json:\n  ${errors.join('\n  ')}\n${text}`);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
