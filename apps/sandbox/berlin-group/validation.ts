/**
 * Input checks a real ASPSP would make before accepting a payment. Self-contained on purpose:
 * the sandbox must not trust the engine's own validation, it is there to catch it out.
 */
import { isIP } from 'node:net';
import { isValidIban as isValidElectronicIban, normaliseIban } from '../../../libs/domain/iban';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** BG `amountValue` without the sign: up to 14 integer digits and 3 decimals. */
const AMOUNT = /^[0-9]{1,14}(\.[0-9]{1,3})?$/;
const CURRENCY = /^[A-Z]{3}$/;

export function isUuid(value: string | undefined): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function isIpAddress(value: string | undefined): value is string {
  return typeof value === 'string' && isIP(value) !== 0;
}

export function isAbsoluteHttpUrl(value: string | undefined): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** ISO 13616 (one rule, `libs/domain/iban.ts`): spaces and lower case as a PSU types them are tolerated. */
export function isValidIban(value: unknown): value is string {
  return typeof value === 'string' && isValidElectronicIban(normaliseIban(value));
}

/** A strictly positive decimal string such as "10.13". Never parsed into a float. */
export function isPositiveAmount(value: unknown): value is string {
  return typeof value === 'string' && AMOUNT.test(value) && /[1-9]/.test(value);
}

/** The two digits after the decimal point ("10.13" → "13", "7" → "00", "7.5" → "50"). */
export function centsOf(amount: string): string {
  const fraction = amount.split('.')[1] ?? '';
  return fraction.padEnd(2, '0').slice(0, 2);
}

export function isCurrencyCode(value: unknown): value is string {
  return typeof value === 'string' && CURRENCY.test(value);
}

/** One problem with the request, in BG terms: `path` points into the JSON body when it is about the body. */
export interface FieldProblem {
  path?: string;
  text: string;
}

export interface RedirectUris {
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

/**
 * The request's `TPP-Redirect-URI` and `TPP-Nok-Redirect-URI` (absent when empty); a header that is
 * not an absolute http(s) URI adds a problem naming it.
 */
export function redirectUriHeaders(req: { get(name: string): string | undefined }, problems: FieldProblem[]): RedirectUris {
  const uris: RedirectUris = { tppRedirectUri: req.get('TPP-Redirect-URI') || undefined, tppNokRedirectUri: req.get('TPP-Nok-Redirect-URI') || undefined };
  for (const [name, value] of [['TPP-Redirect-URI', uris.tppRedirectUri], ['TPP-Nok-Redirect-URI', uris.tppNokRedirectUri]] as const) {
    if (value !== undefined && !isAbsoluteHttpUrl(value)) problems.push({ text: `Header ${name} must be an absolute http(s) URI` });
  }
  return uris;
}

/** Checks the single-payment body (BG `paymentInitiation_json`, the fields we rely on). */
export function checkPaymentInitiationBody(body: unknown): FieldProblem[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ text: 'The request body must be a JSON object (Content-Type: application/json)' }];
  }
  const payment = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];

  const amount = payment.instructedAmount;
  if (!isRecord(amount)) {
    problems.push({ path: 'instructedAmount', text: 'instructedAmount is missing' });
  } else {
    if (!isCurrencyCode(amount.currency)) {
      problems.push({ path: 'instructedAmount.currency', text: 'instructedAmount.currency must be an ISO 4217 code such as EUR' });
    }
    if (!isPositiveAmount(amount.amount)) {
      problems.push({
        path: 'instructedAmount.amount',
        text: 'instructedAmount.amount must be a positive decimal string such as "10.50"',
      });
    }
  }

  for (const field of ['debtorAccount', 'creditorAccount'] as const) {
    const account = payment[field];
    if (!isRecord(account)) {
      problems.push({ path: field, text: `${field} is missing` });
    } else if (account.iban === undefined) {
      problems.push({ path: `${field}.iban`, text: `${field}.iban is missing (this sandbox addresses accounts by IBAN)` });
    } else if (!isValidIban(account.iban)) {
      problems.push({ path: `${field}.iban`, text: `${field}.iban is not a valid IBAN (checksum or format)` });
    }
  }

  if (typeof payment.creditorName !== 'string' || payment.creditorName.trim() === '') {
    problems.push({ path: 'creditorName', text: 'creditorName is missing' });
  } else if (payment.creditorName.length > 70) {
    problems.push({ path: 'creditorName', text: 'creditorName is longer than 70 characters' });
  }

  const maxLengths: Record<string, number> = { endToEndIdentification: 35, remittanceInformationUnstructured: 140 };
  for (const [field, max] of Object.entries(maxLengths)) {
    const value = payment[field];
    if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
      problems.push({ path: field, text: `${field} must be a string of at most ${max} characters` });
    }
  }
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
