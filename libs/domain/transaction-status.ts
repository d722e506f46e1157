/**
 * ISO 20022 transaction status codes, the vocabulary of our public NextGenPSD2 API.
 * Every bank protocol maps its raw statuses onto these (unknown → PDNG, never success).
 */
export const TRANSACTION_STATUSES = [
  'ACCC', // AcceptedSettlementCompletedCreditor
  'ACCP', // AcceptedCustomerProfile
  'ACSC', // AcceptedSettlementCompleted
  'ACSP', // AcceptedSettlementInProcess
  'ACTC', // AcceptedTechnicalValidation
  'ACWC', // AcceptedWithChange
  'ACWP', // AcceptedWithoutPosting
  'ACFC', // AcceptedFundsChecked
  'RCVD', // Received
  'PDNG', // Pending
  'PATC', // PartiallyAcceptedTechnicalCorrect (multi-level SCA)
  'PART', // PartiallyAccepted (bulk)
  'RJCT', // Rejected
  'CANC', // Cancelled
] as const;

export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** Statuses after which the bank will not change the payment any more. */
export const FINAL_TRANSACTION_STATUSES: ReadonlySet<TransactionStatus> = new Set(['ACSC', 'ACCC', 'RJCT', 'CANC']);

/**
 * Statuses a bank only reports once the PSU has authorised the payment (or SCA was exempted):
 * a payment in one of these needs no SCA wait.
 */
export const AUTHORISED_TRANSACTION_STATUSES: ReadonlySet<TransactionStatus> = new Set([
  'ACTC',
  'ACCP',
  'ACFC',
  'ACSP',
  'ACWC',
  'ACWP',
  'ACSC',
  'ACCC',
]);

export function isTransactionStatus(value: unknown): value is TransactionStatus {
  return typeof value === 'string' && (TRANSACTION_STATUSES as readonly string[]).includes(value);
}

export function isFinalTransactionStatus(status: TransactionStatus): boolean {
  return FINAL_TRANSACTION_STATUSES.has(status);
}

/** A bank's status as it said it, next to what it means for us. Both are persisted. */
export interface BankTransactionStatus {
  raw: string;
  normalised: TransactionStatus;
}

/** Berlin Group SCA statuses (also our API's). */
export const SCA_STATUSES = [
  'received',
  'psuIdentified',
  'psuAuthenticated',
  'scaMethodSelected',
  'unconfirmed',
  'started',
  'finalised',
  'failed',
  'exempted',
] as const;

export type ScaStatus = (typeof SCA_STATUSES)[number];

export const FINAL_SCA_STATUSES: ReadonlySet<ScaStatus> = new Set(['finalised', 'failed', 'exempted']);

export interface BankScaStatus {
  raw: string;
  normalised: ScaStatus;
}

export type ScaApproach = 'REDIRECT' | 'DECOUPLED' | 'EMBEDDED' | 'OAUTH';
