/**
 * ISO 8601 repeating intervals as Open Payments uses them for outgoing-payment grant limits
 * (`R12/2027-01-01T00:00:00Z/P1M`: twelve monthly periods from that instant). Supported forms:
 * `R[n]/<start>/<duration>` and `R[n]/<start>/<end>` (the period length is end − start).
 * Months and years are added on the calendar (UTC), so P1M from Jan 31 is Feb 28/29, not 31 days.
 */

export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export interface RepeatingInterval {
  /** undefined = unbounded (`R/…`). `R0` means the start period only. */
  repetitions: number | undefined;
  start: Date;
  /** Period length, either calendar-based or a fixed number of milliseconds. */
  period: Duration | { fixedMs: number };
}

export interface IntervalPeriod {
  index: number;
  start: Date;
  end: Date;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function parseDuration(text: string): Duration | undefined {
  const match = DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => (part ? Number(part) : 0));
  const duration = { years, months, weeks, days, hours, minutes, seconds };
  return Object.values(duration).some((v) => v > 0) ? duration : undefined;
}

/** undefined when the text is not a supported repeating interval. */
export function parseRepeatingInterval(text: string): RepeatingInterval | undefined {
  const parts = text.split('/');
  if (parts.length !== 3) return undefined;
  const repeat = /^R(\d*)$/.exec(parts[0]);
  if (!repeat || !INSTANT.test(parts[1])) return undefined;
  const start = new Date(parts[1]);
  if (Number.isNaN(start.getTime())) return undefined;
  const repetitions = repeat[1] === '' ? undefined : Number(repeat[1]);
  const duration = parseDuration(parts[2]);
  if (duration) return { repetitions, start, period: duration };
  if (INSTANT.test(parts[2])) {
    const end = new Date(parts[2]);
    const fixedMs = end.getTime() - start.getTime();
    if (Number.isNaN(fixedMs) || fixedMs <= 0) return undefined;
    return { repetitions, start, period: { fixedMs } };
  }
  return undefined;
}

function addPeriods(interval: RepeatingInterval, count: number): Date {
  if ('fixedMs' in interval.period) return new Date(interval.start.getTime() + count * interval.period.fixedMs);
  const d = interval.period;
  const s = interval.start;
  const targetMonth = s.getUTCMonth() + count * (d.months + 12 * d.years);
  // Clamp the day to the target month's length (Jan 31 + P1M = Feb 28/29).
  const firstOfTarget = new Date(Date.UTC(s.getUTCFullYear(), targetMonth, 1));
  const daysInTarget = new Date(Date.UTC(firstOfTarget.getUTCFullYear(), firstOfTarget.getUTCMonth() + 1, 0)).getUTCDate();
  const calendar = Date.UTC(
    firstOfTarget.getUTCFullYear(),
    firstOfTarget.getUTCMonth(),
    Math.min(s.getUTCDate(), daysInTarget),
    s.getUTCHours(),
    s.getUTCMinutes(),
    s.getUTCSeconds(),
    s.getUTCMilliseconds(),
  );
  const fixed = count * (((d.weeks * 7 + d.days) * 24 + d.hours) * 3_600_000 + d.minutes * 60_000 + d.seconds * 1000);
  return new Date(calendar + fixed);
}

/**
 * The period containing `at`, or undefined before the start or after the last repetition.
 * `Rn` means n repetitions after the first period (ISO 8601), i.e. n+1 periods in all.
 */
export function periodAt(interval: RepeatingInterval, at: Date): IntervalPeriod | undefined {
  const t = at.getTime();
  if (t < interval.start.getTime()) return undefined;
  // Estimate the index, then correct: calendar months make the period length vary.
  const firstEnd = addPeriods(interval, 1).getTime();
  let index = Math.max(0, Math.floor((t - interval.start.getTime()) / Math.max(1, firstEnd - interval.start.getTime())) - 1);
  while (addPeriods(interval, index + 1).getTime() <= t) index += 1;
  while (index > 0 && addPeriods(interval, index).getTime() > t) index -= 1;
  if (interval.repetitions !== undefined && index > interval.repetitions) return undefined;
  return { index, start: addPeriods(interval, index), end: addPeriods(interval, index + 1) };
}
