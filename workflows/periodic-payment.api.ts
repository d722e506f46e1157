/**
 * The periodic payment (standing order) workflow's public surface: ids, input, updates, queries.
 * Imports only Temporal's workflow-safe packages and pure code.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PaymentProduct } from '../libs/domain/payment';
import type { PeriodicSchedule } from '../libs/domain/target2-calendar';
import type { ResolvedExecution } from '../libs/domain/periodic-observation';
import type { BankTransactionStatus, ScaApproach, ScaStatus, TransactionStatus } from '../libs/domain/transaction-status';
import type { CancellationResult, InitiationError, InitiationSummary } from './payment-initiation.api';

export const PERIODIC_WORKFLOW_TYPE = 'periodicPaymentWorkflow';

/** One workflow per standing order, for its whole life (continue-as-new keeps the id). */
export function periodicPaymentWorkflowId(paymentId: string): string {
  return `periodic-${paymentId}`;
}

export interface PeriodicTimings {
  scaTimeoutMs: number;
  scaPollInitialMs: number;
  scaPollMaxMs: number;
  /** How often the order is looked at once live: its status, and its bookings where a consent allows. */
  observeEveryMs: number;
  /** TARGET2 days after an execution date within which its booking must appear. */
  graceBusinessDays: number;
  /** Executions resolved per run before continue-as-new (history stays bounded for years). */
  executionsPerRun: number;
}

/** Ids, dates and settings only: the order's IBANs, names and remittance stay in PostgreSQL. */
export interface PeriodicWorkflowInput {
  paymentId: string;
  tenantId: string;
  bicFi: string;
  paymentProduct: PaymentProduct;
  /** Dates and frequency (no PII): the workflow computes the execution dates itself. */
  schedule: PeriodicSchedule;
  timings: PeriodicTimings;
  resume?: PeriodicWorkflowState;
}

export type PeriodicPhase = 'initiating' | 'outcome_unknown' | 'awaiting_sca' | 'active' | 'completed';

export interface PeriodicWorkflowState {
  phase: PeriodicPhase;
  initiation?: InitiationSummary;
  initiationError?: InitiationError;
  transactionStatus: TransactionStatus;
  scaStatus?: ScaStatus;
  authorisationId?: string;
  statusReason?: string;
  eventSeq: number;
  scaDeadline?: number;
  /** The next execution (index from 1) whose outcome is not known yet. */
  nextIndex: number;
  /** Executions resolved so far, over every run. */
  executionsResolved: number;
  /** The debtor account's AIS id, once found through the observation consent. */
  accountId?: string;
  /** Transactions earlier executions took (the last few, enough to tell neighbours apart). */
  takenTransactionIds: string[];
  /** `unknown` while the bank's answer to the initiation is missing; `resolved` once an operator decided. */
  initiationOutcome?: 'unknown' | 'resolved';
  /** Adopted after an unknown outcome: no authorisation is known, SCA is followed through the order's status. */
  adopted?: boolean;
  /** The bank asked for the cancellation to be authorised (DELETE → 202). */
  cancellation?: { cancellationId?: string; scaStatus?: ScaStatus; scaApproach?: ScaApproach };
}

/** What one look at the order found: the bank's status and, where a consent allows, resolved executions. */
export interface PeriodicObservation {
  transactionStatus: BankTransactionStatus;
  /** False without an observation consent: executions cannot be seen. */
  observable: boolean;
  accountId?: string;
  executions: ResolvedExecution[];
}

export const cancelPeriodicPaymentUpdate = defineUpdate<CancellationResult>('cancelPeriodicPayment');
export { startCancellationAuthorisationUpdate } from './shared/cancellation-authorisation';
export const periodicStateQuery = defineQuery<PeriodicWorkflowState>('periodicState');
