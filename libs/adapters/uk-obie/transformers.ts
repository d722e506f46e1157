/**
 * OBIE Read/Write 3.1.x shapes and the exhaustive status maps. Anything unknown maps to pending,
 * never to success, and the raw value is kept beside it.
 */
import { BankError } from '../bank-adapter';
import type { Balance, BankConsentStatus, ConsentRequest } from '../../domain/consent';
import type { AccountReference, PaymentInitiationBody } from '../../domain/payment';
import type { BankScaStatus, BankTransactionStatus, ScaStatus, TransactionStatus } from '../../domain/transaction-status';
import type { ConsentStatus } from '../../domain/consent';

export const OBIE_PAYMENT_STATUSES = [
  'Pending',
  'AcceptedSettlementInProcess',
  'AcceptedSettlementCompleted',
  'AcceptedCreditSettlementCompleted',
  'AcceptedWithoutPosting',
  'Rejected',
] as const;
export type ObiePaymentStatus = (typeof OBIE_PAYMENT_STATUSES)[number];

export const OBIE_PAYMENT_CONSENT_STATUSES = ['AwaitingAuthorisation', 'Authorised', 'Consumed', 'Rejected'] as const;
export const OBIE_ACCOUNT_CONSENT_STATUSES = ['AwaitingAuthorisation', 'Authorised', 'Rejected', 'Revoked'] as const;
/** Payment consents and account-access consents together (3.1.x). */
export const OBIE_CONSENT_STATUSES = ['AwaitingAuthorisation', 'Authorised', 'Consumed', 'Rejected', 'Revoked'] as const;
export type ObieConsentStatus = (typeof OBIE_CONSENT_STATUSES)[number];

export const PAYMENT_STATUS_MAP: Record<ObiePaymentStatus, TransactionStatus> = {
  Pending: 'PDNG',
  AcceptedSettlementInProcess: 'ACSP',
  AcceptedSettlementCompleted: 'ACSC',
  AcceptedCreditSettlementCompleted: 'ACCC',
  AcceptedWithoutPosting: 'ACWP',
  Rejected: 'RJCT',
};

/** A payment consent before the payment exists, as a transaction status: not yet authorised is received. */
export const PAYMENT_CONSENT_AS_TRANSACTION: Record<ObieConsentStatus, TransactionStatus> = {
  AwaitingAuthorisation: 'RCVD',
  Authorised: 'RCVD',
  // The payment was submitted: its own status says more, this only says it exists.
  Consumed: 'ACTC',
  Rejected: 'RJCT',
  Revoked: 'RJCT',
};

/**
 * The consent as an SCA status. `Authorised` is not final for Clearway: the PSU's code is needed
 * to submit the payment (or read accounts), so SCA is over only once it was redeemed.
 */
export const CONSENT_AS_SCA: Record<ObieConsentStatus, ScaStatus> = {
  AwaitingAuthorisation: 'started',
  Authorised: 'psuAuthenticated',
  Consumed: 'finalised',
  Rejected: 'failed',
  Revoked: 'failed',
};

export const ACCOUNT_CONSENT_MAP: Record<ObieConsentStatus, ConsentStatus> = {
  AwaitingAuthorisation: 'received',
  Authorised: 'valid',
  // Account-access consents are never consumed; should a bank say so, it is no longer usable.
  Consumed: 'expired',
  Rejected: 'rejected',
  Revoked: 'revokedByPsu',
};

const has = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);

export function toTransactionStatus(raw: unknown): BankTransactionStatus {
  return { raw: String(raw), normalised: has(OBIE_PAYMENT_STATUSES, raw) ? PAYMENT_STATUS_MAP[raw] : 'PDNG' };
}

export function paymentConsentToTransactionStatus(raw: unknown): BankTransactionStatus {
  return { raw: String(raw), normalised: has(OBIE_CONSENT_STATUSES, raw) ? PAYMENT_CONSENT_AS_TRANSACTION[raw] : 'RCVD' };
}

export function toScaStatus(raw: unknown): BankScaStatus {
  return { raw: String(raw), normalised: has(OBIE_CONSENT_STATUSES, raw) ? CONSENT_AS_SCA[raw] : 'started' };
}

export function toConsentStatus(raw: unknown): BankConsentStatus {
  return { raw: String(raw), normalised: has(OBIE_CONSENT_STATUSES, raw) ? ACCOUNT_CONSENT_MAP[raw] : 'received' };
}

/** OBIE account identification for a Clearway account reference: IBAN, or UK sort code + account number as `bban`. */
export function toObieAccount(ref: AccountReference, name?: string): { SchemeName: string; Identification: string; Name?: string } {
  const base = ref.iban ? { SchemeName: 'UK.OBIE.IBAN', Identification: ref.iban } : { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: ref.bban ?? '' };
  return name ? { ...base, Name: name } : base;
}

