import { parseRepeatingInterval, periodAt } from './interval';

describe('ISO 8601 repeating intervals', () => {
  it.each([
    ['R12/2027-01-01T00:00:00Z/P1M', '2027-01-15T00:00:00Z', '2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'],
    ['R12/2027-01-31T00:00:00Z/P1M', '2027-02-28T12:00:00Z', '2027-02-28T00:00:00.000Z', '2027-03-31T00:00:00.000Z'],
    ['R/2027-01-01T00:00:00Z/P1D', '2027-03-05T10:00:00Z', '2027-03-05T00:00:00.000Z', '2027-03-06T00:00:00.000Z'],
    ['R/2027-01-01T00:00:00Z/2027-01-08T00:00:00Z', '2027-01-09T00:00:00Z', '2027-01-08T00:00:00.000Z', '2027-01-15T00:00:00.000Z'],
  ])('%s at %s is [%s, %s)', (text, at, start, end) => {
    const period = periodAt(parseRepeatingInterval(text)!, new Date(at))!;
    expect([period.start.toISOString(), period.end.toISOString()]).toEqual([start, end]);
  });

  it('has no period before the start or after the last repetition', () => {
    const interval = parseRepeatingInterval('R1/2027-01-01T00:00:00Z/P1M')!;
    expect(periodAt(interval, new Date('2026-12-31T23:59:59Z'))).toBeUndefined();
    expect(periodAt(interval, new Date('2027-02-15T00:00:00Z'))?.index).toBe(1);
    expect(periodAt(interval, new Date('2027-03-01T00:00:00Z'))).toBeUndefined();
  });

  it.each(['P1M', 'R12/P1M', 'R12/2027-01-01/P1M', 'R/2027-01-01T00:00:00Z/P', 'X/2027-01-01T00:00:00Z/P1M'])('rejects %s', (text) => {
    expect(parseRepeatingInterval(text)).toBeUndefined();
  });
});
