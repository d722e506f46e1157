import type { PaymentAuthorisationEntity } from '../../../libs/persistence/entities/payment-authorisation.entity';
import type { PaymentEntity } from '../../../libs/persistence/entities/payment.entity';

const BASE = '/psd2/paymentinitiation/v1/payments';

export const paymentPath = (p: Pick<PaymentEntity, 'id' | 'paymentProduct'>) => `${BASE}/${p.paymentProduct}/${p.id}`;

export const authorisationPath = (p: Pick<PaymentEntity, 'id' | 'paymentProduct'>, authorisationId: string) =>
  `${paymentPath(p)}/authorisations/${authorisationId}`;

/** The 201 body of `POST /payments/{product}`: our payment id, the bank's SCA link, our own links. */
export function toInitiationResponse(
  payment: Pick<PaymentEntity, 'id' | 'paymentProduct' | 'transactionStatus'>,
  sca: { authorisationId?: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = {
    self: { href: paymentPath(payment) },
    status: { href: `${paymentPath(payment)}/status` },
  };
  if (sca.scaRedirectUrl) links.scaRedirect = { href: sca.scaRedirectUrl };
  if (sca.authorisationId) links.scaStatus = { href: authorisationPath(payment, sca.authorisationId) };
  else links.startAuthorisation = { href: `${paymentPath(payment)}/authorisations` };
  return {
    transactionStatus: payment.transactionStatus,
    paymentId: payment.id,
    _links: links,
    ...(sca.psuMessage ? { psuMessage: sca.psuMessage } : {}),
  };
}

/** `GET /payments/{product}/{id}`: the initiation body as submitted, plus its current status. */
export function toPaymentResponse(payment: PaymentEntity) {
  return { ...payment.body, transactionStatus: payment.transactionStatus };
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
