/**
 * Chaos at scale, on this machine: payments, consent reads and Open Payments transfers through the
 * real API and worker processes, while the harness SIGKILLs the worker and the API, kills and
 * restarts the Temporal dev server (same SQLite file), and the banks fail requests (5xx, timeouts,
 * 429 with Retry-After, lost answers). Then it checks the invariants against the banks' own books.
 *
 * Used by `npm run chaos` (bench/chaos/main.ts) and, in its small form, by test/e2e/chaos-small.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { Webhook } from 'standardwebhooks';
import type { DataSource } from 'typeorm';
import { hashSecret } from '../../apps/api/auth/secret-hash';
import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from '../../apps/sandbox/berlin-group';
import { startOpenPaymentsSandbox, type RunningOpenPaymentsSandbox } from '../../apps/sandbox/open-payments';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../libs/domain/ids';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { batchStatusOf, emptyProgress, type BatchProgressCounts } from '../../libs/persistence/batch-progress';
import { ClientRepository } from '../../libs/persistence/client.repository';
import { connectAndMigrate } from '../../libs/persistence/data-source';
import type { BerlinGroupSandboxBank } from '../../apps/sandbox/berlin-group/bank';
import { bulkInitiationRequestId } from '../../activities/bulk-payment.activities';
import { bulkPaymentWorkflowId, resolveBulkInitiationUpdate } from '../../workflows/bulk-payment.api';
import { paymentWorkflowId, resolveInitiationUpdate, type OperatorDecision } from '../../workflows/payment-initiation.api';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { NodeService, TemporalService } from './processes';

export interface ChaosOptions {
  payments: number;
  consentReads: number;
  transfers: number;
  /**
   * One pain.001 batch of this many credit transfers (0: none), uploaded with the other loads: half
   * from a SANDDEB0XXX debtor (one bulk payment, one decoupled SCA), half from a SANDNL2AXXX debtor
   * (a bank without bulk payments: single payments, each with its decoupled SCA).
   */
  batchTransactions: number;
  workerKills: number;
  apiKills: number;
  temporalRestarts: number;
  /** Bank faults while the load runs. */
  faults: { errorRate: number; timeoutRate: number; rateLimitEvery: number; dropResponseRate: number };
  concurrency: { payments: number; consents: number; transfers: number };
  /** Pause between two chaos events (kills), from the start of the load. */
  chaosIntervalMs: number;
  /** The whole run (load, chaos, settling, operator rulings) must end within this. */
  deadlineMs: number;
  databaseName: string;
  log?: (line: string) => void;
}

export const FULL_RUN: ChaosOptions = {
  payments: 1000,
  consentReads: 200,
  transfers: 100,
  batchTransactions: 2000,
  workerKills: 5,
  apiKills: 2,
  temporalRestarts: 1,
  faults: { errorRate: 0.2, timeoutRate: 0.05, rateLimitEvery: 25, dropResponseRate: 0.02 },
  concurrency: { payments: 20, consents: 4, transfers: 20 },
  chaosIntervalMs: 45_000,
  deadlineMs: 55 * 60_000,
  databaseName: 'clearway_chaos',
};

export const SMALL_RUN: ChaosOptions = {
  ...FULL_RUN,
  payments: 60,
  consentReads: 20,
  transfers: 10,
  batchTransactions: 40,
  workerKills: 1,
  apiKills: 1,
  temporalRestarts: 1,
  // Every transfer at once and the payments at the full run's concurrency: the load then lasts
  // about as long as the chaos plan (8 s between events), not minutes after it.
  concurrency: { payments: 20, consents: 4, transfers: 10 },
  chaosIntervalMs: 8_000,
  deadlineMs: 12 * 60_000,
  databaseName: 'clearway_chaos_small',
};

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  wallSeconds: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  chaos: { workerKills: number; apiKills: number; temporalRestarts: number; workerCrashes: number; apiCrashes: number; events: string[] };
  bank: { bgRequests: number; bgPaymentsCreated: number; bgInitiationRequests: number; bgExecuted: number; proxiedRequests: number; timedOut: number };
  payments: Record<string, number>;
  operatorRulings: { initiated: number; notInitiated: number };
  consents: Record<string, number>;
  consentReads: { done: number; retriedCalls: number };
  transfers: Record<string, number>;
  ledger: { before: string; after: string; negative: string[] };
  webhooks: { deliveries: number; delivered: number; received: number; duplicates: number; badSignatures: number };
  batch: BatchReport | 'not run';
  invariants: Invariant[];
  ok: boolean;
}

/** The batch's figures: what Clearway holds, what the banks executed, what the operator ruled. */
export interface BatchReport {
  batchId: string | null;
  transactions: number;
  bulkTransactions: number;
  singlePayments: number;
  status: string | null;
  progress: BatchProgressCounts | null;
  /** Transaction statuses as the children hold them (bulk transactions and single payments). */
  children: Record<string, number>;
  /** Executions at the banks of the batch's end-to-end ids (the bulk bank's and the single bank's books). */
  bankExecutions: number;
  bulkAtBank: { created: number; initiationRequests: number; transactionsAtBank: number[] };
  singlesAtBank: { created: number; initiationRequests: number };
  operatorRulings: { initiated: number; notInitiated: number };
}

const BIC = 'SANDDEB0XXX';
const NL_BIC = 'SANDNL2AXXX';
const DEBTOR_DE = 'DE89370400440532013000';
const DEBTOR_NL = 'NL91ABNA0417164300';
const BATCHES = '/batches/v1/batches';
const FINAL_BATCH = new Set(['completed', 'partially_completed', 'rejected', 'cancelled']);
const PIS = '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers';
const CONSENTS = '/psd2/consent/v1/consents';
const AIS = '/psd2/accountinformation/v1/accounts';
const TRANSFERS = '/openpayments/v1/transfers';
const TRANSFER_VALUE = 100n;
const ASE_SCHEMA = 'chaos_ase';
const FINAL_PAYMENT = new Set(['ACSC', 'ACCC', 'RJCT', 'CANC']);
const FINAL_TRANSFER = new Set(['completed', 'failed', 'rejected', 'expired', 'cancelled']);
const SETTLED_CONSENT = new Set(['valid', 'rejected', 'revokedByPsu', 'expired', 'terminatedByTpp']);

/** PSU scenario × amount cents, cycled: decoupled approve and deny, SCA-exempt; cents 13 (bank rejects) and 42 (pending first). */
const PAYMENT_MIX: { psu: string; cents: string }[] = ['decoupled', 'decoupled-deny', 'exempt'].flatMap((psu) => ['00', '13', '42'].map((cents) => ({ psu, cents })));

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The X-Request-ID every attempt of a payment's initiation carries (activities/payment.activities.ts). */
function initiationRequestId(paymentId: string): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate');
}

