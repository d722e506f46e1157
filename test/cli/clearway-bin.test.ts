import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { defaultAmount } from '../../libs/iso20022';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { validateXsd } from '../../libs/iso20022/xsd';
import type { TestClient } from '../support/factories';
import { TestStack } from '../support/stack';

/**
 * The built `clearway` bin (bin/clearway.js → dist/apps/cli/main.js, built by globalSetup) as an
 * operator's scheduler runs it: a child process, exit codes, stdout/stderr.
 *
 * Against the real stack: the API over HTTP, the Temporal dev server, PostgreSQL, and the sandbox
 * bank SANDDEB0XXX (bulk payments, cents 13 rejected with AM04), nothing faked.
 */
const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin', 'clearway.js');
const run = promisify(execFile);

jest.setTimeout(180_000);

let stack: TestStack;
let client: TestClient;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'apps', 'cli', 'main.js'))).toBe(true);
  stack = await TestStack.start({ env: { BATCH_PROGRESS_INTERVAL_MS: '300' } });
  client = await stack.newClient();
  env = { CLEARWAY_URL: stack.baseUrl, CLEARWAY_CLIENT_ID: client.clientId, CLEARWAY_CLIENT_SECRET: client.clientSecret };
  dir = mkdtempSync(join(tmpdir(), 'clearway-bin-'));
});
afterAll(() => stack?.close());

async function clearway(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extra },
      cwd: dir,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function file(name: string, transactions: number, amount?: (i: number) => string, faults = {}): Promise<string> {
  const path = join(dir, `${name}.xml`);
  writeFileSync(
    path,
    await pain001Bytes({
      version: 'pain.001.001.03',
      msgId: `MSG-BIN-${name}`,
      paymentInformations: [{ pmtInfId: 'PMT-1', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions, amount }],
      faults,
    }),
  );
  return path;
}

it('--help works from the built bin', async () => {
  const { code, stdout } = await clearway(['--help']);
  expect(code).toBe(0);
  expect(stdout).toContain('Usage: clearway');
});

it('submit --wait (decoupled), status, list and report: exit 0 when all settled', async () => {
  const submitted = await clearway(['batch', 'submit', await file('settled', 40), '--wait', '--interval', '200', '--psu-id', 'decoupled', '--json']);
  expect(submitted.code).toBe(0);
  const batch = JSON.parse(submitted.stdout) as { batchId: string; status: string; progress: { settled: number } };
  expect(batch).toMatchObject({ status: 'completed', progress: { settled: 40 } });

  const status = await clearway(['batch', 'status', batch.batchId]);
  expect(status).toMatchObject({ code: 0, stdout: expect.stringContaining('completed') });

  const list = await clearway(['batch', 'list']);
  expect(list).toMatchObject({ code: 0, stdout: expect.stringContaining(batch.batchId) });

  const report = join(dir, 'settled.pain002.xml');
  expect((await clearway(['batch', 'report', batch.batchId, '-o', report])).code).toBe(0);
  expect((await validateXsd(readFileSync(report), 'pain.002.001.10')).valid).toBe(true);
});

it('submit --wait exits 2 when some transactions were rejected', async () => {
  const { code, stdout, stderr } = await clearway(['batch', 'submit', await file('rejections', 20, (i) => (i % 10 === 3 ? '5.13' : defaultAmount(i))), '--wait', '--interval', '200', '--psu-id', 'decoupled']);
  expect(code).toBe(2);
  expect(stdout).toContain('partially_completed');
  expect(stdout).toContain('rejected 2');
  expect(stderr).toMatch(/^partially_completed · settled 18\/20/m);
});

it("a new user's first run: sample writes <MsgId>.xml in the working directory, submit --wait settles it at both sandbox banks", async () => {
  const sample = await clearway(['batch', 'sample', '--json']);
  expect(sample.code).toBe(0);
  const written = JSON.parse(sample.stdout) as { file: string; msgId: string; numberOfTransactions: number };
  expect(written.file).toBe(`${written.msgId}.xml`);
  expect(written.numberOfTransactions).toBe(13); // the defaults: 10 in a bulk, 3 singles
  expect(existsSync(join(dir, written.file))).toBe(true);

  const submitted = await clearway(['batch', 'submit', written.file, '--wait', '--interval', '200', '--psu-id', 'decoupled', '--json']);
  expect(submitted.code).toBe(0);
  const batch = JSON.parse(submitted.stdout) as { msgId: string; status: string; progress: { settled: number }; bulks: { bicFi: string }[] };
  expect(batch).toMatchObject({ msgId: written.msgId, status: 'completed', progress: { settled: 13 } });
  expect(batch.bulks.map((b) => b.bicFi)).toEqual(['SANDDEB0XXX', 'SANDNL2AXXX']);
});

it('submit of a bad file exits 1 and prints the paths', async () => {
  const { code, stderr } = await clearway(['batch', 'submit', await file('bad', 5, undefined, { duplicateEndToEndIdAt: { pmtInf: 0, tx: 2 } })]);
  expect(code).toBe(1);
  expect(stderr).toContain('PmtInf[0].CdtTrfTxInf[2].PmtId.EndToEndId: EndToEndId is already used by CdtTrfTxInf[1] of this PmtInf');
});

it('draws the progress bar only on a terminal', async () => {
  const path = await file('tty', 30);
  // util-linux `script` gives the CLI a pseudo-terminal, as an operator's shell would.
  const command = [process.execPath, BIN, 'batch', 'submit', path, '--wait', '--interval', '200', '--psu-id', 'decoupled'].map((a) => `'${a}'`).join(' ');
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, TERM: 'xterm', COLUMNS: '120' },
  });
  expect(stdout).toMatch(/MSG-BIN-tty \[[█░]+\] 30\/30 settled · 0 rejected · completed/);
  expect(stdout).toContain('\u001b['); // cursor control: drawn in place
});
