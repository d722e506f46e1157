// ISO 9362: business party prefix (4) + country (2) + location (2) + optional branch (3).
// Location may not start with 0/1 nor end in "O" (read as zero); a trailing 0 marks a test BIC.
const BIC = /^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/;

/** Strict: uppercase, no spaces, 8 or 11 characters. */
export function isValidBic(s: unknown): boolean {
  return typeof s === 'string' && BIC.test(s);
}
