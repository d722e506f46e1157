/**
 * TARGET2 business days and the execution dates of a Berlin Group periodic payment (standing order).
 *
 * Pure functions on `YYYY-MM-DD` strings (UTC calendar dates, no time zone, no clock): usable from
 * workflow code, the API, the activities and the sandbox bank alike, so all of them agree on which
 * day an execution falls.
 *
 * TARGET2 is closed on Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May, 25 and
 * 26 December (ECB). Easter is computed (anonymous Gregorian algorithm), not tabled.
 */

/** A calendar date, `YYYY-MM-DD`. */
export type IsoDate = string;

/** BG 1.3.12 `frequencyCode` (ISO 20022 EventFrequency7Code, plus BG's MonthlyVariable). */
export const FREQUENCY_CODES = [
  'Daily',
  'Weekly',
  'EveryTwoWeeks',
  'Monthly',
  'EveryTwoMonths',
  'Quarterly',
  'SemiAnnual',
  'Annual',
  'MonthlyVariable',
] as const;
export type FrequencyCode = (typeof FREQUENCY_CODES)[number];

export const EXECUTION_RULES = ['following', 'preceding'] as const;
export type ExecutionRule = (typeof EXECUTION_RULES)[number];

export function isFrequencyCode(value: unknown): value is FrequencyCode {
  return typeof value === 'string' && (FREQUENCY_CODES as readonly string[]).includes(value);
}

export function isExecutionRule(value: unknown): value is ExecutionRule {
  return value === 'following' || value === 'preceding';
}

/** The terms of a standing order that decide its execution dates (BG field names). */
export interface PeriodicSchedule {
  startDate: IsoDate;
  /** Last day an execution may be due (nominal date); none = until cancelled. */
  endDate?: IsoDate;
  frequency: FrequencyCode;
  /** Default `following`. */
  executionRule?: ExecutionRule;
  /**
   * Day of the month, "1".."31" without leading zero ("31" is ultimo; 29–31 fall on the last day
   * of shorter months). For the monthly frequencies only; default: the day of `startDate`.
   * Daily and weekly orders run from `startDate` and ignore it.
   */
  dayOfExecution?: string;
  /** MonthlyVariable only: months "1".."12" in which the order executes, every year. */
  monthsOfExecution?: string[];
}

const MS_PER_DAY = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01, or undefined for anything that is not a real calendar date. */
export function dayNumberOf(date: string): number | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const day = Math.floor(ms / MS_PER_DAY);
  return isoDateOf(day) === date ? day : undefined;
}

export function isIsoDate(value: unknown): value is IsoDate {
  return typeof value === 'string' && dayNumberOf(value) !== undefined;
}

