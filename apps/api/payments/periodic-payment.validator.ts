import type { PaymentProduct } from '../../../libs/domain/payment';
import { scheduleProblems, type PeriodicSchedule } from '../../../libs/domain/target2-calendar';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { validatePaymentInitiation } from './payment-request.validator';
import type { PaymentInitiationBody } from '../../../libs/domain/payment';

/** Products a standing order can use (OPE 1.3.3 lists these for periodic payments). */
export const PERIODIC_PRODUCTS: readonly PaymentProduct[] = ['sepa-credit-transfers', 'instant-sepa-credit-transfers', 'domestic'];

const PERIODIC_FIELDS = ['startDate', 'endDate', 'executionRule', 'frequency', 'dayOfExecution', 'monthsOfExecution'] as const;

export type PeriodicPaymentBody = PaymentInitiationBody & PeriodicSchedule;

/**
 * A periodic payment body: the single-payment fields (checked by the same validator, minus
 * `requestedExecutionDate`, which BG does not define for standing orders) plus the schedule.
 * Throws a 400 naming the first offending field; nothing is stored before this passes.
 */
export function validatePeriodicPayment(product: PaymentProduct, raw: unknown, today: string): { body: PeriodicPaymentBody; amountMinor: bigint; schedule: PeriodicSchedule } {
  if (!PERIODIC_PRODUCTS.includes(product)) {
    throw new ApiError(ApiErrorCode.ProductUnknown, `${product} is not offered for periodic payments (${PERIODIC_PRODUCTS.join(', ')})`, 'payment-product');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw ApiError.format('body', 'must be a JSON object');
  const source = raw as Record<string, unknown>;
  if (source.requestedExecutionDate !== undefined) {
    throw new ApiError(ApiErrorCode.ParameterNotSupported, 'requestedExecutionDate: not defined for periodic payments (use startDate)', 'requestedExecutionDate');
  }
  const single: Record<string, unknown> = {};
  const terms: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if ((PERIODIC_FIELDS as readonly string[]).includes(key)) terms[key] = value;
    else single[key] = value;
  }
  const { body, amountMinor } = validatePaymentInitiation(product, single);
  if (terms.startDate === undefined) throw ApiError.format('startDate', 'is required (YYYY-MM-DD)');
  if (terms.frequency === undefined) throw ApiError.format('frequency', 'is required');
  const problem = scheduleProblems(terms as Partial<PeriodicSchedule>)[0];
  if (problem) throw ApiError.format(problem.path, problem.text);
  if ((terms.startDate as string) < today) throw ApiError.format('startDate', `must not be in the past (today is ${today})`);
  const schedule: PeriodicSchedule = {
    startDate: terms.startDate as string,
    frequency: terms.frequency as PeriodicSchedule['frequency'],
    ...(terms.endDate !== undefined ? { endDate: terms.endDate as string } : {}),
    ...(terms.executionRule !== undefined ? { executionRule: terms.executionRule as PeriodicSchedule['executionRule'] } : {}),
    ...(terms.dayOfExecution !== undefined ? { dayOfExecution: terms.dayOfExecution as string } : {}),
    ...(terms.monthsOfExecution !== undefined ? { monthsOfExecution: terms.monthsOfExecution as string[] } : {}),
  };
  return { body: { ...body, ...schedule }, amountMinor, schedule };
}
