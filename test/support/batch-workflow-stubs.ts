/**
 * Workflows for the batch workflow's specs: the real `batchWorkflow` and stand-ins for its
 * children under their real type names. Each child reports its start and end through activities
 * (the spec's in-memory ledger), waits as long as the spec says (time-skipping), and ends with the
 * outcome the spec chose for its payment id.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

export { batchWorkflow } from '../../workflows/batch.workflow';

export interface ChildStubActivities {
  /** `timings`: what the batch handed the child (bulks: the deployment's polling for their bank). */
  childStarted(paymentId: string, timings?: unknown): Promise<{ waitMs: number }>;
  childFinished(paymentId: string): Promise<void>;
}

const ledger = proxyActivities<ChildStubActivities>({ startToCloseTimeout: '10s' });

async function child(paymentId: string, timings?: unknown): Promise<void> {
  const { waitMs } = await ledger.childStarted(paymentId, timings);
  await sleep(waitMs);
  await ledger.childFinished(paymentId);
}

export async function paymentInitiationWorkflow(input: { paymentId: string }): Promise<void> {
  await child(input.paymentId);
}

export async function bulkPaymentWorkflow(input: { paymentId: string; batchId: string; timings?: unknown }): Promise<void> {
  await child(input.paymentId, input.timings);
}
