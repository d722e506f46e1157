import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePain001, readPain001, validateXsd, writePain002, type Pain001Version, type Pain002TransactionStatus } from '../libs/iso20022';
import { assertXsdsAvailable } from '../libs/iso20022/xsd';
import { loadAverage, median, processMemoryMiB } from './measure';

/**
 * ISO 20022 library benchmark: readPain001 (parse + semantic checks + XSD) on generated 10,000- and
 * 100,000-transaction files, and writePain002 for 10,000 transactions. Each measurement runs in a
 * fresh child process, so its peak RSS (VmHWM) minus its RSS just before is the growth that one
 * file causes. Targets (issue 7): the API's RSS growth for a 10k file ≤ 200 MB; a 100k file accepted
 * end to end in ≤ 15 s, so parse + validate must stay well under that.
 *
 *   npm run bench:iso20022                     # 3 runs per case
 *   npm run bench:iso20022 -- --runs 5
 */

interface Measurement {
  ms: number;
  rssBeforeMiB: number;
  peakGrowthMiB: number;
  detail: string;
}

type Case = { name: string; kind: 'read' | 'xsd' | 'pain002'; version: Pain001Version; transactions: number };

const CASES: Case[] = [
  { name: 'readPain001 .09, 10,000 tx', kind: 'read', version: 'pain.001.001.09', transactions: 10_000 },
  { name: 'readPain001 .03, 10,000 tx', kind: 'read', version: 'pain.001.001.03', transactions: 10_000 },
  { name: 'readPain001 .09, 100,000 tx', kind: 'read', version: 'pain.001.001.09', transactions: 100_000 },
  { name: 'XSD alone .09, 10,000 tx', kind: 'xsd', version: 'pain.001.001.09', transactions: 10_000 },
  { name: 'XSD alone .09, 100,000 tx', kind: 'xsd', version: 'pain.001.001.09', transactions: 100_000 },
  { name: 'writePain002, 10,000 tx', kind: 'pain002', version: 'pain.001.001.09', transactions: 10_000 },
];

async function main(): Promise<void> {
  const child = process.argv.indexOf('--measure');
  if (child >= 0) {
    const [kind, file, version] = process.argv.slice(child + 1);
    process.stdout.write(JSON.stringify(await measure(kind as Case['kind'], file, version as Pain001Version)));
    return;
  }
  const runs = Number(argValue('--runs') ?? 3);
  assertXsdsAvailable();
  const dir = mkdtempSync(join(tmpdir(), 'iso20022-bench-'));
  try {
    const files = new Map<string, string>();
    for (const c of CASES) {
      const key = `${c.version}-${c.transactions}`;
      if (!files.has(key)) files.set(key, await generate(dir, c.version, c.transactions));
    }
    console.log(`load average before: ${loadAverage()} (uptime: ${execFileSync('uptime').toString().trim()})`);
    console.log(`node ${process.version}, ${runs} runs per case, each in a fresh process\n`);
    console.log('| case | file | time (median, min–max) | peak RSS growth (median, max) | result |');
    console.log('|---|---|---|---|---|');
    for (const c of CASES) {
      const file = files.get(`${c.version}-${c.transactions}`)!;
      const results: Measurement[] = [];
      for (let i = 0; i < runs; i++) {
        const out = execFileSync(process.execPath, [__filename, '--measure', c.kind, file, c.version], { maxBuffer: 1 << 20 });
        results.push(JSON.parse(out.toString()) as Measurement);
      }
      const ms = results.map((r) => r.ms).sort((a, b) => a - b);
      const growth = results.map((r) => r.peakGrowthMiB).sort((a, b) => a - b);
      const size = `${(statSync(file).size / 1e6).toFixed(1)} MB`;
      console.log(
        `| ${c.name} | ${c.kind === 'pain002' ? '—' : size} | ${(median(ms) / 1000).toFixed(2)} s (${(ms[0] / 1000).toFixed(2)}–${(ms[ms.length - 1] / 1000).toFixed(2)}) ` +
          `| ${median(growth).toFixed(0)} MiB (${growth[growth.length - 1].toFixed(0)}) | ${results[0].detail} |`,
      );
    }
    console.log(`\nload average after: ${loadAverage()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function generate(dir: string, version: Pain001Version, transactions: number): Promise<string> {
  const file = join(dir, `${version}-${transactions}.xml`);
  const out = createWriteStream(file);
  await generatePain001(out, {
    version,
    msgId: `BENCH-${transactions}`,
    paymentInformations: [{ pmtInfId: 'PMT-1', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions }],
  });
  out.end();
  await once(out, 'finish');
  return file;
}

/** One measurement, in this (fresh) process. */
async function measure(kind: Case['kind'], file: string, version: Pain001Version): Promise<Measurement> {
  assertXsdsAvailable(); // loaded before the baseline: the XSD text is not the file's cost
  const rssBefore = processMemoryMiB(process.pid).rss;
  const started = performance.now();
  let detail: string;
  if (kind === 'read') {
    let transactions = 0;
    const result = await readPain001(createReadStream(file), {
      groupHeader() {},
      paymentInformation() {},
      transactions(chunk) {
        transactions += chunk.length;
      },
    });
    if (!result.ok) throw new Error(`generated file refused: ${JSON.stringify(result.issues.slice(0, 3))}`);
    detail = `ok, ${transactions} tx to the sink, CtrlSum ${result.controlSum}`;
  } else if (kind === 'xsd') {
    const result = await validateXsd(await readWhole(file), version);
    detail = result.valid ? 'valid' : 'INVALID';
  } else {
    const report = `${file}.pain002.xml`;
    const out = createWriteStream(report);
    await writePain002(out, { msgId: 'RPT-BENCH', creationDateTime: new Date(), originalMsgId: 'BENCH', originalMsgNameId: version }, [
      { info: { originalPmtInfId: 'PMT-1', status: 'PART' }, transactions: statuses(10_000) },
    ]);
    out.end();
    await once(out, 'finish');
    const ms = performance.now() - started;
    const peak = processMemoryMiB(process.pid).peak;
    const valid = (await validateXsd(await readWhole(report), 'pain.002.001.10')).valid;
    return { ms, rssBeforeMiB: rssBefore, peakGrowthMiB: peak - rssBefore, detail: `${(statSync(report).size / 1e6).toFixed(1)} MB, XSD ${valid ? 'valid' : 'INVALID'}` };
  }
  const ms = performance.now() - started;
  return { ms, rssBeforeMiB: rssBefore, peakGrowthMiB: processMemoryMiB(process.pid).peak - rssBefore, detail };
}

function* statuses(n: number): Iterable<Pain002TransactionStatus> {
  for (let i = 0; i < n; i++) {
    const rejected = i % 100 === 13;
    yield {
      originalEndToEndId: `E2E-1-${String(i + 1).padStart(6, '0')}`,
      status: rejected ? 'RJCT' : 'ACSC',
      ...(rejected && { reasonCode: 'AM04' }),
      amount: `${i + 1}.00`,
      currency: 'EUR',
    };
  }
}

async function readWhole(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
