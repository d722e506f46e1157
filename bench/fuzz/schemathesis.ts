import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Schemathesis (PyPI, pinned in scripts/ensure-tools.mjs) run against a live Clearway API with the
 * OPE 1.3.3 contract, and its reports read back into failures we can triage. Shared by the small
 * run in the suite (test/e2e/ope-fuzz.test.ts) and the long one (`npm run fuzz`).
 */
export interface FuzzOptions {
  /** The API's origin, e.g. http://127.0.0.1:3000 (the contract's paths sit under /psd2). */
  apiUrl: string;
  /** A bearer token with every service scope. */
  token: string;
  specPath: string;
  reportDir: string;
  /** Test cases per operation and phase (Schemathesis `max-examples`). */
  maxExamples: number;
  /**
   * Time budget for the whole run; fuzzing and stateful phases repeat until it is spent. Without
   * it each phase runs once (`maxExamples` per operation) and the run ends: bounded by examples.
   */
  maxTimeSeconds?: number;
  workers: number;
  seed?: string;
  phases: readonly ('coverage' | 'fuzzing' | 'stateful')[];
  /** More `schemathesis run` arguments, e.g. `--include-path-regex payment-service` to fuzz one family. */
  extraArgs?: readonly string[];
}

export interface FuzzFailure {
  /** `GET /consent/v1/consents/{consentId}` */
  operation: string;
  check: string;
  /** Schemathesis failure code (ST107…) and title. */
  code: string;
  title: string;
  message: string;
  status?: number;
  phase: string;
  /** The request's headers as sent (the token filtered out by Schemathesis). */
  requestHeaders: Record<string, string>;
}

export interface FuzzRun {
  seed: string;
  runningTimeSeconds: number;
  testCases: number;
  exitCode: number;
  failures: FuzzFailure[];
  /**
   * Operations Schemathesis could not test: the spec's fault (e.g. `InvalidHeadersExample`) or the
   * fuzzer's own (`SystemError`, e.g. a Python AST recursion error while generating a case).
   */
  errors: { operation: string; type: string; message: string }[];
}

/**
 * Errors that are the fuzzer's own and say nothing about the API:
 * - SystemError, e.g. a Python recursion error while generating a case;
 * - FlakyFailure ("Inconsistent results"): Hypothesis drew a case differently on replay, most likely
 *   because the values Schemathesis takes from earlier responses changed in between. Schemathesis
 *   itself reads an unreproducible replay as noise in its fuzzing and stateful phases; a check that
 *   failed on the first draw is recorded then and is in `failures` like any other.
 */
export const FUZZER_INTERNAL_ERRORS: readonly string[] = ['SystemError', 'FlakyFailure'];

/** Same lookup as scripts/ensure-tools.mjs: SCHEMATHESIS_PATH, else the project-local venv. */
export function schemathesisBinary(root = path.resolve(__dirname, '../..')): string {
  const candidates = [process.env.SCHEMATHESIS_PATH, path.join(root, '.tools/schemathesis/bin/schemathesis'), path.join(root, '../.tools/schemathesis/bin/schemathesis')];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('Schemathesis is not installed: run `node scripts/ensure-tools.mjs` (or set SCHEMATHESIS_PATH)');
}

/** Values that take generated requests past the first lookup, each used part of the time. */
const DICTIONARIES: Record<string, { values: string[]; bindings: Record<string, number> }> = {
  // The directory's one bank: without it nearly every request stops at "unknown ASPSP".
  bicfi: { values: ['SANDDEB0XXX'], bindings: { 'header.X-BicFi': 0.7, 'path.bicFi': 0.5 } },
  // The sandbox's scenarios: decoupled approval and refusal, embedded SCA.
  psu: { values: ['decoupled', 'decoupled-deny', 'embedded'], bindings: { 'header.PSU-ID': 0.5 } },
};

