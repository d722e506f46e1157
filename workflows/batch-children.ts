import type { BatchChild, BatchWorkflowInput } from './batch.api';
import type { PaymentTimings } from './payment-initiation.api';

/**
 * The bulk payment workflow as the batch starts it (contract of `workflows/bulk-payment.api.ts`):
 * type `bulkPaymentWorkflow`, id `bulk-<paymentId>`, input `{ tenantId, paymentId, batchId, timings? }`.
 * `timings`: the deployment's polling for the bulk's bank (as a bulk made through the API gets);
 * without them the bulk workflow polls at its own defaults (2 s and up).
 */
export const BULK_CHILD = {
  type: 'bulkPaymentWorkflow',
  workflowId: (paymentId: string) => `bulk-${paymentId}`,
  input: (batch: BatchWorkflowInput, child: BatchChild, timings?: PaymentTimings) => ({
    tenantId: batch.tenantId,
    paymentId: child.paymentId,
    batchId: batch.batchId,
    ...(timings ? { timings } : {}),
  }),
} as const;

/** 1234567 → "1,234,567" (no Intl in workflow code). */
export function groupDigits(n: number | string): string {
  const [int, frac] = String(n).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}
