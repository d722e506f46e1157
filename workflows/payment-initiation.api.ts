/**
 * The payment workflow's public surface, shared by the workflow, the API and tests:
 * ids, input, updates, signals and queries. Imports only Temporal's workflow-safe packages.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AmbiguousCreation } from '../libs/domain/initiation-safety';
import type { PaymentProduct } from '../libs/domain/payment';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../libs/domain/transaction-status';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from './shared/psu-data';

export const PAYMENT_WORKFLOW_TYPE = 'paymentInitiationWorkflow';

/**
 * The newest patch gate of the payment workflow (`workflows/shared/patch-gate.ts`): every starter
 * names it in the input (`patchGate`), so a new run takes its patches without a marker or a
 * `TemporalChangeVersion` upsert. Cutting a new gate changes it here.
 */
export const PAYMENT_PATCH_GATE = 'payment-patches-2026-12-04b';

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
  /**
   * The patch gate the run starts under ({@link PAYMENT_PATCH_GATE}), named by its starter: its
   * patches are taken with no marker in the history. Absent (runs started before the name was
   * given, or by a starter that gives none): the run records the newest gate's marker.
   */
  patchGate?: string;
  /** Carried over by continue-as-new. */
  resume?: PaymentWorkflowState;
}

/**
 * A new payment run's input as every starter gives it (the API, a batch): under the newest gate,
 * named ({@link PAYMENT_PATCH_GATE}), so the run records no patch marker.
 */
export function newPaymentInput(input: Omit<PaymentWorkflowInput, 'patchGate' | 'resume'>): PaymentWorkflowInput {
  return { ...input, patchGate: PAYMENT_PATCH_GATE };
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

/** What `initiatePaymentAtBank` returns: the bank's answer, or that there was no clear one. */
export type InitiationAttemptResult = InitiationSummary | AmbiguousCreation;

/**
 * What `POST /payments` learns when the bank's answer to the initiation is missing (no SCA link to
 * hand out). The outcome may have been resolved since: the payment's row says where it stands.
 */
export interface InitiationOutcomeUnknown {
  outcome: 'unknown';
  reason: string;
}

export type InitiationAnswer = InitiationSummary | InitiationOutcomeUnknown;

/**
 * What a lookup after an unknown outcome found, protocol-neutral:
 * - `found`: the bank holds the payment (its own lookup, or account information showing the debit);
 * - `absent`: the bank says it holds no such payment;
 * - `inconclusive`: nothing yet (ask again later);
 * - `unsupported`: neither the bank nor a consent offers a way to look: an operator decides.
 */
export type InitiationLookup =
  | { kind: 'found'; bankPaymentId: string; transactionStatus: TransactionStatus; rawTransactionStatus: string }
  | { kind: 'absent'; reason: string }
  | { kind: 'inconclusive' }
  | { kind: 'unsupported' };

/**
 * An operator's decision on a payment whose initiation outcome is unknown, after asking the bank
 * (support line, bank portal). `operator` is a staff identity; `reason` says what the bank said:
 * no customer data in either (they go into workflow history and the audit table).
 */
export type OperatorDecision =
  | { operator: string; decision: 'initiated'; bankPaymentId: string; reason: string }
  | { operator: string; decision: 'not_initiated'; reason: string };

export interface OperatorDecisionResult {
  transactionStatus: TransactionStatus;
  initiationOutcome: 'resolved';
}

export type PaymentPhase = 'initiating' | 'outcome_unknown' | 'awaiting_sca' | 'polling_status' | 'completed';

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
  /** `unknown` while the bank's answer to the initiation is missing; `resolved` once learnt. */
  initiationOutcome?: 'unknown' | 'resolved';
  /** Why the outcome was unknown (kept after resolution, for the record). */
  unknownReason?: string;
  /**
   * The bank payment was found after an unknown outcome: no authorisation of it is known, so SCA
   * is followed through the payment's own status until the client starts an authorisation.
   */
  adopted?: boolean;
  /** OAuth/OIDC SCA: sealed answers (hand-off ids) not yet redeemed; carried over continue-as-new. */
  oauthReturns?: string[];
  /**
   * A cancellation authorisation started at the bank (DELETE answered 202), whose SCA status the
   * status polls follow (`patched('payment-cancellation-sca-status')`); carried over continue-as-new.
   */
  cancellation?: { cancellationId: string; scaStatus: ScaStatus };
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

/** Resolves as soon as the bank answered the initiation, or its outcome became unknown: what `POST /payments` returns. */
export const initiationResultUpdate = defineUpdate<InitiationAnswer>('initiationResult');
/** The PSU came back from the bank's SCA page (TPP-Redirect-URI). A hint: the bank's word decides. */
export const scaCallbackSignal = defineSignal<[ScaCallback]>('scaCallback');
export const cancelPaymentUpdate = defineUpdate<CancellationResult>('cancelPayment');
export const startAuthorisationUpdate = defineUpdate<StartedAuthorisation>('startAuthorisation');
/** BG Update PSU Data on the payment's authorisation (identification or an embedded step). */
export const updatePaymentPsuDataUpdate = defineUpdate<PsuDataUpdateSummary, [PsuDataUpdateRequest]>('updatePaymentPsuData');
export const paymentStateQuery = defineQuery<PaymentWorkflowState>('paymentState');
/**
 * An operator resolves an unknown initiation outcome (Temporal CLI or UI: `resolveInitiation`).
 * Accepted only while the outcome is unknown; `initiated` is checked with the bank first; the
 * decision is audited in PostgreSQL (`operator_decisions`) before it takes effect.
 */
export const resolveInitiationUpdate = defineUpdate<OperatorDecisionResult, [OperatorDecision]>('resolveInitiation');
