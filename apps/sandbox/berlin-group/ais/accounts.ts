/**
 * Deterministic PSU fixtures: every PSU id owns the same four accounts every time (EUR current,
 * EUR savings, SEK current, USD current), with valid IBANs and `resourceId`s derived from the PSU id
 * and the account's index, so two PSU ids never see each other's accounts.
 */
import { createHash } from 'node:crypto';
import { ibanFromBban, isValidIban } from '../../../../libs/domain/iban';

/** The PSU a consent belongs to when the TPP sent no `PSU-ID`. */
export const DEFAULT_PSU_ID = 'sandbox-psu';
export const SANDBOX_BIC = 'CLWYDEFFXXX';

export interface SandboxAccount {
  resourceId: string;
  psuId: string;
  index: number;
  iban: string;
  currency: string;
  name: string;
  product: string;
  cashAccountType: 'CACC' | 'SVGS';
  ownerName: string;
  /** Balance before the oldest transaction the bank keeps, in minor units. */
  openingMinor: bigint;
  /** Multiplies generated amounts so SEK figures look like SEK. */
  amountScale: number;
}

interface AccountTemplate {
  country: 'DE' | 'SE';
  currency: string;
  name: string;
  product: string;
  cashAccountType: 'CACC' | 'SVGS';
  openingMinor: bigint;
  amountScale: number;
}

const TEMPLATES: readonly AccountTemplate[] = [
  { country: 'DE', currency: 'EUR', name: 'Main account', product: 'Girokonto', cashAccountType: 'CACC', openingMinor: 250_000n, amountScale: 1 },
  { country: 'DE', currency: 'EUR', name: 'Savings', product: 'Tagesgeld', cashAccountType: 'SVGS', openingMinor: 1_200_000n, amountScale: 1 },
  { country: 'SE', currency: 'SEK', name: 'Swedish account', product: 'Privatkonto', cashAccountType: 'CACC', openingMinor: 3_000_000n, amountScale: 10 },
  { country: 'DE', currency: 'USD', name: 'USD account', product: 'Fremdwährungskonto', cashAccountType: 'CACC', openingMinor: 400_000n, amountScale: 1 },
];

const OWNER_NAMES = ['Anna Schmidt', 'Lars Svensson', 'Marie Dubois', 'Jan de Vries', 'Giulia Rossi', 'Piotr Nowak', 'Emma Müller', 'Sofia García'];

const cache = new Map<string, readonly SandboxAccount[]>();

/** The accounts of a PSU, always the same ones for the same PSU id. */
export function accountsOf(psuId: string): readonly SandboxAccount[] {
  let accounts = cache.get(psuId);
  if (!accounts) {
    accounts = buildAccounts(psuId);
    // PSU ids come from request headers: bound the cache so a client cannot grow it forever.
    if (cache.size >= 1000) cache.clear();
    cache.set(psuId, accounts);
  }
  return accounts;
}

export function findAccount(psuId: string, resourceId: string): SandboxAccount | undefined {
  return accountsOf(psuId).find((account) => account.resourceId === resourceId);
}

function buildAccounts(psuId: string): SandboxAccount[] {
  const hash = createHash('sha256').update(psuId).digest();
  const tag = hash.subarray(0, 6).toString('hex');
  // Decimal digits from the hash for account numbers.
  const digits = BigInt(`0x${hash.subarray(6, 20).toString('hex')}`).toString().padStart(20, '0');
  const ownerName = OWNER_NAMES[hash[31] % OWNER_NAMES.length];
  return TEMPLATES.map((template, index) => {
    const accountNumber = `${digits.slice(0, 8)}${String(index).padStart(2, '0')}`;
    const bban = template.country === 'DE' ? `10020030${accountNumber}` : `500${digits.slice(8, 15)}${accountNumber}`;
    const iban = ibanOf(template.country, bban);
    if (!isValidIban(iban)) throw new Error(`generated an invalid IBAN for ${psuId}/${index}`);
    return {
      resourceId: `acc-${tag}-${index}`,
      psuId,
      index,
      iban,
      currency: template.currency,
      name: template.name,
      product: template.product,
      cashAccountType: template.cashAccountType,
      ownerName,
      openingMinor: template.openingMinor,
      amountScale: template.amountScale,
    };
  });
}

/** The IBAN for a BBAN, check digits computed by the one rule in `libs/domain/iban.ts`. */
export const ibanOf = ibanFromBban;
