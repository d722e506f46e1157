import {
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { BatchActivities } from '../activities/batch.activities';
import { BatchId, BicFi, PaymentProduct, TenantId, TransactionStatus } from '../libs/temporal/search-attributes';
import { RETRY } from './shared/retry-policies';
import {
  batchProgressQuery,
  cancelBatchUpdate,
  type BatchCancellation,
  type BatchChild,
  type BatchCounts,
  type BatchWorkflowInput,
  type BatchWorkflowState,
  type PreparedSingle,
} from './batch.api';
import { BULK_CHILD, groupDigits } from './batch-children';
import { PAYMENT_WORKFLOW_TYPE, newPaymentInput, paymentWorkflowId } from './payment-initiation.api';
import type { PaymentProduct as PaymentProductName } from '../libs/domain/payment';

const db = proxyActivities<BatchActivities>({
  startToCloseTimeout: '60s',
  retry: RETRY.ownDatabase,
});

/** Children are started by type name: their inputs are objects of ids. */
type ChildWorkflow = (input: object) => Promise<unknown>;

/** The longest wait between progress records while nothing changes. */
const MAX_PROGRESS_INTERVAL_MS = 60_000;

const FINAL = new Set(['completed', 'partially_completed', 'rejected', 'cancelled']);

/**
 * One pain.001 batch: starts its bulk payments and single payments as child workflows, at most
 * `concurrency` at once, records progress (status events through the outbox, UI details) and the
 * final status once every child has closed. History holds ids and counts only: the single payments
 * are made page by page from PostgreSQL, and the run continues as new after `childrenPerRun`
 * children (draining the running ones first), so a 100,000-transaction file never nears
 * Temporal's history or pending-children limits.
 */
export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchWorkflowState> {
  const state: BatchWorkflowState = input.resume ?? {
    bulksStarted: false,
    cursor: null,
    childrenStarted: 0,
    childrenFinished: 0,
    childrenFailed: 0,
    runs: 0,
    status: 'received',
  };
  state.runs += 1;
  setHandler(batchProgressQuery, () => state);
  const { settings } = input;

  // Cancel: the fan-out stops starting children, then the unstarted single payments are cancelled
  // in PostgreSQL (one activity, from the cursor). No command unless a cancel arrives, so runs
  // without one replay as before; the 'batch-cancel' marker is recorded by the first cancel.
  let fanOutStopped = false;
  let closing = false;
  let cancelWork: Promise<BatchCancellation> | undefined;
  setHandler(
    cancelBatchUpdate,
    () => {
      if (!cancelWork) {
        patched('batch-cancel');
        state.cancelRequested = true;
        const startedBefore = state.childrenStarted;
        cancelWork = (async () => {
          await condition(() => fanOutStopped);
          const { unstarted } = await db.cancelUnstartedBatchPayments(input.batchId, state.cursor);
          state.cursor = null;
          return { unstarted, childrenStarted: Math.max(startedBefore, state.childrenStarted) };
        })();
      }
      return cancelWork;
    },
    {
      validator: () => {
        if (closing && !cancelWork) throw new Error('Every payment of the batch has already ended: the batch is final');
      },
    },
  );
  const cancelling = () => state.cancelRequested === true;

  const running = new Set<Promise<void>>();
  let startedThisRun = 0;

  const watch = (child: BatchChild, handle: Promise<ChildWorkflowHandle<ChildWorkflow>>) => {
    const done: Promise<void> = handle
      .then((h) => h.result())
      .then(
        () => undefined,
        (err: unknown) => {
          // The child's own rows carry its outcome (RJCT, unknown…); the batch only counts it.
          state.childrenFailed += 1;
          log.warn('batch child failed', { paymentId: child.paymentId, kind: child.kind, error: (err as Error).message });
        },
      )
      .finally(() => {
        state.childrenFinished += 1;
        running.delete(done);
      });
    running.add(done);
    state.childrenStarted += 1;
    startedThisRun += 1;
  };

  const start = (child: BatchChild, position: string) => {
    const common = {
      taskQueue: workflowInfo().taskQueue,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: BatchId, value: input.batchId },
        { key: BicFi, value: child.bicFi },
        { key: TenantId, value: input.tenantId },
        { key: PaymentProduct, value: child.paymentProduct },
        { key: TransactionStatus, value: 'RCVD' },
      ],
      staticSummary: `${input.summary} · ${position}`.slice(0, 200),
    };
    if (child.kind === 'bulk') {
      // Since 'batch-bulk-timings': the bulk polls as the deployment says (SCA after 1 s, status
      // from PAYMENT_POLL_INITIAL_MS), as a bulk through the API does; before, at the bulk's 2 s defaults.
      const timings = patched('batch-bulk-timings') ? input.timings[child.bicFi] : undefined;
      watch(child, startChild<ChildWorkflow>(BULK_CHILD.type, { ...common, workflowId: BULK_CHILD.workflowId(child.paymentId), args: [BULK_CHILD.input(input, child, timings)] }));
    } else {
      const timings = input.timings[child.bicFi];
      watch(
        child,
        startChild<ChildWorkflow>(PAYMENT_WORKFLOW_TYPE, {
          ...common,
          workflowId: paymentWorkflowId(child.paymentId),
          // The row's product, checked against the bank's when the file was routed (apps/api/batches/batch-routing.ts).
          args: [newPaymentInput({ paymentId: child.paymentId, tenantId: input.tenantId, bicFi: child.bicFi, paymentProduct: child.paymentProduct as PaymentProductName, timings })],
        }),
      );
    }
  };

  const progress = async (final: boolean) => {
    const recorded = await db.recordBatchProgress(input.batchId, final);
    state.status = recorded.status;
    state.progress = recorded.progress;
    setCurrentDetails(details(input, state, recorded.progress));
  };

  // Progress is recorded on a timer, not per child, and less often while nothing moves (an SCA
  // wait of 15 minutes costs a handful of events): a 10,000-child run stays small.
  let fanOutDone = false;
  const progressLoop = (async () => {
    let wait = settings.progressIntervalMs;
    let last = '';
    while (!fanOutDone) {
      if (await condition(() => fanOutDone, wait)) break;
      await progress(false);
      const now = JSON.stringify([state.progress, state.childrenFinished]);
      wait = now === last ? Math.min(wait * 2, Math.max(settings.progressIntervalMs, MAX_PROGRESS_INTERVAL_MS)) : settings.progressIntervalMs;
      last = now;
    }
  })();

  if (!state.bulksStarted) {
    const plan = await db.loadBatchPlan(input.batchId);
    plan.bulks.forEach((bulk, i) => start(bulk, `bulk ${i + 1}/${plan.bulks.length}`));
    state.bulksStarted = true;
    state.cursor = plan.firstSingle;
    await progress(false);
  }

  const room = () => running.size < settings.concurrency;
  // Since 'batch-pages-ahead': a page is made as soon as the last one has been started, of up to
  // `pageSize` payments whatever the room, and started as room frees (`ahead`); `state.cursor` stays
  // at the first payment not started, so a cancel or a continue-as-new never skips a made one. Before,
  // each page held only the room there was: at full concurrency, one activity per few children.
  const pagesAhead = state.cursor !== null && patched('batch-pages-ahead');
  let ahead: PreparedSingle[] = [];
  let nextPage = state.cursor;
  while (state.cursor && !cancelling()) {
    if (startedThisRun >= settings.childrenPerRun || workflowInfo().continueAsNewSuggested) {
      // Drain, then start afresh with the cursor: children are never lost between runs.
      await condition(() => running.size === 0 || cancelling());
      if (cancelling()) break;
      fanOutDone = true;
      await progressLoop;
      // A cancel during this wait stops the fan-out here (its handler waits for that, so waiting
      // for every handler to finish first would never end).
      await condition(() => allHandlersFinished() || cancelling());
      if (cancelling()) break;
      await continueAsNew<typeof batchWorkflow>({ ...input, resume: { ...state } });
    }
    await condition(() => room() || cancelling());
    if (cancelling()) break;
    if (pagesAhead) {
      if (!ahead.length) {
        const page = await db.prepareBatchSinglePayments(input.batchId, nextPage!, Math.min(settings.pageSize, settings.childrenPerRun - startedThisRun));
        // Cancelled while the page was made: none of it starts (the cursor still points at its first).
        if (cancelling()) break;
        ahead = page.children;
        nextPage = page.next;
      }
      while (ahead.length && room()) start(ahead.shift()!, `payment ${state.childrenStarted + 1}`);
      state.cursor = ahead[0]?.at ?? nextPage;
      continue;
    }
    const limit = Math.min(settings.pageSize, settings.concurrency - running.size, settings.childrenPerRun - startedThisRun);
    const page = await db.prepareBatchSinglePayments(input.batchId, state.cursor, limit);
    // Cancelled while the page was made: none of it starts (the cursor still points at its first).
    if (cancelling()) break;
    for (const child of page.children) start(child, `payment ${state.childrenStarted + 1}`);
    state.cursor = page.next;
  }
  fanOutStopped = true;

  await condition(() => running.size === 0);
  if (cancelWork) await cancelWork;
  closing = true;
  fanOutDone = true;
  await progressLoop;
  await progress(true);
  if (!FINAL.has(state.status)) log.warn('batch ended without a final status', { batchId: input.batchId, status: state.status });
  await condition(allHandlersFinished);
  return state;
}

function details(input: BatchWorkflowInput, state: BatchWorkflowState, p: BatchCounts): string {
  const n = groupDigits;
  return [
    `**${state.status}** · run ${state.runs}`,
    '',
    `| settled | accepted | awaiting SCA | received | rejected | cancelled | total |`,
    `| ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    `| ${n(p.settled)} | ${n(p.accepted)} | ${n(p.awaitingSca)} | ${n(p.received)} | ${n(p.rejected)} | ${n(p.cancelled)} | ${n(p.total)} |`,
    '',
    `children started ${n(state.childrenStarted)} · finished ${n(state.childrenFinished)} · failed ${n(state.childrenFailed)}`,
  ].join('\n');
}
