import { resolveExecutions, type BookedDebit } from './periodic-observation';
import { nextExecutions } from './target2-calendar';

const pending = nextExecutions({ startDate: '2027-03-01', frequency: 'Monthly', dayOfExecution: '26' }, { limit: 3 }); // 26 Mar is Good Friday
const debit = (bookingDate: string, over: Partial<BookedDebit> = {}): BookedDebit => ({ transactionId: `B-${bookingDate}`, bookingDate, amount: '-50.00', currency: 'EUR', creditorIban: 'NL91ABNA0417164300', ...over });
const base = { pending, instructedAmount: { currency: 'EUR', amount: '50.00' }, creditorIban: 'NL91 ABNA 0417 1643 00', graceBusinessDays: 2, closedThrough: '2027-01-01' };

describe('resolveExecutions', () => {
  it('matches each execution to its own booking within the TARGET2 grace window, in order', () => {
    expect(pending.map((e) => e.executionDate)).toEqual(['2027-03-30', '2027-04-26', '2027-05-26']);
    const out = resolveExecutions({ ...base, booked: [debit('2027-03-31'), debit('2027-04-26'), debit('2027-04-20', { amount: '-49.99' })] });
    expect(out).toEqual([
      { index: 1, executionDate: '2027-03-30', outcome: 'executed', bookingDate: '2027-03-31', transactionId: 'B-2027-03-31' },
      { index: 2, executionDate: '2027-04-26', outcome: 'executed', bookingDate: '2027-04-26', transactionId: 'B-2027-04-26' },
    ]);
  });

  it('not booked once the books moved past the window; unresolved (and everything after it) before that', () => {
    // A later booking elsewhere on the account shows the bank's books are past 1 April (30 Mar + 2 TARGET2 days).
    const late = resolveExecutions({ ...base, booked: [debit('2027-04-02', { creditorIban: 'DE89370400440532013000', amount: '-3.20' })] });
    expect(late).toEqual([{ index: 1, executionDate: '2027-03-30', outcome: 'not_booked', reason: 'not booked by 2027-04-01' }]);
    expect(resolveExecutions({ ...base, booked: [debit('2027-04-01', { creditorIban: 'DE89370400440532013000', amount: '-3.20' })] })).toEqual([]);
  });

  it('ignores credits, other currencies, other creditors, bookings outside the window and ones an earlier execution took', () => {
    const noise = [
      debit('2027-03-30', { amount: '50.00' }),
      debit('2027-03-30', { currency: 'SEK' }),
      debit('2027-03-30', { creditorIban: 'DE89370400440532013000' }),
      debit('2027-03-29'),
      debit('2027-04-02'),
      debit('2027-03-30', { transactionId: 'taken' }),
    ];
    expect(resolveExecutions({ ...base, booked: noise, taken: new Set(['taken']) }).map((e) => e.outcome)).toEqual(['not_booked']);
  });
});
