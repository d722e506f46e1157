import { createBaselineActivities, type BaselineActivityDeps } from './baseline.activities';
import { createConsentActivities, type ConsentActivityDeps } from './consent.activities';
import { createOpTransferActivities, type OpTransferActivityDeps } from './op-transfer.activities';
import { createMandateActivities, type MandateActivityDeps } from './mandate.activities';
import { createPaymentActivities, type PaymentActivityDeps } from './payment.activities';
import { createOAuthAuthorisationActivities, type OAuthAuthorisationActivityDeps } from './oauth-authorisation.activities';
import { createWebhookActivities, type WebhookActivityDeps } from './webhook.activities';
import { createPeriodicPaymentActivities, type PeriodicPaymentActivityDeps } from './periodic-payment.activities';
import { createBulkPaymentActivities, type BulkPaymentActivityDeps } from './bulk-payment.activities';
import { createBatchActivities, type BatchActivityDeps } from './batch.activities';

export type ActivityDeps = PaymentActivityDeps & ConsentActivityDeps & OpTransferActivityDeps & MandateActivityDeps & WebhookActivityDeps & OAuthAuthorisationActivityDeps & PeriodicPaymentActivityDeps & BulkPaymentActivityDeps & BatchActivityDeps & BaselineActivityDeps;

/** Every activity the worker registers, closed over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPaymentActivities(deps),
    ...createConsentActivities(deps),
    ...createOpTransferActivities(deps),
    ...createMandateActivities(deps),
    ...createWebhookActivities(deps),
    ...createOAuthAuthorisationActivities(deps),
    ...createPeriodicPaymentActivities(deps),
    ...createBulkPaymentActivities(deps),
    ...createBaselineActivities(deps),
    ...createBatchActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
