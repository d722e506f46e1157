import type { BatchRepository } from '../libs/persistence/batch.repository';
import { batchStatusOf, emptyProgress } from '../libs/persistence/batch.repository';
import { FINAL_BATCH_STATUSES, type BatchStatus } from '../libs/persistence/entities/batch.entity';
import type { BatchChild, BatchCounts, BatchStatusName, PreparedSingle, SingleCursor } from '../workflows/batch.api';

export interface BatchActivityDeps {
  batches: BatchRepository;
}

/** Recorded statuses only move forward; the final one is the workflow's word once every child closed. */
const STATUS_ORDER: Record<BatchStatus, number> = {
  received: 0,
  awaiting_authorisation: 1,
  processing: 2,
  completed: 3,
  partially_completed: 3,
  rejected: 3,
  cancelled: 3,
};

/**
 * Batch activities: thin reads and writes of the batch's rows. They hand the workflow ids and
 * counts only; the transactions stay in PostgreSQL.
 */
export function createBatchActivities(deps: BatchActivityDeps) {
  return {
    /** The bulks to start (one per bulk-routed PmtInf) and where the single payments begin, if any. */
    async loadBatchPlan(batchId: string): Promise<{ bulks: BatchChild[]; firstSingle: SingleCursor | null; numberOfTransactions: number }> {
      const batch = await deps.batches.findById(batchId);
      if (!batch) throw new Error(`batch ${batchId} not found`);
      const infos = await deps.batches.paymentInfos(batchId);
      const bulks = infos
        .filter((i) => i.route === 'bulk' && i.paymentId)
        .map((i) => ({ kind: 'bulk' as const, paymentId: i.paymentId!, bicFi: i.bicFi, paymentProduct: i.paymentProduct }));
      const single = infos.find((i) => i.route === 'single');
      return { bulks, firstSingle: single ? { pmtInfIndex: single.pmtInfIndex, txIndex: 0 } : null, numberOfTransactions: batch.numberOfTransactions };
    },

    /** Makes the next page of single payments (idempotent) and returns their ids and positions. */
    async prepareBatchSinglePayments(batchId: string, cursor: SingleCursor, limit: number): Promise<{ children: PreparedSingle[]; next: SingleCursor | null }> {
      const { payments, next } = await deps.batches.prepareSinglePayments(batchId, cursor, limit);
      return { children: payments.map((p) => ({ kind: 'single' as const, ...p })), next };
    },

    /** A cancel stopped the fan-out: records it and cancels the single payments from `cursor` on (none started). */
    async cancelUnstartedBatchPayments(batchId: string, cursor: SingleCursor | null): Promise<{ unstarted: number }> {
      return deps.batches.cancelUnstarted(batchId, cursor);
    },

    /**
     * Counts the batch's transactions by where they stand and records the batch's status when it
     * moved forward, with its event. `final`: every child has closed, so the batch is final now
     * (transactions the banks never called final make it partially completed).
     */
    async recordBatchProgress(batchId: string, final: boolean): Promise<{ status: BatchStatusName; progress: BatchCounts }> {
      const batch = await deps.batches.findById(batchId);
      if (!batch) throw new Error(`batch ${batchId} not found`);
      const progress = emptyProgress();
      for (const p of (await deps.batches.progress(batchId)).values()) {
        for (const key of Object.keys(progress) as (keyof BatchCounts)[]) progress[key] += p[key];
      }
      const decided = decideBatchStatus(progress, batch.status, final, batch.cancelRequestedAt !== null);
      if (!decided.record) return { status: batch.status, progress };
      const { status, reason } = decided;
      await deps.batches.recordStatus({ batchId, status, progress, reason });
      return { status, progress };
    },
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;

/**
 * The batch's status from its counts. Final only when `final` (every child has closed): then
 * transactions the banks never called final make it partially completed (or rejected, when
 * nothing finished). Recorded statuses only move forward.
 */
export function decideBatchStatus(
  progress: BatchCounts,
  recorded: BatchStatus,
  final: boolean,
  cancelRequested = false,
): { record: false } | { record: true; status: BatchStatus; reason: string | null } {
  let status = batchStatusOf(progress);
  let reason: string | null = null;
  if (final && cancelRequested) {
    // Cancelled by the TPP: `cancelled` when nothing executed, else partially completed, saying what did.
    const executed = progress.total - progress.cancelled - progress.rejected;
    status = executed === 0 ? 'cancelled' : 'partially_completed';
    reason =
      executed === 0
        ? `Cancelled by the TPP: ${progress.cancelled} transaction(s) cancelled${progress.rejected ? `, ${progress.rejected} rejected` : ''}`
        : `Cancelled by the TPP after ${executed} transaction(s) had executed (${progress.settled} settled, ${executed - progress.settled} accepted or without a final status); ${progress.cancelled} cancelled, ${progress.rejected} rejected`;
  } else if (final && !FINAL_BATCH_STATUSES.has(status)) {
    const open = progress.total - progress.settled - progress.rejected - progress.cancelled;
    reason = `${open} transaction(s) without a final status from the bank`;
    status = progress.settled + progress.rejected + progress.cancelled === 0 ? 'rejected' : 'partially_completed';
  }
  if (!final && FINAL_BATCH_STATUSES.has(status)) status = 'processing';
  if (FINAL_BATCH_STATUSES.has(recorded) || STATUS_ORDER[status] <= STATUS_ORDER[recorded]) return { record: false };
  return { record: true, status, reason };
}
