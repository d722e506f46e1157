/**
 * Berlin Group NextGenPSD2 1.3.12 periodic payments (`/v1/periodic-payments/{product}`) and
 * cancellation authorisations (`/v1/{payment-service}/{product}/{paymentId}/cancellation-authorisations`)
 * of every payment service. Stateless, like the rest of the adapter.
 *
 * What a BG bank exposes of a standing order: its `transactionStatus` (typically ACCP/ACTC while
 * live, ACSC once ended, CANC, RJCT). BG defines no list of executions: they appear as booked
 * transactions on the debtor account, through AIS with the PSU's consent.
 */
import type { AuthorisationRef, BankConnection, CancelPaymentResult, InitiatePaymentResult, PaymentRef, StartAuthorisationResult } from '../bank-adapter';
import type { BankScaStatus, BankTransactionStatus } from '../../domain/transaction-status';
import type {
  CancellationAuthorisationsAdapter,
  InitiatePeriodicPaymentCommand,
  PaymentService,
  PeriodicPaymentsAdapter,
  ServicePaymentRef,
} from '../payment-services';
import type { BerlinGroupClient } from './client';
import {
  authorisationIdFromLink,
  dropUndefined,
  extractLinks,
  mapScaStatus,
  mapTransactionStatus,
  parseCancelResponse,
  parseCreatedResponse,
  parseInitiationResponse,
  parsePaymentStatusResponse,
  parseScaApproach,
  parseScaStatusResponse,
  parseStartScaProcessResponse,
  toBgPaymentInitiation,
} from './transformers';

/** `/v1/{service}/{product}/...` with each segment encoded. */
export function servicePath(service: PaymentService, product: string, ...segments: string[]): string {
  return [`/v1/${service}`, product, ...segments].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

export class BerlinGroupPeriodicPayments implements PeriodicPaymentsAdapter, CancellationAuthorisationsAdapter {
  constructor(private readonly client: BerlinGroupClient) {}

  async initiatePeriodicPayment(conn: BankConnection, cmd: InitiatePeriodicPaymentCommand): Promise<InitiatePaymentResult> {
    const { startDate, endDate, frequency, executionRule, dayOfExecution, monthsOfExecution } = cmd.terms;
    const res = await this.client.send(conn, {
      method: 'POST',
      path: servicePath('periodic-payments', cmd.paymentProduct),
      requestId: cmd.idempotencyKey,
      psu: cmd.psu,
      headers: {
        'TPP-Redirect-URI': cmd.redirect.okUri,
        'TPP-Nok-Redirect-URI': cmd.redirect.nokUri,
        'TPP-Redirect-Preferred': cmd.redirectPreferred === undefined ? undefined : String(cmd.redirectPreferred),
      },
      body: dropUndefined({ ...toBgPaymentInitiation({ ...cmd.payment, requestedExecutionDate: undefined }), startDate, endDate, frequency, executionRule, dayOfExecution, monthsOfExecution }),
    });
    const body = parseCreatedResponse(res.body, 'paymentId', parseInitiationResponse);
    const links = extractLinks(body._links, conn.baseUrl);
    const authorisationId = body.authorisationId ?? authorisationIdFromLink(links.scaStatus);
    return {
      bankPaymentId: body.paymentId,
      status: mapTransactionStatus(body.transactionStatus),
      scaApproach: parseScaApproach(res.headers.get('aspsp-sca-approach'), links, body._links),
      ...(authorisationId ? { authorisationId } : {}),
      ...(links.scaRedirect ? { scaRedirectUrl: links.scaRedirect } : links.scaOAuth ? { scaRedirectUrl: links.scaOAuth } : {}),
      ...(body.psuMessage ? { psuMessage: body.psuMessage } : {}),
    };
  }

  async getPeriodicPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus> {
    const res = await this.client.send(conn, { method: 'GET', path: servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId, 'status'), requestId: ref.requestId, psu: ref.psu });
    return mapTransactionStatus(parsePaymentStatusResponse(res.body).transactionStatus);
  }

  startPeriodicAuthorisation(conn: BankConnection, ref: PaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult> {
    return this.startSca(conn, { ...ref, paymentService: 'periodic-payments' }, 'authorisations');
  }

  async getPeriodicScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus> {
    const res = await this.client.send(conn, {
      method: 'GET',
      path: servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    return mapScaStatus(parseScaStatusResponse(res.body).scaStatus);
  }

  async cancelPeriodicPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult> {
    const res = await this.client.send(conn, { method: 'DELETE', path: servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId), requestId: ref.requestId, psu: ref.psu });
    if (res.status === 204 || res.body === undefined) return { status: mapTransactionStatus('CANC'), authorisationRequired: false };
    return { status: mapTransactionStatus(parseCancelResponse(res.body).transactionStatus), authorisationRequired: res.status === 202 };
  }

  startCancellationAuthorisation(conn: BankConnection, ref: ServicePaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult> {
    return this.startSca(conn, ref, 'cancellation-authorisations');
  }

  async getCancellationScaStatus(conn: BankConnection, ref: ServicePaymentRef & { cancellationId: string }): Promise<BankScaStatus> {
    const res = await this.client.send(conn, {
      method: 'GET',
      path: servicePath(ref.paymentService, ref.paymentProduct, ref.bankPaymentId, 'cancellation-authorisations', ref.cancellationId),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    return mapScaStatus(parseScaStatusResponse(res.body).scaStatus);
  }

  private async startSca(
    conn: BankConnection,
    ref: ServicePaymentRef & { redirect: { okUri: string; nokUri: string } },
    segment: 'authorisations' | 'cancellation-authorisations',
  ): Promise<StartAuthorisationResult> {
    const res = await this.client.send(conn, {
      method: 'POST',
      path: servicePath(ref.paymentService, ref.paymentProduct, ref.bankPaymentId, segment),
      requestId: ref.requestId,
      psu: ref.psu,
      headers: { 'TPP-Redirect-URI': ref.redirect.okUri, 'TPP-Nok-Redirect-URI': ref.redirect.nokUri },
      body: {},
    });
    const body = parseStartScaProcessResponse(res.body);
    const links = extractLinks(body._links, conn.baseUrl);
    return {
      authorisationId: body.authorisationId,
      scaStatus: mapScaStatus(body.scaStatus),
      scaApproach: parseScaApproach(res.headers.get('aspsp-sca-approach'), links, body._links),
      ...(links.scaRedirect ? { scaRedirectUrl: links.scaRedirect } : links.scaOAuth ? { scaRedirectUrl: links.scaOAuth } : {}),
      ...(body.psuMessage ? { psuMessage: body.psuMessage } : {}),
    };
  }
}
