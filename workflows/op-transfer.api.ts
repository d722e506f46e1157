/**
 * The Open Payments transfer workflow's public surface, shared by the workflow, the API and tests.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TransferStatus } from '../libs/domain/open-payments';

export const OP_TRANSFER_WORKFLOW_TYPE = 'openPaymentsTransferWorkflow';

export function opTransferWorkflowId(transferId: string): string {
  return `op-transfer-${transferId}`;
}

export interface TransferTimings {
  /** How long the PSU has to approve the outgoing-payment grant. */
  grantWindowMs: number;
  /** Polling of the outgoing payment until fully sent. */
  sendPollInitialMs: number;
  sendPollMaxMs: number;
  sendDeadlineMs: number;
}

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

/** Resolves once the interactive grant is requested: what `POST /transfers` returns. */
export const transferAuthorisationUpdate = defineUpdate<TransferAuthorisation>('transferAuthorisation');
export const grantFinishSignal = defineSignal<[GrantFinish]>('grantFinish');
export const cancelTransferUpdate = defineUpdate<{ status: TransferStatus }>('cancelTransfer');
export const transferStateQuery = defineQuery<TransferState>('transferState');
