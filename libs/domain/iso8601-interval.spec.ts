import { intervalEnd, parseRepeatingInterval, periodStart, scheduleCadence } from './iso8601-interval';

describe('parseRepeatingInterval', () => {
  test('R12/2027-01-01T00:00:00Z/P1M: twelve monthly periods', () => {
    const sut = parseRepeatingInterval('R12/2027-01-01T00:00:00Z/P1M')!;
    expect(sut.repetitions).toBe(12);
    expect(sut.start.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(sut.duration).toMatchObject({ months: 1, days: 0 });
    expect(periodStart(sut, 1).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(intervalEnd(sut)!.toISOString()).toBe('2028-01-01T00:00:00.000Z');
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
    ['R0', 'R0/2027-01-01T00:00:00Z/P1M'],
    ['R with a sign', 'R-1/2027-01-01T00:00:00Z/P1M'],
    ['start without zone', 'R12/2027-01-01T00:00:00/P1M'],
    ['start is a date only', 'R12/2027-01-01/P1M'],
    ['impossible date', 'R12/2027-13-45T00:00:00Z/P1M'],
    ['zero duration', 'R12/2027-01-01T00:00:00Z/P0D'],
    ['bare P', 'R12/2027-01-01T00:00:00Z/P'],
    ['dangling T', 'R12/2027-01-01T00:00:00Z/P1DT'],
    ['end instant instead of duration', 'R12/2027-01-01T00:00:00Z/2027-02-01T00:00:00Z'],
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
