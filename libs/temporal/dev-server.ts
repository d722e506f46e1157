import { ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { findTemporalCli } from './cli-binary';
import { CUSTOM_SEARCH_ATTRIBUTES } from './search-attributes';

export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface TemporalDevServerOptions {
  /** gRPC port. Default 7233; 0 picks a free one. */
  port?: number;
  /** Web UI port. Default port + 1000 (a free one when port is 0). Ignored when headless. */
  uiPort?: number;
  /** SQLite file to persist to; omitted means in memory. */
  dbFilename?: string;
  /** Namespace to create and wait for. Default 'default', which the server always creates. */
  namespace?: string;
  /** Server log level. Default 'warn'. */
  logLevel?: string;
  /** Default: CUSTOM_SEARCH_ATTRIBUTES. */
  searchAttributes?: Readonly<Record<string, SearchAttributeTypeName>>;
  /** No Web UI. */
  headless?: boolean;
  /** Every line the server prints, stdout and stderr. */
  onLog?: (line: string) => void;
  /** How long to wait for the server to answer. Default 60 s: slow on busy 2-core CI machines. */
  startTimeoutMs?: number;
  /** Binary to run. Default: findTemporalCli(). */
  executable?: string;
  /**
   * A process group of its own, so a terminal's Ctrl-C (SIGINT to the foreground group) does not
   * stop the server under the workers still draining: the caller stops it, last (`npm run dev`).
   */
  ownProcessGroup?: boolean;
}

export interface TemporalDevServer {
  /** host:port for `Connection.connect({ address })`. */
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period. Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const STDERR_TAIL_LINES = 40;
const ALREADY_EXISTS = 6; // gRPC status code

/** Spawns `temporal server start-dev` on 127.0.0.1 and resolves once it answers gRPC calls in `namespace`. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const executable = opts.executable ?? findTemporalCli();
  if (!executable) {
    throw new Error(
      'Temporal CLI not found: run `node scripts/ensure-tools.mjs`, set TEMPORAL_CLI_PATH or put `temporal` on PATH',
    );
  }
  const port = opts.port === 0 ? await freePort() : (opts.port ?? 7233);
  const uiPort = opts.headless ? undefined : (opts.uiPort ?? (opts.port === 0 ? await freePort() : port + 1000));
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? CUSTOM_SEARCH_ATTRIBUTES;
  const address = `127.0.0.1:${port}`;

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  if (uiPort !== undefined) args.push('--ui-port', String(uiPort));
  if (opts.headless) args.push('--headless');
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  if (namespace !== 'default') args.push('--namespace', namespace);
  args.push('--log-level', opts.logLevel ?? 'warn');
  for (const [name, type] of Object.entries(searchAttributes)) args.push('--search-attribute', `${name}=${type}`);

  // Clearway's OTEL_* variables are for its own processes: the Go server reads them too and refuses
  // exporters it lacks (`console`), so it starts without them (its own tracing stays off).
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: opts.ownProcessGroup ?? false });
  const stderrTail: string[] = [];
  const forward = (stream: NodeJS.ReadableStream, keepTail: boolean) =>
    createInterface({ input: stream }).on('line', (line) => {
      opts.onLog?.(line);
      if (keepTail) {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
    });
  forward(child.stdout, false);
  forward(child.stderr, true);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  // A spawn failure (ENOENT, EACCES) is reported as 'error' and then, maybe, 'exit'.
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  // Do not leave an orphan server behind if the caller forgets stop() or the process dies.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (hasExited || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const describeExit = ({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }) =>
    `Temporal dev server (${executable} ${args.join(' ')}) exited before it was ready ` +
    `(${signal ? `signal ${signal}` : `code ${code}`}):\n${stderrTail.join('\n')}`;

  const aborted = new AbortController();
  try {
    await Promise.race([
      waitForTemporal(address, opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, namespace, aborted.signal),
      exited.then((exit) => Promise.reject(new Error(describeExit(exit)))),
      spawnError.then((err) => Promise.reject(new Error(`cannot run ${executable}: ${err.message}`))),
    ]);
  } catch (err) {
    aborted.abort();
    await stop();
    if (err instanceof Error && !hasExited) err.message += `\nserver stderr:\n${stderrTail.join('\n')}`;
    throw err;
  } finally {
    aborted.abort();
  }

  return { address, uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`, process: child, stop };
}

/**
 * Resolves once `address` answers `GetSystemInfo` and knows `namespace`. A listening port alone is not
 * enough: the frontend accepts connections before the namespace registry is loaded.
 */
export async function waitForTemporal(
  address: string,
  timeoutMs: number = DEFAULT_START_TIMEOUT_MS,
  namespace = 'default',
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (!signal?.aborted) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let connection: Connection | undefined;
    try {
      // A plain TCP probe first: it fails fast and can be abandoned at once, whereas a gRPC connect to a
      // closed port waits out its whole connectTimeout and keeps the event loop busy after an abort.
      await tcpProbe(address, Math.min(remaining, 1_000), signal);
      connection = await Connection.connect({ address, connectTimeout: Math.min(remaining, 5_000) });
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
  if (signal?.aborted) throw new Error(`stopped waiting for Temporal at ${address}`);
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`Temporal at ${address} not ready after ${timeoutMs} ms: ${reason}`);
}

export const INDEXED_VALUE_TYPES: Record<SearchAttributeTypeName, temporal.api.enums.v1.IndexedValueType> = {
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers custom search attributes on an existing server (one not started by us with --search-attribute).
 * Idempotent: attributes already there are skipped, and a concurrent registration is tolerated.
 */
export async function registerSearchAttributes(
  address: string,
  attrs: Readonly<Record<string, SearchAttributeTypeName>> = CUSTOM_SEARCH_ATTRIBUTES,
  namespace = 'default',
): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(attrs).filter(([name]) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]])),
      });
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
  } finally {
    await connection.close();
  }
}

function tcpProbe(address: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(separator + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (err?: Error) => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => done(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done());
    socket.once('timeout', () => done(new Error(`TCP connect to ${address} timed out`)));
    socket.once('error', done);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
