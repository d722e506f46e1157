/**
 * The webhook dispatcher's public surface, shared by the workflow, the worker, the API and tests.
 * Imports only Temporal's workflow-safe packages.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const WEBHOOK_DISPATCHER_WORKFLOW_TYPE = 'webhookDispatcherWorkflow';
export const WEBHOOK_SWEEP_WORKFLOW_TYPE = 'webhookSweepWorkflow';

/** One dispatcher per endpoint: the single consumer of its deliveries. */
export function webhookDispatcherWorkflowId(endpointId: string): string {
  return `webhook-endpoint-${endpointId}`;
}

export function webhookSweepScheduleId(taskQueue: string): string {
  return `webhook-sweep-${taskQueue}`;
}

/** Ids only: events, URLs and secrets stay in PostgreSQL. */
export interface WebhookDispatcherInput {
  endpointId: string;
  tenantId: string;
  /** Delays between attempts; omitted means the schedule declared in the workflow. */
  retryDelaysMs?: number[];
  /** Carried over by continue-as-new. */
  resume?: WebhookDispatcherState;
}

export type WebhookEndpointHealth = 'healthy' | 'failing' | 'disabled' | 'deleted';

export interface WebhookDispatcherState {
  health: WebhookEndpointHealth;
  delivered: number;
  failedAttempts: number;
  gaveUp: number;
  rounds: number;
  /** Epoch ms of the first failed attempt since the last success. */
  failingSince?: number;
  disabledReason?: string;
}

/** One round of the dispatcher: send what is due now, record every outcome. */
export interface DeliveryRoundRequest {
  endpointId: string;
  /** The workflow's clock: due times and the retry schedule follow workflow time. */
  now: number;
  retryDelaysMs: number[];
  disableAfterMs: number;
  maxBatch: number;
  concurrency: number;
  attemptTimeoutMs: number;
  /**
   * Streaming: while deliveries keep succeeding, the round goes on polling for new work (every
   * `pollMs`, or at once on a commit in the same process) until nothing was delivered for `lingerMs`
   * or `streamMs` have passed. A busy endpoint then costs one activity per `streamMs`, not one per wakeup.
   */
  streamMs: number;
  lingerMs: number;
  pollMs: number;
}

export interface DeliveryRoundResult {
  endpoint: 'enabled' | 'disabled' | 'deleted';
  attempted: number;
  delivered: number;
  failed: number;
  gaveUp: number;
  /** More deliveries are due now. */
  more: boolean;
  /** Epoch ms when the next pending delivery is due; null when none is pending. */
  nextDueAt: number | null;
  failingSince: number | null;
  disabledReason?: string;
}

/** New deliveries were queued for this endpoint (outbox commit, retry, replay, re-enable). */
export const webhookWakeUpSignal = defineSignal('webhookWakeUp');
export const webhookDispatcherStateQuery = defineQuery<WebhookDispatcherState>('webhookDispatcherState');
