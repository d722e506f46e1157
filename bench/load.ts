/**
 * The load side shared by the benchmarks: closed- or open-loop drivers, the bare baseline workflow,
 * per-phase CPU and latency, and what a workflow's history says it used.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { baselineWorkflow } from '../workflows/baseline.workflow';
import { cpuDelta, cpuSnapshot, intOption, loadAverage, mean, percentile, processMemoryMiB, round, threadCpuSeconds, workerThreadSplit, type CpuSnapshot } from './measure';
import { BenchSystem } from './system';

/** Sends one unit (POST, workflow start) and returns how to await its completion. */
export type Submit = () => Promise<() => Promise<void>>;

export interface Sample {
  /** POST (or workflow start) latency, ms. */
  submitMs: number;
  /** Submit sent → workflow result received, ms. */
  e2eMs: number;
  sentAt: number;
  doneAt: number;
}

export interface PhaseResult {
  name: string;
  completed: number;
  failed: number;
  errors: string[];
  wallSeconds: number;
  perSecond: number;
  submitMean: number;
  submitP50: number;
  submitP99: number;
  e2eP50: number;
  e2eP99: number;
  cpuSeconds: CpuSnapshot;
  /** The worker's CPU seconds by thread (measure.ts, `workerThreadSplit`). */
  workerThreadCpuSeconds: { main: number; core: number; other: number };
  machineCpuPercent: number;
  /** CPU of our processes (bench, worker, Temporal, our PostgreSQL backends) per completed unit, ms. */
  cpuMsPerUnit: number;
  loadAverage: string;
  workerRssMiB: number;
}

