/**
 * Which executions of a standing order the bank made, read from the debtor account's booked
 * transactions (the only place a Berlin Group bank shows them). Pure: the activity feeds it the AIS
 * page, the order's terms and the schedule; tests feed it tables.
 *
 * - `executed`: a debit of exactly the order's amount to the order's creditor IBAN, booked on or
 *   after the execution date and no later than `graceBusinessDays` TARGET2 days after it, and not
 *   already taken by an earlier execution.
 * - `not_booked`: no such debit, and the bank's books have moved past that window (a later booking
 *   on the account, or our own clock, says the window is over). The bank refused or skipped it
 *   (insufficient funds, a blocked account): BG does not tell a TPP which.
 * - otherwise unresolved: asked again later. Executions resolve in order.
 */
import { parseDecimalAmount } from './money';
import { addTarget2BusinessDays, type IsoDate, type ScheduledExecution } from './target2-calendar';

export interface BookedDebit {
  transactionId?: string;
  bookingDate: IsoDate;
  /** Signed decimal string as BG sends it ("-10.00" for a debit). */
  amount: string;
  currency: string;
  creditorIban?: string;
}

export type ResolvedExecution =
  | { index: number; executionDate: IsoDate; outcome: 'executed'; bookingDate: IsoDate; transactionId?: string }
  | { index: number; executionDate: IsoDate; outcome: 'not_booked'; reason: string };

export interface ObservationInput {
  /** The next executions to resolve, in order. */
  pending: readonly ScheduledExecution[];
  instructedAmount: { currency: string; amount: string };
  creditorIban?: string;
  booked: readonly BookedDebit[];
  /** The latest day the bank's books are known to be complete for (e.g. yesterday on our clock). */
  closedThrough: IsoDate;
  graceBusinessDays: number;
  /** Transactions earlier executions already took. */
  taken?: ReadonlySet<string>;
}

const normaliseIban = (iban: string | undefined) => iban?.replace(/\s+/g, '').toUpperCase();

/** The last bank day a booking for this execution may carry. */
export function bookingDeadline(executionDate: IsoDate, graceBusinessDays: number): IsoDate {
  return addTarget2BusinessDays(executionDate, graceBusinessDays);
}

export function resolveExecutions(input: ObservationInput): ResolvedExecution[] {
  const expected = parseDecimalAmount(input.instructedAmount.amount, input.instructedAmount.currency);
  if (!expected.ok) return [];
  const creditor = normaliseIban(input.creditorIban);
  const taken = new Set(input.taken ?? []);
  const latestBooking = input.booked.reduce((max, b) => (b.bookingDate > max ? b.bookingDate : max), '');
  const closedThrough = latestBooking > input.closedThrough ? latestBooking : input.closedThrough;
  const out: ResolvedExecution[] = [];
  for (const execution of input.pending) {
    const deadline = bookingDeadline(execution.executionDate, input.graceBusinessDays);
    const match = input.booked.find((b) => {
      if (b.currency !== input.instructedAmount.currency) return false;
      if (b.bookingDate < execution.executionDate || b.bookingDate > deadline) return false;
      if (creditor && normaliseIban(b.creditorIban) !== creditor) return false;
      const amount = parseDecimalAmount(b.amount.replace(/^-/, ''), b.currency);
      if (!b.amount.startsWith('-') || !amount.ok || amount.minor !== expected.minor) return false;
      const key = b.transactionId ?? `${b.bookingDate}|${b.amount}|${b.creditorIban}`;
      return !taken.has(key);
    });
    if (match) {
      taken.add(match.transactionId ?? `${match.bookingDate}|${match.amount}|${match.creditorIban}`);
      out.push({ index: execution.index, executionDate: execution.executionDate, outcome: 'executed', bookingDate: match.bookingDate, ...(match.transactionId ? { transactionId: match.transactionId } : {}) });
      continue;
    }
    if (closedThrough > deadline) {
      out.push({ index: execution.index, executionDate: execution.executionDate, outcome: 'not_booked', reason: `not booked by ${deadline}` });
      continue;
    }
    break;
  }
  return out;
}
