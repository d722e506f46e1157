import { execFile } from 'node:child_process';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { WORKFLOW_TRACING_INTERCEPTORS, activeTracing } from '../../libs/observability/tracing';

const WORKFLOWS_PATH = require.resolve('../../workflows');

const TRACING_FLAG = '--tracing';
const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

/**
 * Bundling takes ~1.5 s: do it once per process and share the bundle between workers. With tracing
 * on (this process started it: OTEL_TRACES_EXPORTER), the workflows carry the OpenTelemetry interceptors.
 */
export function bundleWorkflows(opts: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  const tracing = opts.tracing ?? Boolean(activeTracing());
  const workflowInterceptorModules = tracing ? [WORKFLOW_TRACING_INTERCEPTORS] : [];
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger, workflowInterceptorModules });
}

/**
 * The same bundle, built by a short-lived child process (this file run as a script, from the built
 * code in `dist/`). Webpack's heap would otherwise stay in the worker's RSS for the process's whole
 * life: 55–80 MiB, the largest single part of an idle worker (docs/benchmarks.md, "Worker memory").
 * Whether the workflows carry the tracing interceptors is this process's choice (`--tracing`): the
 * child starts no tracing of its own.
 */
export function bundleWorkflowsInChildProcess(script = __filename, opts: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  const tracing = opts.tracing ?? Boolean(activeTracing());
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...(tracing ? [TRACING_FLAG] : [])], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`bundling the workflows failed (${err.message.split('\n')[0]}):\n${stderr}`));
      else resolve({ code: stdout });
    });
  });
}

if (require.main === module) {
  bundleWorkflows({ tracing: process.argv.includes(TRACING_FLAG) }).then(
    (bundle) => process.stdout.write(bundle.code),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
