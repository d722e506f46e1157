/**
 * Consents at rest and account-information reads, through the real system (see bench/system.ts).
 *
 *   npm run bench:consents -- [--consents 10000] [--concurrency 20] [--idle-seconds 60]
 *                             [--decoupled-delay-ms 0] [--pool-size 5] [--valid-timeout-seconds 600]
 *                             [--max-cached-workflows N] [--skip-transactions] [--temporal-db FILE]
 *                             [--temporal-address HOST:PORT]
 *
 * 1. Opens N decoupled consents (validUntil 9999-12-31, i.e. the bank's 180-day maximum) with C
 *    closed-loop clients, waits until all are `valid` (Temporal visibility count on the ConsentStatus
 *    search attribute, plus a sample checked through the API), then leaves them idle and samples the
 *    worker's and the Temporal server's RSS (/proc) and CPU over the idle window.
 * 2. Reads the first account's whole booked history page by page (100 per page, `_links.next`), twice.
 *    Every page is a bank read through the consent workflow: there is no cache in Clearway.
 *
 * The worker is the real `dist/apps/worker/main.js`; `--max-cached-workflows N` sets its
 * WORKER_MAX_CACHED_WORKFLOWS (default 250). See docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BenchSystem } from './system';
import * as Measure from './measure';
import { cpuDelta, cpuSnapshot, intOption, loadAverage, mean, percentile, processMemoryMiB, round } from './measure';

const CONSENTS = '/psd2/consent/v1/consents';
const AIS = '/psd2/accountinformation/v1/accounts';
const BIC = 'SANDDEB0XXX';
const CONSENT_BODY = JSON.stringify({
  access: { allPsd2: 'allAccounts' },
  recurringIndicator: true,
  validUntil: '9999-12-31',
  frequencyPerDay: 4,
  combinedServiceIndicator: false,
});

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

interface Options {
  consents: number;
  concurrency: number;
  idleSeconds: number;
  decoupledDelayMs: number;
  poolSize: number;
  validTimeoutSeconds: number;
  maxCachedWorkflows?: number;
  skipTransactions: boolean;
  temporalDb?: string;
  temporalAddress?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      consents: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '20' },
      'idle-seconds': { type: 'string', default: '60' },
      'decoupled-delay-ms': { type: 'string', default: '0' },
      'pool-size': { type: 'string', default: '5' },
      'valid-timeout-seconds': { type: 'string', default: '600' },
      'max-cached-workflows': { type: 'string' },
      'skip-transactions': { type: 'boolean', default: false },
      'temporal-db': { type: 'string' },
      'temporal-address': { type: 'string', default: process.env.TEMPORAL_ADDRESS },
    },
  });
  return {
    consents: intOption('consents', values.consents, 1),
    concurrency: intOption('concurrency', values.concurrency, 1),
    idleSeconds: intOption('idle-seconds', values['idle-seconds'], 1),
    decoupledDelayMs: intOption('decoupled-delay-ms', values['decoupled-delay-ms'], 0),
    poolSize: intOption('pool-size', values['pool-size'], 1),
    validTimeoutSeconds: intOption('valid-timeout-seconds', values['valid-timeout-seconds'], 1),
    maxCachedWorkflows: values['max-cached-workflows'] === undefined ? undefined : intOption('max-cached-workflows', values['max-cached-workflows'], 0),
    skipTransactions: values['skip-transactions'] ?? false,
    temporalDb: values['temporal-db'],
    temporalAddress: values['temporal-address'] || undefined,
  };
}

interface MemSample {
  t: number;
  phase: string;
  workerRss: number;
  temporalRss: number;
}

/** Samples the RSS of the worker and the Temporal server once a second, labelled with the current phase. */
function memorySampler(m: typeof Measure, pids: { worker?: number; temporal?: number }) {
  const samples: MemSample[] = [];
  let phase = 'start';
  const t0 = performance.now();
  const take = () => {
    samples.push({
      t: round1((performance.now() - t0) / 1000),
      phase,
      workerRss: round1(m.processMemoryMiB(pids.worker ?? 0).rss),
      temporalRss: pids.temporal ? round1(m.processMemoryMiB(pids.temporal).rss) : NaN,
    });
  };
  const timer = setInterval(take, 1000);
  timer.unref();
  return {
    samples,
    setPhase(p: string) {
      take();
      phase = p;
    },
    stop() {
      clearInterval(timer);
      take();
    },
    inPhase: (p: string) => samples.filter((s) => s.phase === p),
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

async function main(): Promise<number> {
  const opts = parseOptions();
  const m = Measure;

  const system = new BenchSystem({
    temporalAddress: opts.temporalAddress,
    temporalDbFile: opts.temporalDb,
    databaseName: 'clearway_bench_consents',
    decoupledDelayMs: opts.decoupledDelayMs,
    statusPollInitialMs: 100,
    databasePoolSize: opts.poolSize,
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    ...(opts.maxCachedWorkflows === undefined ? {} : { workerEnv: { WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS: String(opts.maxCachedWorkflows) } }),
  });
  const stopOnSignal = () => void system.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const startedAt = performance.now();
    await system.start();
    const pids = system.pids();
    const mem = memorySampler(m, pids);
    const token = await system.accessToken('accountinformation private');
    const cacheInUse = opts.maxCachedWorkflows ?? system.config.temporal.longLivedMaxCachedWorkflows;
    const workerBaseline = processMemoryMiB(pids.worker ?? 0);
    console.error(
      `system up in ${round((performance.now() - startedAt) / 1000, 1)} s; worker RSS ${round(workerBaseline.rss)} MiB; ` +
        `maxCachedWorkflows ${cacheInUse} (WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS)`,
    );
    const headers = (extra: Record<string, string> = {}) => ({
      Authorization: `Bearer ${token}`,
      'X-Request-ID': randomUUID(),
      'X-BicFi': BIC,
      ...extra,
    });

    // ---- 1. create N consents, closed loop ----
    mem.setPhase('create');
    const loadBeforeCreate = loadAverage();
    const cpuBeforeCreate = cpuSnapshot(pids, system.opts.databaseName);
    const consentIds: string[] = [];
    const postMs: number[] = [];
    const errors: string[] = [];
    let next = 0;
    const createT0 = performance.now();
    let lastReport = createT0;
    const client = async () => {
      while (next < opts.consents) {
        next++;
        const sent = performance.now();
        try {
          const res = await fetch(`${system.apiUrl}${CONSENTS}`, {
            method: 'POST',
            headers: headers({ 'PSU-ID': 'decoupled', 'PSU-IP-Address': '192.0.2.20', 'Content-Type': 'application/json' }),
            body: CONSENT_BODY,
          });
          const text = await res.text();
          if (res.status !== 201) throw new Error(`POST consents ${res.status}: ${text.slice(0, 300)}`);
          const body = JSON.parse(text) as { consentId: string; consentStatus: string };
          consentIds.push(body.consentId);
          postMs.push(performance.now() - sent);
        } catch (err) {
          errors.push((err as Error).message);
          if (errors.length > 50 && errors.length > consentIds.length) throw new Error(`too many failures: ${errors[0]}`);
        }
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          const s = (lastReport - createT0) / 1000;
          console.error(
            `  ${consentIds.length}/${opts.consents} created in ${round(s)} s (${round(consentIds.length / s, 1)}/s), worker RSS ${round(processMemoryMiB(pids.worker ?? 0).rss)} MiB, load ${loadAverage()}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, client));
    const createSeconds = (performance.now() - createT0) / 1000;
    const createCpu = cpuDelta(cpuBeforeCreate, cpuSnapshot(pids, system.opts.databaseName));
    const afterCreate = processMemoryMiB(pids.worker ?? 0);
    console.error(`created ${consentIds.length} consents in ${round(createSeconds)} s (${errors.length} failed); worker RSS ${round(afterCreate.rss)} MiB`);

    // ---- wait until valid ----
    mem.setPhase('await-valid');
    const validT0 = performance.now();
    const query = `WorkflowType = 'consentWorkflow' AND TaskQueue = '${system.config.temporal.longLivedTaskQueue}' AND ConsentStatus = 'valid'`;
    let valid = 0;
    let validCountMethod = 'Temporal visibility count (ConsentStatus search attribute)';
    while (performance.now() - validT0 < opts.validTimeoutSeconds * 1000) {
      try {
        valid = (await system.temporal.workflow.count(query)).count;
      } catch (err) {
        validCountMethod = `visibility count failed (${(err as Error).message.slice(0, 80)}); sampled`;
        break;
      }
      if (valid >= consentIds.length) break;
      await sleep(2000);
    }
    const validSeconds = (performance.now() - validT0) / 1000;
    // A sample through the API (`GET .../status`) as the client would see it.
    const sampleIds = [...consentIds].sort(() => Math.random() - 0.5).slice(0, 50);
    const sampleStatuses: Record<string, number> = {};
    for (const id of sampleIds) {
      const res = await fetch(`${system.apiUrl}${CONSENTS}/${id}/status`, { headers: headers() });
      const status = res.status === 200 ? ((await res.json()) as { consentStatus: string }).consentStatus : `HTTP ${res.status}`;
      sampleStatuses[status] = (sampleStatuses[status] ?? 0) + 1;
    }
    const afterValid = processMemoryMiB(pids.worker ?? 0);
    console.error(`${valid}/${consentIds.length} valid after ${round(validSeconds)} s; API sample of ${sampleIds.length}: ${JSON.stringify(sampleStatuses)}`);

    // ---- idle ----
    mem.setPhase('idle');
    const loadBeforeIdle = loadAverage();
    const idleCpuBefore = cpuSnapshot(pids, system.opts.databaseName);
    const idleT0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const idleSeconds = (performance.now() - idleT0) / 1000;
    const idleCpu = cpuDelta(idleCpuBefore, cpuSnapshot(pids, system.opts.databaseName));
    const loadAfterIdle = loadAverage();
    mem.setPhase('after-idle');
    const idleSamples = mem.inPhase('idle');
    const afterIdle = processMemoryMiB(pids.worker ?? 0);
    const temporalAfterIdle = pids.temporal ? processMemoryMiB(pids.temporal) : { rss: NaN, peak: NaN };
    const idleRss = idleSamples.map((s) => s.workerRss);
    const idle = {
      seconds: round(idleSeconds, 1),
      loadBefore: loadBeforeIdle,
      loadAfter: loadAfterIdle,
      workerRssMiB: { first: idleRss[0], last: idleRss[idleRss.length - 1], min: Math.min(...idleRss), max: Math.max(...idleRss), mean: round(mean(idleRss)) },
      workerCpuPercent: round((100 * idleCpu.worker) / idleSeconds, 2),
      temporalRssMiB: { last: round(temporalAfterIdle.rss), peak: round(temporalAfterIdle.peak) },
      temporalCpuPercent: round((100 * idleCpu.temporal) / idleSeconds, 2),
      benchCpuPercent: round((100 * idleCpu.bench) / idleSeconds, 2),
      postgresCpuPercent: round((100 * idleCpu.postgres) / idleSeconds, 2),
      machineCpuPercent: round((100 * idleCpu.machineBusy) / idleCpu.machineTotal, 1),
      cpuSeconds: idleCpu,
    };

    // ---- 2. transactions page by page ----
    let transactions: Record<string, unknown> | undefined;
    if (!opts.skipTransactions && consentIds.length) {
      mem.setPhase('transactions');
      const consentId = consentIds[0]!;
      const ais = async (path: string) => {
        const res = await fetch(`${system.apiUrl}${AIS}${path}`, { headers: headers({ 'Consent-ID': consentId, 'PSU-IP-Address': '192.0.2.30' }) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`GET ${path} ${res.status}: ${text.slice(0, 300)}`);
        return JSON.parse(text) as Record<string, any>;
      };
      const accountsT0 = performance.now();
      const accounts = (await ais('')).accounts as Array<{ resourceId: string; currency: string }>;
      const accountsMs = performance.now() - accountsT0;
      const accountId = accounts[0]!.resourceId;
      const dateFrom = new Date(Date.now() - 800 * 86_400_000).toISOString().slice(0, 10);
      const loadBeforeTx = loadAverage();
      const listings: Array<{ pages: number; transactions: number; totalMs: number; pageMs: number[]; bytes: number }> = [];
      for (let run = 0; run < 2; run++) {
        let path: string | undefined = `/${accountId}/transactions?bookingStatus=booked&dateFrom=${dateFrom}`;
        const pageMs: number[] = [];
        let count = 0;
        let bytes = 0;
        const t0 = performance.now();
        while (path) {
          const p0 = performance.now();
          const page = await ais(path);
          pageMs.push(performance.now() - p0);
          bytes += JSON.stringify(page).length;
          count += (page.transactions.booked ?? []).length;
          const href: string | undefined = page.transactions._links?.next?.href;
          path = href ? href.slice(href.indexOf(AIS) + AIS.length) : undefined;
        }
        listings.push({ pages: pageMs.length, transactions: count, totalMs: performance.now() - t0, pageMs, bytes });
      }
      transactions = {
        account: accountId,
        dateFrom,
        loadBefore: loadBeforeTx,
        loadAfter: loadAverage(),
        accountsListMs: round(accountsMs),
        listings: listings.map((l, i) => ({
          run: i + 1,
          pages: l.pages,
          transactions: l.transactions,
          totalMs: round(l.totalMs),
          pageP50Ms: round(percentile(l.pageMs, 50)),
          pageP99Ms: round(percentile(l.pageMs, 99)),
          pageMeanMs: round(mean(l.pageMs)),
          pageMaxMs: round(Math.max(...l.pageMs)),
          firstPageMs: round(l.pageMs[0]!),
          responseKiB: round(l.bytes / 1024),
        })),
      };
    }
    mem.stop();
    const workerEnd = processMemoryMiB(pids.worker ?? 0);
    const all = mem.samples.filter((s) => Number.isFinite(s.workerRss));
    const workerPeakSampled = Math.max(...all.map((s) => s.workerRss));
    const temporalPeakSampled = Math.max(...all.map((s) => s.temporalRss).filter(Number.isFinite));
    // RSS over time: one point per ~10 % of the creation phase, to see whether it plateaus.
    const creation = mem.inPhase('create');
    const step = Math.max(1, Math.floor(creation.length / 10));
    const rssCurve = creation.filter((_, i) => i % step === 0).map((s) => `${s.t}s:${s.workerRss}`);

    const result = {
      options: opts,
      machine: { nproc: cpus().length, ramGiB: round(totalmem() / 2 ** 30, 1), node: process.version },
      maxCachedWorkflows: { inUse: cacheInUse, source: opts.maxCachedWorkflows === undefined ? 'WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS default' : '--max-cached-workflows' },
      creation: {
        requested: opts.consents,
        created: consentIds.length,
        failed: errors.length,
        errors: [...new Set(errors)].slice(0, 5),
        seconds: round(createSeconds, 1),
        perSecond: round(consentIds.length / createSeconds, 2),
        postP50Ms: round(percentile(postMs, 50)),
        postP99Ms: round(percentile(postMs, 99)),
        loadBefore: loadBeforeCreate,
        cpuSeconds: createCpu,
        cpuMsPerConsent: round((1000 * (createCpu.bench + createCpu.worker + createCpu.temporal + createCpu.postgres)) / Math.max(1, consentIds.length)),
        machineCpuPercent: round((100 * createCpu.machineBusy) / createCpu.machineTotal),
      },
      valid: { count: valid, of: consentIds.length, waitSeconds: round(validSeconds, 1), method: validCountMethod, apiSample: sampleStatuses },
      workerRssMiB: {
        beforeCreation: round(workerBaseline.rss),
        afterCreation: round(afterCreate.rss),
        afterValid: round(afterValid.rss),
        afterIdle: round(afterIdle.rss),
        end: round(workerEnd.rss),
        peakSampled: workerPeakSampled,
        peakVmHWM: round(workerEnd.peak),
        creationCurve: rssCurve,
      },
      temporalRssMiB: { peakSampled: temporalPeakSampled },
      idle,
      transactions,
      workerWarnings: system.workerWarnings,
      // Issue 12: worker RSS ≤ 300 MB with 10,000 idle consents (it was 400 MB before).
      targets: { workerRssAtMost300MiB: idle.workerRssMiB.max <= 300 && workerEnd.peak <= 300, idleMaxOnly: idle.workerRssMiB.max <= 300 },
    };
    printReport(result);
    if (system.workerWarnings) console.log(`worker logged ${system.workerWarnings} warnings/errors; last lines:\n${system.workerLogTail()}`);
    console.log('BENCH_RESULT ' + JSON.stringify(result));
    return errors.length ? 1 : 0;
  } finally {
    await system.stop();
  }
}

function printReport(r: any): void {
  const rows: Array<[string, string]> = [
    ['machine', `${r.machine.nproc} CPU, ${r.machine.ramGiB} GiB, Node ${r.machine.node}`],
    ['maxCachedWorkflows', `${r.maxCachedWorkflows.inUse} (${r.maxCachedWorkflows.source}; SDK default here ${r.maxCachedWorkflows.sdkDefault}, V8 heap limit ${r.maxCachedWorkflows.v8HeapLimitMiB} MiB)`],
    ['consents created', `${r.creation.created}/${r.creation.requested} (${r.creation.failed} failed) in ${r.creation.seconds} s = ${r.creation.perSecond}/s, load before ${r.creation.loadBefore}`],
    ['POST p50 / p99', `${r.creation.postP50Ms} / ${r.creation.postP99Ms} ms`],
    ['creation CPU s bench/worker/temporal/pg (bank, not ours)', `${r.creation.cpuSeconds.bench}/${r.creation.cpuSeconds.worker}/${r.creation.cpuSeconds.temporal}/${r.creation.cpuSeconds.postgres} (${r.creation.cpuSeconds.bank}; ${r.creation.cpuMsPerConsent} ms/consent, machine ${r.creation.machineCpuPercent} %)`],
    ['valid', `${r.valid.count}/${r.valid.of} after ${r.valid.waitSeconds} s more; API sample ${JSON.stringify(r.valid.apiSample)}`],
    ['worker RSS MiB', `before ${r.workerRssMiB.beforeCreation} → after creation ${r.workerRssMiB.afterCreation} → valid ${r.workerRssMiB.afterValid} → after idle ${r.workerRssMiB.afterIdle}; peak ${r.workerRssMiB.peakSampled} (VmHWM ${r.workerRssMiB.peakVmHWM}); end ${r.workerRssMiB.end}`],
    ['worker RSS during creation', r.workerRssMiB.creationCurve.join(' ')],
    ['idle window', `${r.idle.seconds} s, load ${r.idle.loadBefore} → ${r.idle.loadAfter}, machine CPU ${r.idle.machineCpuPercent} %`],
    ['idle worker', `RSS min/mean/max ${r.idle.workerRssMiB.min}/${r.idle.workerRssMiB.mean}/${r.idle.workerRssMiB.max} MiB, CPU ${r.idle.workerCpuPercent} %`],
    ['idle Temporal server', `RSS ${r.idle.temporalRssMiB.last} MiB (peak ${r.idle.temporalRssMiB.peak}), CPU ${r.idle.temporalCpuPercent} %`],
    ['idle others', `bench (API) CPU ${r.idle.benchCpuPercent} %, PostgreSQL ${r.idle.postgresCpuPercent} %`],
  ];
  for (const l of r.transactions?.listings ?? []) {
    rows.push([
      `transactions listing ${l.run}`,
      `${l.transactions} tx, ${l.pages} pages, total ${l.totalMs} ms; per page p50 ${l.pageP50Ms} / p99 ${l.pageP99Ms} / max ${l.pageMaxMs} ms (first ${l.firstPageMs}), ${l.responseKiB} KiB`,
    ]);
  }
  if (r.transactions) rows.push(['transactions load', `${r.transactions.loadBefore} → ${r.transactions.loadAfter}; accounts list ${r.transactions.accountsListMs} ms`]);
  rows.push(['target worker RSS ≤ 300 MB', r.targets.workerRssAtMost300MiB ? 'met' : `NOT met (idle max ${r.idle.workerRssMiB.max}, peak ${r.workerRssMiB.peakVmHWM} MiB)`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
