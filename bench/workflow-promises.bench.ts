/**
 * Promises created inside the workflow sandbox per run: the payment workflow (decoupled happy
 * path: 4 activities, 3 local activities (the status records), 2 timers) against the bare baseline of the same shape.
 *
 * Why it matters: the Temporal TS SDK worker (1.24) installs a V8 promise hook in the sandbox
 * (`@temporalio/worker/lib/workflow/vm-shared.js`, `setPromiseHook`) that builds and source-maps a
 * stack trace for every promise a workflow creates (sdk-typescript#1587), with no option to turn it
 * off. So the count is a direct CPU cost, and it is deterministic (independent of the machine's load).
 *
 * Usage: `npm run build --silent && node dist/bench/workflow-promises.bench.js [runs]` (default 10).
 * The worker runs in debug mode (workflows in this thread) so a `v8.promiseHooks` init hook here
 * sees them; promises of the sandbox's realm (not this realm's `Promise`) are counted.
 */
import { randomUUID } from 'node:crypto';
import { promiseHooks } from 'node:v8';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { PaymentActivities } from '../activities/payment.activities';
import { temporalTestServerExecutable } from '../libs/temporal/cli-binary';
import { INDEXED_VALUE_TYPES } from '../libs/temporal/dev-server';
import { CUSTOM_SEARCH_ATTRIBUTES, BicFi, PaymentProduct, TenantId, TransactionStatus } from '../libs/temporal/search-attributes';
import { newPaymentInput, paymentWorkflowId, type InitiationSummary, type PaymentWorkflowInput } from '../workflows/payment-initiation.api';

const SECOND = 1_000;

let sandboxPromises = 0;
promiseHooks.onInit((promise) => {
  if (!(promise instanceof Promise)) sandboxPromises += 1;
});

const DECOUPLED: InitiationSummary = {
  bankPaymentId: 'bank-pmt-1',
  transactionStatus: 'RCVD',
  rawTransactionStatus: 'RCVD',
  scaApproach: 'DECOUPLED',
  authorisationId: 'auth-1',
};

function paymentActivities(): PaymentActivities {
  let polls = 0;
  const unused = async (): Promise<never> => {
    throw new Error('not on the happy path');
  };
  return {
    initiatePaymentAtBank: async () => DECOUPLED,
    getBankScaStatus: async () => ({ raw: 'FINALISED', normalised: 'finalised' }),
    getBankPaymentStatus: async () => (polls++ % 2 === 0 ? { raw: 'ACSP', normalised: 'ACSP' } : { raw: 'ACSC', normalised: 'ACSC' }),
    recordPaymentStatus: async () => undefined,
    readAndRecordScaStatus: async () => ({ raw: 'FINALISED', normalised: 'finalised' }),
    readAndRecordPaymentStatus: async () => (polls++ % 2 === 0 ? { raw: 'ACSP', normalised: 'ACSP' } : { raw: 'ACSC', normalised: 'ACSC' }),
    lookUpInitiationAtBank: unused,
    confirmBankPayment: unused,
    adoptBankPayment: unused,
    recordOperatorDecision: unused,
    cancelOrphanedInitiations: unused,
    startAuthorisationAtBank: unused,
    cancelPaymentAtBank: unused,
    updatePaymentPsuDataAtBank: unused,
  };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: temporalTestServerExecutable() } });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.entries(CUSTOM_SEARCH_ATTRIBUTES).map(([n, t]) => [n, INDEXED_VALUE_TYPES[t]])),
    });
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
    const taskQueue = `promises-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      debugMode: true,
      activities: { ...paymentActivities(), noop: async () => undefined },
    });
    const counts: Record<string, { promises: number; tasks: number }[]> = { baseline: [], payment: [] };
    await worker.runUntil(async () => {
      for (let i = 0; i < runs + 1; i++) {
        for (const kind of ['baseline', 'payment'] as const) {
          const before = sandboxPromises;
          let handle;
          if (kind === 'baseline') {
            handle = await env.client.workflow.start('baselineWorkflow', { taskQueue, workflowId: `baseline-${randomUUID()}`, args: [4, 2, 3] });
          } else {
            // As the API and a batch start it.
            const input: PaymentWorkflowInput = newPaymentInput({
              paymentId: randomUUID(),
              tenantId: 'tenant-1',
              bicFi: 'SANDDEFFXXX',
              paymentProduct: 'sepa-credit-transfers',
              timings: { scaTimeoutMs: 900 * SECOND, scaPollInitialMs: SECOND, scaPollMaxMs: 30 * SECOND, statusPollInitialMs: 100, statusPollMaxMs: 300 * SECOND, statusDeadlineMs: 86_400 * SECOND },
            });
            handle = await env.client.workflow.start('paymentInitiationWorkflow', {
              taskQueue,
              workflowId: paymentWorkflowId(input.paymentId),
              args: [input],
              typedSearchAttributes: [
                { key: BicFi, value: input.bicFi },
                { key: TenantId, value: input.tenantId },
                { key: PaymentProduct, value: input.paymentProduct },
                { key: TransactionStatus, value: 'RCVD' },
              ],
            });
          }
          await handle.result();
          const promises = sandboxPromises - before;
          const history = await handle.fetchHistory();
          const tasks = history.events!.filter((e) => e.workflowTaskCompletedEventAttributes).length;
          // The first run of each warms the sandbox (module initialisation): left out.
          if (i > 0) counts[kind].push({ promises, tasks });
        }
      }
    });
    const summary = Object.fromEntries(
      Object.entries(counts).map(([kind, rows]) => {
        const promises = rows.map((r) => r.promises);
        const tasks = rows[0]?.tasks ?? 0;
        const mean = promises.reduce((a, b) => a + b, 0) / promises.length;
        return [kind, { runs: rows.length, workflowTasks: tasks, promisesPerRun: { min: Math.min(...promises), max: Math.max(...promises), mean }, promisesPerTask: +(mean / tasks).toFixed(1) }];
      }),
    );
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
