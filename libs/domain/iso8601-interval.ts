/**
 * ISO 8601 repeating intervals as Open Payments uses them for outgoing-payment grant limits
 * (`limits.interval`), the one implementation for the API, workflows, activities and the sandbox ASE.
 *
 * `Rn` is **n repetitions after the first period, n + 1 periods in all** (ISO 8601-1:2019 §5.6:
 * the number of repetitions; read the same way by Rafiki, whose `R2/2022-07-01T13:00:00Z/P1M`
 * covers July, August and September). `R0` is the first period only; `R` and `R-1` are unbounded.
 * Forms: `R[n]/<start>/<duration>` and `R[n]/<start>/<end>` (periods of end − start, fixed length).
 * `R[n]/<duration>/<end>` (counting backwards) is not accepted. Months and years move on the UTC
 * calendar, clamped to the month's end (Jan 31 + P1M = Feb 28/29). Pure code: workflows may import it.
 */

export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export interface RepeatingInterval {
  /** Repetitions after the first period (`R12` → 12, i.e. 13 periods); undefined for `R/…` (unbounded). */
  repetitions: number | undefined;
  start: Date;
  duration: IsoDuration;
  /** The text as given: sent unchanged to the wallet as the grant's `limits.interval`. */
  text: string;
}

/** How a Temporal Schedule fires once per period (see `scheduleCadence`). */
export type ScheduleCadence =
  | { kind: 'interval'; everyMs: number; offsetMs: number }
  | { kind: 'calendar'; monthStep: number; /** 1-12: the first month of the year with a firing. */ firstMonth: number; dayOfMonth: number; hour: number; minute: number; second: number };

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = DURATION.exec(text);
  if (!match || text.endsWith('T')) return undefined;
  const [years, months, weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => (part ? Number(part) : 0));
  const duration = { years, months, weeks, days, hours, minutes, seconds };
  return Object.values(duration).some((v) => v > 0) ? duration : undefined;
}

/** undefined when `text` is not `R[n]/<start>/<duration>` or `R[n]/<start>/<end>` (n ≥ 0, or `R`/`R-1` unbounded) with a positive period. */
export function parseRepeatingInterval(text: string): RepeatingInterval | undefined {
  if (typeof text !== 'string') return undefined;
  const parts = text.split('/');
  if (parts.length !== 3) return undefined;
  const repeat = /^R(\d{0,6}|-1)$/.exec(parts[0]!);
  if (!repeat || !INSTANT.test(parts[1]!)) return undefined;
  const start = new Date(parts[1]!);
  if (Number.isNaN(start.getTime())) return undefined;
  const repetitions = repeat[1] === '' || repeat[1] === '-1' ? undefined : Number(repeat[1]);
  const duration = parseIsoDuration(parts[2]!) ?? durationUntil(start, parts[2]!);
  if (!duration) return undefined;
  return { repetitions, start, duration, text };
}

/** `<start>/<end>`: a fixed period of end − start (as Rafiki reads it), undefined unless positive. */
function durationUntil(start: Date, endText: string): IsoDuration | undefined {
  if (!INSTANT.test(endText)) return undefined;
  const ms = new Date(endText).getTime() - start.getTime();
  if (Number.isNaN(ms) || ms <= 0) return undefined;
  return { years: 0, months: 0, weeks: 0, days: 0, hours: 0, minutes: 0, seconds: ms / 1000 };
}

/** How many periods the interval has (`Rn` → n + 1); undefined when unbounded. */
export function periodCount(interval: RepeatingInterval): number | undefined {
  return interval.repetitions === undefined ? undefined : interval.repetitions + 1;
}

function fixedMs(d: IsoDuration): number {
  return (((d.weeks * 7 + d.days) * 24 + d.hours) * 60 + d.minutes) * 60_000 + d.seconds * 1000;
}

/** Start of period `index` (0-based). Months and years move on the UTC calendar, clamped to the month's end. */
export function periodStart(interval: RepeatingInterval, index: number): Date {
  const d = interval.duration;
  const s = interval.start;
  const months = index * (d.months + 12 * d.years);
  const first = new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + months, 1));
  const daysInMonth = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  const calendar = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(s.getUTCDate(), daysInMonth), s.getUTCHours(), s.getUTCMinutes(), s.getUTCSeconds(), s.getUTCMilliseconds());
  return new Date(calendar + index * fixedMs(d));
}

/** The period under way at `at` (index and start), or undefined before the start or after the last period. */
export function periodContaining(interval: RepeatingInterval, at: Date): { index: number; start: Date } | undefined {
  const t = at.getTime();
  if (t < interval.start.getTime()) return undefined;
  const end = intervalEnd(interval);
  if (end && t >= end.getTime()) return undefined;
  // Estimate from the first period's length, then correct: calendar months vary in length.
  const first = periodStart(interval, 1).getTime() - interval.start.getTime();
  let index = Math.max(0, Math.floor((t - interval.start.getTime()) / first) - 1);
  while (periodStart(interval, index + 1).getTime() <= t) index += 1;
  while (index > 0 && periodStart(interval, index).getTime() > t) index -= 1;
  return { index, start: periodStart(interval, index) };
}

/** When the last period ends; undefined for unbounded intervals. */
export function intervalEnd(interval: RepeatingInterval): Date | undefined {
  const count = periodCount(interval);
  return count === undefined ? undefined : periodStart(interval, count);
}

/**
 * Where mandates started before MANDATE_INTERVAL_PERIODS_PATCH believed the interval ended (`Rn`
 * read as n periods): only for replaying their recorded timers. Remove with the patch.
 */
export function legacyIntervalEnd(interval: RepeatingInterval): Date | undefined {
  return interval.repetitions === undefined ? undefined : periodStart(interval, interval.repetitions);
}

/** The period containing `at` with its end, or undefined outside the interval. */
export function periodAt(interval: RepeatingInterval, at: Date): { index: number; start: Date; end: Date } | undefined {
  const period = periodContaining(interval, at);
  return period && { ...period, end: periodStart(interval, period.index + 1) };
}

/**
 * One Schedule action per period. Fixed durations (weeks, days, hours, minutes, seconds) become
 * `intervals: [{ every, offset }]`, the offset placing the firings on `start` (Temporal counts
 * intervals from the Unix epoch). Whole months or years become a calendar spec on the start's day
 * and time (UTC). A mix of both (P1M2D), or months not dividing a year (P5M, P2Y), have no exact
 * Schedule form: undefined, and the API refuses them.
 */
export function scheduleCadence(interval: RepeatingInterval): ScheduleCadence | undefined {
  const d = interval.duration;
  const months = d.months + 12 * d.years;
  const fixed = fixedMs(d);
  if (months === 0) {
    if (fixed < 1000) return undefined;
    return { kind: 'interval', everyMs: fixed, offsetMs: ((interval.start.getTime() % fixed) + fixed) % fixed };
  }
  // A calendar spec repeats within a year: the month step must divide 12 (P1M, P2M, P3M, P4M, P6M, P1Y).
  if (fixed !== 0 || 12 % months !== 0) return undefined;
  const s = interval.start;
  return {
    kind: 'calendar',
    monthStep: months,
    firstMonth: (s.getUTCMonth() % months) + 1,
    dayOfMonth: s.getUTCDate(),
    hour: s.getUTCHours(),
    minute: s.getUTCMinutes(),
    second: s.getUTCSeconds(),
  };
}
