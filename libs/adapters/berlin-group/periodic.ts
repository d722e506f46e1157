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
import { dropUndefined, toBgPaymentInitiation } from './transformers';
import { cancelPaymentResource, readScaStatus, readTransactionStatus, redirectHeaders, startScaProcess, toInitiationResult, type Redirect } from './requests';

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
      headers: redirectHeaders(cmd.redirect, cmd.redirectPreferred),
      body: dropUndefined({ ...toBgPaymentInitiation({ ...cmd.payment, requestedExecutionDate: undefined }), startDate, endDate, frequency, executionRule, dayOfExecution, monthsOfExecution }),
    });
    return toInitiationResult(res, conn);
  }

  async getPeriodicPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus> {
    return readTransactionStatus(this.client, conn, ref, servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId, 'status'));
  }

  async startPeriodicAuthorisation(conn: BankConnection, ref: PaymentRef & { redirect: Redirect }): Promise<StartAuthorisationResult> {
    return startScaProcess(this.client, conn, ref, servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId, 'authorisations'));
  }

  async getPeriodicScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus> {
    return readScaStatus(this.client, conn, ref, servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId));
  }

  async cancelPeriodicPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult> {
    return cancelPaymentResource(this.client, conn, ref, servicePath('periodic-payments', ref.paymentProduct, ref.bankPaymentId));
  }

  async startCancellationAuthorisation(conn: BankConnection, ref: ServicePaymentRef & { redirect: Redirect }): Promise<StartAuthorisationResult> {
    return startScaProcess(this.client, conn, ref, servicePath(ref.paymentService, ref.paymentProduct, ref.bankPaymentId, 'cancellation-authorisations'));
  }

  async getCancellationScaStatus(conn: BankConnection, ref: ServicePaymentRef & { cancellationId: string }): Promise<BankScaStatus> {
    return readScaStatus(this.client, conn, ref, servicePath(ref.paymentService, ref.paymentProduct, ref.bankPaymentId, 'cancellation-authorisations', ref.cancellationId));
  }
}
