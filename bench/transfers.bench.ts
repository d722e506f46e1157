/**
 * Open Payments transfer throughput against a bare Temporal baseline, on the same server and worker.
 *
 *   npm run bench:transfers -- [--transfers 200] [--concurrency 20] [--warmup 5] [--send-poll-ms 100]
 *                              [--pool-size 5] [--temporal-db FILE] [--temporal-address HOST:PORT]
 *
 * The sandbox ASE runs with `autoApprove`: the consent URL redirects straight to Clearway's finish
 * callback, so each transfer is POST → GET scaRedirect → GET finish URL (what the PSU's browser
 * would do) → workflow result. Each of the C clients sends its next POST as soon as its previous
 * POST has returned (closed loop). The baseline runs `baselineWorkflow` with as many activities
 * and timers as a finished transfer's history shows. The ASE is the counterparty, not ours: it
 * runs in its own process on its own database (bench/ase-host.ts), its CPU printed apart and never
 * counted in ours (before 2026-12-03 it ran in the bench process). See docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { opTransferWorkflowId } from '../workflows/op-transfer.api';
import type { TransferState } from '../workflows/op-transfer.api';
import { intOption, round } from './measure';
import { baselineSubmitter, measurePhase, warmUpAndMeasureShape, type PhaseResult, type Submit } from './load';
import { BenchSystem } from './system';

const TRANSFERS_PATH = '/openpayments/v1/transfers';
/**
 * Minor units per transfer (1.00 EUR: more than the sandbox ASE's fee, 5 + 30 bps, which a smaller
 * debit would not cover); alice's opening balance covers every transfer of the run.
 */
const TRANSFER_VALUE = 100n;

interface Options {
  transfers: number;
  concurrency: number;
  warmup: number;
  sendPollMs: number;
  poolSize: number;
  temporalDb?: string;
  temporalAddress?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      transfers: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      'send-poll-ms': { type: 'string', default: '100' },
      'pool-size': { type: 'string', default: '5' },
      'temporal-db': { type: 'string' },
      'temporal-address': { type: 'string', default: process.env.TEMPORAL_ADDRESS },
    },
  });
  return {
    transfers: intOption('transfers', values.transfers, 1),
    concurrency: intOption('concurrency', values.concurrency, 1),
    warmup: intOption('warmup', values.warmup, 1),
    sendPollMs: intOption('send-poll-ms', values['send-poll-ms'], 1),
    poolSize: intOption('pool-size', values['pool-size'], 1),
    temporalDb: values['temporal-db'],
    temporalAddress: values['temporal-address'] || undefined,
  };
}

/** Submits one unit of work; resolves to a function that waits for its completion. */
/** A transfer through the API; completion = the PSU's browser hops (auto-approved) and the workflow result. */
function transferSubmitter(system: BenchSystem, token: string, transferIds?: string[]): Submit {
  const ase = system.ase!.url;
  const body = JSON.stringify({
    senderWalletAddress: `${ase}/alice`,
    receiver: `${ase}/bob`,
    debitAmount: { value: String(TRANSFER_VALUE), assetCode: 'EUR', assetScale: 2 },
  });
  return async () => {
    const res = await fetch(`${system.apiUrl}${TRANSFERS_PATH}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'Content-Type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST ${res.status}: ${text.slice(0, 300)}`);
    const created = JSON.parse(text) as { transferId: string; _links: { scaRedirect: { href: string } } };
    transferIds?.push(created.transferId);
    return async () => {
      // autoApprove: the consent URL answers with a redirect straight to Clearway's finish callback.
      const consent = await fetch(created._links.scaRedirect.href, { redirect: 'manual' });
      const finishUrl = consent.headers.get('location');
      if (consent.status < 300 || consent.status >= 400 || !finishUrl) throw new Error(`consent URL answered ${consent.status}, not a redirect (is autoApprove on?)`);
      const finish = await fetch(finishUrl, { redirect: 'manual' });
      await finish.arrayBuffer();
      if (finish.status !== 200 && finish.status !== 302) throw new Error(`finish callback answered ${finish.status}`);
      const state = (await system.temporal.workflow.getHandle(opTransferWorkflowId(created.transferId)).result()) as TransferState;
      if (state.status !== 'completed') throw new Error(`transfer ${created.transferId} ended ${state.status}: ${state.statusReason ?? ''}`);
    };
  };
}

