/**
 * Account-information consents, in Berlin Group terms (also our public API's).
 */
import type { AccountReference, Amount } from './payment';

export const CONSENT_STATUSES = [
  'received',
  'rejected',
  'valid',
  'revokedByPsu',
  'expired',
  'terminatedByTpp',
  'partiallyAuthorised',
] as const;

export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/** A consent in one of these is over: no read is allowed and nothing brings it back. */
export const FINAL_CONSENT_STATUSES: ReadonlySet<ConsentStatus> = new Set(['rejected', 'revokedByPsu', 'expired', 'terminatedByTpp']);

export interface BankConsentStatus {
  raw: string;
  normalised: ConsentStatus;
}

/** BG `accountAccess`: per-account lists, or one of the two "all accounts" forms. */
export interface AccountAccess {
  accounts?: AccountReference[];
  balances?: AccountReference[];
  transactions?: AccountReference[];
  availableAccounts?: 'allAccounts' | 'allAccountsWithOwnerName';
  availableAccountsWithBalance?: 'allAccounts' | 'allAccountsWithOwnerName';
  allPsd2?: 'allAccounts' | 'allAccountsWithOwnerName';
}

export interface ConsentRequest {
  access: AccountAccess;
  recurringIndicator: boolean;
  /** ISO date. `9999-12-31` asks for the longest validity the bank allows. */
  validUntil: string;
  frequencyPerDay: number;
  combinedServiceIndicator: boolean;
}

/** The AIS endpoints a consent can grant, as counted for frequencyPerDay. */
export type AisEndpoint = 'accounts' | 'account' | 'balances' | 'transactions' | 'transaction';

export type BookingStatus = 'booked' | 'pending' | 'both' | 'information';

export type BalanceType = 'closingBooked' | 'expected' | 'openingBooked' | 'interimAvailable' | 'interimBooked' | 'forwardAvailable' | 'nonInvoiced';

export interface Balance {
  balanceAmount: Amount;
  balanceType: BalanceType;
  referenceDate?: string;
  lastChangeDateTime?: string;
  creditLimitIncluded?: boolean;
}
