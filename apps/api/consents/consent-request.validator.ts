import { isIsoCurrency } from '../../../libs/domain/currency';
import type { AccountAccess, ConsentRequest } from '../../../libs/domain/consent';
import { isValidIban } from '../../../libs/domain/iban';
import type { AccountReference } from '../../../libs/domain/payment';
import type { ConsentGrants } from '../../../workflows/consent.api';
import { ApiError, ApiErrorCode } from '../common/api-error';

const ACCESS_LISTS = ['accounts', 'balances', 'transactions'] as const;
const ACCESS_ALL = ['availableAccounts', 'availableAccountsWithBalance', 'allPsd2'] as const;
const ALL_VALUES = new Set(['allAccounts', 'allAccountsWithOwnerName']);
const TOP_LEVEL = new Set(['access', 'recurringIndicator', 'validUntil', 'frequencyPerDay', 'combinedServiceIndicator']);

/** BG's "as long as the bank allows". */
export const MAX_VALID_UNTIL = '9999-12-31';

/**
 * Validates a consent request (BG `consents`) and returns it normalised. Throws a 400 naming the
 * field; nothing is stored before this passes.
 */
export function validateConsentRequest(raw: unknown, today: string): ConsentRequest {
  if (!isObject(raw)) throw ApiError.format('body', 'must be a JSON object');
  for (const key of Object.keys(raw)) if (!TOP_LEVEL.has(key)) throw ApiError.format(key, 'unknown field');

  const access = validateAccess(raw.access);
  if (typeof raw.recurringIndicator !== 'boolean') throw ApiError.format('recurringIndicator', 'is required (true or false)');
  if (typeof raw.combinedServiceIndicator !== 'boolean') throw ApiError.format('combinedServiceIndicator', 'is required (true or false)');

  const validUntil = raw.validUntil;
  if (typeof validUntil !== 'string' || !isIsoDate(validUntil)) throw ApiError.format('validUntil', 'must be an ISO date (YYYY-MM-DD)');
  if (validUntil < today) throw ApiError.format('validUntil', `is in the past (today is ${today})`);

  const frequency = raw.frequencyPerDay;
  if (typeof frequency !== 'number' || !Number.isInteger(frequency) || frequency < 1) {
    throw ApiError.format('frequencyPerDay', 'must be an integer of at least 1');
  }
  if (!raw.recurringIndicator && frequency !== 1) {
    throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'frequencyPerDay: must be 1 for a one-off consent (recurringIndicator false)', 'frequencyPerDay');
  }
  return { access, recurringIndicator: raw.recurringIndicator, validUntil, frequencyPerDay: frequency, combinedServiceIndicator: raw.combinedServiceIndicator };
}

function validateAccess(raw: unknown): AccountAccess {
  if (!isObject(raw)) throw ApiError.format('access', 'is required: { "accounts": [...], "balances": [...], "transactions": [...] } or { "allPsd2": "allAccounts" }');
  const access: AccountAccess = {};
  for (const key of Object.keys(raw)) {
    if (!(ACCESS_LISTS as readonly string[]).includes(key) && !(ACCESS_ALL as readonly string[]).includes(key)) {
      throw ApiError.format(`access.${key}`, `unknown access key; allowed: ${[...ACCESS_LISTS, ...ACCESS_ALL].join(', ')}`);
    }
  }
  for (const key of ACCESS_LISTS) {
    const list = raw[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw ApiError.format(`access.${key}`, 'must be an array of account references');
    access[key] = list.map((ref, i) => accountReference(`access.${key}[${i}]`, ref));
  }
  for (const key of ACCESS_ALL) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !ALL_VALUES.has(value)) throw ApiError.format(`access.${key}`, 'must be "allAccounts" or "allAccountsWithOwnerName"');
    access[key] = value as 'allAccounts' | 'allAccountsWithOwnerName';
  }
  const lists = ACCESS_LISTS.filter((k) => access[k]?.length);
  const alls = ACCESS_ALL.filter((k) => access[k]);
  if (!lists.length && !alls.length) throw ApiError.format('access', 'asks for nothing');
  if (lists.length && alls.length) {
    throw new ApiError(ApiErrorCode.ParameterNotConsistent, `access: ${alls[0]} cannot be combined with account lists`, 'access');
  }
  return access;
}

/** Which endpoints a consent opens, without any account identifiers (those stay out of workflow history). */
export function grantsOf(access: AccountAccess): ConsentGrants {
  return {
    accounts: Boolean(access.accounts?.length || access.availableAccounts || access.availableAccountsWithBalance || access.allPsd2),
    balances: Boolean(access.balances?.length || access.availableAccountsWithBalance || access.allPsd2),
    transactions: Boolean(access.transactions?.length || access.allPsd2),
  };
}

function accountReference(path: string, raw: unknown): AccountReference {
  if (!isObject(raw)) throw ApiError.format(path, 'must be an account reference { "iban": "..." }');
  for (const key of Object.keys(raw)) if (key !== 'iban' && key !== 'currency') throw ApiError.format(`${path}.${key}`, 'only iban and currency are supported');
  if (typeof raw.iban !== 'string' || !isValidIban(raw.iban)) throw ApiError.format(`${path}.iban`, 'is not a valid IBAN (checksum, length or format)');
  const ref: AccountReference = { iban: raw.iban };
  if (raw.currency !== undefined) {
    if (!isIsoCurrency(raw.currency)) throw ApiError.format(`${path}.currency`, 'must be an ISO 4217 currency code');
    ref.currency = raw.currency;
  }
  return ref;
}

export function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
