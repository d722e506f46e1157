/**
 * Bulk payments (Berlin Group `bulk-payments`, OPE `bulkPaymentInitiation_json`): one debtor
 * account, one SCA, many credit transfers. Amounts are decimal strings, never floats.
 */
import type { AccountReference, Address, Amount } from './payment';

/** JSON products (body `application/json`) and the pain.001 XML ones (body `application/xml`). */
export const BULK_JSON_PRODUCTS = ['sepa-credit-transfers', 'instant-sepa-credit-transfers'] as const;
export const BULK_XML_PRODUCTS = ['pain.001-sepa-credit-transfers', 'pain.001-instant-sepa-credit-transfers'] as const;
export const BULK_PAYMENT_PRODUCTS = [...BULK_JSON_PRODUCTS, ...BULK_XML_PRODUCTS] as const;

export type BulkJsonProduct = (typeof BULK_JSON_PRODUCTS)[number];
export type BulkXmlProduct = (typeof BULK_XML_PRODUCTS)[number];
export type BulkPaymentProduct = (typeof BULK_PAYMENT_PRODUCTS)[number];

export function isBulkPaymentProduct(value: unknown): value is BulkPaymentProduct {
  return typeof value === 'string' && (BULK_PAYMENT_PRODUCTS as readonly string[]).includes(value);
}

export function isBulkXmlProduct(value: unknown): value is BulkXmlProduct {
  return typeof value === 'string' && (BULK_XML_PRODUCTS as readonly string[]).includes(value);
}

/** The JSON product a pain.001 product corresponds to (and the instant flag of a PmtInf). */
export function jsonProductOf(product: BulkPaymentProduct): BulkJsonProduct {
  return product.startsWith('pain.001-') ? (product.slice('pain.001-'.length) as BulkJsonProduct) : (product as BulkJsonProduct);
}

/** One credit transfer of a bulk (BG `payments[]` entry, the subset we accept). */
export interface BulkTransactionBody {
  endToEndIdentification?: string;
  instructedAmount: Amount;
  creditorAccount: AccountReference;
  creditorAgent?: string;
  creditorName: string;
  creditorAddress?: Address;
  remittanceInformationUnstructured?: string;
}

/** BG/OPE `bulkPaymentInitiation_json`. */
export interface BulkPaymentInitiationBody {
  batchBookingPreferred?: boolean;
  debtorAccount: AccountReference;
  requestedExecutionDate?: string;
  payments: BulkTransactionBody[];
}