/** The `Initiation` of a domestic payment consent. `instructionId` is ours, ≤ 35 characters. */
export function toDomesticInitiation(p: PaymentInitiationBody, instructionId: string): Record<string, unknown> {
  const remittance = p.remittanceInformationUnstructured;
  return {
    InstructionIdentification: instructionId,
    EndToEndIdentification: p.endToEndIdentification ?? instructionId,
    InstructedAmount: { Amount: p.instructedAmount.amount, Currency: p.instructedAmount.currency },
    ...(p.debtorAccount && (p.debtorAccount.iban || p.debtorAccount.bban) ? { DebtorAccount: toObieAccount(p.debtorAccount) } : {}),
    CreditorAccount: toObieAccount(p.creditorAccount, p.creditorName),
    // Reference is what the creditor sees (≤ 35); the bank may require it.
    ...(remittance ? { RemittanceInformation: { Reference: remittance.slice(0, 35), Unstructured: remittance } } : {}),
  };
}

/** A refusal of something the Clearway body asks that an OBIE bank cannot take (`path`: the Clearway field). */
function unsupported(path: string, text: string): BankError {
  return new BankError('rejected', `UK Open Banking: ${path}: ${text}`, { httpStatus: 400, messages: [{ category: 'ERROR', code: 'FORMAT_ERROR', path, text }] });
}

/**
 * The `Initiation` of an international payment consent (OBIE 3.1.11 `OBWriteInternationalConsent5`).
 * The OPE 1.3.3 body carries no currency of transfer, charge bearer or exchange-rate contract
 * (`chargeBearer`, `exchangeRateInformation` are commented out of `paymentInitiation_json`, and
 * Clearway refuses unknown fields): the currency of transfer is the creditor account's currency,
 * else the instructed one; charges and the rate are the bank's to quote (its consent answer
 * carries `ExchangeRateInformation`). A requested execution date would be an international
 * *scheduled* payment, which Clearway does not offer at UK banks: refused naming the field.
 */
export function toInternationalInitiation(p: PaymentInitiationBody, instructionId: string): Record<string, unknown> {
  if (p.requestedExecutionDate) throw unsupported('requestedExecutionDate', 'UK international payments execute immediately; scheduled international payments are not offered');
  const creditor = p.creditorAccount;
  if (!creditor.iban && !creditor.bban) throw unsupported('creditorAccount', 'an international payment needs the creditor\'s iban or bban');
  if (creditor.bban && !creditor.iban && !p.creditorAgent) throw unsupported('creditorAgent', 'a creditor account given as bban needs the creditor agent\'s BIC');
  const remittance = p.remittanceInformationUnstructured;
  const address = p.creditorAddress;
  return {
    InstructionIdentification: instructionId,
    EndToEndIdentification: p.endToEndIdentification ?? instructionId,
    CurrencyOfTransfer: creditor.currency ?? p.instructedAmount.currency,
    InstructedAmount: { Amount: p.instructedAmount.amount, Currency: p.instructedAmount.currency },
    ...(p.debtorAccount && (p.debtorAccount.iban || p.debtorAccount.bban) ? { DebtorAccount: toObieAccount(p.debtorAccount) } : {}),
    ...(address
      ? {
          Creditor: {
            Name: p.creditorName,
            PostalAddress: {
              ...(address.streetName ? { StreetName: address.streetName } : {}),
              ...(address.buildingNumber ? { BuildingNumber: address.buildingNumber } : {}),
              ...(address.postCode ? { PostCode: address.postCode } : {}),
              ...(address.townName ? { TownName: address.townName } : {}),
              Country: address.country,
            },
          },
        }
      : {}),
    ...(p.creditorAgent ? { CreditorAgent: { SchemeName: 'UK.OBIE.BICFI', Identification: p.creditorAgent } } : {}),
    CreditorAccount: creditor.iban
      ? { SchemeName: 'UK.OBIE.IBAN', Identification: creditor.iban, Name: p.creditorName }
      : { SchemeName: 'UK.OBIE.BBAN', Identification: creditor.bban, Name: p.creditorName },
    ...(remittance ? { RemittanceInformation: { Reference: remittance.slice(0, 35), Unstructured: remittance } } : {}),
  };
}

