/**
 * The sandbox PSUs and their accounts. Test users as Stripe documents its sandbox's (user name and
 * password): `rora`/`rora.`, `mits`/`mits.`, `ivsa`/`ivsa.`. Accounts are GBP with a sort code and
 * account number (`UK.OBIE.SortCodeAccountNumber`) and the matching GB IBAN.
 */
import { ibanFromBban } from '../../../libs/domain/iban';

export interface SandboxUkAccount {
  accountId: string;
  sortCode: string;
  accountNumber: string;
  iban: string;
  nickname: string;
  /** Pence, at the start of the sandbox's history. */
  balanceMinor: bigint;
  transactions: SandboxUkTransaction[];
}

export interface SandboxUkTransaction {
  transactionId: string;
  bookingDateTime: string;
  /** Signed pence: negative is a debit. */
  amountMinor: bigint;
  status: 'Booked' | 'Pending';
  reference: string;
  counterparty: string;
}

export const SANDBOX_UK_PSUS: Readonly<Record<string, string>> = { rora: 'rora.', mits: 'mits.', ivsa: 'ivsa.' };

/** Bank code of the GB IBANs (the sandbox bank's own). */
const BANK_CODE = 'SAND';

function account(psu: string, n: number, sortCode: string, accountNumber: string, balanceMinor: bigint, txCount: number): SandboxUkAccount {
  const accountId = `${psu}-${n}`;
  const transactions: SandboxUkTransaction[] = [];
  for (let i = 0; i < txCount; i++) {
    const day = new Date(Date.UTC(2026, 10, 1) - i * 86_400_000);
    transactions.push({
      transactionId: `${accountId}-t${String(i + 1).padStart(3, '0')}`,
      bookingDateTime: day.toISOString().replace('.000Z', '+00:00'),
      amountMinor: i % 3 === 0 ? 125_000n : -BigInt(1_000 + ((i * 731) % 9_000)),
      status: i === 0 ? 'Pending' : 'Booked',
      reference: i % 3 === 0 ? 'SALARY NOV' : `CARD ${String(i).padStart(4, '0')}`,
      counterparty: i % 3 === 0 ? 'Employer Ltd' : 'Corner Shop',
    });
  }
  return { accountId, sortCode, accountNumber, iban: ibanFromBban('GB', `${BANK_CODE}${sortCode}${accountNumber}`), nickname: n === 1 ? 'Current' : 'Savings', balanceMinor, transactions };
}

export function accountsOfPsu(psu: string): SandboxUkAccount[] {
  const seed = [...psu].reduce((a, c) => a + c.charCodeAt(0), 0);
  const sort = String(200000 + (seed % 700000)).padStart(6, '0');
  return [account(psu, 1, sort, String(10000000 + seed * 7).slice(0, 8), 150_000n, 130), account(psu, 2, sort, String(20000000 + seed * 11).slice(0, 8), 900_000n, 3)];
}
