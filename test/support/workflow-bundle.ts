import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

const WORKFLOWS_INDEX = require.resolve('../../workflows');
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, log() {}, error: console.error };
let shared: Promise<WorkflowBundle> | undefined;

/**
 * The bundle of `workflows/` (its index, no interceptors), made once per jest run by
 * test/support/global-setup.ts and read here, instead of a webpack run in every suite (1.5 s each
 * at load 2, 8 s under load; the replay specs made one per replayed history). Another entry point,
 * or no global setup, gets a fresh bundle.
 */
export function sharedWorkflowBundle(workflowsPath: string = WORKFLOWS_INDEX): Promise<WorkflowBundle> {
  if (path.resolve(workflowsPath) !== WORKFLOWS_INDEX) return bundleWorkflowCode({ workflowsPath, logger: quiet });
  const prebuilt = process.env.CLEARWAY_TEST_WORKFLOW_BUNDLE;
  shared ??= prebuilt ? readFile(prebuilt, 'utf8').then((code) => ({ code })) : bundleWorkflowCode({ workflowsPath, logger: quiet });
  return shared;
}
