import { proxyActivities, sleep } from '@temporalio/workflow';
import type { BaselineActivities } from '../activities/baseline.activities';
import { RETRY } from './shared/retry-policies';

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10s', retry: RETRY.ownDatabase });

/**
 * Benchmark baseline: the same number of activities and timers as a decoupled payment, doing
 * nothing. Engine throughput divided by this one is the cost of Clearway's own work.
 */
export async function baselineWorkflow(activities: number, timers: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
  for (let i = 0; i < timers; i++) await sleep(1);
}
