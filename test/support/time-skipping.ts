import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { temporalTestServerExecutable } from '../../libs/temporal/cli-binary';
import { INDEXED_VALUE_TYPES } from '../../libs/temporal/dev-server';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../libs/temporal/search-attributes';
import { sharedWorkflowBundle } from './workflow-bundle';

/**
 * Temporal's time-skipping test server (the Java one, installed by scripts/ensure-tools.mjs) with
 * Clearway's search attributes registered: it has no --search-attribute flag but implements
 * OperatorService.AddSearchAttributes, and our workflows upsert them.
 */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalTestServerExecutable() } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.entries(CUSTOM_SEARCH_ATTRIBUTES).map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]])),
  });
  return env;
}

/**
 * For workflow specs whose subject includes failed attempts: the SDK's logs at ERROR only (the
 * expected retry warnings stay out of the output), the time-skipping server and the workflows
 * bundle (the run's shared one for workflows/), in parallel.
 */
export async function startQuietTimeSkippingEnvWithBundle(workflowsPath: string): Promise<[TestWorkflowEnvironment, WorkflowBundle]> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // Already installed in this process.
  }
  return Promise.all([startTimeSkippingEnv(), sharedWorkflowBundle(workflowsPath)]);
}