function configToml(opts: FuzzOptions): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `workers = ${opts.workers}`,
    ...(opts.maxTimeSeconds === undefined ? [] : [`max-time = ${opts.maxTimeSeconds}`]),
    '',
    '[generation]',
    `max-examples = ${opts.maxExamples}`,
    '',
    '[headers]',
    `Authorization = ${q(`Bearer ${opts.token}`)}`,
    '',
    // Valid-by-schema requests name resources that do not exist or data a bank refuses: a 4xx there is right.
    '[checks.positive_data_acceptance]',
    'enabled = false',
    '',
    '[phases.examples]',
    'enabled = false',
    ...(['coverage', 'fuzzing', 'stateful'] as const).flatMap((phase) => ['', `[phases.${phase}]`, `enabled = ${opts.phases.includes(phase)}`]),
    '',
  ];
  for (const [name, dictionary] of Object.entries(DICTIONARIES)) lines.push(`[dictionaries.${name}]`, `values = [${dictionary.values.map(q).join(', ')}]`, '');
  lines.push('[parameters]');
  for (const [name, dictionary] of Object.entries(DICTIONARIES)) {
    for (const [binding, probability] of Object.entries(dictionary.bindings)) lines.push(`${q(binding)} = { dictionary = ${q(name)}, probability = ${probability} }`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runSchemathesis(opts: FuzzOptions, onOutput: (line: string) => void = () => undefined): Promise<FuzzRun> {
  mkdirSync(opts.reportDir, { recursive: true });
  const configFile = path.join(opts.reportDir, 'schemathesis.toml');
  writeFileSync(configFile, configToml(opts));
  const jsonReport = path.join(opts.reportDir, 'run.json');
  const ndjsonReport = path.join(opts.reportDir, 'events.ndjson');
  const args = [
    '--config-file',
    configFile,
    'run',
    opts.specPath,
    '--url',
    `${opts.apiUrl}/psd2`,
    '--report',
    'json,ndjson',
    '--report-json-path',
    jsonReport,
    '--report-ndjson-path',
    ndjsonReport,
    '--no-color',
    // Seeds are 128-bit: too large for a TOML integer.
    ...(opts.seed ? ['--seed', opts.seed] : []),
    ...(opts.extraArgs ?? []),
  ];
  const exitCode = await new Promise<number>((resolve, reject) => {
    // Run from the report directory: Schemathesis keeps its example database (.schemathesis/) in the working directory.
    const child = spawn(schemathesisBinary(), args, { cwd: opts.reportDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      lines.forEach(onOutput);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
  return readReports(jsonReport, ndjsonReport, exitCode);
}

interface CheckRecord {
  name: string;
  status: string;
  failure_info?: { failure: { code: string; title: string; message: string; operation: string } };
}

function readReports(jsonReport: string, ndjsonReport: string, exitCode: number): FuzzRun {
  const text = readFileSync(jsonReport, 'utf8');
  const summary = JSON.parse(text) as { running_time: number; test_cases: { generated: number } };
  // The seed is a 128-bit integer: read its digits, JSON.parse would round it.
  const seed = /"seed":\s*(\d+)/.exec(text)?.[1] ?? '';
  const failures: FuzzFailure[] = [];
  const errors: FuzzRun['errors'] = [];
  for (const line of readFileSync(ndjsonReport, 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as Record<string, any>;
    if (event.NonFatalError) errors.push({ operation: event.NonFatalError.label, type: event.NonFatalError.value?.type ?? '', message: event.NonFatalError.value?.message ?? '' });
    const scenario = event.ScenarioFinished;
    if (!scenario?.recorder?.checks) continue;
    const interactions = (scenario.recorder.interactions ?? {}) as Record<string, { request?: { headers?: Record<string, string[]> }; response?: { status_code: number } }>;
    const cases = (scenario.recorder.cases ?? {}) as Record<string, { value: { method: string; path: string } }>;
    for (const [caseId, checks] of Object.entries(scenario.recorder.checks as Record<string, CheckRecord[]>)) {
      for (const check of checks) {
        const failure = check.failure_info?.failure;
        if (check.status !== 'failure' || !failure) continue;
        const c = cases[caseId]?.value;
        failures.push({
          operation: failure.operation ?? (c ? `${c.method} ${c.path}` : scenario.recorder.label),
          check: check.name,
          code: failure.code,
          title: failure.title,
          message: failure.message,
          status: interactions[caseId]?.response?.status_code,
          phase: scenario.phase,
          requestHeaders: Object.fromEntries(Object.entries(interactions[caseId]?.request?.headers ?? {}).map(([name, values]) => [name, values.join(', ')])),
        });
      }
    }
  }
  return { seed, runningTimeSeconds: summary.running_time, testCases: summary.test_cases.generated, exitCode, failures, errors };
}
