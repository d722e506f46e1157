import { isValidBic } from '../../../libs/domain/bic';
import { isIsoCurrency } from '../../../libs/domain/currency';
import { isValidIban } from '../../../libs/domain/iban';
import { isUkSortCodeAccountNumber } from '../../../libs/domain/uk-account';
import { parseDecimalAmount, type AmountRejection } from '../../../libs/domain/money';
import type { AccountReference, PaymentInitiationBody, PaymentProduct } from '../../../libs/domain/payment';
import { ApiError, ApiErrorCode } from '../common/api-error';

const KNOWN_FIELDS = new Set<keyof PaymentInitiationBody>([
  'endToEndIdentification',
  'debtorAccount',
  'instructedAmount',
  'creditorAccount',
  'creditorAgent',
  'creditorName',
  'creditorAddress',
  'remittanceInformationUnstructured',
  'requestedExecutionDate',
]);

const AMOUNT_REASONS: Record<AmountRejection, string> = {
  not_a_string: 'must be a decimal string such as "142.66"',
  format: 'must be a decimal string such as "142.66" (digits, optional "." and decimals)',
  not_positive: 'must be greater than zero',
  too_many_decimals: 'has more decimals than the currency allows',
  unknown_currency: 'has no valid currency',
  too_large: 'is too large (at most 14 integer digits)',
};

/** Products paid in euro only. */
const EURO_PRODUCTS: ReadonlySet<PaymentProduct> = new Set(['sepa-credit-transfers', 'instant-sepa-credit-transfers']);

/**
 * Validates a single payment initiation body and returns it normalised. Throws a 400 naming the
 * first offending field; nothing is stored before this passes.
 */
export function validatePaymentInitiation(
  product: PaymentProduct,
  raw: unknown,
  opts: { debtorAccountOptional?: boolean; ukDebtor?: boolean } = {},
): { body: PaymentInitiationBody; amountMinor: bigint } {
  if (!isObject(raw)) throw ApiError.format('body', 'must be a JSON object');
  for (const key of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(key as keyof PaymentInitiationBody)) {
      throw new ApiError(ApiErrorCode.ParameterNotSupported, `${key}: field is not supported for single payments`, key);
    }
  }

  const amount = raw.instructedAmount;
  if (!isObject(amount)) throw ApiError.format('instructedAmount', 'is required: { "currency": "EUR", "amount": "10.00" }');
  const currency = amount.currency;
  if (typeof currency !== 'string' || !isIsoCurrency(currency)) {
    throw ApiError.format('instructedAmount.currency', 'must be an ISO 4217 currency code such as "EUR"');
  }
  if (EURO_PRODUCTS.has(product) && currency !== 'EUR') {
    throw ApiError.format('instructedAmount.currency', `${product} are paid in EUR`);
  }
  const parsed = parseDecimalAmount(amount.amount, currency);
  if (!parsed.ok) throw ApiError.format('instructedAmount.amount', AMOUNT_REASONS[parsed.reason]);

  // GBP domestic payments (UK banks) may name accounts by sort code and account number.
  const ukDomestic = product === 'domestic' && currency === 'GBP';
  // Some banks let the PSU pick the debtor account during SCA (the ASPSP's debtorAccountOptional).
  // A UK bank's PSU pays from a sort code and account number whatever the product (international too).
  const debtorAccount =
    raw.debtorAccount === undefined && opts.debtorAccountOptional ? undefined : accountReference('debtorAccount', raw.debtorAccount, ukDomestic || Boolean(opts.ukDebtor));
  const body: PaymentInitiationBody = {
    ...(debtorAccount ? { debtorAccount } : {}),
    instructedAmount: { currency, amount: amount.amount as string },
    creditorAccount: accountReference('creditorAccount', raw.creditorAccount, ukDomestic),
    creditorName: text('creditorName', raw.creditorName, 70, true)!,
  };
  const e2e = text('endToEndIdentification', raw.endToEndIdentification, 35);
  if (e2e) body.endToEndIdentification = e2e;
  const remittance = text('remittanceInformationUnstructured', raw.remittanceInformationUnstructured, 140);
  if (remittance) body.remittanceInformationUnstructured = remittance;
  if (raw.creditorAgent !== undefined) {
    if (!isValidBic(raw.creditorAgent)) throw ApiError.format('creditorAgent', 'must be a BIC (8 or 11 characters)');
    body.creditorAgent = raw.creditorAgent as string;
  }
  if (raw.requestedExecutionDate !== undefined) {
    const date = raw.requestedExecutionDate;
    if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      throw ApiError.format('requestedExecutionDate', 'must be an ISO date (YYYY-MM-DD)');
    }
    body.requestedExecutionDate = date;
  }
  if (raw.creditorAddress !== undefined) {
    const address = raw.creditorAddress;
    if (!isObject(address) || typeof address.country !== 'string' || !/^[A-Z]{2}$/.test(address.country)) {
      throw ApiError.format('creditorAddress.country', 'must be an ISO 3166 alpha-2 country code');
    }
    body.creditorAddress = {
      country: address.country,
      ...pick(address, ['streetName', 'buildingNumber', 'townName', 'postCode'], 'creditorAddress'),
    };
  }
  return { body, amountMinor: parsed.minor };
}

function accountReference(path: string, raw: unknown, ukBban = false): AccountReference {
  if (!isObject(raw)) throw ApiError.format(path, 'is required: { "iban": "..." }');
  let ref: AccountReference;
  if (ukBban && raw.bban !== undefined && raw.iban === undefined) {
    if (!isUkSortCodeAccountNumber(raw.bban)) throw ApiError.format(`${path}.bban`, 'must be a UK sort code and account number: 14 digits');
    ref = { bban: raw.bban };
  } else {
    if (typeof raw.iban !== 'string') throw ApiError.format(`${path}.iban`, ukBban ? 'is required (or bban: sort code and account number)' : 'is required');
    if (!isValidIban(raw.iban)) throw ApiError.format(`${path}.iban`, 'is not a valid IBAN (checksum, length or format)');
    ref = { iban: raw.iban };
  }
  if (raw.currency !== undefined) {
    if (!isIsoCurrency(raw.currency)) throw ApiError.format(`${path}.currency`, 'must be an ISO 4217 currency code');
    ref.currency = raw.currency;
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'iban' && key !== 'currency' && !(ukBban && key === 'bban')) {
      throw new ApiError(ApiErrorCode.ParameterNotSupported, `${path}.${key}: only iban${ukBban ? ', bban' : ''} and currency are supported`, `${path}.${key}`);
    }
  }
  return ref;
}

function text(path: string, raw: unknown, max: number, required = false): string | undefined {
  if (raw === undefined || raw === null) {
    if (required) throw ApiError.format(path, 'is required');
    return undefined;
  }
  if (typeof raw !== 'string' || raw.trim() === '') throw ApiError.format(path, 'must be a non-empty string');
  if (raw.length > max) throw ApiError.format(path, `must be at most ${max} characters`);
  return raw;
}

function pick(obj: Record<string, unknown>, keys: string[], path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = text(`${path}.${key}`, obj[key], 70);
    if (value) out[key] = value;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
