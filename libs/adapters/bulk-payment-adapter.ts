/**
 * The bulk payment part of the adapter contract (`BankAdapter` extends it, every method optional:
 * a protocol without bulk payments leaves it out). Types only.
 */
import type { BulkPaymentProduct } from '../domain/bulk-payment';
import type { Address } from '../domain/payment';
import type { BankScaStatus, BankTransactionStatus } from '../domain/transaction-status';
import type {
  BankConnection,
  CancelPaymentResult,
  InitiatePaymentResult,
  PsuContext,
  StartAuthorisationResult,
} from './bank-adapter';

/** One transaction as sent to the bank. */
export interface BulkTransactionForBank {
  endToEndId: string;
  /** Decimal string. */
  amount: string;
  currency: string;
  creditorName: string;
  creditorIban: string;
  creditorAgent?: string;
  creditorAddress?: Address;
  remittanceInformationUnstructured?: string;
}

export interface InitiateBulkPaymentCommand {
  /** Sent as X-Request-ID: the same for every attempt of one logical initiation. */
  idempotencyKey: string;
  /** JSON products send `bulkPaymentInitiation_json`, `pain.001-*` a pain.001.001.09 document. */
  paymentProduct: BulkPaymentProduct;
  bulk: {
    /** pain.001 MsgId / PmtInfId (1–35 characters). */
    messageId: string;
    pmtInfId: string;
    debtorIban: string;
    debtorCurrency?: string;
    debtorName?: string;
    requestedExecutionDate?: string;
    batchBookingPreferred?: boolean;
    currency: string;
    numberOfTransactions: number;
    controlSum: string;
  };
  /** Read once, in order (a database cursor): never all in memory for the adapter's sake. */
  transactions: AsyncIterable<BulkTransactionForBank> | Iterable<BulkTransactionForBank>;
  psu: PsuContext;
  redirect: { okUri: string; nokUri: string };
  redirectPreferred?: boolean;
}

export interface BulkPaymentRef {
  bankPaymentId: string;
  paymentProduct: BulkPaymentProduct;
  requestId: string;
  psu?: PsuContext;
}

/** One transaction's status as the bank reported it (pain.002 TxInfAndSts). */
export interface BulkTransactionReport {
  endToEndId: string;
  status: BankTransactionStatus;
  /** ISO ExternalStatusReason1Code, e.g. AM04. */
  reasonCode?: string;
}

export interface BulkStatusReport {
  status: BankTransactionStatus;
  /** Present when the bank reports per transaction (BG: status as pain.002 on `Accept: application/xml`). */
  transactions?: BulkTransactionReport[];
}

export interface BulkPaymentAdapter {
  initiateBulkPayment(conn: BankConnection, cmd: InitiateBulkPaymentCommand): Promise<InitiatePaymentResult>;
  /** The bulk's status; with `perTransaction`, each transaction's where the bank offers it. */
  getBulkPaymentStatus(conn: BankConnection, ref: BulkPaymentRef, opts?: { perTransaction?: boolean }): Promise<BulkStatusReport>;
  startBulkAuthorisation(conn: BankConnection, ref: BulkPaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult>;
  getBulkScaStatus(conn: BankConnection, ref: BulkPaymentRef & { authorisationId: string }): Promise<BankScaStatus>;
  cancelBulkPayment(conn: BankConnection, ref: BulkPaymentRef): Promise<CancelPaymentResult>;
}
