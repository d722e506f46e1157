import { randomUUID } from 'node:crypto';
import { isFinalTransactionStatus, type TransactionStatus } from '../domain/transaction-status';
import type { OutboxEvent } from './events';

/**
 * A bulk payment's status change as a webhook event (`bulk_payment.status_changed` /
 * `bulk_payment.sca_status_changed`): ids, statuses, counts and the total, never IBANs or names.
 * `seq` is the workflow's, so a retried write is one event.
 */
export function bulkPaymentStatusEvent(
  bulk: { id: string; tenantId: string; paymentProduct: string; currency: string; controlSum: string; numberOfTransactions: number; batchId: string | null },
  change: { seq: number; kind: 'transaction_status' | 'sca_status'; status: string; reason?: string | null; authorisationId?: string },
  transactionCounts?: Record<string, number>,
): OutboxEvent {
  const common = {
    paymentId: bulk.id,
    paymentService: 'bulk-payments',
    paymentProduct: bulk.paymentProduct,
    ...(bulk.batchId ? { batchId: bulk.batchId } : {}),
  };
  const base = { id: randomUUID(), tenantId: bulk.tenantId, subjectId: bulk.id, dedupeKey: `bulk_payment:${bulk.id}:${change.seq}` };
  if (change.kind === 'sca_status') {
    return {
      ...base,
      type: 'bulk_payment.sca_status_changed',
      data: { ...common, ...(change.authorisationId ? { authorisationId: change.authorisationId } : {}), scaStatus: change.status },
      bgNotification: { content: 'SCA', final: false },
    };
  }
  return {
    ...base,
    type: 'bulk_payment.status_changed',
    data: {
      ...common,
      transactionStatus: change.status,
      ...(change.reason ? { statusReason: change.reason } : {}),
      numberOfTransactions: bulk.numberOfTransactions,
      controlSum: { currency: bulk.currency, amount: bulk.controlSum },
      ...(transactionCounts ? { transactionCounts } : {}),
    },
    bgNotification: { content: 'PROCESS', final: isFinalTransactionStatus(change.status as TransactionStatus) },
  };
}
