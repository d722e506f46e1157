/**
 * Payments at the Paysera-profile sandbox bank: initiated by a TPP holding `PSP_PI`, the debtor
 * account optional (the PSU picks it on the authorisation page), authorised only through the OAuth
 * flow, and only once the TPP exchanged the code (the PSU's approval alone authorises nothing).
 * Like real banks it does not deduplicate on X-Request-ID: every POST is a new payment.
 *
 * Status: RCVD → (code exchanged after approval) ACSP → ACSC on the next status read after
 * `settleAfterReads`; a denial is RJCT; a cancellation before authorisation is CANC.
 */
import { randomUUID } from 'node:crypto';
import type { ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';

export interface PayseraPaymentBody {
  instructedAmount: { currency: string; amount: string };
  creditorAccount: { iban: string };
  creditorName: string;
  debtorAccount?: { iban: string };
  remittanceInformationUnstructured?: string;
  endToEndIdentification?: string;
}

export interface PayseraPayment {
  paymentId: string;
  product: string;
  requestId: string;
  /** The organizationIdentifier of the TPP that initiated it. */
  tppId: string;
  body: PayseraPaymentBody;
  /** Set at initiation or chosen by the PSU on the page. */
  debtorIban?: string;
  authorisationId: string;
  psuDecision?: { outcome: 'approve' | 'deny'; debtorIban?: string };
  scaStatus: ScaStatus;
  transactionStatus: TransactionStatus;
  statusReads: number;
  createdAt: number;
}

export class PayseraPayments {
  private readonly payments = new Map<string, PayseraPayment>();
  private readonly requestCounts = new Map<string, number>();

  constructor(private readonly settleAfterReads = 1) {}

  create(input: { product: string; requestId: string; tppId: string; body: PayseraPaymentBody; now: number }): PayseraPayment {
    this.requestCounts.set(input.requestId, (this.requestCounts.get(input.requestId) ?? 0) + 1);
    const payment: PayseraPayment = {
      paymentId: randomUUID(),
      product: input.product,
      requestId: input.requestId,
      tppId: input.tppId,
      body: input.body,
      ...(input.body.debtorAccount ? { debtorIban: input.body.debtorAccount.iban } : {}),
      authorisationId: randomUUID(),
      scaStatus: 'received',
      transactionStatus: 'RCVD',
      statusReads: 0,
      createdAt: input.now,
    };
    this.payments.set(payment.paymentId, payment);
    return payment;
  }

  get(paymentId: string): PayseraPayment | undefined {
    return this.payments.get(paymentId);
  }

  /** The PSU's decision on the page. A denial is final at once; an approval waits for the code exchange. */
  decide(paymentId: string, outcome: 'approve' | 'deny', debtorIban?: string): 'ok' | 'not_pending' {
    const payment = this.payments.get(paymentId);
    if (!payment || payment.transactionStatus !== 'RCVD' || payment.psuDecision) return 'not_pending';
    payment.psuDecision = { outcome, ...(debtorIban ? { debtorIban } : {}) };
    if (outcome === 'deny') {
      payment.scaStatus = 'failed';
      payment.transactionStatus = 'RJCT';
    } else {
      payment.scaStatus = 'psuAuthenticated';
    }
    return 'ok';
  }

  /** The TPP exchanged the code: SCA is complete, the payment is accepted for execution. */
  authorise(paymentId: string): 'ok' | 'not_approved' {
    const payment = this.payments.get(paymentId);
    if (!payment || payment.psuDecision?.outcome !== 'approve' || payment.transactionStatus !== 'RCVD') return 'not_approved';
    payment.debtorIban ??= payment.psuDecision.debtorIban;
    payment.scaStatus = 'finalised';
    payment.transactionStatus = 'ACSP';
    return 'ok';
  }

  readStatus(paymentId: string): TransactionStatus | undefined {
    const payment = this.payments.get(paymentId);
    if (!payment) return undefined;
    if (payment.transactionStatus === 'ACSP' && ++payment.statusReads > this.settleAfterReads) payment.transactionStatus = 'ACSC';
    return payment.transactionStatus;
  }

  cancel(paymentId: string): 'cancelled' | 'not_cancellable' | 'unknown' {
    const payment = this.payments.get(paymentId);
    if (!payment) return 'unknown';
    if (payment.transactionStatus !== 'RCVD') return 'not_cancellable';
    payment.transactionStatus = 'CANC';
    payment.scaStatus = 'failed';
    return 'cancelled';
  }

  stats(): { paymentsCreated: number; requestsById: Record<string, number>; payments: PayseraPayment[] } {
    return { paymentsCreated: this.payments.size, requestsById: Object.fromEntries(this.requestCounts), payments: [...this.payments.values()] };
  }
}
