import { readFileSync, readdirSync } from 'node:fs';

/** A command-line option that must be an integer of at least `min`. */
export function intOption(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

/** Nearest-rank percentile of an unsorted sample, in the sample's unit. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The middle value of an unsorted sample (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far; 0 when it is gone or /proc is unavailable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of each thread of a process by thread id, with the thread's name (`/proc/<pid>/task`). */
export function threadCpuSeconds(pid: number): Map<number, { name: string; cpu: number }> {
  const threads = new Map<number, { name: string; cpu: number }>();
  for (const tid of safeReaddir(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND });
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return threads;
}

/**
 * A worker process's CPU over a phase, by thread: its main JavaScript thread (activities, the SDK's
 * own pipeline), the Temporal core's runtime threads (`tokio-runtime-w`), and the rest: the workflow
 * threads, V8's garbage-collector and compiler helpers and libuv's pool, which Node names alike
 * (`node`). Real CPU from the kernel, unlike a profile's samples, which count a thread that waits for
 * a core as busy. A thread that ended during the phase is lost.
 */
export function workerThreadSplit(pid: number, before: Map<number, { name: string; cpu: number }>, after: Map<number, { name: string; cpu: number }>): { main: number; core: number; other: number } {
  const split = { main: 0, core: 0, other: 0 };
  for (const [tid, { name, cpu }] of after) {
    const used = cpu - (before.get(tid)?.cpu ?? 0);
    if (tid === pid) split.main += used;
    else if (name.startsWith('tokio-runtime')) split.core += used;
    else split.other += used;
  }
  return { main: round(split.main, 2), core: round(split.core, 2), other: round(split.other, 2) };
}

/**
 * CPU seconds used by the PostgreSQL backends serving `database` (their title reads
 * "postgres: user database host(port) state"). Other agents' databases on the same server are left out.
 */
export function postgresBackendCpuSeconds(database: string): Record<string, number> {
  const byPid: Record<string, number> = {};
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (title.split(' ').includes(database)) byPid[entry] = processCpuSeconds(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return byPid;
}

/** Busy and total CPU seconds of the whole machine since boot, summed over all cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}

/** Resident and peak resident memory of a process, in MiB. */
export function processMemoryMiB(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** CPU seconds per component over one phase of the run. */
export interface CpuSnapshot {
  /** This process: load generator and API. */
  bench: number;
  worker: number;
  temporal: number;
  /** The sandbox bank's own process and the Open Payments ASE's: not ours, so reported but never part of "our CPU". */
  bank: number;
  /** Backends serving the bench database only (pooled connections come and go: counted per pid). */
  postgres: number;
  postgresByPid?: Record<string, number>;
  machineBusy: number;
  machineTotal: number;
}

export function cpuSnapshot(pids: { worker?: number; temporal?: number; bank?: number; ase?: number }, database: string): CpuSnapshot {
  const own = process.cpuUsage();
  const machine = machineCpuSeconds();
  return {
    bench: (own.user + own.system) / 1e6,
    worker: pids.worker ? processCpuSeconds(pids.worker) : 0,
    temporal: pids.temporal ? processCpuSeconds(pids.temporal) : 0,
    bank: (pids.bank ? processCpuSeconds(pids.bank) : 0) + (pids.ase ? processCpuSeconds(pids.ase) : 0),
    postgres: 0,
    postgresByPid: postgresBackendCpuSeconds(database),
    machineBusy: machine.busy,
    machineTotal: machine.total,
  };
}

export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const d = (k: Exclude<keyof CpuSnapshot, 'postgresByPid'>) => round(after[k] - before[k], 2);
  // A backend that started during the phase counts from zero; one that ended is lost (small).
  const postgres = Object.entries(after.postgresByPid ?? {}).reduce((sum, [pid, cpu]) => sum + cpu - (before.postgresByPid?.[pid] ?? 0), 0);
  return {
    bench: d('bench'),
    worker: d('worker'),
    temporal: d('temporal'),
    bank: d('bank'),
    postgres: round(postgres, 2),
    machineBusy: d('machineBusy'),
    machineTotal: d('machineTotal'),
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
