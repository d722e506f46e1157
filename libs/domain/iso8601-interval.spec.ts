import { intervalEnd, parseRepeatingInterval, periodAt, periodCount, periodStart, scheduleCadence } from './iso8601-interval';

describe('parseRepeatingInterval', () => {
  test('R12/2027-01-01T00:00:00Z/P1M: twelve repetitions after the first period, thirteen monthly periods', () => {
    const sut = parseRepeatingInterval('R12/2027-01-01T00:00:00Z/P1M')!;
    expect(sut.repetitions).toBe(12);
    expect(periodCount(sut)).toBe(13);
    expect(sut.start.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(sut.duration).toMatchObject({ months: 1, days: 0 });
    expect(periodStart(sut, 1).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(intervalEnd(sut)!.toISOString()).toBe('2028-02-01T00:00:00.000Z');
  });

  // The case the two former parsers disagreed on (the sandbox read n + 1 periods, the domain n):
  // Rafiki's limits test has R2/2022-07-01T13:00:00Z/P1M cover July, August and September.
  test.each([
    ['R2/2022-07-01T13:00:00Z/P1M', '2022-09-10T13:00:00Z', '2022-09-01T13:00:00.000Z', '2022-10-01T13:00:00.000Z'],
    ['R2/2022-07-01T13:00:00Z/P1M', '2022-10-01T12:59:59Z', '2022-09-01T13:00:00.000Z', '2022-10-01T13:00:00.000Z'],
    ['R2/2022-07-01T13:00:00Z/P1M', '2022-10-01T13:00:00Z', undefined, undefined],
    ['R1/2027-01-01T00:00:00Z/P1M', '2027-02-15T00:00:00Z', '2027-02-01T00:00:00.000Z', '2027-03-01T00:00:00.000Z'],
    ['R1/2027-01-01T00:00:00Z/P1M', '2027-03-01T00:00:00Z', undefined, undefined],
    ['R0/2027-01-01T00:00:00Z/P1M', '2027-01-31T23:59:59Z', '2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'],
    ['R0/2027-01-01T00:00:00Z/P1M', '2027-02-01T00:00:00Z', undefined, undefined],
    ['R12/2027-01-31T00:00:00Z/P1M', '2027-02-28T12:00:00Z', '2027-02-28T00:00:00.000Z', '2027-03-31T00:00:00.000Z'],
    ['R/2027-01-01T00:00:00Z/P1D', '2027-03-05T10:00:00Z', '2027-03-05T00:00:00.000Z', '2027-03-06T00:00:00.000Z'],
    ['R-1/2027-01-01T00:00:00Z/P1D', '2031-03-05T10:00:00Z', '2031-03-05T00:00:00.000Z', '2031-03-06T00:00:00.000Z'],
    // <start>/<end>: periods of end − start (31 days from July 1st, as Rafiki).
    ['R2/2022-07-01T13:00:00Z/2022-08-01T13:00:00Z', '2022-09-10T13:00:00Z', '2022-09-01T13:00:00.000Z', '2022-10-02T13:00:00.000Z'],
    ['R2/2022-07-01T13:00:00Z/2022-08-01T13:00:00Z', '2022-10-02T13:00:00Z', undefined, undefined],
    ['R2/2022-07-01T13:00:00Z/P1M', '2022-07-01T12:59:59Z', undefined, undefined],
  ])('%s at %s is [%s, %s)', (text, at, start, end) => {
    const period = periodAt(parseRepeatingInterval(text)!, new Date(at));
    expect(period && [period.start.toISOString(), period.end.toISOString()]).toEqual(start === undefined ? undefined : [start, end]);
  });

  test('R/…/P1W: unbounded weekly', () => {
    const sut = parseRepeatingInterval('R/2026-11-02T09:30:00+01:00/P1W')!;
    expect(sut.repetitions).toBeUndefined();
    expect(sut.start.toISOString()).toBe('2026-11-02T08:30:00.000Z');
    expect(sut.duration.weeks).toBe(1);
    expect(intervalEnd(sut)).toBeUndefined();
  });

  test('P1M from January 31st clamps to the end of February', () => {
    const sut = parseRepeatingInterval('R3/2027-01-31T12:00:00Z/P1M')!;
    expect(periodStart(sut, 1).toISOString()).toBe('2027-02-28T12:00:00.000Z');
    expect(periodStart(sut, 2).toISOString()).toBe('2027-03-31T12:00:00.000Z');
  });

  test.each([
    ['empty', ''],
    ['no repetition part', '2027-01-01T00:00:00Z/P1M'],
    ['R with another sign', 'R-2/2027-01-01T00:00:00Z/P1M'],
    ['R with a plus', 'R+1/2027-01-01T00:00:00Z/P1M'],
    ['start without zone', 'R12/2027-01-01T00:00:00/P1M'],
    ['start is a date only', 'R12/2027-01-01/P1M'],
    ['impossible date', 'R12/2027-13-45T00:00:00Z/P1M'],
    ['zero duration', 'R12/2027-01-01T00:00:00Z/P0D'],
    ['bare P', 'R12/2027-01-01T00:00:00Z/P'],
    ['dangling T', 'R12/2027-01-01T00:00:00Z/P1DT'],
    ['an end before the start', 'R12/2027-01-01T00:00:00Z/2026-12-01T00:00:00Z'],
    ['duration then end (backwards)', 'R2/P1M/2022-10-01T13:00:00Z'],
    ['a start without a time', 'R12/P1M'],
    ['four parts', 'R12/2027-01-01T00:00:00Z/P1M/P1D'],
    ['lower-case', 'r12/2027-01-01T00:00:00Z/p1m'],
    ['monthly', 'monthly'],
  ])('refuses %s', (_name, text) => {
    expect(parseRepeatingInterval(text)).toBeUndefined();
  });
});

describe('scheduleCadence', () => {
  test.each([
    ['R3/2027-01-01T00:00:00Z/P1D', { kind: 'interval', everyMs: 86_400_000, offsetMs: 0 }],
    ['R3/2027-01-01T06:00:00Z/P1D', { kind: 'interval', everyMs: 86_400_000, offsetMs: 6 * 3_600_000 }],
    ['R/2026-11-02T09:30:00Z/P1W', { kind: 'interval', everyMs: 7 * 86_400_000, offsetMs: Date.parse('2026-11-02T09:30:00Z') % (7 * 86_400_000) }],
    ['R12/2027-01-15T10:00:00Z/P1M', { kind: 'calendar', monthStep: 1, firstMonth: 1, dayOfMonth: 15, hour: 10, minute: 0, second: 0 }],
    ['R4/2027-05-15T10:00:00Z/P3M', { kind: 'calendar', monthStep: 3, firstMonth: 2, dayOfMonth: 15, hour: 10, minute: 0, second: 0 }],
    ['R2/2027-03-01T00:00:00Z/P1Y', { kind: 'calendar', monthStep: 12, firstMonth: 3, dayOfMonth: 1, hour: 0, minute: 0, second: 0 }],
  ])('%s', (text, expected) => {
    expect(scheduleCadence(parseRepeatingInterval(text)!)).toEqual(expected);
  });

  test.each(['R3/2027-01-01T00:00:00Z/P1M2D', 'R3/2027-01-01T00:00:00Z/P5M', 'R3/2027-01-01T00:00:00Z/P2Y', 'R3/2027-01-01T00:00:00Z/PT0S'])(
    '%s has no exact schedule form',
    (text) => {
      const interval = parseRepeatingInterval(text);
      if (interval) expect(scheduleCadence(interval)).toBeUndefined();
    },
  );
});
