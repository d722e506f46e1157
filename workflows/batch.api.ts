/**
 * The batch workflow's public surface, shared by the workflow, the API and tests: ids, input and
 * the progress query. Ids and counts only: the file's transactions live in PostgreSQL.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PaymentTimings } from './payment-initiation.api';

export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

/** One workflow per batch, addressed by the batch id. */
export function batchWorkflowId(batchId: string): string {
  return `batch-${batchId}`;
}

export type BatchStatusName = 'received' | 'awaiting_authorisation' | 'processing' | 'completed' | 'partially_completed' | 'rejected' | 'cancelled';

export interface BatchCounts {
  total: number;
  received: number;
  awaitingSca: number;
  accepted: number;
  settled: number;
  rejected: number;
  cancelled: number;
}

/** A child the batch starts: a bulk payment (one per bulk-routed PmtInf) or a single payment. */
export interface BatchChild {
  kind: 'bulk' | 'single';
  paymentId: string;
  bicFi: string;
  paymentProduct: string;
}

/**
 * A single payment `prepareBatchSinglePayments` made, with its transaction's position (the cursor
 * that points at it), so that a page made ahead can be started a few children at a time and the
 * cursor stay at the first one not started. (Pages recorded before the 'batch-pages-ahead' patch
 * have no positions; the old path never reads them.)
 */
export interface PreparedSingle extends BatchChild {
  kind: 'single';
  at: SingleCursor;
}

/** Where the fan-out over single payments stands (position in the file, not a list). */
export interface SingleCursor {
  pmtInfIndex: number;
  txIndex: number;
}

export interface BatchFanOutSettings {
  /** Children running at once (each holds a pending-child slot; Temporal allows 2,000). */
  concurrency: number;
  /** Single payments made per activity call. */
  pageSize: number;
  /** Children started per run before continue-as-new (bounds history). */
  childrenPerRun: number;
  /** How often progress is recorded (status events, UI details). */
  progressIntervalMs: number;
}

export interface BatchWorkflowInput {
  batchId: string;
  tenantId: string;
  /** One line for the UI, made by the API (MsgId, count, sums; no PII). */
  summary: string;
  settings: BatchFanOutSettings;
  /** Payment timings per bank (BIC) of the batch's single payments. */
  timings: Record<string, PaymentTimings>;
  /** Carried over by continue-as-new. */
  resume?: BatchWorkflowState;
}

export interface BatchWorkflowState {
  /** Bulks are started once, by the first run. */
  bulksStarted: boolean;
  /** Next single payment to make, or null once every one was started. */
  cursor: SingleCursor | null;
  childrenStarted: number;
  childrenFinished: number;
  /** Children that failed (their rows carry the outcome). */
  childrenFailed: number;
  runs: number;
  status: BatchStatusName;
  progress?: BatchCounts;
  /** The TPP cancelled the batch (`cancelBatch`): no child is started after it. */
  cancelRequested?: boolean;
}

/** What `batchProgress` answers: the run's state plus the last recorded counts. */
export const batchProgressQuery = defineQuery<BatchWorkflowState>('batchProgress');

/** What `cancelBatch` answers once the fan-out stopped and the unstarted payments are cancelled. */
export interface BatchCancellation {
  /** Single payments the batch had not started, now cancelled without reaching a bank. */
  unstarted: number;
  /** Children started before the cancel (their own workflows cancel them, or they run to their end). */
  childrenStarted: number;
}

/**
 * Cancels what the batch has not started (`patched('batch-cancel')`): no further child, unstarted
 * single payments CANC in PostgreSQL. Started children are cancelled one by one through their own
 * workflows' cancel updates (the API does that, as DELETE on each payment would). Idempotent;
 * refused once every child closed (the batch is final or about to be).
 */
export const cancelBatchUpdate = defineUpdate<BatchCancellation>('cancelBatch');
