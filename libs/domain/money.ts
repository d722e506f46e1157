import { minorUnits } from './currency';

/**
 * Amounts travel as decimal strings (Berlin Group) and are computed as bigint minor units.
 * Nothing here goes through a JS number.
 */

export type AmountRejection =
  | 'not_a_string'
  | 'format'
  | 'not_positive'
  | 'too_many_decimals'
  | 'unknown_currency'
  | 'too_large';

export type ParsedAmount = { ok: true; minor: bigint } | { ok: false; reason: AmountRejection };

// Berlin Group amount pattern: -?[0-9]{1,14}(\.[0-9]{1,3})?. We match a wider shape
// first so that the rejection can say *why* (too_large, too_many_decimals, not_positive).
const DECIMAL = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;
const BG_MAX_INTEGER_DIGITS = 14;
const BG_MAX_FRACTION_DIGITS = 3;

/**
 * Parses a payment amount. Leading zeros are accepted ("01.00"), as the BG pattern does.
 * Fraction digits may not exceed the currency's minor units (nor BG's 3), even when they
 * are trailing zeros: "1.0" JPY and "5.000" EUR are rejected, never silently rounded.
 */
export function parseDecimalAmount(amount: unknown, currency: string): ParsedAmount {
  if (typeof amount !== 'string') return { ok: false, reason: 'not_a_string' };
  const exponent = minorUnits(currency);
  if (exponent === undefined) return { ok: false, reason: 'unknown_currency' };

  const match = DECIMAL.exec(amount);
  if (!match) return { ok: false, reason: 'format' };
  const [, sign, integer, fraction = ''] = match;
  if (sign === '-') return { ok: false, reason: 'not_positive' };

  if (integer.length > BG_MAX_INTEGER_DIGITS) return { ok: false, reason: 'too_large' };
  if (fraction.length > Math.min(exponent, BG_MAX_FRACTION_DIGITS)) {
    return { ok: false, reason: 'too_many_decimals' };
  }
  const minor = BigInt(integer + fraction.padEnd(exponent, '0'));
  if (minor === 0n) return { ok: false, reason: 'not_positive' };
  return { ok: true, minor };
}

/** Inverse of parseDecimalAmount; also renders zero and negatives (balances, refunds). */
export function formatMinor(minor: bigint, currency: string): string {
  const exponent = minorUnits(currency);
  if (exponent === undefined) throw new RangeError(`Unknown ISO 4217 currency: ${currency}`);
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * The first two fraction digits of a decimal amount ("142.66" → "66", "0.5" → "50"),
 * "00" when there are none or the string is not a decimal. The sandbox banks key their
 * scenarios on these (e.g. cents 13, 42).
 */
export function centsOf(amount: string): string {
  const match = DECIMAL.exec(amount);
  return (match?.[3] ?? '').padEnd(2, '0').slice(0, 2);
}
