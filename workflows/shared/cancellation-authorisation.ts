/**
 * BG cancellation authorisation, the same for every payment service: a workflow whose bank answered
 * DELETE with 202 handles this update by starting a `cancellation-authorisations` sub-resource at the
 * bank (activity `startCancellationAuthorisationAtBank`, keyed by the payment's service) and follows
 * it. The API's generic controller (`apps/api/payments/cancellation-authorisations.*`) sends it to
 * the workflow its service registers.
 */
import { defineUpdate } from '@temporalio/workflow';
import type { StartedAuthorisation } from '../payment-initiation.api';

export const startCancellationAuthorisationUpdate = defineUpdate<StartedAuthorisation>('startCancellationAuthorisation');
