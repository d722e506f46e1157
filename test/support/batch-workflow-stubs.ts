/**
 * Workflows for the batch workflow's specs: the real `batchWorkflow` and stand-ins for its
 * children under their real type names. Each child reports its start and end through activities
 * (the spec's in-memory ledger), waits as long as the spec says (time-skipping), and ends with the
 * outcome the spec chose for its payment id.
 */
import type { UpdateDefinition } from '@temporalio/common';
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import { cancelBulkPaymentUpdate } from '../../workflows/bulk-payment.api';
import { cancelPaymentUpdate, type CancellationResult } from '../../workflows/payment-initiation.api';

export { batchWorkflow } from '../../workflows/batch.workflow';

export interface ChildStubActivities {
  /** `timings`: what the batch handed the child (bulks: the deployment's polling for their bank). */
  childStarted(paymentId: string, timings?: unknown): Promise<{ waitMs: number }>;
  /** `cancelled`: the child's cancel update (what DELETE on the payment sends) ended it. */
  childFinished(paymentId: string, cancelled?: boolean): Promise<void>;
}

const ledger = proxyActivities<ChildStubActivities>({ startToCloseTimeout: '10s' });

/** Waits its time (the SCA), or until its cancel update (under the real workflow's update name) comes. */
async function child(paymentId: string, cancelUpdate: UpdateDefinition<CancellationResult>, timings?: unknown): Promise<void> {
  let cancelled = false;
  let finished = false;
  setHandler(
    cancelUpdate,
    () => {
      cancelled = true;
      return Promise.resolve<CancellationResult>({ transactionStatus: 'CANC', authorisationRequired: false });
    },
    {
      validator: () => {
        if (finished) throw new Error('Payment is already final');
      },
    },
  );
  const { waitMs } = await ledger.childStarted(paymentId, timings);
  await condition(() => cancelled, waitMs);
  finished = true;
  await ledger.childFinished(paymentId, cancelled);
}

export async function paymentInitiationWorkflow(input: { paymentId: string }): Promise<void> {
  await child(input.paymentId, cancelPaymentUpdate);
}

export async function bulkPaymentWorkflow(input: { paymentId: string; batchId: string; timings?: unknown }): Promise<void> {
  await child(input.paymentId, cancelBulkPaymentUpdate, input.timings);
}
