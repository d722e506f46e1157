import { condition, continueAsNew, defineUpdate, executeChild, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BaselineActivities } from '../activities/baseline.activities';
import { TransactionStatus } from '../libs/temporal/search-attributes';
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

/** Which of a payment's Temporal features a {@link baselineFeaturesWorkflow} uses, besides its shape. */
export interface BaselineFeatures {
  /** A TransactionStatus upsert in each of four workflow tasks, where a payment records its statuses. */
  upserts: boolean;
  /** Started with update-with-start, the update answering after the first activity (the API's POST). */
  update: boolean;
}

/** Answers once the first activity (a payment's initiation) is done. */
export const baselineFirstStepUpdate = defineUpdate<void>('baselineFirstStep');

/**
 * Benchmark probe for the Temporal server's share of a payment's cost (bench/temporal-costs.bench.ts):
 * a decoupled payment's shape (four activities, three local activities, two timers, in the
 * payment's order) doing nothing, with one of the payment's Temporal features switched on at a time.
 * The start-time search attributes and UI metadata are the starter's choice (the bench's variants).
 */
export async function baselineFeaturesWorkflow(features: BaselineFeatures): Promise<void> {
  let firstStepDone = false;
  if (features.update) setHandler(baselineFirstStepUpdate, () => condition(() => firstStepDone));
  const upsert = (status: string) => {
    if (features.upserts) upsertSearchAttributes([{ key: TransactionStatus, value: status }]);
  };
  await noop(); // initiation
  firstStepDone = true;
  upsert('RCVD');
  await sleep(1); // before the SCA check
  await noop(); // SCA status
  upsert('ACTC');
  await local.noop(); // its record
  await noop(); // payment status
  upsert('ACSP');
  await local.noop();
  await sleep(1); // before the next status check
  await noop();
  upsert('ACSC');
  await local.noop();
}
