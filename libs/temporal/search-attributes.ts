import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, visible and filterable in the Temporal UI.
 * They are stored unencrypted by Temporal: identifiers and statuses only, never PII
 * (no names, IBANs, amounts, remittance text).
 */
export const BicFi = defineSearchAttributeKey('BicFi', SearchAttributeType.KEYWORD);
export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const PaymentProduct = defineSearchAttributeKey('PaymentProduct', SearchAttributeType.KEYWORD);
export const TransactionStatus = defineSearchAttributeKey('TransactionStatus', SearchAttributeType.KEYWORD);
export const ScaStatus = defineSearchAttributeKey('ScaStatus', SearchAttributeType.KEYWORD);
export const ConsentStatus = defineSearchAttributeKey('ConsentStatus', SearchAttributeType.KEYWORD);
export const TransferStatus = defineSearchAttributeKey('TransferStatus', SearchAttributeType.KEYWORD);
/** A payment whose initiation outcome is `unknown` (the bank's answer was lost), then `resolved`; unset otherwise. */
export const InitiationOutcome = defineSearchAttributeKey('InitiationOutcome', SearchAttributeType.KEYWORD);
/** A webhook endpoint's dispatcher: healthy, failing (retrying), disabled (3 days of failures, or by the client) or deleted. */
export const WebhookEndpointHealth = defineSearchAttributeKey('WebhookEndpointHealth', SearchAttributeType.KEYWORD);
/** The batch (ERP file) that owns a bulk or payment workflow: filter `BatchId = "..."` to see a whole run. */
export const BatchId = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);

/**
 * Every custom attribute with its type, as `temporal server start-dev --search-attribute Name=Type`
 * and `temporal operator search-attribute create` expect them.
 */
export const CUSTOM_SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'>> = {
  BicFi: 'Keyword',
  TenantId: 'Keyword',
  PaymentProduct: 'Keyword',
  TransactionStatus: 'Keyword',
  ScaStatus: 'Keyword',
  ConsentStatus: 'Keyword',
  TransferStatus: 'Keyword',
  WebhookEndpointHealth: 'Keyword',
  InitiationOutcome: 'Keyword',
  BatchId: 'Keyword',
};
