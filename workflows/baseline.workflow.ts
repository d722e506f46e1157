import { condition, continueAsNew, executeChild, proxyActivities, proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { BaselineActivities } from '../activities/baseline.activities';
import { RETRY } from './shared/retry-policies';

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10s', retry: RETRY.ownDatabase });
const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '10s', retry: RETRY.ownDatabase });

/**
 * Benchmark baseline: the same number of activities, local activities and timers as a decoupled
 * payment, doing nothing. Engine throughput divided by this one is the cost of Clearway's own work.
 */
export async function baselineWorkflow(activities: number, timers: number, localActivities = 0): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
  for (let i = 0; i < localActivities; i++) await local.noop();
  for (let i = 0; i < timers; i++) await sleep(1);
}

export interface BaselineFanOutInput {
  /** Children in all. */
  children: number;
  /** Children running at once (as a batch's `BATCH_CONCURRENCY`). */
  concurrency: number;
  /** Children per run before continue-as-new (as a batch's `BATCH_CHILDREN_PER_RUN`). */
  childrenPerRun: number;
  /** Each child's shape: that of one of the batch's single payments. */
  activities: number;
  timers: number;
  localActivities?: number;
  /** Carried over by continue-as-new. */
  started?: number;
}

/**
 * Benchmark baseline for a batch of single payments: the same fan-out (bounded concurrency,
 * continue-as-new after `childrenPerRun`, children of a payment's shape) with nothing else: no
 * database, no bank, no search attributes. A batch's throughput divided by this one's is the cost
 * of Clearway's own work (bench/batches.bench.ts).
 */
export async function baselineFanOutWorkflow(input: BaselineFanOutInput): Promise<number> {
  let started = input.started ?? 0;
  let startedThisRun = 0;
  const running = new Set<Promise<void>>();
  while (started < input.children) {
    if (startedThisRun >= input.childrenPerRun) {
      await condition(() => running.size === 0);
      await continueAsNew<typeof baselineFanOutWorkflow>({ ...input, started });
    }
    await condition(() => running.size < input.concurrency);
    const child: Promise<void> = executeChild(baselineWorkflow, {
      workflowId: `${workflowInfo().workflowId}-${started}`,
      args: [input.activities, input.timers, input.localActivities ?? 0],
    }).finally(() => running.delete(child));
    running.add(child);
    started += 1;
    startedThisRun += 1;
  }
  await condition(() => running.size === 0);
  return started;
}
