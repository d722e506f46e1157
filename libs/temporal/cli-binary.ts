import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/**
 * Where the Temporal binaries come from, in this order (scripts/ensure-tools.mjs uses the same one):
 * 1. `TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH`
 * 2. `temporal` / `temporal-test-server` on PATH
 * 3. the project-local venv installed by ensure-tools: `.tools/temporal/bin/...`
 * 4. a binary the Temporal SDK already downloaded into the OS temp dir
 *    (`temporal-sdk-typescript-<sdk version>`, `temporal-test-server-sdk-typescript-<sdk version>`)
 * `undefined` means none is on disk: callers let the SDK download one (needs internet).
 */

/** Structurally the `executable` option of `@temporalio/testing`'s local and time-skipping environments. */
export type TemporalExecutable = { type: 'existing-path'; path: string } | { type: 'cached-download' };

const IS_WINDOWS = process.platform === 'win32';
const EXE = IS_WINDOWS ? '.exe' : '';

export function findTemporalCli(): string | undefined {
  return resolveTemporalBinary('cli');
}

export function findTemporalTestServer(): string | undefined {
  return resolveTemporalBinary('test-server');
}

/** For `TestWorkflowEnvironment.createLocal({ server: { executable: temporalExecutable() } })`. */
export function temporalExecutable(): TemporalExecutable {
  const path = findTemporalCli();
  return path ? { type: 'existing-path', path } : { type: 'cached-download' };
}

/** For `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalTestServerExecutable() } })`. */
export function temporalTestServerExecutable(): TemporalExecutable {
  const path = findTemporalTestServer();
  return path ? { type: 'existing-path', path } : { type: 'cached-download' };
}

/** The directory holding package.json, found upward from this file: works from the sources and from dist/. */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export type TemporalBinaryKind = 'cli' | 'test-server';

/** What the lookup depends on; the defaults are this process's. Tests pass their own. */
export interface BinaryLookupContext {
  env?: NodeJS.ProcessEnv;
  root?: string;
  tmpDir?: string;
  /** Version of @temporalio/testing, which names the SDK's downloads; null when not installed. */
  sdkVersion?: string | null;
}

const BINARIES: Record<TemporalBinaryKind, { envVar: string; name: string; sdkDownloadPrefix: string }> = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', name: 'temporal', sdkDownloadPrefix: 'temporal' },
  'test-server': {
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    name: 'temporal-test-server',
    sdkDownloadPrefix: 'temporal-test-server',
  },
};

export function resolveTemporalBinary(kind: TemporalBinaryKind, ctx: BinaryLookupContext = {}): string | undefined {
  const { envVar, name, sdkDownloadPrefix } = BINARIES[kind];
  const env = ctx.env ?? process.env;
  const fromEnv = env[envVar];
  // A set but wrong variable is a configuration error: failing loudly beats silently using another binary.
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const sdkVersion = ctx.sdkVersion === undefined ? temporalTestingVersion() : ctx.sdkVersion;
  const root = ctx.root ?? repoRootOrUndefined();
  return (
    findOnPath(name + EXE, env.PATH) ??
    (root ? existingExecutable(join(root, '.tools', 'temporal', IS_WINDOWS ? 'Scripts' : 'bin', name + EXE)) : undefined) ??
    (sdkVersion
      ? existingExecutable(join(ctx.tmpDir ?? tmpdir(), `${sdkDownloadPrefix}-sdk-typescript-${sdkVersion}${EXE}`))
      : undefined)
  );
}

function repoRootOrUndefined(): string | undefined {
  try {
    return repoRoot();
  } catch {
    return undefined; // bundled or copied somewhere without package.json: no project-local tools
  }
}

function findOnPath(file: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, file))) return join(dir, file);
  }
  return undefined;
}

/**
 * The SDK's cached download mirrors sdk-core's `EphemeralExe::CachedDownload` naming with the TypeScript SDK's
 * defaults: `std::env::temp_dir()/<prefix>-sdk-typescript-<@temporalio/testing version>`. The SDK deletes it
 * after its TTL (1 day by default), so it is a bonus, not a guarantee.
 */
function temporalTestingVersion(): string | undefined {
  try {
    // The package's exports hide package.json: find it from the main entry (lib/index.js).
    const main = require.resolve('@temporalio/testing');
    const pkg = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version;
  } catch {
    // Not installed (production image without dev dependencies).
    return undefined;
  }
}

function existingExecutable(file: string): string | undefined {
  return isExecutable(file) ? file : undefined;
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, IS_WINDOWS ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
