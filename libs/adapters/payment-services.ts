/**
 * Payment services beyond single payments, protocol-neutral: standing orders (periodic payments) and
 * cancellation authorisation. Optional on {@link BankAdapter}: a protocol that offers them sets
 * `periodicPayments` / `cancellationAuthorisations`.
 */
import type { BulkPaymentProduct } from '../domain/bulk-payment';
import type { PeriodicSchedule } from '../domain/target2-calendar';
import type { BankScaStatus, BankTransactionStatus } from '../domain/transaction-status';
import type {
  AuthorisationRef,
  BankConnection,
  CancelPaymentResult,
  InitiatePaymentCommand,
  InitiatePaymentResult,
  PaymentRef,
  StartAuthorisationResult,
} from './bank-adapter';

/** Berlin Group `{payment-service}`. */
export type PaymentService = 'payments' | 'bulk-payments' | 'periodic-payments';

export interface InitiatePeriodicPaymentCommand extends InitiatePaymentCommand {
  /** startDate, endDate, frequency, executionRule, dayOfExecution (BG field names). */
  terms: PeriodicSchedule;
}

/** A standing order at the bank. Executions are the bank's: it exposes the order's status only. */
export interface PeriodicPaymentsAdapter {
  initiatePeriodicPayment(conn: BankConnection, cmd: InitiatePeriodicPaymentCommand): Promise<InitiatePaymentResult>;
  getPeriodicPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus>;
  startPeriodicAuthorisation(conn: BankConnection, ref: PaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult>;
  getPeriodicScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus>;
  /** 204 → cancelled; 202 → `authorisationRequired`: start a cancellation authorisation. */
  cancelPeriodicPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult>;
}

/** A payment of any service; bulk payments bring their own products (`pain.001-...`). */
export interface ServicePaymentRef extends Omit<PaymentRef, 'paymentProduct'> {
  paymentService: PaymentService;
  paymentProduct: PaymentRef['paymentProduct'] | BulkPaymentProduct;
}

/** BG `cancellation-authorisations` of any payment service. */
export interface CancellationAuthorisationsAdapter {
  startCancellationAuthorisation(conn: BankConnection, ref: ServicePaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult>;
  getCancellationScaStatus(conn: BankConnection, ref: ServicePaymentRef & { cancellationId: string }): Promise<BankScaStatus>;
}
