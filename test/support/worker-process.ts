import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from '../../apps/worker/worker';

/** The production worker entry point, built into dist/ by globalSetup. */
export const WORKER_MAIN = path.resolve(__dirname, '../../dist/apps/worker/main.js');
/** The production API entry point, for tests that run API replicas as processes. */
export const API_MAIN = path.resolve(__dirname, '../../dist/apps/api/main.js');

/**
 * `node dist/apps/worker/main.js` as a child process, as in production (same Node flags), with its
 * output kept for failure reports: for the tests that kill a worker mid-flight.
 */
export class WorkerProcess {
  /** Rejects if the process exits before the test killed it (bad config, crash on start). */
  readonly unexpectedExit: Promise<never>;
  private readonly exited: Promise<void>;
  private readonly chunks: string[] = [];
  private killed = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => this.chunks.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => this.chunks.push(chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.unexpectedExit = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => {
        if (!this.killed) reject(new Error(`${name} exited on its own (code ${code}, signal ${signal}):\n${this.output()}`));
      }),
    );
    this.unexpectedExit.catch(() => undefined);
  }

  static spawn(name: string, env: Record<string, string>, main = WORKER_MAIN): WorkerProcess {
    const child = spawn(process.execPath, [...(main === WORKER_MAIN ? WORKER_NODE_FLAGS : []), main], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(main === WORKER_MAIN ? WORKER_PROCESS_ENV : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkerProcess(name, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  output(): string {
    return this.chunks.join('').split('\n').slice(-200).join('\n');
  }

  /** SIGKILL: no shutdown hooks, no graceful drain; in-flight activities are simply lost. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killed = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A failure is much easier to read next to what the worker processes printed. */
export async function withWorkerLogsOnFailure(workers: WorkerProcess[], run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const logs = workers.map((w) => `── ${w.name} (pid ${w.pid}) ──\n${w.output() || '(no output)'}`).join('\n');
    if (err instanceof Error) err.message += `\n\nWorker output:\n${logs}`;
    throw err;
  }
}
