/**
 * The processes the chaos run kills: the API and the worker (their production entry points under
 * dist/), and the Temporal dev server (restarted on the same port and SQLite file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKER_NODE_FLAGS, WORKER_PROCESS_ENV } from '../../apps/worker/worker';
import { startTemporalDevServer, waitForTemporal, type TemporalDevServer } from '../../libs/temporal/dev-server';

const TAIL = 60;

/** A Node service run from dist/, restartable, SIGKILLable. */
export class NodeService {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly tail: string[] = [];
  /** Exits nobody asked for (a crash), restarted by {@link ensureRunning}. */
  unexpectedExits = 0;
  kills = 0;
  private stopping = false;
  /** Between a deliberate kill and the restart that follows it: the supervisor keeps out. */
  private held = false;
  private starting?: Promise<void>;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string>,
    private readonly nodeFlags: readonly string[] = [],
    private readonly ready: () => Promise<boolean>,
  ) {}

  static worker(script: string, env: Record<string, string>, ready: () => Promise<boolean>): NodeService {
    return new NodeService('worker', script, { ...WORKER_PROCESS_ENV, ...env }, WORKER_NODE_FLAGS, ready);
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(): string {
    return this.tail.join('\n');
  }

  /** Starts the process (once at a time) and resolves when it is ready. */
  start(timeoutMs = 120_000): Promise<void> {
    this.held = false;
    this.starting ??= this.spawnAndWait(timeoutMs).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawnAndWait(timeoutMs: number): Promise<void> {
    const child = spawn(process.execPath, [...this.nodeFlags, this.script], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    // Never leave a worker or API behind when the harness itself dies.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (!this.stopping && this.child === child && !killed.has(child)) this.unexpectedExits += 1;
        resolve();
      }),
    );
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > TAIL) this.tail.shift();
      });
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.logTail()}`);
      if (await this.ready().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** SIGKILL: no shutdown hooks; whatever was in flight is lost mid-call. */
  async kill(): Promise<void> {
    if (!this.child || !this.running) return;
    this.held = true;
    killed.add(this.child);
    this.kills += 1;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Restarts a crashed process (counted as unexpected). */
  async ensureRunning(): Promise<void> {
    if (!this.running && !this.stopping && !this.held && !this.starting) await this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (!this.child || !this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

const killed = new WeakSet<ChildProcess>();

/** The Temporal dev server on a fixed port and SQLite file, so a restart is the same cluster. */
export class TemporalService {
  private server?: TemporalDevServer;
  kills = 0;

  constructor(
    private readonly port: number,
    private readonly dbFile: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = await startTemporalDevServer({ port: this.port, headless: true, dbFilename: this.dbFile, logLevel: 'error', startTimeoutMs: 120_000 });
  }

  /** SIGKILL, then a new server on the same file; resolves once it answers again. */
  async killAndRestart(downMs: number): Promise<void> {
    const child = this.server!.process;
    this.kills += 1;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    await sleep(downMs);
    await this.start();
    await waitForTemporal(this.address, 60_000, 'default');
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
