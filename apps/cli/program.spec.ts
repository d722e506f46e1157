import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { defaultAmount, type GeneratePain001Spec } from '../../libs/iso20022';
import { pain001Bytes } from '../../libs/iso20022/testing';
import { validateXsd } from '../../libs/iso20022/xsd';
import type { TestClient } from '../../test/support/factories';
import { TestStack } from '../../test/support/stack';
import type { Batch } from './batch-api';
import { requestIdForFile, sha256OfFile } from './batch-client';
import { formatStatus, groupDigits } from './batch-format';
import { ProgressBarDisplay } from './batch-watch';
import { exitCodeFor, runCli, type CliDeps } from './program';

// The command layer in-process, against the real stack over loopback HTTP: the API, the Temporal
// dev server, PostgreSQL and both sandbox banks (bulks at SANDDEB0XXX, singles at SANDNL2AXXX).
jest.setTimeout(180_000);

let stack: TestStack;
let client: TestClient;
let dir: string;
/** Every request the CLI sent, as its fetch saw it. */
const requests: { method: string; path: string; requestId?: string; contentLength?: string }[] = [];

beforeAll(async () => {
  stack = await TestStack.start({ env: { BATCH_PROGRESS_INTERVAL_MS: '300' } });
  client = await stack.newClient();
  dir = mkdtempSync(join(tmpdir(), 'clearway-cli-'));
});
afterAll(() => stack?.close());

const recordingFetch: typeof fetch = (input, init) => {
  const url = new URL(String(input));
  const headers = new Headers(init?.headers);
  requests.push({ method: init?.method ?? 'GET', path: url.pathname + url.search, requestId: headers.get('x-request-id') ?? undefined, contentLength: headers.get('content-length') ?? undefined });
  return fetch(input, init);
};

function capture(isTTY = false): NodeJS.WritableStream & { isTTY: boolean; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; text: () => string; columns: number };
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.isTTY = isTTY;
  stream.columns = 120;
  stream.text = () => Buffer.concat(chunks).toString('utf8');
  return stream;
}

async function run(args: string[], opts: { env?: NodeJS.ProcessEnv; now?: () => number } = {}) {
  const stdout = capture();
  const stderr = capture();
  const deps: CliDeps = {
    env: { CLEARWAY_URL: stack.baseUrl, CLEARWAY_CLIENT_ID: client.clientId, CLEARWAY_CLIENT_SECRET: client.clientSecret, ...opts.env },
    stdout,
    stderr,
    fetch: recordingFetch,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 300))),
    now: opts.now ?? Date.now,
  };
  const code = await runCli(args, deps);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

let files = 0;
async function pain001File(overrides: Partial<GeneratePain001Spec> = {}): Promise<string> {
  const file = join(dir, `pain001-${++files}.xml`);
  writeFileSync(
    file,
    await pain001Bytes({
      version: 'pain.001.001.09',
      msgId: `MSG-CLI-${files}`,
      paymentInformations: [
        { pmtInfId: 'PMT-DE', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions: 12 },
        { pmtInfId: 'PMT-NL', debtorIban: 'NL91ABNA0417164300', debtorAgentBic: 'SANDNL2AXXX', transactions: 3 },
      ],
      ...overrides,
    }),
  );
  return file;
}

