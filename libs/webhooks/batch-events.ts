import type { BatchEntity, BatchStatus } from '../persistence/entities/batch.entity';
import { FINAL_BATCH_STATUSES } from '../persistence/entities/batch.entity';
import { genericEvent, type OutboxEvent } from './events';

interface BatchCounts {
  total: number;
  received: number;
  awaitingSca: number;
  accepted: number;
  settled: number;
  rejected: number;
  cancelled: number;
}

/**
 * A batch's status change (`batch.status_changed`), and `batch.completed` once it is final: ids,
 * MsgId, status and counts; never IBANs, names or remittance. A batch's recorded status only moves forward, so
 * each status is one event, however often a retried write repeats it.
 */
export function batchEvent(
  batch: Pick<BatchEntity, 'id' | 'tenantId' | 'msgId' | 'numberOfTransactions'>,
  change: { status: BatchStatus; progress: BatchCounts; reason?: string | null },
): OutboxEvent[] {
  const data = {
    batchId: batch.id,
    msgId: batch.msgId,
    status: change.status,
    numberOfTransactions: batch.numberOfTransactions,
    progress: { ...change.progress },
    ...(change.reason ? { statusReason: change.reason } : {}),
  };
  const events = [genericEvent({ type: 'batch.status_changed', tenantId: batch.tenantId, subjectId: batch.id, dedupeKey: `batch:${batch.id}:${change.status}`, data })];
  if (FINAL_BATCH_STATUSES.has(change.status)) {
    events.push(genericEvent({ type: 'batch.completed', tenantId: batch.tenantId, subjectId: batch.id, dedupeKey: `batch:${batch.id}:final`, data }));
  }
  return events;
}
