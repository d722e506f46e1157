import type { BulkPaymentAuthorisationEntity, BulkPaymentEntity } from '../../../libs/persistence/entities/bulk-payment.entity';
import type { BulkPaymentTransactionEntity } from '../../../libs/persistence/entities/bulk-payment-transaction.entity';
import { initiationOutcomeExtension } from './payment.mapper';

const BASE = '/psd2/paymentinitiation/v1/bulk-payments';

export const bulkPaymentPath = (b: Pick<BulkPaymentEntity, 'id' | 'paymentProduct'>) => `${BASE}/${b.paymentProduct}/${b.id}`;
export const bulkAuthorisationPath = (b: Pick<BulkPaymentEntity, 'id' | 'paymentProduct'>, authorisationId: string) =>
  `${bulkPaymentPath(b)}/authorisations/${authorisationId}`;

/** The 201 of `POST /bulk-payments/{product}`: our id, the bank's one SCA link for the whole bulk, our links. */
export function toBulkInitiationResponse(
  b: Pick<BulkPaymentEntity, 'id' | 'paymentProduct' | 'transactionStatus' | 'initiationOutcome'>,
  sca: { authorisationId?: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = { self: { href: bulkPaymentPath(b) }, status: { href: `${bulkPaymentPath(b)}/status` } };
  if (sca.scaRedirectUrl) links.scaRedirect = { href: sca.scaRedirectUrl };
  if (sca.authorisationId) links.scaStatus = { href: bulkAuthorisationPath(b, sca.authorisationId) };
  else if (b.initiationOutcome !== 'unknown') links.startAuthorisation = { href: `${bulkPaymentPath(b)}/authorisations` };
  return {
    transactionStatus: b.transactionStatus,
    paymentId: b.id,
    _links: links,
    ...(sca.psuMessage ? { psuMessage: sca.psuMessage } : {}),
    ...initiationOutcomeExtension(b),
  };
}

/** `GET /bulk-payments/{product}/{id}`: `bulkPaymentInitiationWithStatusResponse`, rebuilt from the stored rows. */
export function toBulkPaymentResponse(b: BulkPaymentEntity, transactions: BulkPaymentTransactionEntity[]) {
  return {
    ...(b.batchBookingPreferred !== null ? { batchBookingPreferred: b.batchBookingPreferred } : {}),
    ...(b.requestedExecutionDate ? { requestedExecutionDate: b.requestedExecutionDate } : {}),
    debtorAccount: { iban: b.debtorIban, ...(b.debtorCurrency ? { currency: b.debtorCurrency } : {}) },
    payments: transactions.map((t) => ({
      endToEndIdentification: t.endToEndId,
      instructedAmount: { currency: t.currency, amount: t.amount },
      creditorAccount: { iban: t.creditorIban },
      ...(t.creditorAgent ? { creditorAgent: t.creditorAgent } : {}),
      creditorName: t.creditorName,
      ...(t.creditorAddress ? { creditorAddress: t.creditorAddress } : {}),
      ...(t.remittanceInformationUnstructured ? { remittanceInformationUnstructured: t.remittanceInformationUnstructured } : {}),
    })),
    transactionStatus: b.transactionStatus,
    ...initiationOutcomeExtension(b),
  };
}

export function toBulkStatusResponse(b: BulkPaymentEntity) {
  return { transactionStatus: b.transactionStatus, ...initiationOutcomeExtension(b) };
}

export function toBulkStartAuthorisationResponse(
  b: Pick<BulkPaymentEntity, 'id' | 'paymentProduct'>,
  a: { authorisationId: string; scaStatus: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = { scaStatus: { href: bulkAuthorisationPath(b, a.authorisationId) } };
  if (a.scaRedirectUrl) links.scaRedirect = { href: a.scaRedirectUrl };
  return { scaStatus: a.scaStatus, authorisationId: a.authorisationId, _links: links, ...(a.psuMessage ? { psuMessage: a.psuMessage } : {}) };
}

export const toBulkAuthorisationListResponse = (list: BulkPaymentAuthorisationEntity[]) => ({ authorisationIds: list.map((a) => a.authorisationId) });
