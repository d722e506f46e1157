/**
 * A UK account as sort code and account number (`UK.OBIE.SortCodeAccountNumber`): 6 + 8 digits,
 * written together (Berlin Group `bban` for a GBP domestic payment). Shorter account numbers are
 * left-padded by the sender, as UK banks do; formatting characters are not accepted here.
 */
export function isUkSortCodeAccountNumber(value: unknown): value is string {
  return typeof value === 'string' && /^\d{14}$/.test(value);
}
