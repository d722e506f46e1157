/**
 * What the CLI reads from the batch API (`/batches/v1`, contract in the README's batches section).
 * Only the fields the CLI shows or acts on; everything else passes through untouched to `--json`.
 */

export type BatchStatus =
  | 'received'
  | 'awaiting_authorisation'
  | 'processing'
  | 'completed'
  | 'partially_completed'
  | 'rejected'
  | 'cancelled';

/** Final statuses never change again: the watch loop stops on them. */
export const FINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(['completed', 'partially_completed', 'rejected', 'cancelled']);

export interface BatchProgress {
  total: number;
  received: number;
  awaitingSca: number;
  accepted: number;
  settled: number;
  rejected: number;
  cancelled: number;
}

export interface Link {
  href: string;
}

export interface BatchBulk {
  pmtInfId: string;
  route: 'bulk' | 'single';
  bicFi?: string;
  paymentProduct?: string;
  paymentId?: string;
  transactionStatus?: string;
  numberOfTransactions: number;
  controlSum?: string;
  scaApproach?: string;
  psuMessage?: string;
  /** Why the bulk was rejected or cancelled, when it was. */
  statusReason?: string;
  progress?: BatchProgress;
  payments?: { count: number; href: string };
  _links?: { scaRedirect?: Link; status?: Link };
}

export interface Batch {
  batchId: string;
  msgId: string;
  status: BatchStatus;
  createdAt?: string;
  numberOfTransactions: number;
  controlSum?: string;
  totals?: { currency: string; amount: string; numberOfTransactions: number }[];
  progress?: BatchProgress;
  /** Why the batch was rejected or cancelled, when it was. */
  statusReason?: string;
  /** When `clearway batch cancel` (DELETE) asked to cancel it. */
  cancellationRequestedAt?: string;
  /** The DELETE answer only: what the cancel did right away. */
  cancellation?: { unstarted: number; cancelled: number; awaitingCancellationAuthorisation: string[]; notCancelled: string[] };
  bulks?: BatchBulk[];
  _links?: { self?: Link; report?: Link };
}

export interface BatchPage {
  batches: Batch[];
  _links?: { next?: Link };
}

export interface SinglePayment {
  endToEndId: string;
  paymentId: string;
  transactionStatus?: string;
  _links?: { scaRedirect?: Link; status?: Link };
}

export interface SinglePaymentPage {
  payments: SinglePayment[];
  _links?: { next?: Link };
}

/** Berlin Group error entry. */
export interface TppMessage {
  category?: string;
  code?: string;
  path?: string;
  text?: string;
}
