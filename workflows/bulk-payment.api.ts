/**
 * The bulk payment workflow's public surface, shared by the workflow, the API, the batch workflow
 * and tests: ids, input, updates, signals, queries. Imports only Temporal's workflow-safe packages.
 *
 * Nothing here carries a transaction list: the bulk's transactions live in PostgreSQL
 * (`bulk_payment_transactions`) and activities read them by the bulk's id.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../libs/domain/transaction-status';
import type {
  CancellationResult,
  InitiationAnswer,
  InitiationError,
  OperatorDecision,
  OperatorDecisionResult,
  ScaCallback,
  StartedAuthorisation,
} from './payment-initiation.api';

export type { InitiationAnswer, InitiationError, OperatorDecision, ScaCallback, StartedAuthorisation, CancellationResult };

export const BULK_PAYMENT_WORKFLOW_TYPE = 'bulkPaymentWorkflow';

/** One workflow per bulk payment, addressed by its id: a second start is impossible. */
export function bulkPaymentWorkflowId(paymentId: string): string {
  return `bulk-${paymentId}`;
}

export interface BulkPaymentTimings {
  /** How long the PSU has to authorise the bulk. Default: the ASPSP's `sca_timeout_seconds`. */
  scaTimeoutMs: number;
  scaPollInitialMs: number;
  scaPollMaxMs: number;
  statusPollInitialMs: number;
  statusPollMaxMs: number;
  /** Give up polling (the bulk keeps its last status, flagged) after this long. */
  statusDeadlineMs: number;
}

/** Only ids: the bulk (debtor, transactions) stays in PostgreSQL, out of history. */
export interface BulkPaymentWorkflowInput {
  tenantId: string;
  paymentId: string;
  /** The batch that owns the bulk: set as the `BatchId` search attribute. */
  batchId?: string;
  /** Overrides (tests); otherwise from the ASPSP (SCA timeout) and defaults. */
  timings?: Partial<BulkPaymentTimings>;
  /** Carried over by continue-as-new. */
  resume?: BulkPaymentWorkflowState;
}

/** Transactions per status (counts only), as last recorded. */
export type BulkTransactionCounts = Partial<Record<TransactionStatus, number>>;

export type BulkPaymentPhase = 'initiating' | 'outcome_unknown' | 'awaiting_sca' | 'polling_status' | 'completed';

/** What `bulkPaymentState` answers: the API's view of the bulk, counts included. */
export interface BulkPaymentWorkflowState {
  phase: BulkPaymentPhase;
  transactionStatus: TransactionStatus;
  scaStatus?: ScaStatus;
  scaApproach?: ScaApproach;
  authorisationId?: string;
  statusReason?: string;
  numberOfTransactions?: number;
  /** Transactions per status after the last status read. */
  counts: BulkTransactionCounts;
  /** Every transaction has a final status (ACSC, ACCC, RJCT, CANC). */
  allTransactionsFinal: boolean;
  initiationError?: InitiationError;
  initiationOutcome?: 'unknown' | 'resolved';
  unknownReason?: string;
  eventSeq: number;
  scaDeadline?: number;
  statusDeadline?: number;
  /** The bank answered DELETE with 202: the PSU authorises the cancellation (BG cancellation-authorisations). */
  cancellation?: { cancellationId?: string; scaStatus?: ScaStatus; scaApproach?: ScaApproach };
}

/** What the workflow needs to know about its bulk before it starts (no PII). */
export interface BulkPaymentSettings {
  bicFi: string;
  paymentProduct: string;
  numberOfTransactions: number;
  scaTimeoutMs: number;
}

/** One status read of the bulk at the bank; per-transaction statuses were already stored by the activity. */
export interface BulkStatusSummary {
  transactionStatus: TransactionStatus;
  rawTransactionStatus: string;
  counts: BulkTransactionCounts;
  allTransactionsFinal: boolean;
  /** The bank reported statuses per transaction (pain.002), not only for the bulk. */
  perTransaction: boolean;
}

export const bulkInitiationResultUpdate = defineUpdate<InitiationAnswer>('initiationResult');
export const bulkScaCallbackSignal = defineSignal<[ScaCallback]>('scaCallback');
export const cancelBulkPaymentUpdate = defineUpdate<CancellationResult>('cancelBulkPayment');
export const startBulkAuthorisationUpdate = defineUpdate<StartedAuthorisation>('startAuthorisation');
export { startCancellationAuthorisationUpdate } from './shared/cancellation-authorisation';
export const bulkPaymentStateQuery = defineQuery<BulkPaymentWorkflowState>('bulkPaymentState');
/** An operator resolves an unknown initiation outcome (see the single payment's `resolveInitiation`). */
export const resolveBulkInitiationUpdate = defineUpdate<OperatorDecisionResult, [OperatorDecision]>('resolveInitiation');

export const DEFAULT_BULK_TIMINGS: Omit<BulkPaymentTimings, 'scaTimeoutMs'> = {
  scaPollInitialMs: 2_000,
  scaPollMaxMs: 30_000,
  statusPollInitialMs: 2_000,
  statusPollMaxMs: 300_000,
  statusDeadlineMs: 5 * 24 * 3_600_000,
};
