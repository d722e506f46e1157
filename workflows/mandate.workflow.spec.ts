import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { MandateActivities } from '../activities/mandate.activities';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';
import { grantFinishSignal, type MandateTimings } from './mandate.api';
import type { mandatePaymentWorkflow, mandateWorkflow } from './mandate.workflow';

/**
 * One period's payment (`mandatePaymentWorkflow`, a run of the mandate's Schedule) on Temporal's
 * time-skipping server with the wallets stubbed at the activity boundary: completion, refusals,
 * payments the wallet may hold (looked up, never failed on a guess) and the incoming payment
 * Clearway created, completed once the period is decided.
 */
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const TIMINGS: MandateTimings = { grantWindowMs: 10 * MINUTE, sendPollInitialMs: 2 * SECOND, sendPollMaxMs: 30 * SECOND, sendDeadlineMs: 30 * MINUTE };

type Name = keyof MandateActivities;
type CreateOutcome = Awaited<ReturnType<MandateActivities['createMandateOutgoingPayment']>>;
type LookupOutcome = Awaited<ReturnType<MandateActivities['findMandateOutgoingPayment']>>;
type Recorded = Parameters<MandateActivities['recordMandatePeriod']>[0];

interface Script {
  create?: (attempt: number) => CreateOutcome;
  find?: (call: number) => LookupOutcome;
  progress?: (poll: number) => { complete: boolean; failed: boolean };
  quote?: () => void;
}

function stubWallets(script: Script = {}) {
  const calls: { name: Name; at: number }[] = [];
  const recorded: Recorded[] = [];
  const note = async (name: Name) => void calls.push({ name, at: await env.currentTimeMs() });
  const count = (name: Name) => calls.filter((c) => c.name === name).length;
  const activities = {
    settleUnknownMandatePeriods: async () => (await note('settleUnknownMandatePeriods'), { settled: 0, unknown: 0 }),
    beginMandatePeriod: async () => (await note('beginMandatePeriod'), { proceed: true, status: 'sending' as const, reason: null }),
    createMandateIncomingPayment: async () => void (await note('createMandateIncomingPayment')),
    createMandateQuote: async () => {
      await note('createMandateQuote');
      script.quote?.();
    },
    createMandateOutgoingPayment: async () => {
      await note('createMandateOutgoingPayment');
      return script.create?.(activityInfo().attempt) ?? { outcome: 'created' as const };
    },
    findMandateOutgoingPayment: async () => {
      await note('findMandateOutgoingPayment');
      return script.find?.(count('findMandateOutgoingPayment') - 1) ?? { outcome: 'found' as const };
    },
    getMandatePaymentProgress: async () => {
      await note('getMandatePaymentProgress');
      return script.progress?.(count('getMandatePaymentProgress') - 1) ?? { complete: true, failed: false };
    },
    closeMandateIncomingPayment: async () => void (await note('closeMandateIncomingPayment')),
    recordMandatePeriod: async (change: Recorded) => {
      await note('recordMandatePeriod');
      recorded.push(change);
    },
  } satisfies Partial<MandateActivities>;
  return { activities, calls, recorded, count, names: () => calls.map((c) => c.name) };
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // Failed attempts are part of this file's subject: keep the worker's expected warnings out of the output.
  [env, workflowBundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('./index'));
}, 60_000);

afterAll(async () => {
  await env?.teardown();
});

