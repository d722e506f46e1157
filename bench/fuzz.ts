import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OPE_KNOWN_DEVIATIONS, describeUnexpected, triage } from './fuzz/ope-known-deviations';
import { FUZZER_INTERNAL_ERRORS, runSchemathesis } from './fuzz/schemathesis';
import { BenchSystem } from './system';

/**
 * `npm run fuzz [-- --max-time 900 --max-examples 100 --workers 2 --seed N]`: the OPE 1.3.3
 * contract fuzzed with Schemathesis against the whole engine (Temporal dev server, PostgreSQL, the
 * Berlin Group sandbox bank, the API, the worker). Exits non-zero on a 5xx or a response that
 * breaks the contract beyond its documented defects (bench/fuzz/ope-known-deviations.ts).
 * Figures go to docs/reliability.md.
 */
const ROOT = path.resolve(__dirname, '../..');
const SPEC = path.join(process.env.SPECS_DIR ?? path.resolve(ROOT, '../shared/specs'), 'open-payments-europe/apiref/openpayments-NextGenPSD2-1.3.3.yaml');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'max-time': { type: 'string', default: '900' },
      'max-examples': { type: 'string', default: '100' },
      workers: { type: 'string', default: '2' },
      seed: { type: 'string' },
    },
  });
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const system = new BenchSystem({
    databaseName: `clearway_fuzz_${process.pid}`,
    decoupledDelayMs: 300,
    statusPollInitialMs: 200,
    databasePoolSize: 5,
    logLevel: 'error',
    // The fuzzer is one client sending as fast as it can: a per-client limit would turn most of its requests into 429s.
    env: { RATE_LIMIT_PER_CLIENT: '1000000' },
  });
  try {
    await system.start();
    const token = await system.accessToken('aspspinformation paymentinitiation accountinformation private');
    const reportDir = path.join(ROOT, '.data/fuzz', new Date().toISOString().replace(/[:.]/g, '-'));
    mkdirSync(reportDir, { recursive: true });
    const started = Date.now();
    const run = await runSchemathesis(
      {
        apiUrl: system.apiUrl,
        token,
        specPath: SPEC,
        reportDir,
        maxExamples: Number(values['max-examples']),
        maxTimeSeconds: Number(values['max-time']),
        workers: Number(values.workers),
        seed: values.seed,
        phases: ['coverage', 'fuzzing', 'stateful'],
      },
      (line) => process.env.FUZZ_VERBOSE && console.error(line),
    );
    const wall = (Date.now() - started) / 1000;
    const { unexpected, known } = triage(run);
    console.log(
      [
        `OPE 1.3.3 fuzz (Schemathesis, seed ${run.seed}); load before: ${load}`,
        `  ${run.testCases} test cases, ${system.httpRequests} HTTP requests to the API in ${wall.toFixed(0)} s (${(system.httpRequests / wall).toFixed(1)}/s)`,
        `  operations Schemathesis could not test: ${run.errors.length}${run.errors.length ? ` (${[...new Set(run.errors.map((e) => e.type))].join(', ')})` : ''}`,
        `  failures: ${run.failures.length} (${run.failures.length - unexpected.length} explained by the contract's known defects)`,
        ...OPE_KNOWN_DEVIATIONS.map((d) => `    ${String(known[d.id] ?? 0).padStart(5)}  ${d.id}`),
        `  unexpected: ${unexpected.length}`,
        `  reports: ${path.relative(ROOT, reportDir)}`,
      ].join('\n'),
    );
    const apiErrors = run.errors.filter((e) => !FUZZER_INTERNAL_ERRORS.includes(e.type));
    if (apiErrors.length) {
      console.log(apiErrors.map((e) => `  not tested: ${e.operation}: ${e.type}: ${e.message.split('\n')[0]}`).join('\n'));
      process.exitCode = 1;
    }
    if (unexpected.length) {
      console.log(describeUnexpected(unexpected));
      process.exitCode = 1;
    }
  } finally {
    await system.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
