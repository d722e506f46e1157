import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../domain/ids';
import type { BatchStatus } from './entities/batch.entity';

/** A batch's rows as the API and the workflow read them: counts, ids and report rows (no repository here). */

/** Counts of a batch's (or one PmtInf's) transactions by where they stand. */
export interface BatchProgressCounts {
  total: number;
  received: number;
  awaitingSca: number;
  accepted: number;
  settled: number;
  rejected: number;
  cancelled: number;
}

export type ProgressBucket = Exclude<keyof BatchProgressCounts, 'total'>;

/** A single payment the batch workflow starts: ids only (its row holds the rest). */
export interface BatchChildPayment {
  paymentId: string;
  bicFi: string;
  paymentProduct: string;
  /** Its transaction's position in the file: the cursor that points at it. */
  at: SinglePaymentCursor;
}

/** Where the batch workflow's fan-out over single payments stands: the next transaction to make a payment of. */
export interface SinglePaymentCursor {
  pmtInfIndex: number;
  txIndex: number;
}

/** One transaction with its outcome, for the pain.002 report. */
export interface BatchReportRow {
  pmtInfIndex: number;
  endToEndId: string;
  instructionId: string | null;
  amount: string;
  currency: string;
  bucket: ProgressBucket;
  transactionStatus: string | null;
  statusReason: string | null;
}

/** A single payment of a PmtInf, as the batch API lists it. */
export interface BatchSinglePaymentRow {
  txIndex: number;
  endToEndId: string;
  paymentId: string;
  paymentProduct: string;
  transactionStatus: string | null;
  scaRedirectUrl: string | null;
  psuMessage: string | null;
}

export function emptyProgress(total = 0): BatchProgressCounts {
  return { total, received: 0, awaitingSca: 0, accepted: 0, settled: 0, rejected: 0, cancelled: 0 };
}

/** Status from counts: what a client sees, and what the workflow records. */
export function batchStatusOf(p: BatchProgressCounts): BatchStatus {
  const finished = p.settled + p.rejected + p.cancelled;
  if (p.total > 0 && finished === p.total) {
    if (p.rejected === 0 && p.cancelled === 0) return 'completed';
    if (p.settled === 0) return p.cancelled === p.total ? 'cancelled' : 'rejected';
    return 'partially_completed';
  }
  if (p.received === p.total) return 'received';
  if (p.awaitingSca > 0) return 'awaiting_authorisation';
  return 'processing';
}

/** Ids of what a batch makes: deterministic, so a retried step makes the same payment. */
export function batchSinglePaymentId(batchId: string, pmtInfIndex: number, txIndex: number): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, 'batch-single-payment', batchId, String(pmtInfIndex), String(txIndex));
}

/** A batch single payment's own X-Request-ID: derived, never one a client could send (it marks the payment as a batch's). */
export function batchSinglePaymentRequestId(paymentId: string): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, 'batch-single-payment-request', paymentId);
}

export function batchBulkPaymentId(batchId: string, pmtInfIndex: number): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, 'batch-bulk-payment', batchId, String(pmtInfIndex));
}


/** A bulk payment of a batch as the batch shows it (status, SCA), by PmtInf index. */
export interface BatchBulkState {
  pmtInfIndex: number;
  transactionStatus: string;
  statusReason: string | null;
  scaApproach: string | null;
  scaRedirectUrl: string | null;
  psuMessage: string | null;
  /** The bank answered the initiation (or its outcome became unknown): the SCA link is as good as it gets. */
  initiationSettled: boolean;
}
