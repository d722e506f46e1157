/**
 * Webhook delivery: status changes → outbox → dispatcher workflow → a local receiver.
 *
 *   npm run bench:webhooks -- [--events 10000] [--rate 200] [--burst-clients 8] [--fail-percent 1]
 *                             [--pool-size 10] [--temporal-db FILE] [--temporal-address HOST:PORT]
 *
 * The real system as in the other benches (Temporal dev server, PostgreSQL, the API here, the worker
 * as a child process running the dispatcher). Status changes are written through
 * `PaymentRepository.recordStatusChange`, the call a payment's activity makes, for payments stored
 * up front (10,000 bank round trips would measure the bank sandbox, not webhooks); this process
 * wakes dispatchers after commit as the worker does. The receiver (a worker thread) verifies every
 * signature with the npm `standardwebhooks` package and notes when each event arrives.
 *
 * Phases, each on fresh payments, one event per payment:
 * 1. healthy, open loop at --rate events/s: latency from the status write to the receiver;
 * 2. burst: --burst-clients writers as fast as they can: how many events per second drain;
 * 3. faults, open loop at --rate: the receiver answers 500 to the first attempt of --fail-percent of
 *    the events; every event must arrive (the retry comes 5 s later), none lost.
 */
import { createHash, randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startWebhookWakeups } from '../apps/worker/webhooks';
import { createLogger } from '../libs/observability/logger';
import { PaymentEntity } from '../libs/persistence/entities/payment.entity';
import { PaymentRepository } from '../libs/persistence/payment.repository';
import { intOption, loadAverage, percentile, round } from './measure';
import { measurePhase, type PhaseResult, type Submit } from './load';
import { BenchSystem } from './system';
import { webhookDispatcherStateQuery, webhookDispatcherWorkflowId } from '../workflows/webhook.api';

interface Options {
  events: number;
  rate: number;
  burstClients: number;
  failPercent: number;
  poolSize: number;
  temporalDb?: string;
  temporalAddress?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '10000' },
      rate: { type: 'string', default: '200' },
      'burst-clients': { type: 'string', default: '8' },
      'fail-percent': { type: 'string', default: '1' },
      'pool-size': { type: 'string', default: '10' },
      'temporal-db': { type: 'string' },
      'temporal-address': { type: 'string', default: process.env.TEMPORAL_ADDRESS },
    },
  });
  return {
    events: intOption('events', values.events, 1),
    rate: intOption('rate', values.rate, 1),
    burstClients: intOption('burst-clients', values['burst-clients'], 1),
    failPercent: intOption('fail-percent', values['fail-percent'], 0),
    poolSize: intOption('pool-size', values['pool-size'], 1),
    temporalDb: values['temporal-db'],
    temporalAddress: values['temporal-address'] || undefined,
  };
}

/**
 * The receiver, in a worker thread of its own so that the load generator in this thread cannot slow
 * its answers: verifies each request, answers 204 (or 500 to the first attempt of chosen payments),
 * and reports each arrival with its time (`performance.timeOrigin + performance.now()`, comparable
 * across threads).
 */
const RECEIVER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const { performance } = require('node:perf_hooks');
const { Webhook } = require(workerData.standardwebhooks);
let webhook;
let failFirstFor = new Set();
const failedOnce = new Set();
const seen = new Set();
const answered = { ok: 0, failed: 0, badSignature: 0, duplicates: 0 };
let arrivals = [];
setInterval(() => { if (arrivals.length) { parentPort.postMessage({ arrivals }); arrivals = []; } }, 20);
parentPort.on('message', (m) => {
  if (m.secret) webhook = new Webhook(m.secret);
  if (m.failFirstFor) failFirstFor = new Set(m.failFirstFor);
  if (m.stats) parentPort.postMessage({ answered });
});
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    let event;
    try { event = webhook.verify(Buffer.concat(chunks).toString('utf8'), req.headers); } catch { answered.badSignature++; return res.writeHead(400).end(); }
    const paymentId = event.data.paymentId;
    if (failFirstFor.has(paymentId) && !failedOnce.has(paymentId)) { failedOnce.add(paymentId); answered.failed++; return res.writeHead(500).end(); }
    const id = String(req.headers['webhook-id']);
    if (seen.has(id)) answered.duplicates++;
    seen.add(id);
    answered.ok++;
    res.writeHead(204).end();
    arrivals.push([paymentId, at]);
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

class Receiver {
  private thread!: Worker;
  private readonly waiting = new Map<string, () => void>();
  /** Absolute time (ms) each payment's event was answered 2xx, the first time. */
  readonly arrivedAt = new Map<string, number>();
  url = '';

