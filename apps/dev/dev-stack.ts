import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * `npm run dev` (dist/apps/dev/main.js, built first) on free ports and a throwaway data directory, in a process
 * group of its own so a test can press "Ctrl-C" the way a terminal does: SIGINT to the whole group.
 */
export interface DevStack {
  child: ChildProcess;
  /** Every line printed so far, stdout and stderr. */
  lines: string[];
  apiUrl: string;
  temporalAddress: string;
  uiUrl: string;
  bgUrl: string;
  /** SIGINT to the process group (a terminal's Ctrl-C); resolves with the exit code once it ended. */
  interrupt(timeoutMs?: number): Promise<number | null>;
  /** Kills whatever is left and removes the data directory. */
  dispose(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startDevStack(opts: { root: string; readyTimeoutMs?: number; env?: Record<string, string> }): Promise<DevStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clearway-dev-'));
  const [api, bg, op, pglite, temporal, ui] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    CLEARWAY_DATA_DIR: dataDir,
    API_PORT: String(api),
    SANDBOX_BG_PORT: String(bg),
    SANDBOX_OP_PORT: String(op),
    PGLITE_PORT: String(pglite),
    TEMPORAL_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    ...opts.env,
  };
  // The launcher's own choices: embedded database and its own Temporal dev server.
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  delete env.PUBLIC_BASE_URL;
  delete env.SANDBOX_BG_URL;
  const child = spawn(process.execPath, [path.join(opts.root, 'dist/apps/dev/main.js')], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      lines.push(...parts);
    });
  }
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  while (!lines.some((l) => l.includes('Clearway is running'))) {
    if (child.exitCode !== null) throw new Error(`npm run dev exited (${child.exitCode}) before it was ready:\n${lines.join('\n')}`);
    if (Date.now() > deadline) {
      killGroup(child, 'SIGKILL');
      throw new Error(`npm run dev was not ready in time:\n${lines.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    lines,
    apiUrl: `http://127.0.0.1:${api}`,
    temporalAddress: `127.0.0.1:${temporal}`,
    uiUrl: `http://127.0.0.1:${ui}`,
    bgUrl: `http://127.0.0.1:${bg}/berlin-group`,
    async interrupt(timeoutMs = 60_000) {
      killGroup(child, 'SIGINT');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGKILL');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}
