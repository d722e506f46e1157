/**
 * One bulk payment of N transactions (pain.001.001.09, one PmtInf) to SANDDEB0XXX, through the real
 * system (see bench/system.ts): time to the 201 (stream-parse + XSD + store + workflow start + the
 * bank's answer), then to a final status after the decoupled SCA, then the pain.002 report.
 *
 *   npm run bench:bulk -- [--transactions 10000] [--product pain.001-sepa-credit-transfers]
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pain001Bytes } from '../libs/iso20022/testing';
import { bulkPaymentStateQuery, bulkPaymentWorkflowId } from '../workflows/bulk-payment.api';
import { BenchSystem } from './system';
import { intOption, loadAverage, round } from './measure';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { transactions: { type: 'string' }, product: { type: 'string' } } });
  const n = intOption('transactions', values.transactions ?? '10000', 1);
  const product = values.product ?? 'pain.001-sepa-credit-transfers';
  const system = new BenchSystem({ databaseName: 'clearway_bench_bulk', decoupledDelayMs: 200, statusPollInitialMs: 200, databasePoolSize: 5, logLevel: 'warn' });
  const log = (m: string) => console.error(`[bench:bulk ${new Date().toISOString()}] ${m}`);
  await system.start();
  log('system started');
  try {
    const token = await system.accessToken();
    const file = await pain001Bytes({
      version: 'pain.001.001.09',
      msgId: `BENCH-${randomUUID().slice(0, 8)}`,
      paymentInformations: [{ pmtInfId: 'BENCH-1', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions: n }],
    });
    log(`file of ${file.length} bytes generated`);
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const res = await fetch(`${system.apiUrl}/psd2/paymentinitiation/v1/bulk-payments/${product}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/xml',
        'X-Request-ID': randomUUID(),
        'X-BicFi': 'SANDDEB0XXX',
        'PSU-IP-Address': '192.0.2.10',
        'PSU-ID': 'decoupled',
      },
      body: file,
    });
    const body = (await res.json()) as { paymentId: string };
    const acceptedMs = performance.now() - t0;
    const rssAfter = process.memoryUsage().rss;
    if (res.status !== 201) throw new Error(`POST → ${res.status} ${JSON.stringify(body)}`);
    log(`201 after ${round(acceptedMs)} ms`);
    const handle = system.temporal.workflow.getHandle(bulkPaymentWorkflowId(body.paymentId));
    for (let i = 0; ; i++) {
      const d = await handle.describe();
      if (d.status.name === 'COMPLETED') break;
      if (d.status.name !== 'RUNNING') throw new Error(`workflow ${d.status.name}`);
      if (i % 50 === 0) log(`waiting: ${JSON.stringify(await handle.query(bulkPaymentStateQuery).catch(() => undefined))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const finalMs = performance.now() - t0;
    const state = await handle.query(bulkPaymentStateQuery);
    const t1 = performance.now();
    const report = await fetch(`${system.apiUrl}/psd2/paymentinitiation/v1/bulk-payments/${product}/${body.paymentId}/status`, {
      headers: { Authorization: `Bearer ${token}`, 'X-Request-ID': randomUUID(), 'X-BicFi': 'SANDDEB0XXX', Accept: 'application/xml' },
    });
    const xml = await report.text();
    const reportMs = performance.now() - t1;
    console.log(
      JSON.stringify(
        {
          transactions: n,
          fileBytes: file.length,
          acceptedMs: round(acceptedMs),
          finalMs: round(finalMs),
          finalStatus: state.transactionStatus,
          counts: state.counts,
          pain002Ms: round(reportMs),
          pain002Bytes: xml.length,
          pain002Transactions: (xml.match(/<TxInfAndSts>/g) ?? []).length,
          apiProcessRssGrowthMiB: round((rssAfter - rssBefore) / 2 ** 20),
          load: loadAverage(),
        },
        null,
        2,
      ),
    );
  } finally {
    await system.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
