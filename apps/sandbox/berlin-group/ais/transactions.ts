/**
 * Deterministic transaction history. Each (account, day) pair seeds its own PRNG, so any day can be
 * regenerated on its own, the same every time, whatever the bank clock says; the clock only decides
 * which days are visible: booked entries for the last {@link HISTORY_DAYS} days up to yesterday,
 * pending ones dated today.
 *
 * An account's ledger (~5,800 compact entries, ~0.5 MB) is built on first use for a given bank day
 * and kept in a small LRU, so paging through a history does not regenerate it per page.
 */
import { formatMinor } from '../../../../libs/domain/money';
import type { Balance } from '../../../../libs/domain/consent';
import { ibanOf, type SandboxAccount } from './accounts';

export const HISTORY_DAYS = 730;
const MS_PER_DAY = 86_400_000;
/** 7..9 booked entries per day: at least 5,110 over two years. */
const MIN_PER_DAY = 7;
const EXTRA_PER_DAY = 3;
const PENDING_PER_ACCOUNT = 3;
const LEDGER_CACHE_SIZE = 16;

/** One booked or pending entry, kept as numbers; JSON is built only for the page being served. */
export interface LedgerEntry {
  day: number;
  seq: number;
  pending: boolean;
  /** Signed, minor units: negative for debits. */
  amountMinor: number;
  counterparty: number;
  remittance: number;
  /** Booked by the bank's own payment side (a standing-order execution), not generated. */
  external?: ExternalBooking;
}

/** A debit the sandbox bank's payment side booked on one of its accounts (see `periodic-payments.ts`). */
export interface ExternalBooking {
  day: number;
  /** Signed, minor units: negative for debits. */
  amountMinor: number;
  creditorName: string;
  creditorIban: string;
  remittance?: string;
  endToEndId?: string;
}

/** The external bookings of one account, with a version that changes whenever they do (cache key). */
export interface ExternalBookings {
  version: number;
  bookings: readonly ExternalBooking[];
}

/** First sequence number of external bookings within a day: after every generated entry. */
const EXTERNAL_SEQ_BASE = 100;

export interface Ledger {
  account: SandboxAccount;
  today: number;
  /** Ascending by (day, seq): oldest first. */
  booked: LedgerEntry[];
  pending: LedgerEntry[];
  closingBookedMinor: bigint;
  pendingMinor: bigint;
  pendingDebitsMinor: bigint;
}

const COUNTERPARTIES: readonly { name: string; iban: string }[] = [
  { name: 'Supermarkt Frisch GmbH', country: 'DE', bank: '37040044' },
  { name: 'Stadtwerke Energie AG', country: 'DE', bank: '50010517' },
  { name: 'Café Morgenrot', country: 'DE', bank: '10010010' },
  { name: 'Bahn Reisen GmbH', country: 'DE', bank: '70020270' },
  { name: 'Bokhandeln AB', country: 'SE', bank: '500' },
  { name: 'Apotek Hjärtat AB', country: 'SE', bank: '800' },
  { name: 'Online Shop Europe SARL', country: 'DE', bank: '60050101' },
  { name: 'Fitness Studio Kraft', country: 'DE', bank: '20030000' },
  { name: 'Mobilfunk Netz AG', country: 'DE', bank: '30020900' },
  { name: 'Hyresvärden Fastighets AB', country: 'SE', bank: '600' },
  { name: 'Employer Solutions GmbH', country: 'DE', bank: '25050180' },
  { name: 'Freund Paul Becker', country: 'DE', bank: '43060967' },
].map((cp, i) => ({
  name: cp.name,
  iban:
    cp.country === 'DE'
      ? ibanOf('DE', `${cp.bank}${String(4_711_000_000 + i * 7919)}`)
      : ibanOf('SE', `${cp.bank}${String(12_345_678_901_234_567n + BigInt(i) * 1009n).padStart(17, '0')}`),
}));

const DEBIT_REMITTANCES = ['Card payment', 'Groceries', 'Monthly subscription', 'Electricity bill', 'Train ticket', 'Online order', 'Coffee', 'Phone bill', 'Rent'];
const CREDIT_REMITTANCES = ['Salary', 'Refund', 'Transfer from savings', 'Split bill', 'Interest', 'Reimbursement'];

// ── days ───────────────────────────────────────────────────────────────────

export function dayOf(epochMs: number): number {
  return Math.floor(epochMs / MS_PER_DAY);
}

