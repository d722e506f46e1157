/**
 * IBAN lengths per country from the SWIFT IBAN registry (ISO 13616). Dependent
 * territories (Åland, Jersey, French overseas departments…) issue IBANs under
 * their parent's code (FI, GB, FR), so they need no entry of their own.
 */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27,
  BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28,
  EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21,
  LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22,
  RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25,
  SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

// Check digits run 02–98: 00, 01 and 99 are congruent to valid ones mod 97, so the
// checksum alone would let them through.
const ELECTRONIC_FORMAT = /^([A-Z]{2})(0[2-9]|[1-8][0-9]|9[0-8])[A-Z0-9]+$/;

/** Print format ("de89 3704 …") to electronic format ("DE893704…"). */
export function normaliseIban(s: string): string {
  return s.replace(/\s+/g, '').toUpperCase();
}

/**
 * True for an IBAN in electronic format (uppercase, no spaces) with a known country,
 * that country's length and a valid ISO 7064 mod-97-10 checksum. Strict on purpose:
 * normalise user input first, so what was validated is what gets stored and sent.
 * The BBAN's national structure (digits vs letters per position) is not checked.
 */
export function isValidIban(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  const match = ELECTRONIC_FORMAT.exec(s);
  if (!match || IBAN_LENGTHS[match[1]] !== s.length) return false;
  return mod97(s.slice(4) + s.slice(0, 4)) === 1;
}

/**
 * The IBAN for a country and BBAN, with its check digits computed (ISO 13616: 98 minus the
 * mod-97 of BBAN + country + "00"). For generated test files; says nothing about the BBAN's
 * national structure, so check the result with isValidIban when the input is not trusted.
 */
export function ibanFromBban(country: string, bban: string): string {
  const check = 98 - mod97(bban + country + '00');
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

// Letters count as two digits (A=10 … Z=35); folding piecewise keeps it in safe integers.
function mod97(alphanumeric: string): number {
  let remainder = 0;
  for (const char of alphanumeric) {
    const value = parseInt(char, 36);
    remainder = (remainder * (value < 10 ? 10 : 100) + value) % 97;
  }
  return remainder;
}

/**
 * For logs: country, check digits and the last four stay, the rest is a fixed-width
 * mask so that even the length of the account number is not disclosed.
 */
export function maskIban(iban: string): string {
  const s = normaliseIban(iban);
  if (s.length < 12) return '****';
  return `${s.slice(0, 4)} **** **** ${s.slice(-4)}`;
}
