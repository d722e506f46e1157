/**
 * The mandate workflows' public surface, shared by the workflows, activities, the API and tests.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { MandatePaymentStatus, MandateStatus } from '../libs/domain/mandate';
import type { OutcomeDecision } from './op-transfer.api';

export const MANDATE_WORKFLOW_TYPE = 'mandateWorkflow';
export const MANDATE_PAYMENT_WORKFLOW_TYPE = 'mandatePaymentWorkflow';

/**
 * Change id of period runs (README, "Versioning long-lived workflows"): unknown outcomes are looked
 * up (and earlier unknown periods settled) instead of failed, completion reads the payment's own
 * state, and the period's incoming payment is completed when the period is decided.
 */
export const MANDATE_PERIOD_OUTCOMES_PATCH = 'mandate-period-outcomes';

/** Change id of the mandate workflow: once active, the period under way runs at its own start. */
export const MANDATE_FIRST_PERIOD_PATCH = 'mandate-first-period';

/** `Rn` is n + 1 periods (ISO 8601, Rafiki); runs started before read it as n and end one period earlier. */
export const MANDATE_INTERVAL_PERIODS_PATCH = 'mandate-interval-periods';

/** The mandate's own workflow (approval, then pause/resume/cancel/expiry). */
export function mandateWorkflowId(mandateId: string): string {
  return `mandate-${mandateId}`;
}

/** The Schedule that pays once per period (Temporal UI → Schedules). */
export function mandateScheduleId(mandateId: string): string {
  return `mandate-${mandateId}`;
}

/** Base id of the Schedule's runs; Temporal appends `-{nominal time, RFC 3339}` to each. */
export function mandatePaymentWorkflowIdPrefix(mandateId: string): string {
  return `mandate-payment-${mandateId}`;
}

export interface MandateTimings {
  /** How long the PSU has to approve the grant. */
  grantWindowMs: number;
  sendPollInitialMs: number;
  sendPollMaxMs: number;
  /** A period's payment is given up (failed) when not fully sent by then. */
  sendDeadlineMs: number;
}

/** Ids only: wallet addresses, amounts and tokens stay in PostgreSQL (tokens sealed). */
export interface MandateWorkflowInput {
  mandateId: string;
  tenantId: string;
  /** The ISO 8601 repeating interval (no PII): tells the workflow when the mandate expires. */
  interval: string;
  timings: MandateTimings;
}

export interface MandatePaymentInput {
  mandateId: string;
  timings: MandateTimings;
}

export interface MandateAuthorisation {
  status: MandateStatus;
  interactRedirect: string;
}

export interface MandateRefusal {
  httpStatus: number;
  code: string;
  message: string;
}

export interface MandateState {
  status: MandateStatus;
  statusReason?: string;
  interactRedirect?: string;
  refusal?: MandateRefusal;
}

/** Resolves once the interactive grant is requested: what `POST /mandates` returns. */
export const mandateAuthorisationUpdate = defineUpdate<MandateAuthorisation>('mandateAuthorisation');
export const pauseMandateUpdate = defineUpdate<{ status: MandateStatus }>('pauseMandate');
export const resumeMandateUpdate = defineUpdate<{ status: MandateStatus }>('resumeMandate');
export const cancelMandateUpdate = defineUpdate<{ status: MandateStatus }>('cancelMandate');
/**
 * An operator's ruling on one period whose outcome stayed unknown (audit-recorded); `periodStart`
 * as the mandate's `GET` shows it. Answers with the period's new status.
 */
export const resolveMandatePeriodUpdate = defineUpdate<{ periodStart: string; status: MandatePaymentStatus }, [{ periodStart: string } & OutcomeDecision]>('resolveMandatePeriod');
export const mandateStateQuery = defineQuery<MandateState>('mandateState');
// The finish redirect reuses the transfer's `grantFinish` signal (same GNAP shape).
export { grantFinishSignal, type GrantFinish } from './op-transfer.api';