async function runPeriod(wallets: ReturnType<typeof stubWallets>) {
  const taskQueue = `mandate-periods-${randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: wallets.activities });
  return worker.runUntil(() =>
    env.client.workflow.execute<typeof mandatePaymentWorkflow>('mandatePaymentWorkflow', {
      workflowId: `mandate-payment-${randomUUID()}`,
      taskQueue,
      args: [{ mandateId: randomUUID(), timings: TIMINGS }],
    }),
  );
}

const unavailable = () => ApplicationFailure.create({ type: 'BankUnavailable', message: 'wallet answered 503', details: [{ httpStatus: 503, messages: [] }] });

describe('mandatePaymentWorkflow', () => {
  it('a period: earlier unknown periods looked up first, paid, completed, then its incoming payment completed', async () => {
    const wallets = stubWallets({ progress: (poll) => ({ complete: poll >= 1, failed: false }) });

    const result = await runPeriod(wallets);

    expect(result).toMatchObject({ status: 'completed', reason: null });
    expect(wallets.names()).toEqual([
      'settleUnknownMandatePeriods',
      'beginMandatePeriod',
      'createMandateIncomingPayment',
      'createMandateQuote',
      'createMandateOutgoingPayment',
      'getMandatePaymentProgress',
      'getMandatePaymentProgress',
      'closeMandateIncomingPayment',
      'recordMandatePeriod',
    ]);
  });

  it('a refusal of the only request (403 over the interval limit): failed at once, no lookup, incoming payment completed', async () => {
    const wallets = stubWallets({ create: () => ({ outcome: 'refused', code: 'limit_exceeded', message: 'POST /outgoing-payments → HTTP 403 (limit_exceeded)' }) });

    const result = await runPeriod(wallets);

    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/403/) });
    expect(wallets.count('findMandateOutgoingPayment')).toBe(0);
    expect(wallets.names().slice(-2)).toEqual(['closeMandateIncomingPayment', 'recordMandatePeriod']);
  });

  it('a quote the wallet refuses: failed, and the incoming payment created for it is completed', async () => {
    const wallets = stubWallets({
      quote: () => {
        throw ApplicationFailure.create({ type: 'BankRejected', message: 'quote → HTTP 400 (invalid_amount)', details: [{ httpStatus: 400, messages: [{ code: 'invalid_amount' }] }] });
      },
    });

    const result = await runPeriod(wallets);

    expect(result.status).toBe('failed');
    expect(wallets.count('createMandateOutgoingPayment')).toBe(0);
    expect(wallets.names().slice(-2)).toEqual(['closeMandateIncomingPayment', 'recordMandatePeriod']);
  });

  it('an unanswered create: looked up after the retries, found, followed to completed', async () => {
    const wallets = stubWallets({
      create: () => {
        throw unavailable();
      },
      find: (call) => (call === 0 ? { outcome: 'not_yet', retryInMs: 3 * MINUTE, reason: 'quote still valid' } : { outcome: 'found' }),
    });

    const result = await runPeriod(wallets);

    expect(result.status).toBe('completed');
    expect(wallets.count('createMandateOutgoingPayment')).toBeGreaterThan(5);
    expect(wallets.count('findMandateOutgoingPayment')).toBe(2);
    expect(wallets.names().slice(-3)).toEqual(['getMandatePaymentProgress', 'closeMandateIncomingPayment', 'recordMandatePeriod']);
  });

  it('an ambiguous refusal, absent once the quote expired: failed, nothing paid', async () => {
    const wallets = stubWallets({
      create: () => ({ outcome: 'ambiguous', reason: 'refused after an unanswered request' }),
      find: (call) => (call === 0 ? { outcome: 'not_yet', retryInMs: 2 * MINUTE, reason: 'quote still valid' } : { outcome: 'absent', reason: 'The wallet never created the outgoing payment (looked up after its quote expired)' }),
    });

    const result = await runPeriod(wallets);

    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/never created/) });
    expect(wallets.count('getMandatePaymentProgress')).toBe(0);
    expect(wallets.names().slice(-2)).toEqual(['closeMandateIncomingPayment', 'recordMandatePeriod']);
  });

  it('lookups that never settle it by the deadline: the period is recorded unknown, its incoming payment left alone', async () => {
    const wallets = stubWallets({
      create: () => ({ outcome: 'ambiguous', reason: 'refused after an unanswered request' }),
      find: () => {
        throw unavailable();
      },
    });

    const result = await runPeriod(wallets);

    expect(result).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/not found at the wallet yet/) });
    expect(wallets.recorded.at(-1)).toMatchObject({ status: 'unknown' });
    expect(wallets.count('closeMandateIncomingPayment')).toBe(0);
    const [firstLookup, lastLookup] = [wallets.calls.find((c) => c.name === 'findMandateOutgoingPayment')!.at, wallets.calls.filter((c) => c.name === 'findMandateOutgoingPayment').at(-1)!.at];
    expect(lastLookup - firstLookup).toBeGreaterThan(TIMINGS.sendDeadlineMs - 2 * MINUTE);
  });

  it('a payment not confirmed sent by the deadline is unknown, not failed', async () => {
    const wallets = stubWallets({ progress: () => ({ complete: false, failed: false }) });

    const result = await runPeriod(wallets);

    expect(result).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/by the deadline/) });
    expect(wallets.count('closeMandateIncomingPayment')).toBe(0);
  });
});

describe('mandateWorkflow: the mandate ends after its last period', () => {
  it('R1/…/PT1H is two hourly periods (n repetitions after the first, as ISO 8601 and Rafiki count): expired two hours after its start, not one', async () => {
    const statuses: string[] = [];
    const activities: Partial<MandateActivities> = {
      resolveMandateWallets: async () => undefined,
      requestMandateGrant: async () => ({ interactRedirect: 'https://wallet.example/interact/1' }),
      continueMandateGrant: async () => undefined,
      createMandateSchedule: async () => ({ scheduleId: 'mandate-x' }),
      runMandatePeriodUnderWay: async () => ({ periodStart: null }),
      deleteMandateSchedule: async () => undefined,
      revokeMandateGrant: async () => undefined,
      recordMandateStatus: async ({ status }) => void statuses.push(status),
    };
    const taskQueue = `mandates-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
    const start = new Date(Math.floor((await env.currentTimeMs()) / 1000) * 1000);
    const interval = `R1/${start.toISOString().replace('.000Z', 'Z')}/PT1H`;
    const handle = await worker.runUntil(async () => {
      const h = await env.client.workflow.start<typeof mandateWorkflow>('mandateWorkflow', {
        workflowId: `mandate-${randomUUID()}`,
        taskQueue,
        args: [{ mandateId: randomUUID(), tenantId: 'sandbox', interval, timings: TIMINGS }],
      });
      await h.signal(grantFinishSignal, { interactRef: 'ref-1', hash: 'hash-1' });
      expect(await h.result()).toMatchObject({ status: 'expired' });
      return h;
    });
    expect(statuses).toEqual(['active', 'expired']);
    const { startTime, closeTime } = await handle.describe();
    const hours = (closeTime!.getTime() - startTime.getTime()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThan(2.1);
  });
});
