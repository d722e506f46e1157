/**
 * OAuth/OIDC redirect SCA, shared by the payment and consent workflows and by every protocol whose
 * SCA is an OAuth authorisation (UK Open Banking, the Berlin Group OAuth approach). The PSU comes
 * back to `/callbacks/oauth`; the API seals what the bank sent (code, ID token or error) into
 * PostgreSQL and signals the workflow with the hand-off's id only: codes and tokens never enter
 * workflow history. Imports only Temporal's workflow-safe packages.
 */
import { defineSignal } from '@temporalio/workflow';
import type { ConsentStatus } from '../../libs/domain/consent';
import type { ScaStatus, TransactionStatus } from '../../libs/domain/transaction-status';

export interface OAuthAuthorisationReturn {
  /** `sensitive_handoffs` row holding the bank's answer, sealed; opened once by the activity. */
  handoffId: string;
}

/** The PSU came back from an OAuth/OIDC authorisation with a code or an error. */
export const completeOAuthAuthorisationSignal = defineSignal<[OAuthAuthorisationReturn]>('completeOAuthAuthorisation');

/**
 * What redeeming the PSU's answer gave, protocol-neutral. `none` when there was nothing to redeem
 * (the hand-off expired or was already used): the workflow keeps waiting on the bank's status.
 */
export type OAuthCompletionSummary =
  | { outcome: 'none' }
  | {
      outcome: 'completed';
      scaStatus: ScaStatus;
      rawScaStatus: string;
      transactionStatus?: TransactionStatus;
      rawTransactionStatus?: string;
      consentStatus?: ConsentStatus;
      rawConsentStatus?: string;
    };

/** Patch id for both workflows: runs started before OAuth SCA replay without the new step. */
export const PATCH_OAUTH_AUTHORISATION = 'oauth-authorisation';