/** Runs `count` submissions with `concurrency` closed-loop clients; completions are awaited in the background. */
export async function drive(
  count: number,
  concurrency: number,
  submit: Submit,
  ratePerSecond?: number,
): Promise<{ samples: Sample[]; errors: string[] }> {
  const samples: Sample[] = [];
  const errors: string[] = [];
  const completions: Promise<void>[] = [];
  const submitOne = async () => {
    const sentAt = performance.now();
    let awaitResult: () => Promise<void>;
    try {
      awaitResult = await submit();
    } catch (err) {
      errors.push((err as Error).message);
      return;
    }
    const submittedAt = performance.now();
    completions.push(
      awaitResult().then(
        () => {
          const doneAt = performance.now();
          samples.push({ submitMs: submittedAt - sentAt, e2eMs: doneAt - sentAt, sentAt, doneAt });
        },
        (err: Error) => void errors.push(err.message),
      ),
    );
  };
  if (ratePerSecond) {
    // Open loop: one submission every 1/R s, whatever the latency of the earlier ones.
    const submissions: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = t0 + (i * 1000) / ratePerSecond - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      submissions.push(submitOne());
    }
    await Promise.all(submissions);
  } else {
    // Closed loop: each client sends its next submission when its previous one has returned.
    let next = 0;
    const client = async () => {
      while (next < count) {
        next++;
        await submitOne();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
  }
  await Promise.all(completions);
  return { samples, errors };
}

export function baselineSubmitter(system: BenchSystem, activities: number, timers: number, localActivities = 0): Submit {
  return async () => {
    const handle = await system.temporal.workflow.start<typeof baselineWorkflow>('baselineWorkflow', {
      workflowId: `baseline-${randomUUID()}`,
      taskQueue: system.config.temporal.taskQueue,
      args: [activities, timers, localActivities],
    });
    return async () => {
      await handle.result();
    };
  };
}

/** One measured phase: `count` units by `concurrency` clients (or `rate` per second, open loop). */
export async function measurePhase(
  name: string,
  system: BenchSystem,
  load: { count: number; concurrency: number; rate?: number },
  submit: Submit,
): Promise<PhaseResult> {
  const pids = system.pids();
  const loadBefore = loadAverage();
  const before = cpuSnapshot(pids, system.opts.databaseName);
  const threadsBefore = threadCpuSeconds(pids.worker ?? 0);
  const { samples, errors } = await drive(load.count, load.concurrency, submit, load.rate);
  const cpu = cpuDelta(before, cpuSnapshot(pids, system.opts.databaseName));
  const workerThreads = workerThreadSplit(pids.worker ?? 0, threadsBefore, threadCpuSeconds(pids.worker ?? 0));
  const first = Math.min(...samples.map((s) => s.sentAt));
  const last = Math.max(...samples.map((s) => s.doneAt));
  const wallSeconds = (last - first) / 1000;
  return {
    name,
    completed: samples.length,
    failed: errors.length,
    errors: [...new Set(errors)].slice(0, 5),
    wallSeconds: round(wallSeconds, 2),
    perSecond: round(samples.length / wallSeconds, 2),
    submitMean: round(mean(samples.map((s) => s.submitMs))),
    submitP50: round(percentile(samples.map((s) => s.submitMs), 50)),
    submitP99: round(percentile(samples.map((s) => s.submitMs), 99)),
    e2eP50: round(percentile(samples.map((s) => s.e2eMs), 50)),
    e2eP99: round(percentile(samples.map((s) => s.e2eMs), 99)),
    cpuSeconds: cpu,
    workerThreadCpuSeconds: workerThreads,
    machineCpuPercent: round((100 * cpu.machineBusy) / cpu.machineTotal),
    cpuMsPerUnit: round((1000 * (cpu.bench + cpu.worker + cpu.temporal + cpu.postgres)) / samples.length),
    loadAverage: loadBefore,
    workerRssMiB: round(processMemoryMiB(pids.worker ?? 0).rss),
  };
}

/** What a finished workflow really used, read from its Temporal history. */
export async function countHistory(temporal: Client, workflowId: string) {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const E = proto.api.enums.v1.EventType;
  const count = (type: proto.api.enums.v1.EventType) => (history.events ?? []).filter((e) => e.eventType === type).length;
  return {
    activities: count(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    // A local activity leaves no activity task, only its marker.
    localActivities: (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    timers: count(E.EVENT_TYPE_TIMER_STARTED),
    workflowTasks: count(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    events: (history.events ?? []).length,
  };
}

/**
 * Warms the system up with `warmup` units, reads from their histories how many activities and
 * timers one unit really uses, warms up the baseline with that shape, and returns both shapes.
 */
export async function warmUpAndMeasureShape(
  system: BenchSystem,
  opts: { warmup: number; concurrency: number },
  submitter: (ids: string[]) => Submit,
  workflowIdOf: (id: string) => string,
  label: string,
): Promise<{ shape: Awaited<ReturnType<typeof countHistory>>; baselineShape: Awaited<ReturnType<typeof countHistory>> }> {
  const ids: string[] = [];
  const clients = Math.min(opts.warmup, opts.concurrency);
  const warm = await drive(opts.warmup, clients, submitter(ids));
  if (warm.errors.length) throw new Error(`warm-up failed: ${warm.errors[0]}`);
  const histories = await Promise.all(ids.map((id) => countHistory(system.temporal, workflowIdOf(id))));
  const shape = histories[0]!;
  if (histories.some((h) => h.activities !== shape.activities || h.localActivities !== shape.localActivities || h.timers !== shape.timers)) {
    console.error(`warning: warm-up ${label}s differ in shape: ${JSON.stringify(histories)}`);
  }
  await drive(opts.warmup, clients, baselineSubmitter(system, shape.activities, shape.timers, shape.localActivities));
  const baselineWarmId = `baseline-shape-${randomUUID()}`;
  await system.temporal.workflow.execute<typeof baselineWorkflow>('baselineWorkflow', {
    workflowId: baselineWarmId,
    taskQueue: system.config.temporal.taskQueue,
    args: [shape.activities, shape.timers, shape.localActivities],
  });
  const baselineShape = await countHistory(system.temporal, baselineWarmId);
  console.error(`a ${label} uses ${JSON.stringify(shape)}; the baseline ${JSON.stringify(baselineShape)}`);
  return { shape, baselineShape };
}

/** The probe benches' options (floor, temporal-costs): `--workflows N` (200 per variant and round), `--concurrency C` (20), `--rounds R` (3). */
export function probeOptions(): { count: number; concurrency: number; rounds: number } {
  const { values } = parseArgs({
    options: {
      workflows: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '3' },
    },
  });
  return {
    count: intOption('workflows', values.workflows, 1),
    concurrency: intOption('concurrency', values.concurrency, 1),
    rounds: intOption('rounds', values.rounds, 1),
  };
}

/** The probe benches' system (database `clearway_bench`, zero bank delays), stopped on SIGINT or SIGTERM. */
export function probeSystem(): BenchSystem {
  const system = new BenchSystem({ databaseName: 'clearway_bench', decoupledDelayMs: 0, statusPollInitialMs: 100, databasePoolSize: 5, logLevel: process.env.LOG_LEVEL ?? 'warn' });
  const stopOnSignal = () => void system.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  return system;
}
