import { isValidIban } from '../../../../libs/domain/iban';
import { formatMinor } from '../../../../libs/domain/money';
import { accountsOf } from './accounts';
import { balancesOf, clearLedgerCache, dayOf, findEntry, HISTORY_DAYS, ledgerOf, selectBooked, transactionIdOf, transactionJson } from './transactions';

const TODAY = dayOf(Date.parse('2025-06-15T10:00:00Z'));

describe('sandbox AIS fixtures', () => {
  afterEach(() => clearLedgerCache());

  it('every PSU gets the same four accounts with valid IBANs; other PSUs get other ones', () => {
    const mine = accountsOf('psu-a');
    expect(mine.map((a) => a.currency)).toEqual(['EUR', 'EUR', 'SEK', 'USD']);
    expect(mine.every((a) => isValidIban(a.iban))).toBe(true);
    expect(accountsOf('psu-a')).toBe(mine);
    const theirs = accountsOf('psu-b');
    expect(theirs.map((a) => a.resourceId)).not.toEqual(mine.map((a) => a.resourceId));
    expect(new Set([...mine, ...theirs].map((a) => a.iban)).size).toBe(8);
  });

  it('generates ≥ 5,000 booked entries over two years, deterministically, oldest first', () => {
    const [account] = accountsOf('psu-a');
    const ledger = ledgerOf(account, TODAY);
    expect(ledger.booked.length).toBeGreaterThanOrEqual(5000);
    expect(ledger.booked[0].day).toBe(TODAY - HISTORY_DAYS);
    expect(ledger.booked.at(-1)!.day).toBe(TODAY - 1);
    expect(ledger.pending.every((e) => e.day === TODAY)).toBe(true);
    clearLedgerCache();
    const again = ledgerOf(account, TODAY);
    expect(again.booked.map(transactionIdOf)).toEqual(ledger.booked.map(transactionIdOf));
    expect(again.closingBookedMinor).toBe(ledger.closingBookedMinor);
    // The next bank day keeps yesterday's entries as they were.
    const tomorrow = ledgerOf(account, TODAY + 1);
    const shared = selectBooked(tomorrow, { bookingStatus: 'booked', dateFrom: TODAY - 10, dateTo: TODAY - 1 });
    expect(shared.map((e) => transactionJson(tomorrow, e))).toEqual(
      selectBooked(ledger, { bookingStatus: 'booked', dateFrom: TODAY - 10, dateTo: TODAY - 1 }).map((e) => transactionJson(ledger, e)),
    );
  });

  it('closingBooked is the opening balance plus every booked amount, in exact minor units', () => {
    const [, , sek] = accountsOf('psu-a');
    const ledger = ledgerOf(sek, TODAY);
    const sum = ledger.booked.reduce((acc, e) => acc + BigInt(e.amountMinor), sek.openingMinor);
    const closing = balancesOf(ledger).find((b) => b.balanceType === 'closingBooked')!;
    expect(closing.balanceAmount.amount).toBe(formatMinor(sum, 'SEK'));
    expect(findEntry(ledger, transactionIdOf(ledger.booked[42]))).toBe(ledger.booked[42]);
    expect(findEntry(ledger, 'B-20250230001')).toBeUndefined();
  });

  it('builds a ledger fast and small enough to generate on demand', () => {
    const accounts = accountsOf('psu-perf');
    const started = process.hrtime.bigint();
    for (const account of accounts) ledgerOf(account, TODAY);
    const perAccountMs = Number(process.hrtime.bigint() - started) / 1e6 / accounts.length;
    expect(perAccountMs).toBeLessThan(200);
  });
});
