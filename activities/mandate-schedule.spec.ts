import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { msNumberToTs, tsToMs } from '@temporalio/common/lib/time';
import { parseRepeatingInterval, periodCount, periodStart, type RepeatingInterval } from '../libs/domain/iso8601-interval';
import { mandateScheduleSpec, yearRanges } from './mandate.activities';

/**
 * The mandate's Schedule fires at the grant's periods (`periodStart`: months clamped to their last
 * day), asked of the real Temporal dev server: `ListScheduleMatchingTimes` returns the instants a
 * Schedule's spec matches, so nothing has to wait for them.
 */
let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.CLEARWAY_TEST_TEMPORAL_ADDRESS! });
  client = new Client({ connection });
});
afterAll(async () => {
  await connection?.close();
});

/** The instants the Schedule built from `interval` matches between `from` and `to`. */
async function matchingTimes(interval: RepeatingInterval, from: Date, to: Date): Promise<string[]> {
  const scheduleId = `mandate-spec-${randomUUID()}`;
  const handle = await client.schedule.create({
    scheduleId,
    spec: mandateScheduleSpec(interval),
    action: { type: 'startWorkflow', workflowType: 'notRun', taskQueue: 'nobody-polls-this', args: [] },
    state: { paused: true },
  });
  try {
    const res = await client.workflowService.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId,
      startTime: msNumberToTs(from.getTime()),
      endTime: msNumberToTs(to.getTime()),
    });
    return (res.startTime ?? []).map((t) => new Date(tsToMs(t)).toISOString());
  } finally {
    await handle.delete();
  }
}

function periods(interval: RepeatingInterval, count: number): string[] {
  return Array.from({ length: count }, (_, i) => periodStart(interval, i).toISOString());
}

describe('mandate Schedule spec: every period, the month-end included', () => {
  it.each([
    // From the 31st: every month, on its last day when shorter, February 29th in a leap year.
    ['R14/2027-01-31T09:00:00Z/P1M', 15, ['2027-02-28T09:00:00.000Z', '2027-04-30T09:00:00.000Z', '2028-02-29T09:00:00.000Z']],
    ['R7/2027-08-30T00:00:00Z/P1M', 8, ['2028-02-29T00:00:00.000Z', '2027-11-30T00:00:00.000Z']],
    ['R4/2026-11-29T12:30:15Z/P1M', 5, ['2027-02-28T12:30:15.000Z']],
    ['R4/2027-05-31T00:00:00Z/P3M', 5, ['2027-11-30T00:00:00.000Z', '2028-02-29T00:00:00.000Z']],
    ['R3/2027-03-31T00:00:00Z/P1Y', 4, ['2028-03-31T00:00:00.000Z']],
    ['R5/2027-01-15T10:00:00Z/P1M', 6, ['2027-02-15T10:00:00.000Z']],
  ])('%s fires %i times (Rn: n + 1 periods), at periodStart', async (text, count, includes) => {
    const interval = parseRepeatingInterval(text)!;
    expect(periodCount(interval)).toBe(count);
    const times = await matchingTimes(interval, new Date(interval.start.getTime() - 1000), new Date(periodStart(interval, count).getTime() - 1000));
    expect(times).toEqual(periods(interval, count));
    expect(times).toEqual(expect.arrayContaining(includes));
  });

  it('an open-ended mandate from the 31st keeps firing every month, across leap and common years (2100 is common)', async () => {
    const interval = parseRepeatingInterval('R/2096-01-31T00:00:00Z/P1M')!;
    const times = await matchingTimes(interval, new Date('2096-01-01T00:00:00Z'), new Date('2101-01-01T00:00:00Z'));
    expect(times).toHaveLength(60);
    expect(times).toEqual(expect.arrayContaining(['2096-02-29T00:00:00.000Z', '2097-02-28T00:00:00.000Z', '2100-02-28T00:00:00.000Z']));
    expect(times).not.toContain('2100-02-29T00:00:00.000Z');
  });
});

describe('yearRanges', () => {
  it('writes years as few ranges of step 4', () => {
    expect(yearRanges([2027, 2028, 2029, 2030, 2031, 2033, 2035])).toEqual([
      { start: 2027, end: 2035, step: 4 },
      { start: 2028, end: 2028, step: 4 },
      { start: 2029, end: 2033, step: 4 },
      { start: 2030, end: 2030, step: 4 },
    ]);
    expect(yearRanges([])).toEqual([]);
  });
});