  async start(): Promise<void> {
    this.thread = new Worker(RECEIVER_THREAD, { eval: true, workerData: { standardwebhooks: require.resolve('standardwebhooks') } });
    this.thread.on('message', (m: { arrivals?: [string, number][] }) => {
      for (const [paymentId, at] of m.arrivals ?? []) {
        if (!this.arrivedAt.has(paymentId)) this.arrivedAt.set(paymentId, at);
        this.waiting.get(paymentId)?.();
        this.waiting.delete(paymentId);
      }
    });
    const port = await new Promise<number>((resolve) => {
      const onPort = (m: { port?: number }) => {
        if (m.port === undefined) return;
        this.thread.off('message', onPort);
        resolve(m.port);
      };
      this.thread.on('message', onPort);
    });
    this.url = `http://127.0.0.1:${port}/hooks`;
  }

  useSecret(secret: string): void {
    this.thread.postMessage({ secret });
  }

  failFirstFor(paymentIds: string[]): void {
    this.thread.postMessage({ failFirstFor: paymentIds });
  }

  stats(): Promise<{ ok: number; failed: number; badSignature: number; duplicates: number }> {
    return new Promise((resolve) => {
      const onStats = (m: { answered?: { ok: number; failed: number; badSignature: number; duplicates: number } }) => {
        if (!m.answered) return;
        this.thread.off('message', onStats);
        resolve(m.answered);
      };
      this.thread.on('message', onStats);
      this.thread.postMessage({ stats: true });
    });
  }

  /** Resolves when the payment's event has been received and answered 2xx. */
  arrival(paymentId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(paymentId);
        reject(new Error(`event of ${paymentId} not delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(paymentId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): Promise<number> {
    return this.thread.terminate();
  }
}

/** `count` stored payments of the tenant, ready for a status change each (inserted in bulk). */
async function storePayments(system: BenchSystem, tenant: { tenantId: string; clientId: string }, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (let i = 0; i < ids.length; i += 1_000) {
    await system.dataSource
      .createQueryBuilder()
      .insert()
      .into(PaymentEntity)
      .values(
        ids.slice(i, i + 1_000).map((id) => ({
          id,
          ...tenant,
          requestId: randomUUID(),
          requestHash: '0'.repeat(64),
          bicFi: 'SANDDEB0XXX',
          paymentService: 'payments',
          paymentProduct: 'sepa-credit-transfers' as const,
          body: { instructedAmount: { currency: 'EUR', amount: '1.00' } } as PaymentEntity['body'],
          currency: 'EUR',
          amountMinor: '100',
          transactionStatus: 'ACSP' as const,
        })),
      )
      .execute();
  }
  return ids;
}

/**
 * One status change per payment, through the repository call the payment activity makes; done = the
 * receiver got it. `committedAt` notes when each change committed: the moment it happened.
 */
function statusChanges(repo: PaymentRepository, receiver: Receiver, ids: string[], committedAt: Map<string, number>, timeoutMs: number): Submit {
  let next = 0;
  return async () => {
    const paymentId = ids[next++]!;
    const arrived = receiver.arrival(paymentId, timeoutMs);
    await repo.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
    committedAt.set(paymentId, performance.timeOrigin + performance.now());
    return () => arrived;
  };
}

/** Commit → receiver latencies of a phase, ms (an event may arrive before its writer saw the commit return: 0 then). */
function deliveryLatencies(ids: string[], committedAt: Map<string, number>, receiver: Receiver): { p50: number; p90: number; p99: number; max: number } {
  const latencies = ids.map((id) => Math.max(0, receiver.arrivedAt.get(id)! - committedAt.get(id)!));
  return { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)) };
}

/** Waits until the endpoint has nothing pending: the receiver answers before the dispatcher records the outcome. */
async function settled(system: BenchSystem, endpointId: string): Promise<void> {
  for (;;) {
    const [row] = await system.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`, [endpointId]);
    if (row.n === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const system = new BenchSystem({
    temporalAddress: opts.temporalAddress,
    temporalDbFile: opts.temporalDb,
    databaseName: 'clearway_bench_webhooks',
    decoupledDelayMs: 0,
    statusPollInitialMs: 100,
    databasePoolSize: opts.poolSize,
    logLevel: process.env.LOG_LEVEL ?? 'warn',
  });
  const receiver = new Receiver();
  let stopWakeups: (() => void) | undefined;
  try {
    await receiver.start();
    await system.start();
    // This process writes the events, so it wakes the dispatchers after commit, as the worker does.
    stopWakeups = await startWebhookWakeups({
      config: system.config,
      dataSource: system.dataSource,
      client: async () => system.temporal,
      logger: createLogger('bench-wakeups', 'warn'),
    });
    const token = await system.accessToken('webhooks private');
    const res = await fetch(`${system.apiUrl}/webhooks/v1/endpoints`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, eventTypes: ['payment.status_changed'] }),
    });
    const endpoint = (await res.json()) as { endpointId: string; secret: string };
    if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${JSON.stringify(endpoint)}`);
    receiver.useSecret(endpoint.secret);
    const [owner] = await system.dataSource.query(
      'SELECT c.tenant_id AS "tenantId", c.client_id AS "clientId" FROM webhook_endpoints w JOIN api_clients c ON c.tenant_id = w.tenant_id WHERE w.id = $1',
      [endpoint.endpointId],
    );
    const repo = new PaymentRepository(system.dataSource);

    console.error(`storing ${3 * opts.events + 200} payments…`);
    const warm = await storePayments(system, owner, 200);
    const healthy = await storePayments(system, owner, opts.events);
    const burst = await storePayments(system, owner, opts.events);
    const faulty = await storePayments(system, owner, opts.events);

    const committedAt = new Map<string, number>();
    const phases: { result: PhaseResult; latency: ReturnType<typeof deliveryLatencies>; dispatcherRounds: number }[] = [];
    const dispatcher = system.temporal.workflow.getHandle(webhookDispatcherWorkflowId(endpoint.endpointId));
    const rounds = async () => (await dispatcher.query(webhookDispatcherStateQuery)).rounds;
    const phase = async (name: string, ids: string[], load: { concurrency: number; rate?: number }, timeoutMs: number) => {
      const roundsBefore = await rounds();
      const result = await measurePhase(name, system, { count: ids.length, ...load }, statusChanges(repo, receiver, ids, committedAt, timeoutMs));
      await settled(system, endpoint.endpointId);
      phases.push({ result, latency: deliveryLatencies(ids, committedAt, receiver), dispatcherRounds: (await rounds()) - roundsBefore });
    };

    console.error('warm-up: 200 events');
    await measurePhase('warm-up', system, { count: warm.length, concurrency: 4, rate: 100 }, statusChanges(repo, receiver, warm, committedAt, 60_000));
    await settled(system, endpoint.endpointId);

    console.error(`healthy receiver: ${opts.events} events at ${opts.rate}/s (open loop)`);
    await phase(`healthy, ${opts.rate}/s open loop`, healthy, { concurrency: 1, rate: opts.rate }, 120_000);

    console.error(`burst: ${opts.events} events from ${opts.burstClients} writers`);
    await phase(`burst, ${opts.burstClients} writers`, burst, { concurrency: opts.burstClients }, 300_000);

    const failing = faulty.filter((id) => parseInt(createHash('sha256').update(id).digest('hex').slice(0, 8), 16) % 100 < opts.failPercent);
    receiver.failFirstFor(failing);
    console.error(`faults: ${opts.events} events at ${opts.rate}/s, first attempt of ${failing.length} answered 500`);
    await phase(`${opts.failPercent}% answered 500 once, ${opts.rate}/s`, faulty, { concurrency: 1, rate: opts.rate }, 300_000);

    const [outcome] = await system.dataSource.query(
      `SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered, count(*) FILTER (WHERE status <> 'delivered')::int AS not_delivered,
              count(*) FILTER (WHERE attempts > 1)::int AS retried
         FROM webhook_deliveries WHERE endpoint_id = $1 AND subject_id = ANY ($2::uuid[])`,
      [endpoint.endpointId, faulty],
    );
    const total = opts.events * 3 + warm.length;
    const [all] = await system.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'`, [endpoint.endpointId]);

