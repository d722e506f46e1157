import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalTestServerExecutable } from '../../libs/temporal/cli-binary';
import { INDEXED_VALUE_TYPES } from '../../libs/temporal/dev-server';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../libs/temporal/search-attributes';

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
