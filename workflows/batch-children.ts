import type { BatchChild, BatchWorkflowInput } from './batch.api';

/**
 * The bulk payment workflow as the batch starts it (contract of `workflows/bulk-payment.api.ts`):
 * type `bulkPaymentWorkflow`, id `bulk-<paymentId>`, input `{ tenantId, paymentId, batchId }`.
 */
export const BULK_CHILD = {
  type: 'bulkPaymentWorkflow',
  workflowId: (paymentId: string) => `bulk-${paymentId}`,
  input: (batch: BatchWorkflowInput, child: BatchChild) => ({ tenantId: batch.tenantId, paymentId: child.paymentId, batchId: batch.batchId }),
} as const;

/** 1234567 → "1,234,567" (no Intl in workflow code). */
export function groupDigits(n: number | string): string {
  const [int, frac] = String(n).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}