function printTable(rows: PhaseResult[]): void {
  const cols: Array<[string, (r: PhaseResult) => string | number]> = [
    ['run', (r) => r.name],
    ['done', (r) => r.completed],
    ['failed', (r) => r.failed],
    ['wall s', (r) => r.wallSeconds],
    ['per s', (r) => r.perSecond],
    ['POST/start p50 ms', (r) => r.submitP50],
    ['POST/start p99 ms', (r) => r.submitP99],
    ['e2e p50 ms', (r) => r.e2eP50],
    ['e2e p99 ms', (r) => r.e2eP99],
    ['machine CPU %', (r) => r.machineCpuPercent],
    ['our CPU ms/unit', (r) => r.cpuMsPerUnit],
    ['bench/worker/Temporal/PG s', (r) => `${r.cpuSeconds.bench}/${r.cpuSeconds.worker}/${r.cpuSeconds.temporal}/${r.cpuSeconds.postgres}`],
    ['ASE s (not ours)', (r) => r.cpuSeconds.bank],
    ['load before', (r) => r.loadAverage],
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => String(f(r))))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  for (const [i, row] of cells.entries()) {
    console.log(row.map((c, j) => c.padEnd(widths[j]!)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

async function main(): Promise<number> {
  const opts = parseOptions();
  const units = BigInt(opts.warmup * 2 + opts.transfers + 1);
  const system = new BenchSystem({
    temporalAddress: opts.temporalAddress,
    temporalDbFile: opts.temporalDb,
    databaseName: 'clearway_bench_transfers',
    decoupledDelayMs: 0,
    statusPollInitialMs: 100,
    databasePoolSize: opts.poolSize,
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    workerEnv: { OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: String(opts.sendPollMs) },
    openPayments: { autoApprove: true, aliceBalance: units * TRANSFER_VALUE },
  });
  const stopOnSignal = () => void system.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const startedAt = performance.now();
    await system.start();
    const token = await system.accessToken();
    const balancesBefore = await system.ase!.balances();
    console.error(`system up in ${round((performance.now() - startedAt) / 1000, 1)} s; warming up with ${opts.warmup} transfers`);

    const { shape, baselineShape } = await warmUpAndMeasureShape(system, opts, (ids) => transferSubmitter(system, token, ids), opTransferWorkflowId, 'transfer');

    console.error(`engine: ${opts.transfers} transfers, ${opts.concurrency} clients`);
    const engine = await measurePhase('transfers', system, { count: opts.transfers, concurrency: opts.concurrency }, transferSubmitter(system, token));
    console.error(`baseline: ${opts.transfers} workflows, ${opts.concurrency} clients`);
    const baseline = await measurePhase('baseline', system, { count: opts.transfers, concurrency: opts.concurrency }, baselineSubmitter(system, shape.activities, shape.timers, shape.localActivities));

    // Money check: every completed transfer moved exactly its amount once.
    const balancesAfter = await system.ase!.balances();
    const moved = balancesBefore.alice! - balancesAfter.alice!;
    const expectedMoved = BigInt(opts.warmup + engine.completed) * TRANSFER_VALUE;
    // The ASE keeps its fee: bob receives what alice paid less the fees, which sit in its fee account.
    const sum = (b: Record<string, bigint>) => Object.values(b).reduce((x, v) => x + v, 0n);
    const fees = (balancesAfter['ase-fees-eur-2'] ?? 0n) - (balancesBefore['ase-fees-eur-2'] ?? 0n);
    const ledgerOk = moved === expectedMoved && balancesAfter.bob! - balancesBefore.bob! + fees === moved && sum(balancesAfter) === sum(balancesBefore);

    const ratio = round(engine.perSecond / baseline.perSecond, 2);
    const cpuRatio = round(baseline.cpuMsPerUnit / engine.cpuMsPerUnit, 2);
    printTable([engine, baseline]);
    console.log(`\ntransfers/baseline throughput ratio: ${ratio}; CPU-cost ratio (baseline CPU per unit / transfer CPU per unit): ${cpuRatio}`);
    console.log(`ASE ledger: alice paid ${moved} minor units (bob ${moved - fees}, ASE fees ${fees}) for ${opts.warmup + engine.completed} transfers: ${ledgerOk ? 'exactly once each' : 'MISMATCH'}`);
    if (system.workerWarnings) console.log(`worker logged ${system.workerWarnings} warnings/errors; last lines:\n${system.workerLogTail()}`);
    console.log(
      'BENCH_RESULT ' +
        JSON.stringify({
          bench: 'transfers',
          options: opts,
          machine: { nproc: cpus().length, ramGiB: round(totalmem() / 2 ** 30, 1), node: process.version },
          completion: 'auto-approved consent redirect + finish callback, then workflow result via Temporal client handle.result()',
          transferShape: shape,
          baselineShape,
          engine,
          baseline,
          ratio,
          cpuRatio,
          ledger: { moved: moved.toString(), expected: expectedMoved.toString(), ok: ledgerOk },
        }),
    );
    return engine.failed || baseline.failed || !ledgerOk ? 1 : 0;
  } finally {
    await system.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
