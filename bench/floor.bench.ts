/**
 * The least a payment can cost, against a bare workflow and against the payment itself (issue 12:
 * "report where the remaining gap to the bare baseline goes").
 *
 *   npm run bench:floor -- [--workflows 200] [--concurrency 20] [--rounds 3]
 *
 * Four variants on the same API, worker, Temporal dev server and database, each round in a rotated
 * order so that drift of the machine's speed spreads over all of them:
 * - `bare`: a bare workflow of the payment's shape, `client.workflow.start` (the payments bench's
 *   baseline);
 * - `shape`: `paymentFloorWorkflow` doing nothing, with the payment's Temporal features: started by
 *   update-with-start with its search attributes and UI metadata, four local activities, two
 *   timers, one status upsert (workflows/baseline.workflow.ts);
 * - `floor`: the same with what a payment cannot do without: an HTTP request to the API and one
 *   INSERT before the start (the payment's row), and per step one bank call over HTTP and one
 *   single-row write (two for the initiation: its attempt is written ahead of the bank call);
 * - `payment`: a decoupled payment through the API's POST, as `npm run bench` sends it.
 * CPU counts our processes only (the bench process with the API and the load generator, the worker,
 * the Temporal server, the bench database's PostgreSQL backends), never the sandbox bank's. Prints
 * each variant's CPU per unit, per round, the medians and `bare` / variant: the CPU-cost ratio
 * each would reach; then the latency floors: each variant's submission alone (20, one at a time)
 * and open loop at half the payment's saturation rate; and an account read's floor alone
 * (`accountReadFloor`). See docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { FLOOR_TABLE } from '../activities/baseline.activities';
import { floorInitiationUpdate, floorReadsDoneSignal, floorReadUpdate, type accountReadFloorWorkflow, type paymentFloorWorkflow } from '../workflows/baseline.workflow';
import { paymentWorkflowId } from '../workflows/payment-initiation.api';
import { baselineSubmitter, countHistory, measurePhase, probeOptions, probeSystem, type PhaseResult, type Submit } from './load';
import { loadAverage, median, percentile, round } from './measure';
import { paymentLikeStart, paymentSubmitter } from './payment-submitter';
import type { BenchSystem } from './system';

type Variant = 'bare' | 'shape' | 'floor' | 'payment';
const VARIANTS: readonly Variant[] = ['bare', 'shape', 'floor', 'payment'];

/** `paymentFloorWorkflow` started as the API starts a payment; with `work`, after the API's irreducible part. */
function floorSubmitter(system: BenchSystem, work: boolean, workflowIds?: string[]): Submit {
  return async () => {
    const workflowId = `floor-${randomUUID()}`;
    workflowIds?.push(workflowId);
    if (work) {
      const res = await fetch(`${system.apiUrl}/health/live`);
      await res.text();
      if (!res.ok) throw new Error(`GET /health/live ${res.status}`);
      await system.dataSource.query(`INSERT INTO ${FLOOR_TABLE} (workflow_id, step, answer) VALUES ($1, 'api', $2)`, [workflowId, '{"amount":"12.34","currency":"EUR"}']);
    }
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentFloorWorkflow>('paymentFloorWorkflow', {
      workflowId,
      taskQueue: system.config.temporal.taskQueue,
      args: [work],
      workflowIdConflictPolicy: 'USE_EXISTING',
      ...paymentLikeStart(workflowId),
    });
    await system.temporal.workflow.executeUpdateWithStart(floorInitiationUpdate, { startWorkflowOperation });
    const handle = await startWorkflowOperation.workflowHandle();
    return async () => void (await handle.result());
  };
}

const READS = 50;

/**
 * The least an AIS page can take, alone on the idle system: an update on a running workflow whose
 * handler runs one local activity (`shape`); with the work (`floor`): an HTTP request to the API
 * first, the bank call and the hand-over row in the activity, the row read back as the API reads
 * a page. `READS` in a row each; latency in ms.
 */
async function accountReadFloor(system: BenchSystem): Promise<Record<'shape' | 'floor', { p50: number; p99: number }>> {
  const handle = await system.temporal.workflow.start<typeof accountReadFloorWorkflow>('accountReadFloorWorkflow', { workflowId: `floor-reads-${randomUUID()}`, taskQueue: system.config.temporal.taskQueue });
  const timed = async (work: boolean): Promise<{ p50: number; p99: number }> => {
    const ms: number[] = [];
    for (let i = 0; i < READS + 5; i++) {
      const started = performance.now();
      if (work) {
        const res = await fetch(`${system.apiUrl}/health/live`);
        await res.text();
      }
      await handle.executeUpdate(floorReadUpdate, { args: [work] });
      if (work) await system.dataSource.query(`SELECT answer FROM ${FLOOR_TABLE} WHERE workflow_id = $1 AND step = 'read' ORDER BY id DESC LIMIT 1`, [handle.workflowId]);
      if (i >= 5) ms.push(performance.now() - started); // the first five warm up
    }
    return { p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)) };
  };
  try {
    return { shape: await timed(false), floor: await timed(true) };
  } finally {
    await handle.signal(floorReadsDoneSignal);
    await handle.result();
  }
}