describe('clearway batch submit', () => {
  it('uploads the file and prints where to authorise each bulk', async () => {
    const file = await pain001File();
    const { code, stdout } = await run(['batch', 'submit', file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Submitted batch [0-9a-f-]{36}\n  MSG-CLI-\d+ · 15 transactions · [\d,]+\.\d\d EUR · awaiting_authorisation/);
    expect(stdout).toMatch(/PMT-DE {2}SANDDEB0XXX {2}bulk {2}12 tx/);
    expect(stdout).toMatch(/authorise: http:\/\/127\.0\.0\.1:\d+\/berlin-group\/\S+/);
    expect(stdout).toMatch(/3 single payments, each with its own SCA: clearway batch payments [0-9a-f-]{36} --pmt-inf PMT-NL/);
  });

  it('sends the same X-Request-ID for the same file, and a re-run finds the existing batch', async () => {
    const file = await pain001File();
    const first = await run(['batch', 'submit', file, '--json']);
    const second = await run(['batch', 'submit', file, '--json']);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as Batch).batchId).toBe((JSON.parse(first.stdout) as Batch).batchId);
    const uploads = requests.filter((r) => r.method === 'POST' && r.path === '/batches/v1/batches').slice(-2);
    const expected = requestIdForFile(await sha256OfFile(file));
    expect(uploads.map((u) => u.requestId)).toEqual([expected, expected]);
    expect(uploads[0]!.contentLength).toBe(String(readFileSync(file).length));
    const [stored] = await stack.dataSource.query('SELECT request_id FROM batches WHERE id = $1', [(JSON.parse(first.stdout) as Batch).batchId]);
    expect(stored.request_id).toBe(expected);
    const others = requests.filter((r) => r.method === 'GET').map((r) => r.requestId);
    expect(new Set(others).size).toBe(others.length);
  });

  it('with --wait and a decoupled PSU, waits until every bulk settled: exit 0', async () => {
    const file = await pain001File();
    const { code, stdout, stderr } = await run(['batch', 'submit', file, '--wait', '--psu-id', 'decoupled']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/approve in the banking app \(decoupled\): \S/);
    expect(stdout).toMatch(/Batch [0-9a-f-]{36} {2}MSG-CLI-\d+ {2}completed/);
    expect(stdout).toContain('settled 15/15');
    expect(stdout).toMatch(/PMT-DE {2}SANDDEB0XXX {2}bulk {2}12 tx {2}[\d,.]+ {2}\[ACSC\]/);
    expect(stdout).toMatch(/ {2}report: clearway batch report [0-9a-f-]{36} -o MSG-CLI-\d+\.pain002\.xml$/m);
    const [stored] = await stack.dataSource.query(`SELECT psu_id FROM batches WHERE msg_id = $1`, [/MSG-CLI-\d+/.exec(stdout)![0]]);
    expect(stored.psu_id).toBe('decoupled');
    // Not a terminal: progress as lines, no bar.
    expect(stderr).toMatch(/^completed · settled 15\/15/m);
    expect(stderr).not.toContain('\u001b[');
  });

  it('exits 2 when the batch finished with rejections', async () => {
    const file = await pain001File({
      paymentInformations: [
        { pmtInfId: 'PMT-DE', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions: 10, amount: (i) => (i === 4 ? '99.13' : defaultAmount(i)) },
      ],
    });
    const { code, stdout } = await run(['batch', 'submit', file, '--wait', '--psu-id', 'decoupled', '--json']);
    expect(code).toBe(2);
    const final = JSON.parse(stdout) as Batch;
    expect(final).toMatchObject({ status: 'partially_completed', progress: { settled: 9, rejected: 1 } });
  });

  it('refuses a bad file: exit 1 and every tppMessage path printed', async () => {
    const file = await pain001File({ faults: { badIbanAt: { pmtInf: 0, tx: 3 }, groupCtrlSum: '1.00' } });
    const { code, stderr } = await run(['batch', 'submit', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('clearway: upload failed: HTTP 400 FORMAT_ERROR\n');
    expect(stderr).toContain('  PmtInf[0].CdtTrfTxInf[3].CdtrAcct.Id.IBAN: not a valid IBAN');
    expect(stderr).toContain('  GrpHdr.CtrlSum: CtrlSum is 1.00');
  });

  it('gives scripts the tppMessages as JSON with --json', async () => {
    const file = await pain001File({ faults: { truncateAt: { pmtInf: 0, tx: 1 } } });
    const { code, stdout } = await run(['--json', 'batch', 'submit', file]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ status: 400, tppMessages: [{ code: 'FORMAT_ERROR', path: 'Document' }] });
  });

  it('stops waiting after --timeout with exit 1', async () => {
    const file = await pain001File();
    let clock = 0;
    const { code, stderr } = await run(['batch', 'submit', file, '--wait', '--timeout', '1'], { now: () => (clock += 600) });
    expect(code).toBe(1);
    expect(stderr).toMatch(/is still \w+ after 1 s; it goes on without the CLI/);
  });

  it('says so when the file does not exist or Clearway cannot be reached', async () => {
    expect(await run(['batch', 'submit', join(dir, 'missing.xml')])).toMatchObject({ code: 1, stderr: expect.stringContaining('ENOENT') });
    const unreachable = await run(['batch', 'list'], { env: { CLEARWAY_URL: 'http://127.0.0.1:9' } });
    expect(unreachable).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot reach Clearway at http://127.0.0.1:9') });
  });

  it('takes credentials from flags over the environment', async () => {
    const wrong = await run(['batch', 'list'], { env: { CLEARWAY_CLIENT_SECRET: 'wrong' } });
    expect(wrong).toMatchObject({ code: 1, stderr: expect.stringContaining('sign-in refused (401 invalid_client)') });
    expect((await run(['batch', 'list', '--client-secret', client.clientSecret], { env: { CLEARWAY_CLIENT_SECRET: 'wrong' } })).code).toBe(0);
    expect((await run(['batch', 'list', '--url', stack.baseUrl], { env: { CLEARWAY_URL: 'http://127.0.0.1:9' } })).code).toBe(0);
  });
});

