import { defineQuery } from '@temporalio/workflow';

/**
 * The one query every Clearway workflow answers: its state as the API would show it, the same in
 * every workflow so an operator (Temporal UI "Queries" tab, `temporal workflow query --name
 * statusView`) needs to learn one name. The workflow-specific queries (`paymentState`,
 * `consentState`, ...) stay for the API and tests; they carry internals.
 *
 * The workflow's view is at most one activity ahead of the API, which reads PostgreSQL: a status
 * is recorded by an activity, so right after a change the query may already show it while the
 * API does not yet.
 */
export interface StatusView {
  /** What the workflow is for: `payment`, `consent`, `transfer`, `mandate`, `mandate-period`, `webhook-endpoint`, ... */
  resource: string;
  /** The resource's id in the API (paymentId, consentId, ...). */
  id: string;
  /** The workflow's own phase (`awaiting_sca`, `polling_status`, ...). */
  phase: string;
  /** The same words as the UI's current details. */
  details: string;
  /**
   * The body the API's status endpoint returns, from the workflow's state: `{ transactionStatus,
   * scaStatus?, statusReason?, initiationOutcome? }` for a payment, `{ consentStatus }` for a
   * consent, `{ status, reason? }` for transfers and mandates. Ids and statuses only, no PII.
   */
  api: Record<string, string | number | boolean | null | undefined>;
  /** Where the API serves it (path under the API's base URL), when it has one. */
  href?: string;
}

export const statusViewQuery = defineQuery<StatusView>('statusView');

/** Shown beside the query in the Temporal UI. */
export const STATUS_VIEW_DESCRIPTION = 'The status as Clearway\'s API shows it, with the phase in words (no PII).';