async function main(): Promise<number> {
  const { count, concurrency, rounds } = probeOptions();
  const system = probeSystem();
  const results: Record<Variant, PhaseResult[]> = { bare: [], shape: [], floor: [], payment: [] };
  let failed = 0;
  try {
    await system.start();
    await system.dataSource.query(`CREATE TABLE IF NOT EXISTS ${FLOOR_TABLE} (id bigserial PRIMARY KEY, workflow_id text NOT NULL, step text NOT NULL, answer jsonb, at timestamptz NOT NULL DEFAULT now())`);
    const token = await system.accessToken();
    const submitters: Record<Variant, Submit> = {
      bare: baselineSubmitter(system, 0, 2, 4),
      shape: floorSubmitter(system, false),
      floor: floorSubmitter(system, true),
      payment: paymentSubmitter(system, token),
    };
    console.log(`load before: ${loadAverage()}; ${count} per variant and round, ${concurrency} clients, ${rounds} rounds`);
    // Warm-up, and the shapes: the floor's history must be the payment's, event for event.
    const paymentIds: string[] = [];
    const floorIds: string[] = [];
    await measurePhase('warm-up', system, { count: 5, concurrency: 5 }, paymentSubmitter(system, token, paymentIds));
    await measurePhase('warm-up', system, { count: 5, concurrency: 5 }, floorSubmitter(system, true, floorIds));
    for (const variant of VARIANTS) await measurePhase('warm-up', system, { count: Math.min(count, 40), concurrency }, submitters[variant]);
    const [paymentShape, floorShape] = await Promise.all([countHistory(system.temporal, paymentWorkflowId(paymentIds[0]!)), countHistory(system.temporal, floorIds[0]!)]);
    console.log(`a payment's history: ${JSON.stringify(paymentShape)}; the floor's: ${JSON.stringify(floorShape)}`);
    console.log('| round | variant | our CPU ms / unit (bench/worker/Temporal/PG s) | bank s | units/s | load before |');
    console.log('|---|---|---|---|---|---|');
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(i + r) % VARIANTS.length]!;
        const phase = await measurePhase(variant, system, { count, concurrency }, submitters[variant]);
        failed += phase.failed;
        if (phase.failed) console.error(`${variant}: ${phase.failed} failed: ${phase.errors.join('; ')}`);
        results[variant].push(phase);
        const c = phase.cpuSeconds;
        console.log(`| ${r + 1} | ${variant} | ${phase.cpuMsPerUnit} (${c.bench}/${c.worker}/${c.temporal}/${c.postgres}) | ${c.bank} | ${phase.perSecond} | ${phase.loadAverage} |`);
      }
    }
    const bare = median(results.bare.map((p) => p.cpuMsPerUnit));
    console.log('\n| variant | our CPU ms / unit, median (rounds) | bare / variant (CPU-cost ratio), median of rounds | units/s, median |');
    console.log('|---|---|---|---|');
    for (const variant of VARIANTS) {
      const ms = results[variant].map((p) => p.cpuMsPerUnit);
      const ratios = results[variant].map((p, r) => results.bare[r]!.cpuMsPerUnit / p.cpuMsPerUnit);
      console.log(`| ${variant} | ${round(median(ms))} (${ms.join(', ')}) | ${variant === 'bare' ? '' : round(median(ratios), 2)} | ${round(median(results[variant].map((p) => p.perSecond)), 2)} |`);
    }
    console.log(`\nbare median ${round(bare)} ms; the payment's distance from its floor is Clearway's own overhead, the floor's from bare what a payment needs.`);

    // Latency floors: each variant's submission alone on the idle system (a POST for the payment,
    // update-with-start answered after the initiation step for shape and floor), then open loop at
    // half the payment's saturation rate, as issue 12's latency targets are set.
    const lone: Partial<Record<Variant, number>> = {};
    const openLoop: Partial<Record<Variant, { rate: number; p50: number; p99: number }>> = {};
    const rate = Math.max(1, Math.round(median(results.payment.map((p) => p.perSecond)) / 2));
    console.log('\n| variant | lone submission p50 / p99 ms (20, one at a time) | open loop at ' + rate + '/s: submission p50 / p99 ms |');
    console.log('|---|---|---|');
    for (const variant of ['shape', 'floor', 'payment'] as const) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const alone = await measurePhase(`${variant} alone`, system, { count: 20, concurrency: 1 }, submitters[variant]);
      const open = await measurePhase(`${variant} open loop`, system, { count: Math.max(count, rate * 20), concurrency, rate }, submitters[variant]);
      failed += alone.failed + open.failed;
      lone[variant] = alone.submitP50;
      openLoop[variant] = { rate, p50: open.submitP50, p99: open.submitP99 };
      console.log(`| ${variant} | ${alone.submitP50} / ${alone.submitP99} | ${open.submitP50} / ${open.submitP99} |`);
    }
    const reads = await accountReadFloor(system);
    console.log(`\nan account read alone (${READS} in a row): the update and its local activity ${reads.shape.p50} / ${reads.shape.p99} ms (p50 / p99); with the read's least work ${reads.floor.p50} / ${reads.floor.p99} ms`);
    console.log(`BENCH_RESULT ${JSON.stringify({ bench: 'floor', count, concurrency, rounds, paymentShape, floorShape, lone, openLoop, reads, results })}`);
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
