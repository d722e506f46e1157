/** Open Payments recurring-payment mandates, in Clearway's terms. */
export const MANDATE_STATUSES = ['awaiting_authorisation', 'active', 'paused', 'cancelled', 'rejected', 'expired', 'failed'] as const;
export type MandateStatus = (typeof MANDATE_STATUSES)[number];

export const FINAL_MANDATE_STATUSES: ReadonlySet<MandateStatus> = new Set(['cancelled', 'rejected', 'expired', 'failed']);

export function isFinalMandateStatus(status: MandateStatus): boolean {
  return FINAL_MANDATE_STATUSES.has(status);
}

/**
 * A period's payment: `skipped` when the mandate was not active or all its payments were made;
 * `unknown` when the wallet's answer never settled whether it was paid (resolved later by a lookup
 * or an operator, never guessed).
 */
export type MandatePaymentStatus = 'sending' | 'completed' | 'failed' | 'skipped' | 'unknown';