interface ApiAnswer {
  status: number;
  body: any;
}

/**
 * The client side: every call is repeated (with the same X-Request-ID) while the API is down or
 * answers 5xx/429, as a well-behaved client would; a 4xx is the answer.
 */
class ApiClient {
  retriedCalls = 0;
  constructor(
    private readonly baseUrl: () => string,
    private readonly token: string,
    private readonly until: number,
  ) {}

  async call(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: unknown; raw?: { contentType: string; bytes: Buffer }; accept?: (status: number) => boolean } = {},
  ): Promise<ApiAnswer> {
    let delay = 200;
    // Every OPE call carries an X-Request-ID; a repeat of the same call carries the same one.
    const headers = { 'X-Request-ID': randomUUID(), ...opts.headers };
    for (;;) {
      try {
        const res = await fetch(`${this.baseUrl()}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.token}`,
            ...(opts.raw ? { 'Content-Type': opts.raw.contentType } : opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
            ...headers,
          },
          body: opts.raw ? new Uint8Array(opts.raw.bytes) : opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        const body = text ? safeJson(text) : undefined;
        if (res.status < 429 || (res.status > 429 && res.status < 500) || opts.accept?.(res.status)) return { status: res.status, body };
        const retryAfter = Number(res.headers.get('retry-after'));
        delay = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : delay;
      } catch {
        // API down (killed) or the answer lost: the same request again.
      }
      this.retriedCalls += 1;
      if (Date.now() > this.until) throw new Error(`${method} ${path}: no answer before the run's deadline`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A webhook endpoint on this machine that verifies every delivery with the `standardwebhooks` library. */
class WebhookReceiver {
  readonly received = new Map<string, number>();
  badSignatures = 0;
  private server!: Server;
  private verifier?: Webhook;
  url!: string;

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const payload = Buffer.concat(chunks).toString('utf8');
        const headers = { 'webhook-id': String(req.headers['webhook-id'] ?? ''), 'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''), 'webhook-signature': String(req.headers['webhook-signature'] ?? '') };
        try {
          this.verifier?.verify(payload, headers);
        } catch {
          this.badSignatures += 1;
          res.writeHead(400).end();
          return;
        }
        this.received.set(headers['webhook-id'], (this.received.get(headers['webhook-id']) ?? 0) + 1);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  useSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Cleanups of the run in progress, for a signal handler ({@link abortChaos}). */
let activeCleanups: Array<() => Promise<unknown>> | undefined;

/** Stops every process and server of the run in progress (SIGINT/SIGTERM of `npm run chaos`). */
export async function abortChaos(): Promise<void> {
  const cleanups = activeCleanups ?? [];
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.error(line));
  const started = Date.now();
  const until = started + options.deadlineMs;
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const root = repoRoot();
  const cleanups: Array<() => Promise<unknown>> = [];
  activeCleanups = cleanups;
  const events: string[] = [];
  const event = (what: string) => {
    const line = `+${Math.round((Date.now() - started) / 1000)} s ${what}`;
    events.push(line);
    log(`[chaos] ${line}`);
  };

  try {
    // ── the system ────────────────────────────────────────────────────────────────────────────
    const temporalDb = path.join(tmpdir(), `clearway-chaos-${process.pid}-${Date.now()}.db`);
    cleanups.push(async () => rmSync(temporalDb, { force: true }));
    const temporalService = new TemporalService(await freePort(), temporalDb);
    // The Temporal dev server and the database are independent: both come up at once.
    const [, { databaseUrl, dataSource }] = await Promise.all([
      temporalService.start().then(() => cleanups.push(() => temporalService.stop())),
      recreateDatabase(options.databaseName, cleanups).then(async (url) => {
        const ds: DataSource = await connectAndMigrate({ url, poolSize: 3, applicationName: 'clearway-chaos' });
        cleanups.push(() => ds.destroy());
        return { databaseUrl: url, dataSource: ds };
      }),
    ]);
    const connection = await Connection.connect({ address: temporalService.address });
    cleanups.push(() => connection.close());
    const temporal = new Client({ connection });

    // Timeouts come from proxies (held past the adapters' 10 s); 5xx, 429 and lost answers from the sandboxes.
    const holdMs = 12_000;
    const bgProxy: FaultProxy = await startFaultProxy({ timeoutRate: 0, holdMs, applies: (_m, p) => p.includes('/v1/') });
    cleanups.push(() => bgProxy.close());
    const sandbox: RunningBerlinGroupSandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 500 });
    cleanups.push(() => sandbox.close());
    bgProxy.setTarget(new URL(sandbox.url).origin);

    const opProxy = await startFaultProxy({ timeoutRate: 0, holdMs, applies: (_m, p) => !p.startsWith('/_sandbox') && !p.includes('/interact') });
    cleanups.push(() => opProxy.close());
    const asePort = await freePort();
    const aliceBalance = BigInt(options.transfers) * TRANSFER_VALUE * 2n;
    const ase: RunningOpenPaymentsSandbox = await startOpenPaymentsSandbox({
      databaseUrl,
      schema: ASE_SCHEMA,
      port: asePort,
      publicUrl: opProxy.url,
      autoApprove: true,
      settlementDelayMs: 0,
      wallets: [
        { name: 'alice', publicName: 'Alice', balance: aliceBalance },
        { name: 'bob', publicName: 'Bob', balance: 0n },
      ],
    });
    cleanups.push(() => ase.close());
    opProxy.setTarget(`http://127.0.0.1:${asePort}`);
    const identity = generateIdentityKey('clearway-chaos-key');
    await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });

    const receiver = new WebhookReceiver();
    await receiver.start();
    cleanups.push(() => receiver.close());

    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const taskQueue = `chaos-${randomUUID()}`;
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '5',
      TEMPORAL_ADDRESS: temporalService.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      PUBLIC_BASE_URL: apiUrl,
      SANDBOX_BG_URL: `${bgProxy.url}/berlin-group`,
      PAYMENT_POLL_INITIAL_MS: '500',
      PAYMENT_POLL_MAX_MS: '3000',
      OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
      OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '300',
      OPEN_PAYMENTS_SEND_POLL_MAX_MS: '3000',
      OPEN_PAYMENTS_LOOKUP_INITIAL_SECONDS: '2',
      OPEN_PAYMENTS_LOOKUP_MAX_SECONDS: '15',
      WEBHOOK_SWEEP_SECONDS: '15',
      // No fixed metrics ports (where the worker has them): a restarted or second worker must not collide.
      WORKER_METRICS_PORT: 'off',
      RATE_LIMIT_PER_CLIENT: '1000000',
      TOKEN_RATE_LIMIT_PER_ADDRESS: '100000',
      TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
    };
    const api = new NodeService('api', path.join(root, 'dist/apps/api/main.js'), env, [], async () => (await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok);
    const worker = NodeService.worker(path.join(root, 'dist/apps/worker/main.js'), env, () => hasWorkflowPoller(temporal, taskQueue));
    cleanups.push(() => worker.stop());
    cleanups.push(() => api.stop());
    await Promise.all([api.start(), worker.start()]);
    // A crashed process (e.g. one that gave up on a restarting Temporal) is restarted and counted.
    const supervisor = setInterval(() => {
      void api.ensureRunning().catch(() => undefined);
      void worker.ensureRunning().catch(() => undefined);
    }, 2_000);
    cleanups.push(async () => clearInterval(supervisor));
    event(`system up: API ${apiUrl}, Temporal ${temporalService.address}, BG sandbox behind ${bgProxy.url}, ASE behind ${opProxy.url}`);

    const token = await accessToken(dataSource, apiUrl);
    const client = new ApiClient(() => apiUrl, token, until);

    const endpoint = await client.call('POST', '/webhooks/v1/endpoints', { body: { url: receiver.url, description: 'chaos receiver' } });
    if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${endpoint.status} ${JSON.stringify(endpoint.body)}`);
    receiver.useSecret(endpoint.body.secret);
    const endpointId: string = endpoint.body.endpointId;

    const balancesBefore = await ase.ase.balances();

    // ── faults on, load and chaos ───────────────────────────────────────────────────────────────
    const { errorRate, timeoutRate, rateLimitEvery, dropResponseRate } = options.faults;
    const bankFaults = { errorRate, rateLimitEvery, retryAfterSeconds: 1, dropResponseRate };
    sandbox.bank.setFaults(bankFaults);
    sandbox.nl.bank.setFaults(bankFaults);
    ase.ase.setFaults(bankFaults);
    bgProxy.setTimeoutRate(timeoutRate);
    opProxy.setTimeoutRate(timeoutRate);
    event(`bank faults on: ${JSON.stringify({ ...bankFaults, timeoutRate })}`);

    const paymentIds: string[] = [];
    const lostSubmissions: string[] = [];
    const consentIds: string[] = [];
    const transferIds: string[] = [];
    // What the client sent, by X-Request-ID: "lost" is a request Clearway holds nothing for.
    const paymentRequestIds: string[] = [];
    const transferRequestIds: string[] = [];
    let readsDone = 0;
    const readsRefused: string[] = [];
    const consentCreationsRefused: string[] = [];

    const paymentsLoad = pool(options.payments, options.concurrency.payments, async (i) => {
      const mix = PAYMENT_MIX[i % PAYMENT_MIX.length]!;
      const requestId = randomUUID();
      paymentRequestIds.push(requestId);
      const res = await client.call('POST', PIS, {
        headers: { 'X-BicFi': BIC, 'X-Request-ID': requestId, 'PSU-ID': mix.psu, 'PSU-IP-Address': '192.0.2.10' },
        body: {
          instructedAmount: { currency: 'EUR', amount: `${10 + (i % 50)}.${mix.cents}` },
          debtorAccount: { iban: 'DE89370400440532013000' },
          creditorName: 'Chaos Creditor',
          creditorAccount: { iban: 'FR1420041010050500013M02606' },
          remittanceInformationUnstructured: `chaos ${i}`,
        },
      });
      if (res.status === 201) paymentIds.push(res.body.paymentId);
      else lostSubmissions.push(`${requestId}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    });

    const consentsLoad = (async () => {
      // Reads go to a consent that is valid; a consent that ends otherwise (its creation was
      // ambiguous at the bank, so Clearway refused to create a second one) is replaced.
      const readsPerConsent = 10;
      const workers = Array.from({ length: options.concurrency.consents }, async () => {
        while (readsDone < options.consentReads) {
          const consentId = await validConsent(client, consentIds, consentCreationsRefused, until);
          for (let r = 0; r < readsPerConsent && readsDone < options.consentReads; r++) {
            const read = await client.call('GET', AIS, { headers: { 'X-BicFi': BIC, 'Consent-ID': consentId, 'PSU-IP-Address': '192.0.2.30' } });
            if (read.status === 200) readsDone += 1;
            else {
              readsRefused.push(`${read.status} ${JSON.stringify(read.body).slice(0, 200)}`);
              break;
            }
          }
        }
      });
      await Promise.all(workers);
    })();

    const transfersLoad = pool(options.transfers, options.concurrency.transfers, async () => {
      const requestId = randomUUID();
      transferRequestIds.push(requestId);
      const res = await client.call('POST', TRANSFERS, {
        headers: { 'X-Request-ID': requestId },
        body: { senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: { value: String(TRANSFER_VALUE), assetCode: 'EUR', assetScale: 2 } },
      });
      if (res.status !== 201) {
        // e.g. 409 "The transfer failed": a repeat of a POST whose transfer failed meanwhile. The
        // transfer exists (found by its X-Request-ID below); only one without a row is lost.
        lostSubmissions.push(`transfer ${requestId}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        return;
      }
      transferIds.push(res.body.transferId);
      const redirect: string | undefined = res.body._links?.scaRedirect?.href;
      if (redirect) await approveTransfer(redirect, until);
    });

    // One pain.001 batch across both sandbox banks, uploaded (and repeated, same X-Request-ID and
    // file, while the API is down or answers 5xx) alongside the other loads.
    const batchMsgId = `CHAOS-${Date.now()}`;
    let batchId: string | null = null;
    const batchLoad = (async () => {
      if (options.batchTransactions <= 0) return;
      const bytes = await pain001Bytes(chaosBatchFile(batchMsgId, options.batchTransactions));
      const res = await client.call('POST', BATCHES, {
        headers: { 'X-Request-ID': randomUUID(), 'PSU-ID': 'decoupled', 'PSU-IP-Address': '192.0.2.40' },
        raw: { contentType: 'application/xml', bytes },
      });
      // 200: the same file again (its first answer lost), the batch the first request made.
      if (res.status === 201 || res.status === 200) batchId = res.body.batchId;
      else lostSubmissions.push(`batch ${batchMsgId}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      event(`batch ${batchMsgId} submitted (${options.batchTransactions} transactions): ${res.status}`);
    })();

    const chaosPlan: Array<'worker' | 'api' | 'temporal'> = chaosSchedule(options);
    const chaosRun = (async () => {
      for (const step of chaosPlan) {
        await sleep(options.chaosIntervalMs);
        if (step === 'worker') {
          await worker.kill();
          event(`worker SIGKILL #${worker.kills}`);
          await sleep(1_000);
          await worker.start();
          event('worker restarted');
        } else if (step === 'api') {
          await api.kill();
          event(`API SIGKILL #${api.kills}`);
          await sleep(1_000);
          await api.start();
          event('API restarted');
        } else {
          event('Temporal dev server SIGKILL');
          await temporalService.killAndRestart(2_000);
          event('Temporal dev server restarted on the same database file');
        }
      }
    })();

    const progress = setInterval(
      () => log(`[chaos] +${Math.round((Date.now() - started) / 1000)} s submitted: ${paymentIds.length}/${options.payments} payments, ${readsDone}/${options.consentReads} consent reads (${consentIds.length} consents), ${transferIds.length}/${options.transfers} transfers; client calls repeated ${client.retriedCalls}`),
      15_000,
    );
    cleanups.push(async () => clearInterval(progress));
    await Promise.all([paymentsLoad, consentsLoad, transfersLoad, batchLoad]);
    clearInterval(progress);
    event(`load submitted: ${paymentIds.length} payments, ${readsDone} consent reads (${consentIds.length} consents), ${transferIds.length} transfers`);
    await chaosRun;
    // Faults while the load and the chaos run; then the banks behave, so the long tail of retries
    // (up to a minute apart) does not make the run's length a matter of luck.
    sandbox.bank.setFaults({ errorRate: 0, rateLimitEvery: 0, dropResponseRate: 0 });
    sandbox.nl.bank.setFaults({ errorRate: 0, rateLimitEvery: 0, dropResponseRate: 0 });
    ase.ase.setFaults({ errorRate: 0, rateLimitEvery: 0, dropResponseRate: 0 });
    bgProxy.setTimeoutRate(0);
    opProxy.setTimeoutRate(0);
    event('chaos plan done, bank faults off; waiting for every resource to settle');

    // ── settle: final, or unknown (resolved by the operator for payments) ─────────────────────────
    const pg = new PgClient({ connectionString: databaseUrl });
    await pg.connect();
    cleanups.push(() => pg.end());
    const rulings = { initiated: 0, notInitiated: 0 };
    const batchRulings = { initiated: 0, notInitiated: 0 };
    const ruled = new Set<string>();
    const rule = async (what: string, decide: () => Promise<OperatorDecision>, counts: { initiated: number; notInitiated: number }) => {
      if (ruled.has(what)) return;
      const decision = await decide().catch((err: Error) => {
        log(`[chaos] operator ruling on ${what} failed (retried): ${err.message}`);
        return undefined;
      });
      if (!decision) return;
      ruled.add(what);
      if (decision.decision === 'initiated') counts.initiated += 1;
      else counts.notInitiated += 1;
    };
    const refreshIds = async () => {
      const p = await pg.query(`SELECT id FROM payments WHERE request_id = ANY($1)`, [paymentRequestIds]);
      const t = await pg.query(`SELECT id FROM op_transfers WHERE request_id = ANY($1)`, [transferRequestIds]);
      paymentIds.splice(0, paymentIds.length, ...p.rows.map((r) => r.id as string));
      transferIds.splice(0, transferIds.length, ...t.rows.map((r) => r.id as string));
    };
    for (;;) {
      await refreshIds();
      const open = await pg.query(
        `SELECT id, transaction_status, initiation_outcome FROM payments WHERE NOT (transaction_status = ANY($1)) AND id = ANY($2)`,
        [[...FINAL_PAYMENT], paymentIds],
      );
      const openTransfers = await pg.query(`SELECT id FROM op_transfers WHERE NOT (status = ANY($1)) AND status <> 'unknown' AND id = ANY($2)`, [[...FINAL_TRANSFER], transferIds]);
      const openConsents = await pg.query(`SELECT id FROM consents WHERE NOT (consent_status = ANY($1)) AND id = ANY($2)`, [[...SETTLED_CONSENT], consentIds]);
      const unknown = open.rows.filter((r) => r.initiation_outcome === 'unknown' && !ruled.has(r.id));
      // The harness as the operator: asks the bank (the sandbox's books, by X-Request-ID) and rules.
      for (const row of unknown) await rule(row.id, () => ruleAsOperator(temporal, sandbox.bank, row.id), rulings);
      // The batch: its single payments and its bulk ruled like any payment, then its own status final.
      let openBatch = 0;
      if (options.batchTransactions > 0) {
        batchId ??= (await pg.query(`SELECT id FROM batches WHERE msg_id = $1`, [batchMsgId])).rows[0]?.id ?? null;
        const status = batchId ? (await pg.query(`SELECT status FROM batches WHERE id = $1`, [batchId])).rows[0]?.status : undefined;
        if (!FINAL_BATCH.has(status)) openBatch = 1;
        if (batchId) {
          const singles = await pg.query(
            `SELECT p.id FROM batch_transactions t JOIN payments p ON p.id = t.payment_id WHERE t.batch_id = $1 AND p.initiation_outcome = 'unknown'`,
            [batchId],
          );
          for (const row of singles.rows) await rule(row.id, () => ruleAsOperator(temporal, sandbox.nl.bank, row.id), batchRulings);
          const bulks = await pg.query(
            `SELECT bp.id FROM batch_payment_infos i JOIN bulk_payments bp ON bp.id = i.payment_id WHERE i.batch_id = $1 AND bp.initiation_outcome = 'unknown'`,
            [batchId],
          );
          for (const row of bulks.rows) await rule(row.id, () => ruleBulkAsOperator(temporal, sandbox, row.id), batchRulings);
        }
      }
      const waiting = open.rows.length + openTransfers.rows.length + openConsents.rows.length + openBatch;
      if (waiting === 0) break;
      if (Date.now() > until) {
        event(`deadline: ${open.rows.length} payments, ${openTransfers.rows.length} transfers, ${openConsents.rows.length} consents${openBatch ? ', the batch' : ''} not settled`);
        break;
      }
      await sleep(2_000);
    }
    event(`settled; operator ruled ${rulings.initiated} initiated, ${rulings.notInitiated} not initiated (batch: ${batchRulings.initiated} initiated, ${batchRulings.notInitiated} not initiated)`);

    for (;;) {
      const pending = await pg.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`, [endpointId]);
      if (pending.rows[0].n === 0 || Date.now() > until) break;
      await sleep(2_000);
    }

    // ── invariants ──────────────────────────────────────────────────────────────────────────────
    const invariants: Invariant[] = [];
    const check = (name: string, ok: boolean, detail: string) => invariants.push({ name, ok, detail });

    const payments = await pg.query(`SELECT id, transaction_status, initiation_outcome, status_reason FROM payments WHERE id = ANY($1)`, [paymentIds]);
    const paymentCounts = countBy(payments.rows, (r) => (r.initiation_outcome === 'unknown' ? 'unknown' : r.transaction_status));
    const notSettled = payments.rows.filter((r) => !FINAL_PAYMENT.has(r.transaction_status) && !(r.initiation_outcome === 'unknown' && r.status_reason));
    check('every payment final or unknown with a reason', notSettled.length === 0, `${payments.rows.length - notSettled.length}/${payments.rows.length}${notSettled.length ? `; open: ${notSettled.slice(0, 5).map((r) => `${r.id} ${r.transaction_status}`).join(', ')}` : ''}`);
    check(
      'no payment lost',
      paymentRequestIds.length === options.payments && paymentIds.length === options.payments && transferRequestIds.length === options.transfers && transferIds.length === options.transfers,
      `${paymentIds.length}/${options.payments} payments and ${transferIds.length}/${options.transfers} transfers held by Clearway for the requests sent; POSTs not answered 201 (the resource exists, see the status counts): ${lostSubmissions.length}${lostSubmissions.length ? ` (${lostSubmissions.slice(0, 2).join(' | ')})` : ''}`,
    );

    const stats = sandbox.bank.stats();
    const byClearway = payments.rows.map((r) => ({ row: r, atBank: sandbox.bank.findPaymentsByRequestId(initiationRequestId(r.id)) }));
    const twice = byClearway.filter(({ atBank }) => atBank.filter((p) => p.executed).length > 1);
    check('0 payments executed twice at the bank', twice.length === 0, `${twice.length} executed twice; bank created ${stats.totals.paymentsCreated} payments for ${paymentIds.length}, from ${stats.totals.initiationRequests} initiation requests`);
    const disagree = byClearway.filter(({ row, atBank }) => {
      const executed = atBank.some((p) => p.executed);
      if (row.transaction_status === 'ACSC' || row.transaction_status === 'ACCC') return !executed;
      if (row.transaction_status === 'RJCT' || row.transaction_status === 'CANC') return executed;
      return false;
    });
    check('Clearway final status agrees with the bank', disagree.length === 0, `${disagree.length} disagree${disagree.length ? `: ${disagree.slice(0, 5).map(({ row }) => `${row.id} ${row.transaction_status}`).join(', ')}` : ''}`);
    const knownRequestIds = new Set(payments.rows.map((r) => initiationRequestId(r.id)));
    const strangers = stats.payments.filter((p) => !knownRequestIds.has(p.requestId));
    check('every bank payment belongs to a Clearway payment', strangers.length === 0, `${strangers.length} bank payments with an unknown X-Request-ID`);

    const consents = await pg.query(`SELECT id, consent_status, status_reason FROM consents WHERE id = ANY($1)`, [consentIds]);
    const consentCounts = countBy(consents.rows, (r) => r.consent_status);
    const openConsents = consents.rows.filter((r) => !SETTLED_CONSENT.has(r.consent_status));
    check('every consent settled (valid or final)', openConsents.length === 0, `${consents.rows.length - openConsents.length}/${consents.rows.length}; creations refused with 4xx (ambiguous at the bank, not repeated): ${consentCreationsRefused.length}`);
    check('every consent read answered', readsDone >= options.consentReads, `${readsDone}/${options.consentReads} reads; refused (the consent then replaced): ${readsRefused.length}${readsRefused.length ? ` (${readsRefused.slice(0, 2).join(' | ')})` : ''}`);

    const transfers = await pg.query(`SELECT id, status, status_reason FROM op_transfers WHERE id = ANY($1)`, [transferIds]);
    const transferCounts = countBy(transfers.rows, (r) => r.status);
    const openTransfers = transfers.rows.filter((r) => !FINAL_TRANSFER.has(r.status) && !(r.status === 'unknown' && r.status_reason));
    check('every transfer final or unknown with a reason', openTransfers.length === 0, `${transfers.rows.length - openTransfers.length}/${transfers.rows.length}`);
    const asePayments = await pg.query(`SELECT metadata->>'clearwayTransferId' AS transfer_id, state FROM "${ASE_SCHEMA}".outgoing_payments`);
    const perTransfer = countBy(asePayments.rows, (r) => r.transfer_id ?? 'none');
    const paidTwice = Object.entries(perTransfer).filter(([, n]) => n > 1);
    check('0 transfers paid twice at the wallet', paidTwice.length === 0, `${asePayments.rows.length} outgoing payments for ${transferIds.length} transfers; ${paidTwice.length} with more than one`);
    const completedIds = new Set(transfers.rows.filter((r) => r.status === 'completed').map((r) => r.id));
    const completedAtAse = new Set(asePayments.rows.filter((r) => String(r.state).toLowerCase() === 'completed').map((r) => r.transfer_id));
    const transferDisagree = [...completedIds].filter((id) => !completedAtAse.has(id)).length + [...completedAtAse].filter((id) => !completedIds.has(id) && transfers.rows.find((t) => t.id === id)?.status !== 'unknown').length;
    check('Clearway transfer status agrees with the wallet', transferDisagree === 0, `${transferDisagree} disagree`);

    const balancesAfter = await ase.ase.balances();
    const sum = (b: Record<string, bigint>) => Object.values(b).reduce((x, v) => x + v, 0n);
    const negative = Object.entries(balancesAfter).filter(([, v]) => v < 0n).map(([k, v]) => `${k}=${v}`);
    check('Open Payments ledger sum constant, no negative balance', sum(balancesAfter) === sum(balancesBefore) && negative.length === 0, `sum before ${sum(balancesBefore)}, after ${sum(balancesAfter)}; negative: ${negative.join(', ') || 'none'}`);

    const batch = options.batchTransactions > 0 ? await checkBatch({ pg, client, sandbox, batchId, transactions: options.batchTransactions, rulings: batchRulings, check }) : 'not run';

    const deliveries = await pg.query(`SELECT event_id, status FROM webhook_deliveries WHERE endpoint_id = $1`, [endpointId]);
    const delivered = deliveries.rows.filter((r) => r.status === 'delivered');
    const missing = delivered.filter((r) => !receiver.received.has(r.event_id));
    const expectedEvents = payments.rows.length + transfers.rows.length; // at least one event each
    check(
      'every webhook delivered',
      delivered.length === deliveries.rows.length && missing.length === 0 && receiver.badSignatures === 0 && deliveries.rows.length >= expectedEvents,
      `${delivered.length}/${deliveries.rows.length} deliveries delivered, ${missing.length} not seen by the receiver, ${receiver.badSignatures} bad signatures (at least ${expectedEvents} expected)`,
    );
    const duplicates = [...receiver.received.values()].filter((n) => n > 1).length;

    const report: ChaosReport = {
      options: { ...options, log: undefined } as Omit<ChaosOptions, 'log'>,
      wallSeconds: Math.round((Date.now() - started) / 1000),
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      chaos: { workerKills: worker.kills, apiKills: api.kills, temporalRestarts: temporalService.kills, workerCrashes: worker.unexpectedExits, apiCrashes: api.unexpectedExits, events },
      bank: {
        bgRequests: bgProxy.stats().requests,
        bgPaymentsCreated: stats.totals.paymentsCreated,
        bgInitiationRequests: stats.totals.initiationRequests,
        bgExecuted: stats.totals.paymentsExecuted,
        proxiedRequests: bgProxy.stats().requests + opProxy.stats().requests,
        timedOut: bgProxy.stats().timedOut + opProxy.stats().timedOut,
      },
      payments: paymentCounts,
      operatorRulings: rulings,
      consents: consentCounts,
      consentReads: { done: readsDone, retriedCalls: client.retriedCalls },
      transfers: transferCounts,
      ledger: { before: sum(balancesBefore).toString(), after: sum(balancesAfter).toString(), negative },
      webhooks: { deliveries: deliveries.rows.length, delivered: delivered.length, received: receiver.received.size, duplicates, badSignatures: receiver.badSignatures },
      batch,
      invariants,
      ok: invariants.every((i) => i.ok),
    };
    const sanity = chaosPlan.length === options.workerKills + options.apiKills + options.temporalRestarts;
    if (!sanity) throw new Error('chaos plan does not match the options');
    if (!report.ok) log(`[chaos] worker log tail:\n${worker.logTail()}\n[chaos] API log tail:\n${api.logTail()}`);
    return report;
  } finally {
    while (cleanups.length) {
      await cleanups
        .pop()!()
        .catch((err: Error) => log(`[chaos] cleanup: ${err.message}`));
    }
  }
}

/** Worker kills spread between the API kills and the Temporal restart, starting and ending with a worker kill. */
export function chaosSchedule(o: Pick<ChaosOptions, 'workerKills' | 'apiKills' | 'temporalRestarts'>): Array<'worker' | 'api' | 'temporal'> {
  const others: Array<'api' | 'temporal'> = [];
  for (let i = 0; i < Math.max(o.apiKills, o.temporalRestarts); i++) {
    if (i < o.apiKills) others.push('api');
    if (i < o.temporalRestarts) others.push('temporal');
  }
  const plan: Array<'worker' | 'api' | 'temporal'> = [];
  let w = 0;
  for (let i = 0; i <= others.length; i++) {
    const share = Math.ceil((o.workerKills - w) / (others.length - i + 1));
    for (let k = 0; k < share; k++, w++) plan.push('worker');
    if (i < others.length) plan.push(others[i]!);
  }
  return plan;
}

async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function countBy<T>(rows: T[], key: (row: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return out;
}

async function hasWorkflowPoller(temporal: Client, taskQueue: string): Promise<boolean> {
  const described = await temporal.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (described.pollers ?? []).length > 0;
}

async function recreateDatabase(name: string, cleanups: Array<() => Promise<unknown>>): Promise<string> {
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
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function accessToken(dataSource: DataSource, apiUrl: string): Promise<string> {
  const clientId = `chaos-${randomUUID()}`;
  const clientSecret = randomUUID();
  await new ClientRepository(dataSource).upsert({
    clientId,
    tenantId: `tenant-${randomUUID()}`,
    secretHash: await hashSecret(clientSecret),
    allowedScopes: ['paymentinitiation', 'accountinformation', 'webhooks'],
  });
  const res = await fetch(`${apiUrl}/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'paymentinitiation accountinformation webhooks private' }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A new decoupled consent, waited for until valid; returns undefined-free: retries with a new one when it ends otherwise. */
async function validConsent(client: ApiClient, consentIds: string[], refusedCreations: string[], until: number): Promise<string> {
  for (;;) {
    const created = await client.call('POST', CONSENTS, {
      headers: { 'X-BicFi': BIC, 'X-Request-ID': randomUUID(), 'PSU-ID': 'decoupled', 'PSU-IP-Address': '192.0.2.20' },
      body: { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10), frequencyPerDay: 4, combinedServiceIndicator: false },
    });
    if (created.status >= 400 && created.status < 500 && refusedCreations.length < 50) {
      // Documented outcome: an ambiguous creation at the bank of a consent the PSU may be prompted
      // for is not repeated; the client is told to send a new request. So does the harness.
      refusedCreations.push(`${created.status} ${created.body?.tppMessages?.[0]?.code ?? ''}`);
      continue;
    }
    if (created.status !== 201) throw new Error(`consent: ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`);
    const consentId: string = created.body.consentId;
    consentIds.push(consentId);
    for (;;) {
      const status = await client.call('GET', `${CONSENTS}/${consentId}/status`, { headers: { 'X-BicFi': BIC } });
      const s: string | undefined = status.body?.consentStatus;
      if (status.status !== 200) throw new Error(`consent status: ${status.status} ${JSON.stringify(status.body).slice(0, 300)}`);
      if (s === 'valid') return consentId;
      if (s && SETTLED_CONSENT.has(s)) break;
      if (Date.now() > until) throw new Error(`consent ${consentId} still ${s} at the deadline`);
      await sleep(500);
    }
  }
}

/** The PSU's browser with an auto-approving wallet: consent URL → redirect to Clearway's finish callback. */
async function approveTransfer(redirect: string, until: number): Promise<void> {
  for (;;) {
    try {
      const consent = await fetch(redirect, { redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      const finishUrl = consent.headers.get('location');
      await consent.arrayBuffer();
      if (consent.status >= 300 && consent.status < 400 && finishUrl) {
        for (;;) {
          try {
            const finish = await fetch(finishUrl, { redirect: 'manual', signal: AbortSignal.timeout(30_000) });
            await finish.arrayBuffer();
            if (finish.status < 500) return;
          } catch {
            // API down: the browser retries.
          }
          if (Date.now() > until) return;
          await sleep(1_000);
        }
      }
    } catch {
      // the wallet's page timed out
    }
    if (Date.now() > until) return;
    await sleep(1_000);
  }
}

/**
 * The documented operator path (README "Resolving it as an operator"): ask the bank by the
 * initiation's X-Request-ID (here the sandbox's own books), then the `resolveInitiation` update,
 * which records the decision in `operator_decisions`.
 */
async function ruleAsOperator(temporal: Client, bank: BerlinGroupSandboxBank, paymentId: string): Promise<OperatorDecision> {
  const atBank = bank.findPaymentsByRequestId(initiationRequestId(paymentId));
  const operator = 'ops:chaos-harness';
  const decision: OperatorDecision = atBank[0]
    ? { operator, decision: 'initiated', bankPaymentId: atBank[0].paymentId, reason: 'Chaos harness as operator: the bank’s books hold a payment with this X-Request-ID' }
    : { operator, decision: 'not_initiated', reason: 'Chaos harness as operator: the bank’s books hold no payment with this X-Request-ID' };
  await temporal.workflow.getHandle(paymentWorkflowId(paymentId)).executeUpdate(resolveInitiationUpdate, { args: [decision] });
  return decision;
}

/** The same for a batch's bulk payment: its `resolveInitiation` update, by the bulk initiation's X-Request-ID. */
async function ruleBulkAsOperator(temporal: Client, sandbox: RunningBerlinGroupSandbox, bulkId: string): Promise<OperatorDecision> {
  const atBank = sandbox.bulk.findBulksByRequestId(bulkInitiationRequestId(bulkId));
  const operator = 'ops:chaos-harness';
  const decision: OperatorDecision = atBank[0]
    ? { operator, decision: 'initiated', bankPaymentId: atBank[0].paymentId, reason: 'Chaos harness as operator: the bank’s books hold a bulk payment with this X-Request-ID' }
    : { operator, decision: 'not_initiated', reason: 'Chaos harness as operator: the bank’s books hold no bulk payment with this X-Request-ID' };
  await temporal.workflow.getHandle(bulkPaymentWorkflowId(bulkId)).executeUpdate(resolveBulkInitiationUpdate, { args: [decision] });
  return decision;
}

/**
 * The chaos batch: `n` credit transfers, the first half from a SANDDEB0XXX debtor (one bulk
 * payment), the rest from a SANDNL2AXXX debtor (single payments). Every 10th amount has cents 13
 * (the bank rejects it: AM04 inside the bulk, RJCT for a single), every 10th cents 42.
 */
function chaosBatchFile(msgId: string, n: number) {
  const amount = (i: number) => `${1 + (i % 50)}.${i % 10 === 3 ? '13' : i % 10 === 7 ? '42' : '00'}`;
  const bulk = Math.ceil(n / 2);
  return {
    version: 'pain.001.001.09' as const,
    msgId,
    paymentInformations: [
      { pmtInfId: 'CHAOS-DE-BULK', debtorIban: DEBTOR_DE, debtorAgentBic: BIC, transactions: bulk, amount },
      ...(n - bulk > 0 ? [{ pmtInfId: 'CHAOS-NL-SINGLES', debtorIban: DEBTOR_NL, debtorAgentBic: NL_BIC, transactions: n - bulk, amount }] : []),
    ],
  };
}

/**
 * The batch's invariants, from Clearway's rows, the API's answer and the banks' own books: nothing
 * lost, every transaction final (or unknown with a reason), each executed exactly once at its bank
 * (counted by end-to-end id), and the batch's status and counts those of its children.
 */
async function checkBatch(a: {
  pg: PgClient;
  client: ApiClient;
  sandbox: RunningBerlinGroupSandbox;
  batchId: string | null;
  transactions: number;
  rulings: { initiated: number; notInitiated: number };
  check: (name: string, ok: boolean, detail: string) => void;
}): Promise<BatchReport> {
  const { pg, sandbox, batchId, check } = a;
  const expectedBulk = Math.ceil(a.transactions / 2);
  const expectedSingles = a.transactions - expectedBulk;
  const none = { rows: [] as any[] };
  const batch = batchId ? (await pg.query(`SELECT status, number_of_transactions FROM batches WHERE id = $1`, [batchId])).rows[0] : undefined;
  const singles = batchId
    ? await pg.query(
        `SELECT t.end_to_end_id, p.id, p.transaction_status, p.initiation_outcome, p.status_reason
           FROM batch_transactions t LEFT JOIN payments p ON p.id = t.payment_id WHERE t.batch_id = $1`,
        [batchId],
      )
    : none;
  const bulkTx = batchId
    ? await pg.query(
        `SELECT bp.id AS bulk_id, bp.initiation_outcome, bp.status_reason AS bulk_reason, t.end_to_end_id, t.transaction_status
           FROM batch_payment_infos i JOIN bulk_payments bp ON bp.id = i.payment_id JOIN bulk_payment_transactions t ON t.bulk_payment_id = bp.id
          WHERE i.batch_id = $1`,
        [batchId],
      )
    : none;
  const bulkIds = [...new Set(bulkTx.rows.map((r) => r.bulk_id as string))];
  const bulksAtBank = bulkIds.flatMap((id) => sandbox.bulk.findBulksByRequestId(bulkInitiationRequestId(id)));
  const singlesAtBank = sandbox.nl.bank.stats();

  // Nothing lost: the file's every transaction is held (singles each with its payment), and the bank got the bulk whole.
  const bulkShort = bulksAtBank.filter((b) => b.numberOfTransactions !== expectedBulk);
  check(
    'batch: nothing lost',
    !!batch && Number(batch.number_of_transactions) === a.transactions && singles.rows.length === expectedSingles && singles.rows.every((r) => r.id) && bulkTx.rows.length === expectedBulk && bulkShort.length === 0,
    batch
      ? `${bulkTx.rows.length}/${expectedBulk} bulk transactions, ${singles.rows.filter((r) => r.id).length}/${expectedSingles} single payments held; bulks at the bank: ${bulksAtBank.map((b) => b.numberOfTransactions).join(', ') || 'none'} transactions`
      : 'no batch stored for the file',
  );

  // Every transaction final, or its initiation unknown with a reason.
  const childStatus = [
    ...singles.rows.map((r) => ({ e2e: r.end_to_end_id as string, status: r.transaction_status as string | null, unknown: r.initiation_outcome === 'unknown', reason: r.status_reason as string | null })),
    ...bulkTx.rows.map((r) => ({ e2e: r.end_to_end_id as string, status: r.transaction_status as string | null, unknown: r.initiation_outcome === 'unknown', reason: r.bulk_reason as string | null })),
  ];
  const open = childStatus.filter((c) => !(c.status && FINAL_PAYMENT.has(c.status)) && !(c.unknown && c.reason));
  check(
    'batch: every transaction final or unknown with a reason',
    childStatus.length === a.transactions && open.length === 0,
    `${childStatus.length - open.length}/${a.transactions}${open.length ? `; open: ${open.slice(0, 5).map((c) => `${c.e2e} ${c.status}`).join(', ')}` : ''}`,
  );

  // Executions at the banks, by end-to-end id: exactly once for a settled transaction, never for a rejected one.
  const executions = new Map<string, number>();
  const executedE2e = [
    ...singlesAtBank.payments.filter((p) => p.executed).map((p) => sandbox.nl.bank.getPayment(p.paymentId)?.payment.endToEndIdentification ?? `(no end-to-end id: ${p.paymentId})`),
    ...sandbox.bulk.executedEndToEndIds(),
  ];
  for (const e2e of executedE2e) executions.set(e2e, (executions.get(e2e) ?? 0) + 1);
  const inBatch = new Set(childStatus.map((c) => c.e2e));
  const twice = [...executions].filter(([, n]) => n > 1);
  const strangers = [...executions.keys()].filter((e2e) => !inBatch.has(e2e));
  const disagree = childStatus.filter((c) => {
    const n = executions.get(c.e2e) ?? 0;
    if (c.status === 'ACSC' || c.status === 'ACCC') return n !== 1;
    if (c.status === 'RJCT' || c.status === 'CANC') return n !== 0;
    return false;
  });
  check(
    'batch: the bank executed each transaction exactly once',
    twice.length === 0 && strangers.length === 0 && disagree.length === 0,
    `${executedE2e.length} executions for ${executions.size} end-to-end ids; ${twice.length} executed more than once, ${strangers.length} not in the batch, ${disagree.length} disagree with Clearway's status${
      disagree.length ? ` (${disagree.slice(0, 5).map((c) => `${c.e2e} ${c.status} ×${executions.get(c.e2e) ?? 0}`).join(', ')})` : ''
    }`,
  );

  // The batch's status and counts (the API's answer) are its children's.
  const children = countBy(childStatus, (c) => (c.unknown ? 'unknown' : (c.status ?? 'none')));
  const fromChildren = emptyProgress(a.transactions);
  for (const c of childStatus) {
    if (c.status === 'ACSC' || c.status === 'ACCC') fromChildren.settled += 1;
    else if (c.status === 'RJCT') fromChildren.rejected += 1;
    else if (c.status === 'CANC') fromChildren.cancelled += 1;
    else fromChildren.accepted += 1;
  }
  // Past the run's deadline the client makes one attempt only: a failure is then the invariant's, not the run's.
  const answer = batchId ? await a.client.call('GET', `${BATCHES}/${batchId}`).catch((err: Error) => ({ status: 0, body: err.message })) : undefined;
  const shown = answer?.status === 200 ? answer.body : undefined;
  const progress: BatchProgressCounts | null = shown?.progress ?? null;
  const expectedStatus = batchStatusOf(fromChildren);
  const countsAgree = !!progress && (['total', 'settled', 'rejected', 'cancelled'] as const).every((k) => progress[k] === fromChildren[k]);
  check(
    'batch: final status and counts agree with its children',
    !!shown && FINAL_BATCH.has(shown.status) && shown.status === expectedStatus && shown.status === batch?.status && countsAgree,
    `API: ${shown ? `${shown.status}, ${JSON.stringify(progress)}` : `${answer?.status ?? 'no batch'}`}; children: ${expectedStatus}, settled ${fromChildren.settled}, rejected ${fromChildren.rejected}, cancelled ${fromChildren.cancelled} of ${fromChildren.total}`,
  );

  const bulkStats = sandbox.bulk.stats();
  return {
    batchId,
    transactions: a.transactions,
    bulkTransactions: bulkTx.rows.length,
    singlePayments: singles.rows.length,
    status: shown?.status ?? batch?.status ?? null,
    progress,
    children,
    bankExecutions: executedE2e.length,
    bulkAtBank: { created: bulkStats.bulksCreated, initiationRequests: bulkStats.initiationRequests, transactionsAtBank: bulkStats.bulks.map((b) => b.numberOfTransactions) },
    singlesAtBank: { created: singlesAtBank.totals.paymentsCreated, initiationRequests: singlesAtBank.totals.initiationRequests },
    operatorRulings: a.rulings,
  };
}

/** The report as lines for a terminal and for docs/reliability.md. */
export function formatReport(r: ChaosReport): string {
  const kv = (o: Record<string, number>) =>
    Object.entries(o)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  return [
    `chaos run: ${r.options.payments} payments, ${r.options.consentReads} consent reads, ${r.options.transfers} transfers, a ${r.options.batchTransactions}-transaction batch in ${r.wallSeconds} s (load average ${r.loadAverageAtStart.join(' ')} at start, ${r.loadAverageAtEnd.join(' ')} at end)`,
    `chaos: worker SIGKILL ×${r.chaos.workerKills}, API SIGKILL ×${r.chaos.apiKills}, Temporal dev server SIGKILL+restart ×${r.chaos.temporalRestarts}; crashes on their own: worker ${r.chaos.workerCrashes}, API ${r.chaos.apiCrashes}`,
    `faults: ${Math.round(r.options.faults.errorRate * 100)} % 5xx, ${Math.round(r.options.faults.timeoutRate * 100)} % timeouts, 429 every ${r.options.faults.rateLimitEvery}th request, ${Math.round(r.options.faults.dropResponseRate * 100)} % lost answers; ${r.bank.timedOut} of ${r.bank.proxiedRequests} bank requests timed out`,
    `Berlin Group bank: ${r.bank.bgPaymentsCreated} payments created from ${r.bank.bgInitiationRequests} initiation requests, ${r.bank.bgExecuted} executed`,
    `payments: ${kv(r.payments)}; operator rulings: ${r.operatorRulings.initiated} initiated, ${r.operatorRulings.notInitiated} not initiated`,
    `consents: ${kv(r.consents)}; reads ${r.consentReads.done}; client calls repeated ${r.consentReads.retriedCalls}`,
    `transfers: ${kv(r.transfers)}; ledger sum ${r.ledger.before} → ${r.ledger.after}`,
    `webhooks: ${r.webhooks.delivered}/${r.webhooks.deliveries} delivered, ${r.webhooks.received} distinct ids received (${r.webhooks.duplicates} more than once), ${r.webhooks.badSignatures} bad signatures`,
    typeof r.batch === 'string'
      ? `batch: ${r.batch}`
      : `batch: ${r.batch.transactions} transactions (${r.batch.bulkTransactions} in a SANDDEB0XXX bulk, ${r.batch.singlePayments} SANDNL2AXXX single payments), ${r.batch.status}: ${kv(r.batch.children)}; ` +
        `banks executed ${r.batch.bankExecutions}; bulk bank ${r.batch.bulkAtBank.created} bulk(s) from ${r.batch.bulkAtBank.initiationRequests} initiation requests, NL bank ${r.batch.singlesAtBank.created} payments from ${r.batch.singlesAtBank.initiationRequests}; ` +
        `operator rulings ${r.batch.operatorRulings.initiated} initiated, ${r.batch.operatorRulings.notInitiated} not initiated`,
    'invariants:',
    ...r.invariants.map((i) => `  ${i.ok ? 'PASS' : 'FAIL'}  ${i.name}: ${i.detail}`),
    r.ok ? 'ALL INVARIANTS HOLD' : 'INVARIANTS FAILED',
  ].join('\n');
}
