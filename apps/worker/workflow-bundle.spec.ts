import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowsInChildProcess } from './workflow-bundle';

// The script the worker process runs: the built one (test/support/global-setup.ts builds dist/).
const BUILT_SCRIPT = path.resolve(__dirname, '../../dist/apps/worker/workflow-bundle.js');

test('the child process answers with the whole workflow bundle', async () => {
  const bundle = await bundleWorkflowsInChildProcess(BUILT_SCRIPT);
  // Every workflow the worker registers, and the bundle's inline source map at the end (stack traces).
  for (const name of ['paymentInitiationWorkflow', 'consentWorkflow', 'batchWorkflow', 'bulkPaymentWorkflow']) expect(bundle.code).toContain(name);
  expect(bundle.code).toMatch(/\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,[A-Za-z0-9+/=]+\s*$/);
}, 60_000);

test('with tracing, the bundle carries the OpenTelemetry workflow interceptors, as the worker asked (the child starts no tracing)', async () => {
  const marker = 'interceptors-opentelemetry/lib/workflow-interceptors';
  const [plain, traced] = await Promise.all([bundleWorkflowsInChildProcess(BUILT_SCRIPT, { tracing: false }), bundleWorkflowsInChildProcess(BUILT_SCRIPT, { tracing: true })]);
  expect(plain.code).not.toContain(marker);
  expect(traced.code).toContain(marker);
}, 60_000);

test('a child that fails is an error with what it printed, not an empty bundle', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'clearway-bundle-'));
  const failing = path.join(dir, 'fails.js');
  writeFileSync(failing, "console.error('webpack: module not found: ./workflows'); process.exit(1);");
  await expect(bundleWorkflowsInChildProcess(failing)).rejects.toThrow(/bundling the workflows failed[\s\S]*module not found: \.\/workflows/);
});