    console.log(`\nWebhooks: ${opts.events} events per phase (${cpus().length} CPUs, ${round(totalmem() / 2 ** 30, 1)} GiB, load ${loadAverage()})`);
    console.log('| phase | events | events/s | commit → delivery p50 / p90 / p99 / max ms | status write p50 / p99 ms | delivery rounds completed | CPU ms/event | machine CPU % |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const { result: r, latency: l, dispatcherRounds } of phases) {
      console.log(
        `| ${r.name} | ${r.completed} (${r.failed} lost) | ${r.perSecond} | ${l.p50} / ${l.p90} / ${l.p99} / ${l.max} | ${r.submitP50} / ${r.submitP99} | ${dispatcherRounds} | ${r.cpuMsPerUnit} | ${r.machineCpuPercent} |`,
      );
    }
    console.log(
      `\nfaults phase: ${failing.length} first attempts answered 500, ${outcome.retried} deliveries retried, ${outcome.delivered}/${opts.events} delivered, ${outcome.not_delivered} not delivered`,
    );
    const answered = await receiver.stats();
    console.log(`receiver: ${answered.ok} answered 2xx, ${answered.failed} answered 500, ${answered.badSignature} bad signatures, ${answered.duplicates} duplicate webhook-ids`);
    console.log(`all phases: ${all.n}/${total} deliveries delivered`);
    console.log(JSON.stringify({ options: opts, phases, faults: { failing: failing.length, ...outcome }, receiver: answered, delivered: all.n, total }));
    const lost = phases.reduce((n, p) => n + p.result.failed, 0) + outcome.not_delivered + (total - all.n);
    if (lost || answered.badSignature) process.exitCode = 1;
  } finally {
    stopWakeups?.();
    await system.stop();
    await receiver.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