describe('clearway batch status, list, report, payments', () => {
  let batchId: string;
  beforeAll(async () => {
    const { stdout } = await run(['batch', 'submit', await pain001File(), '--psu-id', 'decoupled', '--json']);
    batchId = (JSON.parse(stdout) as Batch).batchId;
  });

  it('status shows progress per bulk; --wait follows it to the end', async () => {
    const once = await run(['batch', 'status', batchId]);
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(new RegExp(`^Batch ${batchId} {2}MSG-CLI-\\d+ {2}(awaiting_authorisation|processing|completed)`));
    expect(once.stdout).toMatch(/PMT-DE {2}SANDDEB0XXX {2}bulk {2}12 tx[^\n]*\n {6}settled \d+\/12/);
    const waited = await run(['batch', 'status', batchId, '--wait', '--json']);
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ batchId, status: 'completed' });
  });

  it('status of an unknown batch: exit 1 with the API message', async () => {
    const { code, stderr } = await run(['batch', 'status', '00000000-0000-4000-8000-000000000000']);
    expect(code).toBe(1);
    expect(stderr).toBe('clearway: batch status failed: HTTP 404 RESOURCE_UNKNOWN\n  Batch 00000000-0000-4000-8000-000000000000 not found\n');
  });

  it('list shows the batches newest first, one page at a time', async () => {
    const { code, stdout } = await run(['batch', 'list']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^BATCH ID +MSG ID +STATUS +CREATED +TX +SETTLED +REJECTED$/);
    expect(stdout).toContain(batchId);
    const paged = await run(['batch', 'list', '--limit', '1', '--json']);
    const page = JSON.parse(paged.stdout) as { batches: Batch[]; _links: { next?: { href: string } } };
    expect(page.batches).toHaveLength(1);
    expect(page._links.next?.href).toContain('after=');
    expect((await run(['batch', 'list', '--limit', '1'])).stdout).toMatch(/\nmore: clearway batch list --after [0-9a-f-]{36}\n$/);
    expect((await run(['batch', 'list', '--limit', '0'])).code).toBe(1);
  });

  it('report writes the pain.002, XSD-valid, echoing the EndToEndIds', async () => {
    const out = join(dir, 'report.xml');
    const { code, stdout } = await run(['batch', 'report', batchId, '-o', out]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Wrote the pain.002 report of batch ${batchId} to .*report.xml \\(\\d+ bytes\\)`));
    const xml = readFileSync(out);
    expect((await validateXsd(xml, 'pain.002.001.10')).valid).toBe(true);
    expect(xml.toString()).toContain('<OrgnlEndToEndId>E2E-1-000012</OrgnlEndToEndId>');
    const toStdout = await run(['batch', 'report', batchId, '-o', '-']);
    expect(toStdout.stdout).toContain('<CstmrPmtStsRpt>');
  });

  it('payments lists every single payment of a bulk with its SCA link, across pages', async () => {
    const { code, stdout } = await run(['batch', 'payments', batchId, '--pmt-inf', 'PMT-NL']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^E2E-2-00000${i + 1}  [0-9a-f-]{36}  [A-Z]{4}`)));
    // A bank without bulk payments: each one its own payment with its own SCA (redirect here).
    const redirect = await pain001File({ paymentInformations: [{ pmtInfId: 'PMT-NL', debtorIban: 'NL91ABNA0417164300', debtorAgentBic: 'SANDNL2AXXX', transactions: 3 }] });
    const submitted = JSON.parse((await run(['batch', 'submit', redirect, '--json'])).stdout) as Batch;
    const links = await (async () => {
      for (let i = 0; i < 100; i++) {
        const out = (await run(['batch', 'payments', submitted.batchId, '--pmt-inf', 'PMT-NL'])).stdout.trim().split('\n');
        if (out.length === 3 && out.every((l) => /  http:\/\/127\.0\.0\.1:\d+\/berlin-group\/nl\/\S+$/.test(l))) return out;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('no SCA links');
    })();
    expect(new Set(links.map((l) => l.split('  ')[3])).size).toBe(3);
  });

  it('cancel: payments awaiting SCA are cancelled, exit 0 once the batch is cancelled; cancelling it again is refused (exit 1, 409)', async () => {
    const submitted = await run(['batch', 'submit', await pain001File(), '--psu-id', 'psu-cli-cancel', '--redirect-uri', 'https://erp.example/done', '--json']);
    const id = (JSON.parse(submitted.stdout) as Batch).batchId;
    const cancelled = await run(['batch', 'cancel', id, '--json', '--interval', '200']);
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    const body = JSON.parse(cancelled.stdout);
    expect(body).toMatchObject({ batchId: id, status: 'cancelled', progress: { total: 15, cancelled: 15, settled: 0 }, cancellation: { unstarted: 0, cancelled: 4, notCancelled: [] } });
    expect(requests.filter((r) => r.method === 'DELETE' && r.path === `/batches/v1/batches/${id}`)).toHaveLength(1);

    const again = await run(['batch', 'cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^clearway: batch cancel failed: HTTP 409 STATUS_INVALID\n {2}The batch is already final \(cancelled\)/);
  });

  it('--help exits 0 and names the commands and exit codes', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes: 0 all settled');
    const batch = await run(['batch', '--help']);
    for (const cmd of ['submit', 'status', 'list', 'report', 'payments', 'cancel', 'sample']) expect(batch.stdout).toContain(cmd);
  });
});

