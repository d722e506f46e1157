import { allHandlersFinished, condition, continueAsNew, defineSignal, defineUpdate, executeChild, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BaselineActivities } from '../activities/baseline.activities';
import { BatchId, BicFi, PaymentProduct, ScaStatus, TenantId, TransactionStatus } from '../libs/temporal/search-attributes';
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
  /**
   * Children that are {@link paymentFloorWorkflow}s doing a payment's least work, started with a
   * batch child's search attributes and summary, instead of bare workflows (bench/batches.bench.ts:
   * the singles' floor).
   */
  floorChildren?: boolean;
  /**
   * With `floorChildren`: children with only the Temporal features issue 7 itself asks of a batch's
   * payment (the `BatchId` search attribute and a summary), without those Clearway adds for
   * operators (the status upsert, the other start-time search attributes): how far down dropping
   * them could take the singles (bench/batches.bench.ts).
   */
  floorLeastFeatures?: boolean;
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
    const workflowId = `${workflowInfo().workflowId}-${started}`;
    const child: Promise<void> = (
      input.floorChildren
        ? executeChild(paymentFloorWorkflow, {
            workflowId,
            args: [true, !input.floorLeastFeatures],
            typedSearchAttributes: input.floorLeastFeatures
              ? [{ key: BatchId, value: workflowInfo().workflowId }]
              : [
                  { key: BatchId, value: workflowInfo().workflowId },
                  { key: BicFi, value: 'SANDNL2AXXX' },
                  { key: TenantId, value: 'tenant-bench' },
                  { key: PaymentProduct, value: 'sepa-credit-transfers' },
                  { key: TransactionStatus, value: 'RCVD' },
                ],
            staticSummary: `Batch floor · payment ${started + 1}/${input.children}`,
          })
        : executeChild(baselineWorkflow, { workflowId, args: [input.activities, input.timers, input.localActivities ?? 0] })
    ).finally(() => running.delete(child));
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

/** Answers once the floor's initiation step is done, as the payment's `initiationResult` update does. */
export const floorInitiationUpdate = defineUpdate<void>('floorInitiation');

/**
 * Benchmark probe for what a payment cannot do without (bench/floor.bench.ts): a decoupled
 * payment's Temporal history as it is now (update-with-start answered after the initiation, no
 * patch marker since starters name the gate, four local activities, two timers, one status upsert:
 * the SCA status with the final transaction status; the starter sets the start-time search attributes
 * and UI metadata), each local activity doing, when `work` is set,
 * only what a payment's step must: one bank call and the database writes exactly-once and the
 * status record need (`floorStep`). The gap between this and a bare workflow of the same shape is
 * the least a payment can cost; the gap between the payment and this is Clearway's own overhead.
 * The workflow spec checks that its history keeps the payment's shape.
 *
 * `clearwayFeatures: false` leaves out the upsert (Clearway's own addition for operators' filters;
 * issue 7 asks only for `BatchId` and a summary, set at the start).
 */
export async function paymentFloorWorkflow(work: boolean, clearwayFeatures = true): Promise<void> {
  let initiated = false;
  setHandler(floorInitiationUpdate, () => condition(() => initiated));
  await local.floorStep('initiation', work);
  initiated = true;
  await sleep(1); // the SCA check
  await local.floorStep('sca', work);
  await local.floorStep('status', work);
  await sleep(1); // the next status poll
  await local.floorStep('status', work);
  // One upsert for the SCA status and the final status, as the payment since `payment-status-attributes-lag`
  // (finalised and ACSP are held through a 1 s wait).
  if (clearwayFeatures) upsertSearchAttributes([{ key: ScaStatus, value: 'finalised' }, { key: TransactionStatus, value: 'ACSC' }]);
}

/** One account read on {@link accountReadFloorWorkflow}; `true`: with the read's work. */
export const floorReadUpdate = defineUpdate<void, [boolean]>('floorRead');
/** Ends an {@link accountReadFloorWorkflow} once its reads are answered. */
export const floorReadsDoneSignal = defineSignal('floorReadsDone');

/**
 * Benchmark probe for the least an account read can take (bench/floor.bench.ts): as an AIS page
 * is an update on its consent's workflow that runs one local activity (the bank call and the
 * hand-over row the API then reads), each `floorRead` update runs one `floorStep('read')`.
 */
export async function accountReadFloorWorkflow(): Promise<void> {
  let done = false;
  setHandler(floorReadUpdate, (work) => local.floorStep('read', work));
  setHandler(floorReadsDoneSignal, () => void (done = true));
  await condition(() => done && allHandlersFinished());
}
