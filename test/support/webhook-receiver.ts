import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');
const VENV = path.join(ROOT, '.tools', 'webhook-verifier');
const PYTHON = path.join(VENV, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
/** The independent verifier: Standard Webhooks' own Python library, from PyPI. */
const VERIFIER_SPEC = 'standardwebhooks==1.1.0';

/**
 * A Python with the PyPI `standardwebhooks` package, installed into `.tools/webhook-verifier` on
 * first use. Fails loudly (never skips) when it cannot be had.
 */
export function ensureVerifierPython(): string {
  const ok = () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import standardwebhooks'], { stdio: 'ignore' }).status === 0;
  if (ok()) return PYTHON;
  const steps: [string, string[]][] = [];
  if (!existsSync(PYTHON)) steps.push(['python3', ['-m', 'venv', VENV]]);
  steps.push([PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', VERIFIER_SPEC]]);
  for (const [cmd, args] of steps) {
    const result = spawnSync(cmd, args, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(
        `The webhook tests verify signatures with the PyPI package ${VERIFIER_SPEC} (independently of Clearway's code), ` +
          `and it could not be installed into ${VENV}: \`${cmd} ${args.join(' ')}\` failed.\n${result.stderr ?? result.error?.message ?? ''}\n` +
          `Install it by hand: python3 -m venv ${VENV} && ${PYTHON} -m pip install ${VERIFIER_SPEC}`,
      );
    }
  }
  if (!ok()) throw new Error(`${VERIFIER_SPEC} was installed into ${VENV} but cannot be imported`);
  return PYTHON;
}

export interface ReceivedWebhook {
  path: string;
  webhookId: string;
  webhookTimestamp: string;
  signatures: number;
  /** Which of the configured secrets verified the request (indexes); empty: none did. */
  verifiedWith: number[];
  verifyError: string | null;
  answered: number;
  receivedAt: number;
  body: any;
}

/** Drives test/support/webhook-receiver.py. */
export class PythonWebhookReceiver {
  private constructor(
    private readonly child: ChildProcess,
    readonly hookPort: number,
    private readonly controlPort: number,
  ) {}

  static async start(): Promise<PythonWebhookReceiver> {
    const python = ensureVerifierPython();
    const child = spawn(python, [path.join(__dirname, 'webhook-receiver.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const ports = await new Promise<[number, number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhook receiver did not start: ${stderr}`)), 15_000);
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        const m = /^PORTS (\d+) (\d+)$/.exec(line);
        if (m) resolve([Number(m[1]), Number(m[2])]);
        else reject(new Error(`webhook receiver said: ${line} ${stderr}`));
      });
      child.once('exit', (code) => reject(new Error(`webhook receiver exited (${code}): ${stderr}`)));
    });
    return new PythonWebhookReceiver(child, ...ports);
  }

  url(pathname = '/hooks'): string {
    return `http://127.0.0.1:${this.hookPort}${pathname}`;
  }

  private async control(method: 'GET' | 'POST', pathname: string, body?: unknown): Promise<any> {
    const res = await fetch(`http://127.0.0.1:${this.controlPort}${pathname}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`receiver control ${pathname}: ${res.status}`);
    return res.json();
  }

  setSecrets(secrets: string[]): Promise<void> {
    return this.control('POST', '/secrets', { secrets });
  }

  failFirst(n: number): Promise<void> {
    return this.control('POST', '/fail-first', { n });
  }

  down(): Promise<void> {
    return this.control('POST', '/down');
  }

  up(): Promise<void> {
    return this.control('POST', '/up');
  }

  reset(): Promise<void> {
    return this.control('POST', '/reset');
  }

  received(): Promise<ReceivedWebhook[]> {
    return this.control('GET', '/received');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}
