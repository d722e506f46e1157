/**
 * Chaos at scale (docs/reliability.md):
 *
 *   npm run chaos              1,000 payments, 200 consent reads, 100 transfers, a 2,000-transaction batch; worker SIGKILL ×5, API ×2, Temporal ×1
 *   npm run chaos -- --small   60 payments, 20 reads, 10 transfers, a 40-transaction batch; worker ×1, API ×1, Temporal ×1 (also in npm test)
 *
 * Options override single figures: --payments N --consent-reads N --transfers N --batch-transactions N
 * (0: no batch), --deadline-minutes N (the whole run's bound; 55 full, 12 small). Exits non-zero when
 * any invariant fails.
 */
import { parseArgs } from 'node:util';
import { FULL_RUN, SMALL_RUN, abortChaos, formatReport, runChaos, type ChaosOptions } from './harness';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      small: { type: 'boolean', default: false },
      payments: { type: 'string' },
      'consent-reads': { type: 'string' },
      transfers: { type: 'string' },
      'batch-transactions': { type: 'string' },
      'deadline-minutes': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const base = values.small ? SMALL_RUN : FULL_RUN;
  const int = (raw: string | undefined, fallback: number) => (raw === undefined ? fallback : Number.parseInt(raw, 10));
  const options: ChaosOptions = {
    ...base,
    payments: int(values.payments, base.payments),
    consentReads: int(values['consent-reads'], base.consentReads),
    transfers: int(values.transfers, base.transfers),
    batchTransactions: int(values['batch-transactions'], base.batchTransactions),
    deadlineMs: values['deadline-minutes'] === undefined ? base.deadlineMs : Number(values['deadline-minutes']) * 60_000,
  };
  const stop = () => void abortChaos().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const report = await runChaos(options);
  console.log(formatReport(report));
  if (values.json) console.log(`CHAOS_RESULT ${JSON.stringify(report)}`);
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
