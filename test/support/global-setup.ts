import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflows } from '../../apps/worker/worker';
import { connectAndMigrate } from '../../libs/persistence/data-source';
import { startTemporalDevServer, type TemporalDevServer } from '../../libs/temporal/dev-server';
import { recreateDatabase } from './test-database';

declare global {
  // eslint-disable-next-line no-var
  var __clearwayTemporal: TemporalDevServer | undefined;
}

/**
 * Once per jest run: a fresh database with every migration applied, one real Temporal dev server
 * (in memory, our search attributes registered), and a swc build in dist/ for the tests that run
 * the worker as a separate process (the crash test). The workflow bundle is made here once, for every
 * suite's in-process worker (test/support/stack.ts): made per suite it cost each one 1.5 s at load 2,
 * 8 s under load.
 */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const started = Date.now();
  // One database per run, so parallel runs on one server never drop each other's data.
  const databaseName = `clearway_test_${process.pid}`;
  const databaseUrl = await recreateDatabase(databaseName);
  process.env.CLEARWAY_TEST_DATABASE_NAME = databaseName;
  const ds = await connectAndMigrate({ url: databaseUrl });
  await ds.destroy();
  process.env.CLEARWAY_TEST_DATABASE_URL = databaseUrl;

  const temporal = await startTemporalDevServer({ port: 0, headless: true, logLevel: 'error' });
  globalThis.__clearwayTemporal = temporal;
  process.env.CLEARWAY_TEST_TEMPORAL_ADDRESS = temporal.address;

  const bundlePath = path.join(tmpdir(), `clearway-test-workflows-${process.pid}.js`);
  await Promise.all([
    promisify(execFile)(process.execPath, [require.resolve('@swc/cli/bin/swc.js'), 'apps', 'libs', 'workflows', 'activities', '-d', 'dist', '--config-file', '.swcrc', '--ignore', '**/*.spec.ts', '--quiet'], {
      cwd: root,
    }),
    bundleWorkflows().then((bundle) => writeFileSync(bundlePath, bundle.code)),
  ]);
  process.env.CLEARWAY_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.stdout.write(`\n[global-setup] database, Temporal ${temporal.address} and build ready in ${Date.now() - started} ms\n`);
}
