/**
 * Currency-agnostic decimal arithmetic for ISO 20022 control sums. CtrlSum adds the amounts of a
 * message "irrespective of currencies", so it cannot use a currency's minor units: it is kept as a
 * bigint at a fixed scale instead. Nothing here goes through a JS number.
 */

/** Amounts Clearway accepts have at most 3 decimals (Berlin Group's cap), so sums are exact at this scale. */
export const CONTROL_SUM_SCALE = 3;

const UNSIGNED_DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;

/**
 * An unsigned decimal string ("12", "12.5", "012.500") as a bigint at `scale` (12.5 at scale 3 → 12500n).
 * `undefined` when the string is not such a decimal, or its value needs more than `scale` decimals.
 */
export function toScaled(decimal: string, scale: number): bigint | undefined {
  const match = UNSIGNED_DECIMAL.exec(decimal);
  if (!match) return undefined;
  const [, integer, fraction = ''] = match;
  if (/[1-9]/.test(fraction.slice(scale))) return undefined;
  return BigInt(integer + fraction.slice(0, scale).padEnd(scale, '0'));
}

/** Renders a scaled bigint, trimming trailing zeros beyond `minFractionDigits` (12500n, 3 → "12.50"). */
export function formatScaled(value: bigint, scale: number, minFractionDigits = 2): string {
  const sign = value < 0n ? '-' : '';
  const digits = (value < 0n ? -value : value).toString().padStart(scale + 1, '0');
  if (scale === 0) return sign + digits;
  let fraction = digits.slice(-scale);
  while (fraction.length > minFractionDigits && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${sign}${digits.slice(0, -scale)}${fraction ? `.${fraction}` : ''}`;
}