export function isoDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` that is a real calendar date, else undefined. */
export function parseIsoDate(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms) || isoDate(dayOf(ms)) !== value) return undefined;
  return dayOf(ms);
}

function compactDate(day: number): string {
  return isoDate(day).replace(/-/g, '');
}

// ── generation ─────────────────────────────────────────────────────────────

/** FNV-1a, then mulberry32: cheap, seedable, good enough for fixtures. */
function seededRandom(seed: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let state = h >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function entriesOfDay(account: SandboxAccount, day: number, pending: boolean): LedgerEntry[] {
  const random = seededRandom(`${account.resourceId}|${day}|${pending ? 'P' : 'B'}`);
  const count = pending ? PENDING_PER_ACCOUNT : MIN_PER_DAY + Math.floor(random() * EXTRA_PER_DAY);
  const entries: LedgerEntry[] = [];
  for (let seq = 1; seq <= count; seq++) {
    // Roughly balanced: 70% debits of 1.00–80.00, 30% credits of 10.00–180.00 (scaled per currency).
    const credit = !pending && random() < 0.3;
    const units = credit ? 1_000 + Math.floor(random() * 17_000) : 100 + Math.floor(random() * 7_900);
    const amountMinor = (credit ? 1 : -1) * units * account.amountScale;
    entries.push({
      day,
      seq,
      pending,
      amountMinor,
      counterparty: Math.floor(random() * COUNTERPARTIES.length),
      remittance: Math.floor(random() * (credit ? CREDIT_REMITTANCES.length : DEBIT_REMITTANCES.length)),
    });
  }
  return entries;
}

const ledgers = new Map<string, Ledger>();

/** The account as of bank day `today`; cached (LRU) because a full history is ~5,800 entries. */
export function ledgerOf(account: SandboxAccount, today: number, external?: ExternalBookings): Ledger {
  const key = `${account.psuId}|${account.resourceId}|${today}|${external?.version ?? 0}`;
  const cached = ledgers.get(key);
  if (cached) {
    ledgers.delete(key);
    ledgers.set(key, cached);
    return cached;
  }
  const booked: LedgerEntry[] = [];
  const externalByDay = new Map<number, LedgerEntry[]>();
  for (const booking of external?.bookings ?? []) {
    if (booking.day > today) continue;
    const list = externalByDay.get(booking.day) ?? [];
    list.push({ day: booking.day, seq: EXTERNAL_SEQ_BASE + list.length, pending: booking.day === today, amountMinor: booking.amountMinor, counterparty: 0, remittance: 0, external: booking });
    externalByDay.set(booking.day, list);
  }
  let closing = account.openingMinor;
  for (let day = today - HISTORY_DAYS; day < today; day++) {
    for (const entry of [...entriesOfDay(account, day, false), ...(externalByDay.get(day) ?? [])]) {
      booked.push(entry);
      closing += BigInt(entry.amountMinor);
    }
  }
  const pending = [...entriesOfDay(account, today, true), ...(externalByDay.get(today) ?? [])];
  let pendingMinor = 0n;
  let pendingDebitsMinor = 0n;
  for (const entry of pending) {
    pendingMinor += BigInt(entry.amountMinor);
    if (entry.amountMinor < 0) pendingDebitsMinor += BigInt(entry.amountMinor);
  }
  const ledger: Ledger = { account, today, booked, pending, closingBookedMinor: closing, pendingMinor, pendingDebitsMinor };
  ledgers.set(key, ledger);
  if (ledgers.size > LEDGER_CACHE_SIZE) ledgers.delete(ledgers.keys().next().value!);
  return ledger;
}

/** @internal for tests and measurements. */
export function clearLedgerCache(): void {
  ledgers.clear();
}

// ── balances ───────────────────────────────────────────────────────────────

/**
 * closingBooked: every booked entry up to yesterday; expected: plus all pending entries;
 * interimAvailable: closingBooked minus pending debits (pending credits are not available yet).
 */
export function balancesOf(ledger: Ledger): Balance[] {
  const { currency } = ledger.account;
  const yesterday = isoDate(ledger.today - 1);
  const today = isoDate(ledger.today);
  const amount = (minor: bigint) => ({ currency, amount: formatMinor(minor, currency) });
  const last = ledger.booked[ledger.booked.length - 1];
  return [
    {
      balanceType: 'closingBooked',
      balanceAmount: amount(ledger.closingBookedMinor),
      referenceDate: yesterday,
      ...(last ? { lastCommittedTransaction: entryReferenceOf(last) } : {}),
    },
    { balanceType: 'expected', balanceAmount: amount(ledger.closingBookedMinor + ledger.pendingMinor), referenceDate: today },
    {
      balanceType: 'interimAvailable',
      balanceAmount: amount(ledger.closingBookedMinor + ledger.pendingDebitsMinor),
      referenceDate: today,
    },
  ] as Balance[];
}

// ── identifiers ────────────────────────────────────────────────────────────

/** `YYYYMMDD` + 3-digit sequence: unique per account and sortable in booking order. */
export function entryReferenceOf(entry: LedgerEntry): string {
  return `${compactDate(entry.day)}${String(entry.seq).padStart(3, '0')}`;
}

/** Booked `B-<entryReference>`, pending `P-<YYYYMMDD><seq>`: the id says where to regenerate it from. */
export function transactionIdOf(entry: LedgerEntry): string {
  return `${entry.pending ? 'P' : 'B'}-${entryReferenceOf(entry)}`;
}

/** Position (day, seq) an entry reference or transaction id names, if well-formed. */
function parseReference(reference: string): { day: number; seq: number } | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{3})$/.exec(reference);
  if (!match) return undefined;
  const day = parseIsoDate(`${match[1]}-${match[2]}-${match[3]}`);
  return day === undefined ? undefined : { day, seq: Number(match[4]) };
}

export function isEntryReference(value: string): boolean {
  return parseReference(value) !== undefined;
}

/** A single booked or pending entry by transaction id, as of `today`. */
export function findEntry(ledger: Ledger, transactionId: string): LedgerEntry | undefined {
  const match = /^([BP])-(\d{11})$/.exec(transactionId);
  const position = match && parseReference(match[2]);
  if (!match || !position) return undefined;
  const list = match[1] === 'P' ? ledger.pending : ledger.booked;
  const index = lowerBound(list, position.day, position.seq);
  const entry = list[index];
  return entry && entry.day === position.day && entry.seq === position.seq ? entry : undefined;
}

/** First index whose (day, seq) is ≥ the given one. */
function lowerBound(list: LedgerEntry[], day: number, seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid];
    if (e.day < day || (e.day === day && e.seq < seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ── queries ────────────────────────────────────────────────────────────────

export interface ResolvedTransactionQuery {
  bookingStatus: 'booked' | 'pending' | 'both';
  /** Inclusive bank days; ignored when `afterReference` is set (a delta report). */
  dateFrom?: number;
  dateTo?: number;
  /** Booked entries strictly after this entry reference; '' = from the start of the history. */
  afterReference?: string;
}

/** Booked entries matching the query, oldest first. */
export function selectBooked(ledger: Ledger, query: ResolvedTransactionQuery): LedgerEntry[] {
  if (query.bookingStatus === 'pending') return [];
  if (query.afterReference !== undefined) {
    if (query.afterReference === '') return ledger.booked;
    const position = parseReference(query.afterReference)!;
    return ledger.booked.slice(lowerBound(ledger.booked, position.day, position.seq + 1));
  }
  const from = lowerBound(ledger.booked, query.dateFrom ?? -Infinity, 0);
  const to = lowerBound(ledger.booked, (query.dateTo ?? Infinity) + 1, 0);
  return ledger.booked.slice(from, to);
}

/** Pending entries are dated today: shown unless the period ends before today. */
export function selectPending(ledger: Ledger, query: ResolvedTransactionQuery): LedgerEntry[] {
  if (query.bookingStatus === 'booked') return [];
  if (query.afterReference === undefined && query.dateTo !== undefined && query.dateTo < ledger.today) return [];
  return ledger.pending;
}

// ── JSON ───────────────────────────────────────────────────────────────────

/** BG `transactions`: debits name the counterparty as creditor, credits as debtor. */
export function transactionJson(ledger: Ledger, entry: LedgerEntry): Record<string, unknown> {
  const { account } = ledger;
  const counterparty = entry.external
    ? { name: entry.external.creditorName, iban: entry.external.creditorIban }
    : COUNTERPARTIES[entry.counterparty];
  const debit = entry.amountMinor < 0;
  const own = { name: account.ownerName, account: { iban: account.iban } };
  const other = { name: counterparty.name, account: { iban: counterparty.iban } };
  const creditor = debit ? other : own;
  const debtor = debit ? own : other;
  const date = isoDate(entry.day);
  return {
    transactionId: transactionIdOf(entry),
    ...(entry.pending ? {} : { entryReference: entryReferenceOf(entry), bookingDate: date }),
    valueDate: date,
    transactionAmount: { currency: account.currency, amount: formatMinor(BigInt(entry.amountMinor), account.currency) },
    creditorName: creditor.name,
    creditorAccount: creditor.account,
    debtorName: debtor.name,
    debtorAccount: debtor.account,
    ...(entry.external?.endToEndId ? { endToEndId: entry.external.endToEndId } : {}),
    remittanceInformationUnstructured: entry.external
      ? (entry.external.remittance ?? '')
      : `${(debit ? DEBIT_REMITTANCES : CREDIT_REMITTANCES)[entry.remittance]} ${entryReferenceOf(entry)}`,
  };
}
