/**
 * Which task queue each workflow type is started on.
 *
 * Two queues, served by two workers in the same worker process (`apps/worker/worker.ts`), each with
 * the workflow cache its workflows need:
 * - **short-lived** (`TEMPORAL_TASK_QUEUE`, default `clearway-payments`; cache
 *   `WORKER_MAX_CACHED_WORKFLOWS`, default 400): payments, bulks, batches, transfers, a mandate's
 *   period, webhooks. They run for seconds to minutes and are busy while they run: an evicted one
 *   replays its whole history at its next task, so the cache must hold everything in flight.
 * - **long-lived** (`TEMPORAL_LONG_LIVED_TASK_QUEUE`, default `<TEMPORAL_TASK_QUEUE>-long-lived`;
 *   cache `WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS`, default 100): consents, standing orders, Open
 *   Payments mandates. They sleep for hours or days between tasks: a cache slot would only hold memory.
 *
 * Both workers register every workflow and every activity, so a workflow started on either queue
 * runs (runs started before the split stay on the short-lived queue and finish there). Child
 * workflows, continue-as-new and activities stay on their workflow's queue.
 */
export type TaskQueueKind = 'short-lived' | 'long-lived';

export interface TaskQueueNames {
  taskQueue: string;
  longLivedTaskQueue: string;
}

/** Workflow types started on the long-lived queue; every other type runs on the short-lived one. */
export const LONG_LIVED_WORKFLOW_TYPES: ReadonlySet<string> = new Set(['consentWorkflow', 'periodicPaymentWorkflow', 'mandateWorkflow']);

export function defaultLongLivedTaskQueue(taskQueue: string): string {
  return `${taskQueue}-long-lived`;
}

export function taskQueueKindOf(workflowType: string): TaskQueueKind {
  return LONG_LIVED_WORKFLOW_TYPES.has(workflowType) ? 'long-lived' : 'short-lived';
}

/** The task queue a new run of `workflowType` is started on. */
export function taskQueueFor(queues: TaskQueueNames, workflowType: string): string {
  return taskQueueKindOf(workflowType) === 'long-lived' ? queues.longLivedTaskQueue : queues.taskQueue;
}
