/**
 * The Open Payments transfer workflow's public surface, shared by the workflow, the API and tests.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TransferStatus } from '../libs/domain/open-payments';

export const OP_TRANSFER_WORKFLOW_TYPE = 'openPaymentsTransferWorkflow';

/**
 * Change id (see the README, "Versioning long-lived workflows"). `op-transfer-outcomes`: an
 * unanswered outgoing payment is looked up (status `unknown`) instead of failed, completion reads
 * the payment's own state, the incoming payment Clearway created is completed at the end, and an
 * operator can rule on an unknown outcome.
 */
export const TRANSFER_OUTCOMES_PATCH = 'op-transfer-outcomes';

export function opTransferWorkflowId(transferId: string): string {
  return `op-transfer-${transferId}`;
}

export interface TransferTimings {
  /** How long the PSU has to approve the outgoing-payment grant. */
  grantWindowMs: number;
  /** Polling of the outgoing payment until fully sent. */
  sendPollInitialMs: number;
  sendPollMaxMs: number;
  /** Not confirmed sent (nor failed) by then: the outcome becomes `unknown` and is followed further. */
  sendDeadlineMs: number;
  /**
   * An unknown outcome is looked up at the wallet with this backoff for this long; after that only
   * an operator decides. Optional: runs started before they existed use the defaults.
   */
  lookupInitialMs?: number;
  lookupMaxMs?: number;
  lookupDeadlineMs?: number;
}

/** Defaults of the optional timings: look up after 1 min, then at most hourly, for 7 days. */
export const LOOKUP_DEFAULTS = { lookupInitialMs: 60_000, lookupMaxMs: 3_600_000, lookupDeadlineMs: 7 * 24 * 3_600_000 } as const;

/** Ids only: wallet addresses, amounts and tokens stay in PostgreSQL (tokens sealed). */
export interface TransferWorkflowInput {
  transferId: string;
  tenantId: string;
  timings: TransferTimings;
}

export interface TransferAuthorisation {
  status: TransferStatus;
  /** Where the PSU approves the payment at their wallet's authorization server. */
  interactRedirect: string;
}

export interface TransferRefusal {
  /** 400-class: bad receiver, asset mismatch, unreachable wallet; 502-class: the ASE failed. */
  httpStatus: number;
  code: string;
  message: string;
}

/** The PSU came back to our finish URI with `hash` and `interact_ref` (or `result=grant_rejected`). */
export interface GrantFinish {
  interactRef?: string;
  hash?: string;
  result?: string;
}

export interface TransferState {
  status: TransferStatus;
  statusReason?: string;
  interactRedirect?: string;
  refusal?: TransferRefusal;
  eventSeq: number;
}

/**
 * An operator's ruling on an outcome Clearway could not settle with the wallet (audit-recorded).
 * `paid` names the wallet's outgoing payment, which must be this transfer's; it is then followed
 * to the end like any other (or, when it is already being followed, taken as sent in full).
 */
export type OutcomeDecision =
  | { decision: 'paid'; outgoingPaymentUrl: string; operator: string; note: string }
  | { decision: 'not_paid'; operator: string; note: string };

/** Only while the transfer is `unknown`. Answers once the decision is applied. */
export const resolveTransferOutcomeUpdate = defineUpdate<{ status: TransferStatus }, [OutcomeDecision]>('resolveTransferOutcome');

/** Checks an operator's decision (used by the update validators); throws naming the problem. */
export function checkOutcomeDecision(d: OutcomeDecision): void {
  if (typeof d !== 'object' || d === null) throw new Error('A decision is { decision, operator, note[, outgoingPaymentUrl] }');
  if (d.decision !== 'paid' && d.decision !== 'not_paid') throw new Error('decision must be "paid" or "not_paid"');
  if (typeof d.operator !== 'string' || d.operator.trim() === '' || d.operator.length > 200) throw new Error('operator must name who decides (1-200 characters)');
  if (typeof d.note !== 'string' || d.note.trim() === '' || d.note.length > 2000) throw new Error('note must say why (1-2000 characters)');
  if (d.decision === 'paid' && !(typeof d.outgoingPaymentUrl === 'string' && /^https?:\/\/[^\s]+\/outgoing-payments\/[^/\s]+$/.test(d.outgoingPaymentUrl))) {
    throw new Error('a "paid" decision names the wallet\'s outgoing payment URL');
  }
}

/** Resolves once the interactive grant is requested: what `POST /transfers` returns. */
export const transferAuthorisationUpdate = defineUpdate<TransferAuthorisation>('transferAuthorisation');
export const grantFinishSignal = defineSignal<[GrantFinish]>('grantFinish');
export const cancelTransferUpdate = defineUpdate<{ status: TransferStatus }>('cancelTransfer');
export const transferStateQuery = defineQuery<TransferState>('transferState');
