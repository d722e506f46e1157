import { SMALL_RUN, chaosSchedule, formatReport, runChaos } from '../../bench/chaos/harness';

/**
 * The small chaos run (`npm run chaos -- --small`), through the same harness as the full one
 * (bench/chaos/harness.ts, docs/reliability.md): 60 payments (decoupled approve and deny,
 * SCA-exempt, cents 13 and 42), 20 consent reads, 10 Open Payments transfers and a 40-transaction
 * pain.001 batch (a SANDDEB0XXX bulk and SANDNL2AXXX single payments) through the API
 * and worker as real processes, while the worker and the API are SIGKILLed once each and the
 * Temporal dev server is SIGKILLed and restarted on its database file, with the banks failing 20 %
 * of requests with 5xx, timing out 5 %, rate limiting with Retry-After and losing 2 % of answers.
 * The invariants come from the banks' own books: no payment executed twice, none lost, Clearway's
 * final status as the bank's, the wallet's ledger conserved, every webhook delivered; for the batch,
 * every transaction final and executed exactly once by end-to-end id, its status and counts its
 * children's, nothing lost.
 *
 * It runs its own Temporal dev server (it is killed) and database; about 2 to 3 minutes on 2 cores.
 * The report and the run log (events, progress every 15 s) are printed, so a slow run shows where.
 */
test('chaos, small: every invariant holds', async () => {
  const lines: string[] = [];
  const report = await runChaos({ ...SMALL_RUN, log: (line) => lines.push(line) });
  const text = `${formatReport(report)}\n\nrun log:\n${lines.join('\n')}`;

  console.log(text);
  const failed = report.invariants.filter((i) => !i.ok);
  if (failed.length) throw new Error(`invariants failed:\n${text}`);
  // The chaos really happened, and the load really ran through faults.
  expect({ worker: report.chaos.workerKills, api: report.chaos.apiKills, temporal: report.chaos.temporalRestarts }).toEqual({ worker: 1, api: 1, temporal: 1 });
  expect(Object.values(report.payments).reduce((a, b) => a + b, 0)).toBe(SMALL_RUN.payments);
  expect(Object.values(report.transfers).reduce((a, b) => a + b, 0)).toBe(SMALL_RUN.transfers);
  expect(report.bank.timedOut).toBeGreaterThan(0);
  expect(report.batch).toMatchObject({ transactions: SMALL_RUN.batchTransactions, bulkTransactions: SMALL_RUN.batchTransactions / 2, singlePayments: SMALL_RUN.batchTransactions / 2 });
  expect(report.invariants.filter((i) => i.name.startsWith('batch:')).length).toBe(4);
  expect(report.invariants.length).toBeGreaterThanOrEqual(14);
  expect(report.ok).toBe(true);
}, 15 * 60_000);

test('the chaos plan interleaves worker kills with API kills and Temporal restarts', () => {
  expect(chaosSchedule({ workerKills: 5, apiKills: 2, temporalRestarts: 1 })).toEqual(['worker', 'worker', 'api', 'worker', 'temporal', 'worker', 'api', 'worker']);
  expect(chaosSchedule({ workerKills: 1, apiKills: 1, temporalRestarts: 1 })).toEqual(['worker', 'api', 'temporal']);
});