describe('clearway batch sample', () => {
  it('writes a payment run the stack takes end to end: the cents-13 transactions rejected AM04, the rest settled, exit 2', async () => {
    const file = join(dir, 'sample-run.xml');
    const written = await run(['batch', 'sample', '-o', file, '--transactions', '8', '--singles', '2', '--rejected', '2', '--msg-id', 'SAMPLE-CLI-1']);
    expect(written.code).toBe(0);
    expect(written.stdout).toContain(`Wrote ${file}: pain.001.001.09, SAMPLE-CLI-1 · 10 transactions ·`);
    expect(written.stdout).toContain(`Next: clearway batch submit ${file} --psu-id decoupled --wait`);

    const { code, stdout } = await run(['batch', 'submit', file, '--wait', '--psu-id', 'decoupled', '--json']);
    expect(code).toBe(2);
    const final = JSON.parse(stdout) as Batch;
    expect([final.msgId, final.status]).toEqual(['SAMPLE-CLI-1', 'partially_completed']);
    expect(final.progress).toMatchObject({ total: 10, settled: 8, rejected: 2 });
    expect((final.bulks ?? []).map((b) => [b.pmtInfId, b.bicFi, b.route])).toEqual([
      ['PMT-EUR-DE', 'SANDDEB0XXX', 'bulk'],
      ['PMT-EUR-NL', 'SANDNL2AXXX', 'single'],
    ]);
  });

  it('never overwrites a file, and writes to stdout with -o -', async () => {
    const file = join(dir, 'sample-existing.xml');
    writeFileSync(file, 'the ERP export\n');
    const refused = await run(['batch', 'sample', '-o', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^clearway: EEXIST: .*\(not overwritten: choose another file with -o\)/);
    expect(readFileSync(file, 'utf8')).toBe('the ERP export\n');

    const piped = await run(['batch', 'sample', '-o', '-', '--pain', '03', '--singles', '0', '--msg-id', 'SAMPLE-CLI-2']);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">/);
    expect(piped.stdout.match(/<CdtTrfTxInf>/g)).toHaveLength(10);
  });

  it('refuses options that cannot make a valid file, before writing anything', async () => {
    const file = join(dir, 'sample-refused.xml');
    const { code, stderr } = await run(['batch', 'sample', '-o', file, '--transactions', '3', '--rejected', '4']);
    expect(code).toBe(1);
    expect(stderr).toBe('clearway: --rejected (4) cannot exceed --transactions (3)\n');
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });
});

describe('command-layer pieces', () => {
  it('derives a stable RFC 9562 UUID from the file hash', () => {
    const id = requestIdForFile('a'.repeat(64));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdForFile('a'.repeat(64))).toBe(id);
    expect(requestIdForFile('b'.repeat(64))).not.toBe(id);
  });

  it.each<[Batch['status'], number]>([
    ['received', 0],
    ['awaiting_authorisation', 0],
    ['processing', 0],
    ['completed', 0],
    ['partially_completed', 2],
    ['rejected', 2],
    ['cancelled', 2],
  ])('exit code for a %s batch is %d', (status, code) => {
    expect(exitCodeFor({ batchId: 'b', msgId: 'm', status, numberOfTransactions: 1 })).toBe(code);
  });

  it('says why a batch or bulk was rejected when the API tells', () => {
    const text = formatStatus({
      batchId: 'b',
      msgId: 'MSG-1',
      status: 'rejected',
      numberOfTransactions: 2,
      statusReason: 'SCA timed out',
      bulks: [{ pmtInfId: 'PMT-1', route: 'bulk', bicFi: 'SANDDEB0XXX', numberOfTransactions: 2, statusReason: 'PSU did not authorise' }],
    });
    expect(text).toContain('\n  reason: SCA timed out\n');
    expect(text).toContain('\n      reason: PSU did not authorise');
  });

  it('groups digits without turning amounts into numbers', () => {
    expect(groupDigits('12345678901234567.89')).toBe('12,345,678,901,234,567.89');
    expect(groupDigits(100000)).toBe('100,000');
    expect(groupDigits('999')).toBe('999');
  });

  it('draws a progress bar on a terminal', () => {
    const tty = capture(true);
    const bar = new ProgressBarDisplay(tty);
    const batch = (settled: number, status: Batch['status']): Batch => ({
      batchId: 'b',
      msgId: 'MSG-1',
      status,
      numberOfTransactions: 10_000,
      progress: { total: 10_000, received: 0, awaitingSca: 0, accepted: 10_000 - settled - 3, settled, rejected: 3, cancelled: 0 },
    });
    bar.update(batch(0, 'processing'));
    bar.update(batch(9_997, 'partially_completed'));
    bar.stop();
    expect(tty.text()).toContain('MSG-1 [');
    expect(tty.text()).toContain('] 9,997/10,000 settled · 3 rejected · partially_completed');
  });
});
