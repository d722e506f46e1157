/**
 * The payment workflow's public surface, shared by the workflow, the API and tests:
 * ids, input, updates, signals and queries. Imports only Temporal's workflow-safe packages.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PaymentProduct } from '../libs/domain/payment';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../libs/domain/transaction-status';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from './shared/psu-data';

export const PAYMENT_WORKFLOW_TYPE = 'paymentInitiationWorkflow';

/** One workflow per payment, addressed by the payment id: a second start is impossible. */
export function paymentWorkflowId(paymentId: string): string {
  return `payment-${paymentId}`;
}

export interface PaymentTimings {
  /** How long the PSU has to complete SCA (per ASPSP). */
  scaTimeoutMs: number;
  /** First and maximum interval between SCA status checks while waiting. */
  scaPollInitialMs: number;
  scaPollMaxMs: number;
  /** First and maximum interval between transaction status polls after SCA. */
  statusPollInitialMs: number;
  statusPollMaxMs: number;
  /** Give up polling (leaving the payment in its last status, flagged) after this long. */
  statusDeadlineMs: number;
}

/** Only ids and settings: the payment itself (IBANs, names) stays in PostgreSQL, out of history. */
export interface PaymentWorkflowInput {
  paymentId: string;
  tenantId: string;
  bicFi: string;
  paymentProduct: PaymentProduct;
  timings: PaymentTimings;
  /** Carried over by continue-as-new. */
  resume?: PaymentWorkflowState;
}

export interface InitiationSummary {
  bankPaymentId: string;
  transactionStatus: TransactionStatus;
  rawTransactionStatus: string;
  scaApproach: ScaApproach;
  authorisationId?: string;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

export type PaymentPhase = 'initiating' | 'awaiting_sca' | 'polling_status' | 'completed';

export interface PaymentWorkflowState {
  phase: PaymentPhase;
  initiation?: InitiationSummary;
  /** Set when the bank refused the initiation: the API turns it into the HTTP error. */
  initiationError?: InitiationError;
  transactionStatus: TransactionStatus;
  scaStatus?: ScaStatus;
  /** The authorisation the workflow watches (the latest one started). */
  authorisationId?: string;
  statusReason?: string;
  /** Next sequence number for persisted status events. */
  eventSeq: number;
  scaDeadline?: number;
  statusDeadline?: number;
}

export interface InitiationError {
  httpStatus: number;
  messages: { category: 'ERROR' | 'WARNING'; code: string; text?: string; path?: string }[];
}

export interface ScaCallback {
  outcome: 'ok' | 'nok';
}

export interface CancellationResult {
  transactionStatus: TransactionStatus;
  /** The bank wants the cancellation authorised too (BG 202). */
  authorisationRequired: boolean;
}

export interface StartedAuthorisation {
  authorisationId: string;
  scaStatus: ScaStatus;
  scaApproach: ScaApproach;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

/** Resolves as soon as the bank answered the initiation: what `POST /payments` returns. */
export const initiationResultUpdate = defineUpdate<InitiationSummary>('initiationResult');
/** The PSU came back from the bank's SCA page (TPP-Redirect-URI). A hint: the bank's word decides. */
export const scaCallbackSignal = defineSignal<[ScaCallback]>('scaCallback');
export const cancelPaymentUpdate = defineUpdate<CancellationResult>('cancelPayment');
export const startAuthorisationUpdate = defineUpdate<StartedAuthorisation>('startAuthorisation');
/** BG Update PSU Data on the payment's authorisation (identification or an embedded step). */
export const updatePaymentPsuDataUpdate = defineUpdate<PsuDataUpdateSummary, [PsuDataUpdateRequest]>('updatePaymentPsuData');
export const paymentStateQuery = defineQuery<PaymentWorkflowState>('paymentState');