export function isoDateOf(dayNumber: number): IsoDate {
  const d = new Date(dayNumber * MS_PER_DAY);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`date out of range: day ${dayNumber}`);
  return `${String(y).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function ymd(year: number, month: number, day: number): IsoDate {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

function dayNumber(date: IsoDate): number {
  const n = dayNumberOf(date);
  if (n === undefined) throw new RangeError(`not a calendar date: ${JSON.stringify(date)}`);
  return n;
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return isoDateOf(dayNumber(date) + days);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Easter Sunday of a Gregorian year (anonymous Gregorian / Meeus–Jones–Butcher algorithm). */
export function easterSunday(year: number): IsoDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(year, month, day);
}

/** The TARGET2 holidays of a year that are not weekends by definition (some may fall on one). */
export function target2Holidays(year: number): IsoDate[] {
  const easter = easterSunday(year);
  return [ymd(year, 1, 1), addDays(easter, -2), addDays(easter, 1), ymd(year, 5, 1), ymd(year, 12, 25), ymd(year, 12, 26)];
}

const holidayCache = new Map<number, ReadonlySet<IsoDate>>();

function holidaysOf(year: number): ReadonlySet<IsoDate> {
  let set = holidayCache.get(year);
  if (!set) {
    set = new Set(target2Holidays(year));
    if (holidayCache.size > 64) holidayCache.clear();
    holidayCache.set(year, set);
  }
  return set;
}

/** Saturday, Sunday or a TARGET2 holiday. */
export function isTarget2Closed(date: IsoDate): boolean {
  const n = dayNumber(date);
  const weekday = (n + 4) % 7; // 1970-01-01 was a Thursday (4); 0 = Sunday
  if (weekday === 0 || weekday === 6) return true;
  return holidaysOf(Number(date.slice(0, 4))).has(date);
}

export function isTarget2BusinessDay(date: IsoDate): boolean {
  return !isTarget2Closed(date);
}

/** The date itself if TARGET2 is open, else the next (`following`) or previous (`preceding`) open day. */
export function adjustToTarget2(date: IsoDate, rule: ExecutionRule): IsoDate {
  const step = rule === 'following' ? 1 : -1;
  let n = dayNumber(date);
  while (isTarget2Closed(isoDateOf(n))) n += step;
  return isoDateOf(n);
}

/** Adds TARGET2 business days (positive only): the n-th open day after `date`. */
export function addTarget2BusinessDays(date: IsoDate, days: number): IsoDate {
  let n = dayNumber(date);
  for (let left = days; left > 0; ) {
    n += 1;
    if (!isTarget2Closed(isoDateOf(n))) left -= 1;
  }
  return isoDateOf(n);
}

const MONTH_STEP: Partial<Record<FrequencyCode, number>> = {
  Monthly: 1,
  EveryTwoMonths: 2,
  Quarterly: 3,
  SemiAnnual: 6,
  Annual: 12,
};

const DAY_STEP: Partial<Record<FrequencyCode, number>> = { Daily: 1, Weekly: 7, EveryTwoWeeks: 14 };

/** What is wrong with a schedule, field by field (empty when it is usable). */
export function scheduleProblems(schedule: Partial<PeriodicSchedule>): { path: string; text: string }[] {
  const problems: { path: string; text: string }[] = [];
  if (!isIsoDate(schedule.startDate)) problems.push({ path: 'startDate', text: 'must be a calendar date YYYY-MM-DD' });
  if (schedule.endDate !== undefined) {
    if (!isIsoDate(schedule.endDate)) problems.push({ path: 'endDate', text: 'must be a calendar date YYYY-MM-DD' });
    else if (isIsoDate(schedule.startDate) && schedule.endDate < schedule.startDate) {
      problems.push({ path: 'endDate', text: 'must not be before startDate' });
    }
  }
  if (!isFrequencyCode(schedule.frequency)) problems.push({ path: 'frequency', text: `must be one of ${FREQUENCY_CODES.join(', ')}` });
  if (schedule.executionRule !== undefined && !isExecutionRule(schedule.executionRule)) {
    problems.push({ path: 'executionRule', text: 'must be "following" or "preceding"' });
  }
  if (schedule.dayOfExecution !== undefined && !/^([1-9]|[12]\d|3[01])$/.test(String(schedule.dayOfExecution))) {
    problems.push({ path: 'dayOfExecution', text: 'must be "1" to "31" without leading zero' });
  }
  const months = schedule.monthsOfExecution;
  if (schedule.frequency === 'MonthlyVariable') {
    const valid =
      Array.isArray(months) &&
      months.length >= 1 &&
      months.length <= 11 &&
      months.every((m) => typeof m === 'string' && /^([1-9]|1[0-2])$/.test(m)) &&
      new Set(months).size === months.length;
    if (!valid) problems.push({ path: 'monthsOfExecution', text: 'MonthlyVariable needs 1 to 11 different months "1".."12"' });
  } else if (months !== undefined) {
    problems.push({ path: 'monthsOfExecution', text: 'is allowed only with frequency MonthlyVariable' });
  }
  return problems;
}

/**
 * Nominal (unadjusted) due dates in order, from `startDate`, until `endDate` if any. Lazily, so an
 * open-ended order is fine; `maxYears` bounds the search when nothing is due (MonthlyVariable).
 */
export function* nominalDates(schedule: PeriodicSchedule): Generator<IsoDate> {
  const start = dayNumber(schedule.startDate);
  const end = schedule.endDate ? dayNumber(schedule.endDate) : Infinity;
  const dayStep = DAY_STEP[schedule.frequency];
  if (dayStep) {
    for (let n = start; n <= end; n += dayStep) yield isoDateOf(n);
    return;
  }
  const startYear = Number(schedule.startDate.slice(0, 4));
  const startMonth = Number(schedule.startDate.slice(5, 7));
  const dom = Number(schedule.dayOfExecution ?? schedule.startDate.slice(8, 10));
  const monthStep = MONTH_STEP[schedule.frequency] ?? 1;
  const months = schedule.frequency === 'MonthlyVariable' ? new Set((schedule.monthsOfExecution ?? []).map(Number)) : undefined;
  if (months && months.size === 0) return;
  for (let i = 0; ; i += monthStep) {
    const index = startMonth - 1 + i;
    const year = startYear + Math.floor(index / 12);
    const month = (index % 12) + 1;
    if (year > 9999) return;
    if (months && !months.has(month)) continue;
    const date = ymd(year, month, Math.min(dom, daysInMonth(year, month)));
    const n = dayNumber(date);
    if (n < start) continue;
    if (n > end) return;
    yield date;
  }
}

/** One execution: when it was due, and the TARGET2 day it falls on after the execution rule. */
export interface ScheduledExecution {
  /** Position in the order's life, from 1. */
  index: number;
  nominalDate: IsoDate;
  executionDate: IsoDate;
}

/**
 * Every execution in order. A nominal date on a closed day moves to the next (`following`) or
 * previous (`preceding`) open day; `preceding` never moves before `startDate` (it then follows).
 * Nominal dates that land on an execution day already taken (Saturday and Sunday of a Daily order
 * both moving to Monday) are one execution.
 */
export function* executionSchedule(schedule: PeriodicSchedule): Generator<ScheduledExecution> {
  const rule = schedule.executionRule ?? 'following';
  let previous = '';
  let index = 0;
  for (const nominalDate of nominalDates(schedule)) {
    let executionDate = adjustToTarget2(nominalDate, rule);
    if (executionDate < schedule.startDate) executionDate = adjustToTarget2(nominalDate, 'following');
    if (executionDate <= previous) continue;
    previous = executionDate;
    index += 1;
    yield { index, nominalDate, executionDate };
  }
}

/** The next `limit` executions whose execution date is after `after` (all from the start when omitted). */
export function nextExecutions(schedule: PeriodicSchedule, opts: { after?: IsoDate; limit: number }): ScheduledExecution[] {
  const out: ScheduledExecution[] = [];
  if (opts.limit <= 0) return out;
  for (const execution of executionSchedule(schedule)) {
    if (opts.after !== undefined && execution.executionDate <= opts.after) continue;
    out.push(execution);
    if (out.length >= opts.limit) break;
  }
  return out;
}

/** The execution with this index (from 1), if the order has one. */
export function executionAt(schedule: PeriodicSchedule, index: number): ScheduledExecution | undefined {
  for (const execution of executionSchedule(schedule)) {
    if (execution.index === index) return execution;
    if (execution.index > index) return undefined;
  }
  return undefined;
}

/** Executions due on or before `date`, in order (for the sandbox bank's clock). */
export function executionsThrough(schedule: PeriodicSchedule, date: IsoDate, afterIndex = 0): ScheduledExecution[] {
  const out: ScheduledExecution[] = [];
  for (const execution of executionSchedule(schedule)) {
    if (execution.executionDate > date) break;
    if (execution.index > afterIndex) out.push(execution);
  }
  return out;
}
