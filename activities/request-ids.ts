import { activityInfo } from '@temporalio/activity';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';

/**
 * The request id (Berlin Group `X-Request-ID`) of one logical bank call: derived from the
 * resource, the step and the activity execution (run id + activity id, Temporal's own
 * idempotency pair), so every retry of the call carries the same id and is recognisable as such
 * in the bank's logs, while every other call gets its own. No clock, no randomness.
 */
export function logicalCallRequestId(resourceId: string, step: string): string {
  const info = activityInfo();
  // Standalone activities (no workflow) carry their own run id instead.
  const runId = info.workflowExecution?.runId ?? info.activityRunId ?? '';
  return deriveUuid(CLEARWAY_ID_NAMESPACE, resourceId, step, runId, info.activityId);
}
