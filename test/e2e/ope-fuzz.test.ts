import { rmSync } from 'node:fs';
import path from 'node:path';
import { describeUnexpected, triage } from '../../bench/fuzz/ope-known-deviations';
import { runSchemathesis } from '../../bench/fuzz/schemathesis';
import { OPEN_PAYMENTS_EUROPE_SPEC } from '../support/openapi-contract';
import { TestStack } from '../support/stack';

/**
 * The OPE 1.3.3 contract, fuzzed (Schemathesis: coverage, fuzzing and stateful phases) against the
 * running engine: API, real Temporal dev server, PostgreSQL, worker and the Berlin Group sandbox.
 * Bounded by examples, not by the clock: each phase runs once, 5 examples per operation for the
 * fuzzing and stateful phases (the coverage phase's own deterministic cases, about 600, whatever
 * that number), about 850 requests; `npm run fuzz` is the long run (docs/reliability.md).
 *
 * Fails on any 5xx and on any response that breaks the contract, except the contract's own
 * defects listed, each with its reason, in bench/fuzz/ope-known-deviations.ts:
 * - x-request-id-echo-without-a-request-id,
 * - aspsp-information-errors-as-bare-array,
 * - payment-201-overlapping-oneof.
 */
let stack: TestStack;
let requests = 0;

beforeAll(async () => {
  stack = await TestStack.start();
  stack.app.getHttpServer().on('request', () => (requests += 1));
});
afterAll(async () => {
  await stack?.close();
});

test('no 5xx and no contract break beyond the documented defects', async () => {
  const client = await stack.newClient();
  const token = await stack.token(client, 'aspspinformation paymentinitiation accountinformation private');
  const reportDir = path.resolve(__dirname, `../../.data/fuzz-test/${process.pid}`);
  const run = await runSchemathesis({
    apiUrl: stack.baseUrl,
    token,
    specPath: OPEN_PAYMENTS_EUROPE_SPEC,
    reportDir,
    // One pass, no time budget: a budget makes the fuzzing and stateful phases repeat until it is
    // spent, so the suite paid 90 s however fast the machine was.
    maxExamples: 5,
    workers: 2,
    phases: ['coverage', 'fuzzing', 'stateful'],
  });
  const { unexpected, known } = triage(run);
  process.stdout.write(
    `[ope-fuzz] seed ${run.seed}: ${run.testCases} test cases, ${requests} requests in ${run.runningTimeSeconds.toFixed(0)} s; ` +
      `known defects ${JSON.stringify(known)}; unexpected ${unexpected.length}; fuzzer errors ${run.errors.length}\n`,
  );
  // Every operation was tested, but for the fuzzer's own internal errors (SystemError), which say nothing about the API.
  expect(run.errors.filter((e) => e.type !== 'SystemError')).toEqual([]);
  // A run that reached the API (a broken stack or token would show as a handful of cases).
  expect(run.testCases).toBeGreaterThan(300);
  expect(requests).toBeGreaterThan(300);
  expect(unexpected.length === 0 ? '' : `seed ${run.seed}, reports in ${reportDir}\n${describeUnexpected(unexpected)}`).toBe('');
  rmSync(reportDir, { recursive: true, force: true }); // kept only when the test fails
}, 300_000);