/** OBIE field paths in a bank's error → the Clearway (Berlin Group) field the client sent. */
const FIELD_OF_PATH: [RegExp, string][] = [
  [/RemittanceInformation/, 'remittanceInformationUnstructured'],
  [/CreditorAccount\.Name/, 'creditorName'],
  [/CreditorAccount/, 'creditorAccount'],
  [/CreditorAgent/, 'creditorAgent'],
  [/Creditor\.PostalAddress|CreditorPostalAddress/, 'creditorAddress'],
  [/Creditor\.Name/, 'creditorName'],
  // The currency of transfer is the creditor account's currency (else the instructed one).
  [/CurrencyOfTransfer/, 'creditorAccount.currency'],
  [/DebtorAccount/, 'debtorAccount'],
  [/InstructedAmount\.Currency/, 'instructedAmount.currency'],
  [/InstructedAmount/, 'instructedAmount.amount'],
  [/EndToEndIdentification/, 'endToEndIdentification'],
  [/Permissions|ExpirationDateTime/, 'access'],
];

export function clearwayFieldOf(obiePath: string | undefined): string | undefined {
  if (!obiePath) return undefined;
  return FIELD_OF_PATH.find(([re]) => re.test(obiePath))?.[1];
}

/** BG access → OBIE permissions. Account-level scoping is the PSU's choice on the bank's page. */
export function toPermissions(consent: ConsentRequest): string[] {
  const a = consent.access;
  const all = a.allPsd2 !== undefined;
  const balances = all || a.availableAccountsWithBalance !== undefined || Boolean(a.balances?.length);
  const transactions = all || Boolean(a.transactions?.length);
  return [
    'ReadAccountsDetail',
    ...(balances ? ['ReadBalances'] : []),
    ...(transactions ? ['ReadTransactionsDetail', 'ReadTransactionsCredits', 'ReadTransactionsDebits'] : []),
  ];
}

/** Minor-unit safe: OBIE amounts are unsigned decimal strings with an indicator. */
export function signedAmount(amount: string, indicator: unknown): string {
  return indicator === 'Debit' && !/^0+(\.0+)?$/.test(amount) ? `-${amount}` : amount;
}

const BALANCE_TYPES: Record<string, Balance['balanceType']> = {
  ClosingBooked: 'closingBooked',
  OpeningBooked: 'openingBooked',
  InterimAvailable: 'interimAvailable',
  InterimBooked: 'interimBooked',
  Expected: 'expected',
  ForwardAvailable: 'forwardAvailable',
  ClosingAvailable: 'interimAvailable',
  OpeningAvailable: 'interimAvailable',
  InterimCleared: 'interimBooked',
  ClosingCleared: 'closingBooked',
  OpeningCleared: 'openingBooked',
  PreviouslyClosedBooked: 'closingBooked',
  Information: 'nonInvoiced',
};

export function toBalance(b: any): Balance {
  return {
    balanceAmount: { currency: b.Amount?.Currency, amount: signedAmount(String(b.Amount?.Amount), b.CreditDebitIndicator) },
    balanceType: BALANCE_TYPES[b.Type] ?? 'expected',
    ...(typeof b.DateTime === 'string' ? { lastChangeDateTime: b.DateTime, referenceDate: b.DateTime.slice(0, 10) } : {}),
  };
}

/** An OBIE account as Berlin Group `accountDetails`. */
export function toAccountDetails(a: any): Record<string, unknown> {
  const ids: any[] = Array.isArray(a.Account) ? a.Account : [];
  const iban = ids.find((x) => x.SchemeName === 'UK.OBIE.IBAN' || x.SchemeName === 'IBAN')?.Identification;
  const scan = ids.find((x) => x.SchemeName === 'UK.OBIE.SortCodeAccountNumber' || x.SchemeName === 'SortCodeAccountNumber')?.Identification;
  return {
    resourceId: a.AccountId,
    ...(iban ? { iban } : {}),
    ...(scan ? { bban: scan } : {}),
    currency: a.Currency,
    ...(a.Nickname ? { name: a.Nickname } : {}),
    ...(a.AccountSubType ? { product: a.AccountSubType } : {}),
    cashAccountType: a.AccountSubType === 'Savings' ? 'SVGS' : 'CACC',
    status: 'enabled',
  };
}

/** An OBIE transaction as Berlin Group `transactionDetails`. */
export function toTransactionDetails(t: any): Record<string, unknown> {
  const debit = t.CreditDebitIndicator === 'Debit';
  const counterparty = debit ? t.CreditorAccount?.Name : t.DebtorAccount?.Name;
  return {
    transactionId: t.TransactionId,
    ...(t.BookingDateTime ? { bookingDate: String(t.BookingDateTime).slice(0, 10) } : {}),
    ...(t.ValueDateTime ? { valueDate: String(t.ValueDateTime).slice(0, 10) } : {}),
    transactionAmount: { currency: t.Amount?.Currency, amount: signedAmount(String(t.Amount?.Amount), t.CreditDebitIndicator) },
    ...(counterparty ? (debit ? { creditorName: counterparty } : { debtorName: counterparty }) : {}),
    ...(t.TransactionInformation ? { remittanceInformationUnstructured: t.TransactionInformation } : {}),
  };
}
