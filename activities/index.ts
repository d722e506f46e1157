import { createBaselineActivities } from './baseline.activities';
import { createPaymentActivities, type PaymentActivityDeps } from './payment.activities';

export type ActivityDeps = PaymentActivityDeps;

/** Every activity the worker registers, closed over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createPaymentActivities(deps), ...createBaselineActivities() };
}

export type Activities = ReturnType<typeof createActivities>;
