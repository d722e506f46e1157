/**
 * The consent workflow's public surface, shared by the workflow, the API and tests.
 * Imports only Temporal's workflow-safe packages.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AisEndpoint, ConsentStatus } from '../libs/domain/consent';
import type { AmbiguousCreation } from '../libs/domain/initiation-safety';
import type { ScaApproach, ScaStatus } from '../libs/domain/transaction-status';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from './shared/psu-data';

export const CONSENT_WORKFLOW_TYPE = 'consentWorkflow';

/** One long-lived entity workflow per consent. */
export function consentWorkflowId(consentId: string): string {
  return `consent-${consentId}`;
}

export interface ConsentTimings {
  scaTimeoutMs: number;
  scaPollInitialMs: number;
  scaPollMaxMs: number;
  /** How often a valid consent is checked at the bank (revocation by the PSU). */
  statusCheckIntervalMs: number;
  /** `consent.expiring` is emitted this long before validUntil (7 days). */
  expiringNoticeMs: number;
  /** Continue-as-new after this many history events, if Temporal has not suggested it before. */
  maxHistoryEvents: number;
}

/** Which AIS endpoints the consent grants at all. Account-level scope is the bank's (IBANs stay out of history). */
export interface ConsentGrants {
  accounts: boolean;
  balances: boolean;
  transactions: boolean;
}

export interface ConsentWorkflowInput {
  consentId: string;
  tenantId: string;
  bicFi: string;
  frequencyPerDay: number;
  grants: ConsentGrants;
  timings: ConsentTimings;
  resume?: ConsentWorkflowState;
}

export interface ConsentCreationSummary {
  bankConsentId: string;
  consentStatus: ConsentStatus;
  scaApproach: ScaApproach;
  authorisationId?: string;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

/** What `createConsentAtBank` returns: the bank's answer, or that there was no clear one. */
export type ConsentCreationAttempt = ConsentCreationSummary | AmbiguousCreation;

export interface BankRefusal {
  httpStatus: number;
  messages: { category: 'ERROR' | 'WARNING'; code: string; text?: string; path?: string }[];
}

export type ConsentPhase = 'creating' | 'awaiting_sca' | 'active' | 'ended';

export interface ConsentWorkflowState {
  phase: ConsentPhase;
  status: ConsentStatus;
  creation?: ConsentCreationSummary;
  creationError?: BankRefusal;
  authorisationId?: string;
  scaStatus?: ScaStatus;
  scaDeadline?: number;
  /** End of the validUntil day (UTC), workflow time in ms. */
  validUntilMs?: number;
  frequencyPerDay: number;
  /** Reads without the PSU present, per `account|endpoint`: their times within the last 24 h. */
  unattendedReads: Record<string, number[]>;
  expiringNoticeSent: boolean;
  nextStatusCheckAt?: number;
  statusReason?: string;
  eventSeq: number;
  /** Successful reads so far, across continue-as-new. */
  reads: number;
  /** OAuth/OIDC SCA: sealed answers (hand-off ids) not yet redeemed; carried over continue-as-new. */
  oauthReturns?: string[];
}

/**
 * The consent workflow's refusals (`type` of the ApplicationFailure), in Clearway's own
 * protocol-neutral words: the bank's meaning as libs/domain/bank-refusal.ts gives it
 * (`consent_invalid`, `consent_expired`, `access_exceeded`, `resource_unknown`), or the workflow's
 * own (`service_not_granted`, `wrong_state`, `bank_refused`). The API alone turns them into Berlin
 * Group errors (apps/api/consents/consent-refusal.ts).
 */
export const CONSENT_REFUSALS = ['consent_invalid', 'consent_expired', 'service_not_granted', 'access_exceeded', 'resource_unknown', 'wrong_state', 'bank_refused'] as const;
export type ConsentRefusal = (typeof CONSENT_REFUSALS)[number];

export interface AccountReadRequest {
  endpoint: AisEndpoint;
  accountId?: string;
  transactionId?: string;
  withBalance?: boolean;
  /** BG transaction query (no PII): dates, booking status, paging token. */
  query?: {
    dateFrom?: string;
    dateTo?: string;
    bookingStatus: 'booked' | 'pending' | 'both' | 'information';
    entryReferenceFrom?: string;
    deltaList?: boolean;
    page?: string;
  };
  /**
   * Set when the PSU is present: a sealed hand-off row holding the PSU's IP address and agent,
   * which the activity sends to the bank. The PSU's data never enters workflow history.
   */
  psuContextHandoffId?: string;
  /**
   * Set by the workflow for reads run as local activities: the update's id. The answer is stored
   * under an id derived from it, so a read run again (its workflow task lost before the result was
   * recorded) hands back the answer it already has instead of reading at the bank a second time.
   */
  readId?: string;
}

export interface AccountReadResult {
  /** Row in ais_read_results holding the bank's answer for the API to pick up. */
  resultId: string;
}

export type { PsuDataUpdateRequest, PsuDataUpdateSummary } from './shared/psu-data';

export interface StartedConsentAuthorisation {
  authorisationId: string;
  scaStatus: ScaStatus;
  scaApproach: ScaApproach;
  scaRedirectUrl?: string;
  psuMessage?: string;
}

export const consentCreationUpdate = defineUpdate<ConsentCreationSummary>('consentCreation');
export const consentScaCallbackSignal = defineSignal<[{ outcome: 'ok' | 'nok' }]>('consentScaCallback');
export const terminateConsentUpdate = defineUpdate<{ consentStatus: ConsentStatus }>('terminateConsent');
export const startConsentAuthorisationUpdate = defineUpdate<StartedConsentAuthorisation>('startConsentAuthorisation');
export const updateConsentPsuDataUpdate = defineUpdate<PsuDataUpdateSummary, [PsuDataUpdateRequest]>('updateConsentPsuData');
export const readAccountDataUpdate = defineUpdate<AccountReadResult, [AccountReadRequest]>('readAccountData');
export const consentStateQuery = defineQuery<ConsentWorkflowState>('consentState');
