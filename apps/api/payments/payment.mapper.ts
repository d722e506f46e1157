import type { PaymentAuthorisationEntity } from '../../../libs/persistence/entities/payment-authorisation.entity';
import type { PaymentEntity } from '../../../libs/persistence/entities/payment.entity';

const BASE = '/psd2/paymentinitiation/v1/payments';

export const paymentPath = (p: Pick<PaymentEntity, 'id' | 'paymentProduct'>) => `${BASE}/${p.paymentProduct}/${p.id}`;

export const authorisationPath = (p: Pick<PaymentEntity, 'id' | 'paymentProduct'>, authorisationId: string) =>
  `${paymentPath(p)}/authorisations/${authorisationId}`;

/**
 * Clearway's extension for a payment whose initiation outcome is unknown (BG has no such
 * transaction status): `transactionStatus` stays `RCVD` (received by Clearway; the bank has said
 * nothing final), `clearway.initiationOutcome` is `unknown`, and a WARNING tppMessage says what it
 * means. Both go away once the outcome is resolved (the bank's lookup or an operator's decision).
 */
export const UNKNOWN_OUTCOME_WARNING =
  'The bank did not confirm whether it received this payment. Clearway does not send it again blindly (that could execute it twice) and is finding out; until then there is no authorisation link and transactionStatus stays RCVD.';

export function initiationOutcomeExtension(payment: Pick<PaymentEntity, 'initiationOutcome'>) {
  if (payment.initiationOutcome !== 'unknown') return {};
  return {
    tppMessages: [{ category: 'WARNING' as const, code: 'WARNING' as const, text: UNKNOWN_OUTCOME_WARNING }],
    clearway: { initiationOutcome: 'unknown' as const },
  };
}

/** The 201 body of `POST /payments/{product}`: our payment id, the bank's SCA link, our own links. */
export function toInitiationResponse(
  payment: Pick<PaymentEntity, 'id' | 'paymentProduct' | 'transactionStatus' | 'initiationOutcome'>,
  sca: { authorisationId?: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = {
    self: { href: paymentPath(payment) },
    status: { href: `${paymentPath(payment)}/status` },
  };
  if (sca.scaRedirectUrl) links.scaRedirect = { href: sca.scaRedirectUrl };
  if (sca.authorisationId) links.scaStatus = { href: authorisationPath(payment, sca.authorisationId) };
  // No authorisation can be started while the bank's answer is unknown.
  else if (payment.initiationOutcome !== 'unknown') links.startAuthorisation = { href: `${paymentPath(payment)}/authorisations` };
  return {
    transactionStatus: payment.transactionStatus,
    paymentId: payment.id,
    _links: links,
    ...(sca.psuMessage ? { psuMessage: sca.psuMessage } : {}),
    ...initiationOutcomeExtension(payment),
  };
}

/** `GET .../status`. */
export function toStatusResponse(payment: PaymentEntity) {
  return { transactionStatus: payment.transactionStatus, ...initiationOutcomeExtension(payment) };
}

/** `GET /payments/{product}/{id}`: the initiation body as submitted, plus its current status. */
export function toPaymentResponse(payment: PaymentEntity) {
  return { ...payment.body, transactionStatus: payment.transactionStatus, ...initiationOutcomeExtension(payment) };
}

export function toStartAuthorisationResponse(
  payment: Pick<PaymentEntity, 'id' | 'paymentProduct'>,
  a: { authorisationId: string; scaStatus: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = { scaStatus: { href: authorisationPath(payment, a.authorisationId) } };
  if (a.scaRedirectUrl) links.scaRedirect = { href: a.scaRedirectUrl };
  return {
    scaStatus: a.scaStatus,
    authorisationId: a.authorisationId,
    _links: links,
    ...(a.psuMessage ? { psuMessage: a.psuMessage } : {}),
  };
}

export const toAuthorisationListResponse = (list: PaymentAuthorisationEntity[]) => ({
  authorisationIds: list.map((a) => a.authorisationId),
});
