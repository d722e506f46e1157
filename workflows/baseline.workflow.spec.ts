/**
 * The benchmark probes must keep the shape they stand for: bench/floor.bench.ts compares a payment
 * with `paymentFloorWorkflow`, which is only fair while the floor's history is the payment's, event
 * for event. When the payment workflow's commands change (and its fixture is re-recorded), this
 * spec says the floor must follow.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { createBaselineActivities } from '../activities/baseline.activities';
import { ScaStatus, TransactionStatus } from '../libs/temporal/search-attributes';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';
import { floorInitiationUpdate, type paymentFloorWorkflow } from './baseline.workflow';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  [env, workflowBundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('./index'));
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

/** Event types in order, without the prefix, and for a marker its name. */
function shapeOf(events: ReadonlyArray<{ eventType?: unknown; markerRecordedEventAttributes?: { markerName?: string | null } | null }>, typeName: (t: unknown) => string): string[] {
  return events.map((e) => {
    const type = typeName(e.eventType).replace(/^EVENT_TYPE_/, '');
    return e.markerRecordedEventAttributes?.markerName ? `${type} ${e.markerRecordedEventAttributes.markerName}` : type;
  });
}

describe('paymentFloorWorkflow', () => {
  it("records a decoupled payment's history, event for event (the payment's fixture)", async () => {
    const taskQueue = `floor-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: createBaselineActivities() });
    const workflowId = `floor-${randomUUID()}`;
    const history = await worker.runUntil(async () => {
      const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentFloorWorkflow>('paymentFloorWorkflow', {
        workflowId,
        taskQueue,
        args: [false],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [{ key: TransactionStatus, value: 'RCVD' }],
      });
      await env.client.workflow.executeUpdateWithStart(floorInitiationUpdate, { startWorkflowOperation });
      const handle = await startWorkflowOperation.workflowHandle();
      await handle.result();
      const { typedSearchAttributes } = await handle.describe();
      expect(typedSearchAttributes.get(ScaStatus)).toBe('finalised');
      expect(typedSearchAttributes.get(TransactionStatus)).toBe('ACSC');
      return handle.fetchHistory();
    });
    // The fixture stores event types by name; the fetched history by number.
    const byNumber = (t: unknown) => (typeof t === 'number' ? temporal.api.enums.v1.EventType[t]! : String(t));
    const fixture = JSON.parse(readFileSync(path.join(__dirname, '__fixtures__/payment-decoupled-history.json'), 'utf8')) as { events: Parameters<typeof shapeOf>[0] };
    expect(shapeOf(history.events ?? [], byNumber)).toEqual(shapeOf(fixture.events, byNumber));
  });

  it('without Clearway\'s features records the same steps with no upsert (the least-features floor)', async () => {
    const taskQueue = `floor-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: createBaselineActivities() });
    const byNumber = (t: unknown) => (typeof t === 'number' ? temporal.api.enums.v1.EventType[t]! : String(t));
    const run = async (clearwayFeatures: boolean) => {
      const handle = await env.client.workflow.start<typeof paymentFloorWorkflow>('paymentFloorWorkflow', { workflowId: `floor-${randomUUID()}`, taskQueue, args: [false, clearwayFeatures] });
      await handle.result();
      return shapeOf((await handle.fetchHistory()).events ?? [], byNumber);
    };
    const [full, least] = await worker.runUntil(async () => [await run(true), await run(false)]);
    expect(least.filter((e) => e === 'MARKER_RECORDED core_patch' || e === 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')).toEqual([]);
    expect(full.filter((e) => e === 'MARKER_RECORDED core_patch' || e === 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES').length).toBeGreaterThan(0);
    // The same local activities and timers: only the features differ.
    const steps = (shape: string[]) => shape.filter((e) => e.startsWith('MARKER_RECORDED core_local_activity') || e === 'TIMER_STARTED');
    expect(steps(least)).toEqual(steps(full));
    expect(steps(least)).toHaveLength(6);
  });

  it('does nothing without work, and refuses work without the floor dependencies (only the floor bench gives them)', async () => {
    const activities = createBaselineActivities();
    await expect(activities.floorStep('status', false)).resolves.toBeUndefined();
    await expect(activities.floorStep('status', true)).rejects.toMatchObject({ type: 'FloorNotConfigured', nonRetryable: true });
  });
});
