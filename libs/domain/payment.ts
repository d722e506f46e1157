/**
 * The payment as our public API (Open Payments Europe / Berlin Group JSON) describes it.
 * Amounts are decimal strings: never floats anywhere in Clearway.
 */
export const PAYMENT_PRODUCTS = [
  'sepa-credit-transfers',
  'instant-sepa-credit-transfers',
  'domestic',
  'international',
] as const;

export type PaymentProduct = (typeof PAYMENT_PRODUCTS)[number];

export function isPaymentProduct(value: unknown): value is PaymentProduct {
  return typeof value === 'string' && (PAYMENT_PRODUCTS as readonly string[]).includes(value);
}

export interface Amount {
  /** ISO 4217 alphabetic code. */
  currency: string;
  /** Positive decimal string with at most the currency's minor-unit digits, e.g. "142.66". */
  amount: string;
}

export interface AccountReference {
  iban?: string;
  bban?: string;
  currency?: string;
}

export interface Address {
  streetName?: string;
  buildingNumber?: string;
  townName?: string;
  postCode?: string;
  country: string;
}

/** Single payment initiation body (Berlin Group `paymentInitiation_json`, the subset we accept). */
export interface PaymentInitiationBody {
  endToEndIdentification?: string;
  /** Optional where the bank lets the PSU pick the account during SCA (`aspsps.debtor_account_optional`). */
  debtorAccount?: AccountReference;
  instructedAmount: Amount;
  creditorAccount: AccountReference;
  creditorAgent?: string;
  creditorName: string;
  creditorAddress?: Address;
  remittanceInformationUnstructured?: string;
  requestedExecutionDate?: string;
}
