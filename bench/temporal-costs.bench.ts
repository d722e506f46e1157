/**
 * What the Temporal server spends on each Temporal feature a payment uses beyond the bare baseline's
 * shape (issue 12: "report where the remaining gap to the bare baseline goes").
 *
 *   npm run bench:temporal-costs -- [--workflows 200] [--concurrency 20] [--rounds 3]
 *
 * Runs `baselineFeaturesWorkflow` (a decoupled payment's shape doing nothing) on the engine's own
 * worker and Temporal dev server in four variants, each round in a rotated order so that drift of the
 * machine's speed spreads over all of them:
 * - `plain`: `client.workflow.start`, nothing else (the payments bench's baseline);
 * - `update-with-start`: started as the API's POST starts a payment, the update answering after the
 *   first activity;
 * - `metadata`: the payment's start-time search attributes (bank, tenant, product, status) and its
 *   UI summary and details;
 * - `upserts`: a TransactionStatus upsert in each of four workflow tasks, as a payment records its
 *   status changes.
 * Prints the Temporal server's and the worker's CPU per workflow for each variant and round, the
 * means and each variant's difference from `plain`. See docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { baselineFirstStepUpdate, type BaselineFeatures, type baselineFeaturesWorkflow } from '../workflows/baseline.workflow';
import { measurePhase, probeOptions, probeSystem, type Submit } from './load';
import { loadAverage, mean, round } from './measure';
import { paymentLikeStart } from './payment-submitter';
import type { BenchSystem } from './system';

type Variant = 'plain' | 'update-with-start' | 'metadata' | 'upserts';
const VARIANTS: readonly Variant[] = ['plain', 'update-with-start', 'metadata', 'upserts'];

function submitter(system: BenchSystem, variant: Variant): Submit {
  const taskQueue = system.config.temporal.taskQueue;
  const features: BaselineFeatures = { upserts: variant === 'upserts', update: variant === 'update-with-start' };
  return async () => {
    const workflowId = `temporal-costs-${randomUUID()}`;
    const options = { workflowId, taskQueue, args: [features] as [BaselineFeatures], ...(variant === 'metadata' ? paymentLikeStart(workflowId) : {}) };
    if (variant === 'update-with-start') {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof baselineFeaturesWorkflow>('baselineFeaturesWorkflow', { ...options, workflowIdConflictPolicy: 'USE_EXISTING' });
      await system.temporal.workflow.executeUpdateWithStart(baselineFirstStepUpdate, { startWorkflowOperation });
      const handle = await startWorkflowOperation.workflowHandle();
      return async () => void (await handle.result());
    }
    const handle = await system.temporal.workflow.start<typeof baselineFeaturesWorkflow>('baselineFeaturesWorkflow', options);
    return async () => void (await handle.result());
  };
}

async function main(): Promise<number> {
  const { count, concurrency, rounds } = probeOptions();
  const system = probeSystem();
  const temporalMs: Record<Variant, number[]> = { plain: [], 'update-with-start': [], metadata: [], upserts: [] };
  const workerMs: Record<Variant, number[]> = { plain: [], 'update-with-start': [], metadata: [], upserts: [] };
  let failed = 0;
  try {
    await system.start();
    console.log(`load before: ${loadAverage()}; ${count} workflows per run, ${concurrency} clients, ${rounds} rounds`);
    for (const variant of VARIANTS) await measurePhase('warm-up', system, { count: Math.min(count, 40), concurrency }, submitter(system, variant));
    console.log('| round | variant | Temporal ms / workflow | worker ms / workflow | workflows/s | load before |');
    console.log('|---|---|---|---|---|---|');
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(i + r) % VARIANTS.length]!;
        const phase = await measurePhase(variant, system, { count, concurrency }, submitter(system, variant));
        failed += phase.failed;
        const t = (1000 * phase.cpuSeconds.temporal) / Math.max(1, phase.completed);
        const w = (1000 * phase.cpuSeconds.worker) / Math.max(1, phase.completed);
        temporalMs[variant].push(t);
        workerMs[variant].push(w);
        console.log(`| ${r + 1} | ${variant} | ${round(t)} | ${round(w)} | ${phase.perSecond} | ${phase.loadAverage} |`);
      }
    }
    const plain = mean(temporalMs.plain);
    console.log('\n| variant | Temporal ms / workflow, mean | difference from plain | worker ms / workflow, mean |');
    console.log('|---|---|---|---|');
    for (const variant of VARIANTS) {
      const t = mean(temporalMs[variant]);
      console.log(`| ${variant} | ${round(t)} (${temporalMs[variant].map((x) => round(x)).join(', ')}) | ${variant === 'plain' ? '' : `${t >= plain ? '+' : ''}${round(t - plain)}`} | ${round(mean(workerMs[variant]))} |`);
    }
    return failed ? 1 : 0;
  } finally {
    await system.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
