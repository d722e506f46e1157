import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { isUuid } from '../libs/domain/ids';
import { logicalCallRequestId } from './request-ids';

const logger = new DefaultLogger('ERROR', () => undefined);

function idIn(info: { runId: string; activityId: string; attempt: number }, resourceId = 'payment-1', step = 'status'): Promise<string> {
  const env = new MockActivityEnvironment(
    { activityId: info.activityId, attempt: info.attempt, workflowExecution: { workflowId: 'payment-payment-1', runId: info.runId } },
    { logger },
  );
  return env.run(async () => logicalCallRequestId(resourceId, step));
}

describe('logicalCallRequestId', () => {
  it('is the same on every attempt of one activity execution, so bank logs show the retries of one call', async () => {
    const first = await idIn({ runId: 'run-1', activityId: '7', attempt: 1 });
    const third = await idIn({ runId: 'run-1', activityId: '7', attempt: 3 });
    expect(isUuid(first)).toBe(true);
    expect(third).toBe(first);
  });

  it.each([
    { what: 'another activity of the same run (the next status poll)', other: { runId: 'run-1', activityId: '8', attempt: 1 } },
    { what: 'the same activity id in the next run (after continue-as-new)', other: { runId: 'run-2', activityId: '7', attempt: 1 } },
  ])('differs for $what', async ({ other }) => {
    expect(await idIn(other)).not.toBe(await idIn({ runId: 'run-1', activityId: '7', attempt: 1 }));
  });

  it('differs per resource and per step', async () => {
    const base = { runId: 'run-1', activityId: '7', attempt: 1 };
    const ids = new Set([await idIn(base), await idIn(base, 'payment-2'), await idIn(base, 'payment-1', 'sca-status')]);
    expect(ids.size).toBe(3);
  });
});
