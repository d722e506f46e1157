import { jsonProductOf, type BulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { isIsoCurrency } from '../../../libs/domain/currency';
import { isValidIban } from '../../../libs/domain/iban';
import type { Pain001PaymentInformation, Pain001Transaction } from '../../../libs/iso20022/pain001';
import { readPain001 } from '../../../libs/iso20022/pain001-reader';
import type { NewBulkTransaction } from '../../../libs/persistence/bulk-payment.repository';
import { ApiError, ApiErrorCode, type TppMessage } from '../common/api-error';
import { validatePaymentInitiation } from './payment-request.validator';

/** A bank takes at most this many transactions in one bulk; larger files go through a batch. */
export const MAX_BULK_TRANSACTIONS = 100_000;
/** tppMessages listed for one bad request (the rest are summed up in the last one). */
const MAX_MESSAGES = 50;

const BULK_FIELDS = new Set(['batchBookingPreferred', 'debtorAccount', 'requestedExecutionDate', 'requestedExecutionTime', 'payments']);
const NOT_PER_ENTRY = ['debtorAccount', 'requestedExecutionDate', 'requestedExecutionTime'];

/** What a valid bulk request says, ready to store. Amounts are the strings as sent. */
export interface ValidatedBulk {
  debtorIban: string;
  debtorCurrency: string | null;
  debtorName: string | null;
  requestedExecutionDate: string | null;
  batchBookingPreferred: boolean | null;
  currency: string;
  controlSum: string;
  msgId: string | null;
  msgNameId: string | null;
  pmtInfId: string | null;
  transactions: NewBulkTransaction[];
}

/** Several problems in one 400: the first one names the field, as everywhere, the others follow. */
function invalid(messages: TppMessage[]): ApiError {
  const [first, ...rest] = messages;
  const more = rest.slice(0, MAX_MESSAGES - 1);
  return new ApiError(ApiErrorCode.FormatError, first!.text!.replace(/^[^:]*: /, `${first!.path}: `), first!.path, more);
}

const problem = (path: string, text: string): TppMessage => ({ category: 'ERROR', code: ApiErrorCode.FormatError, path, text: `${path}: ${text}` });

/**
 * `bulkPaymentInitiation_json` (OPE/BG): the bulk's own fields, then every entry with the single
 * payment's rules (IBAN checksums, amounts within the currency's decimals, lengths), each problem
 * named by its path (`payments[3].creditorAccount.iban`). Throws before anything is stored.
 */
export function validateBulkPaymentInitiation(product: BulkPaymentProduct, raw: unknown, defaultEndToEndId: (index: number) => string): ValidatedBulk {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw ApiError.format('body', 'must be a JSON object');
  const body = raw as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!BULK_FIELDS.has(key)) throw new ApiError(ApiErrorCode.ParameterNotSupported, `${key}: field is not supported for bulk payments`, key);
  }
  if (body.requestedExecutionTime !== undefined) {
    throw new ApiError(ApiErrorCode.ParameterNotSupported, 'requestedExecutionTime: not supported for SEPA bulk payments', 'requestedExecutionTime');
  }
  if (body.batchBookingPreferred !== undefined && typeof body.batchBookingPreferred !== 'boolean') {
    throw ApiError.format('batchBookingPreferred', 'must be true or false');
  }
  const date = body.requestedExecutionDate;
  if (date !== undefined && (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))) {
    throw ApiError.format('requestedExecutionDate', 'must be an ISO date (YYYY-MM-DD)');
  }
  const debtor = body.debtorAccount as Record<string, unknown> | undefined;
  if (typeof debtor !== 'object' || debtor === null || Array.isArray(debtor)) throw ApiError.format('debtorAccount', 'is required: { "iban": "..." }');
  if (typeof debtor.iban !== 'string') throw ApiError.format('debtorAccount.iban', 'is required');
  if (!isValidIban(debtor.iban)) throw ApiError.format('debtorAccount.iban', 'is not a valid IBAN (checksum, length or format)');
  if (debtor.currency !== undefined && !isIsoCurrency(debtor.currency)) throw ApiError.format('debtorAccount.currency', 'must be an ISO 4217 currency code');
  const payments = body.payments;
  if (!Array.isArray(payments) || payments.length === 0) throw ApiError.format('payments', 'must be a non-empty array');
  if (payments.length > MAX_BULK_TRANSACTIONS) throw ApiError.format('payments', `at most ${MAX_BULK_TRANSACTIONS} entries in one bulk payment`);

  const single = jsonProductOf(product);
  const problems: TppMessage[] = [];
  const transactions: NewBulkTransaction[] = [];
  const endToEndIds = new Map<string, number>();
  let currency: string | undefined;
  for (const [i, entry] of payments.entries()) {
    if (problems.length >= MAX_MESSAGES) break;
    const at = `payments[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(problem(at, 'must be an object'));
      continue;
    }
    const forbidden = NOT_PER_ENTRY.find((f) => (entry as Record<string, unknown>)[f] !== undefined);
    if (forbidden) {
      problems.push(problem(`${at}.${forbidden}`, 'is given once for the whole bulk, not per entry'));
      continue;
    }
    try {
      const { body: p } = validatePaymentInitiation(single, { ...entry, debtorAccount: { iban: debtor.iban } });
      if (currency !== undefined && p.instructedAmount.currency !== currency) {
        problems.push(problem(`${at}.instructedAmount.currency`, `every entry of a bulk payment has the same currency (${currency})`));
        continue;
      }
      currency = p.instructedAmount.currency;
      const e2e = p.endToEndIdentification;
      if (e2e !== undefined) {
        const earlier = endToEndIds.get(e2e);
        if (earlier !== undefined) {
          problems.push(problem(`${at}.endToEndIdentification`, `repeats payments[${earlier}].endToEndIdentification`));
          continue;
        }
        endToEndIds.set(e2e, i);
      }
      transactions.push({
        index: i,
        endToEndId: e2e ?? defaultEndToEndId(i),
        amount: p.instructedAmount.amount,
        currency: p.instructedAmount.currency,
        creditorName: p.creditorName,
        creditorIban: p.creditorAccount.iban!,
        creditorAgent: p.creditorAgent ?? null,
        creditorAddress: p.creditorAddress ?? null,
        remittanceInformationUnstructured: p.remittanceInformationUnstructured ?? null,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const path = err.path ? `${at}.${err.path}` : at;
      problems.push({ category: 'ERROR', code: err.code, path, text: `${at}.${err.message}` });
    }
  }
  if (problems.length) throw invalid(problems);
  return {
    debtorIban: debtor.iban,
    debtorCurrency: (debtor.currency as string | undefined) ?? null,
    debtorName: null,
    requestedExecutionDate: (date as string | undefined) ?? null,
    batchBookingPreferred: (body.batchBookingPreferred as boolean | undefined) ?? null,
    currency: currency!,
    controlSum: sumOf(transactions),
    msgId: null,
    msgNameId: null,
    pmtInfId: null,
    transactions,
  };
}

/**
 * A pain.001.001.03/.09 document for a `pain.001-*` product: streamed and XSD-validated by
 * `readPain001` (control sums, IBANs, BICs, decimals, duplicate EndToEndIds), then one `PmtInf`
 * whose service level matches the product. Problems are named by element path (up to 50).
 */
export async function validatePain001Bulk(product: BulkPaymentProduct, xml: Buffer): Promise<ValidatedBulk> {
  const infos: Pain001PaymentInformation[] = [];
  const transactions: NewBulkTransaction[] = [];
  let msgId: string | undefined;
  const result = await readPain001(xml, {
    groupHeader: (h) => void (msgId = h.msgId),
    paymentInformation: (p) => void infos.push(p),
    transactions: (chunk: Pain001Transaction[]) => {
      if (infos.length !== 1) return; // refused below; do not collect a second PmtInf
      for (const t of chunk) {
        transactions.push({
          index: t.index,
          endToEndId: t.endToEndId,
          instructionId: t.instructionId ?? null,
          amount: t.amount,
          currency: t.currency,
          creditorName: t.creditorName ?? 'NOTPROVIDED',
          creditorIban: t.creditorIban,
          creditorAgent: t.creditorAgentBic ?? null,
          remittanceInformationUnstructured: t.remittanceInformationUnstructured ?? null,
        });
      }
    },
  }, { maxBytes: 50 * 1024 * 1024, maxIssues: MAX_MESSAGES });
  if (!result.ok) {
    if (result.issues[0]?.kind === 'too_large') throw new ApiError(ApiErrorCode.FormatError, `body: ${result.issues[0].text}`, 'body', [], 413);
    throw invalid(result.issues.map((i) => problem(i.path, i.text)));
  }
  if (infos.length !== 1) throw ApiError.format('PmtInf', `a bulk payment is one PmtInf; this file has ${infos.length} (send files with several through /batches/v1)`);
  const info = infos[0]!;
  if (transactions.length > MAX_BULK_TRANSACTIONS) throw ApiError.format('PmtInf[0].NbOfTxs', `at most ${MAX_BULK_TRANSACTIONS} transactions in one bulk payment`);
  const instant = product === 'pain.001-instant-sepa-credit-transfers';
  if (info.instant !== instant) {
    throw ApiError.format('PmtInf[0].PmtTpInf.LclInstrm.Cd', instant ? 'must be INST for instant SEPA credit transfers' : 'INST payments go to pain.001-instant-sepa-credit-transfers');
  }
  const currencies = new Set(transactions.map((t) => t.currency));
  if (currencies.size !== 1 || !currencies.has('EUR')) throw ApiError.format('PmtInf[0].CdtTrfTxInf.Amt.InstdAmt@Ccy', 'SEPA credit transfers are paid in EUR');
  return {
    debtorIban: info.debtorIban,
    debtorCurrency: info.debtorAccountCurrency ?? null,
    debtorName: info.debtorName ?? null,
    requestedExecutionDate: info.requestedExecutionDate,
    batchBookingPreferred: info.batchBooking ?? null,
    currency: 'EUR',
    controlSum: sumOf(transactions),
    msgId: msgId ?? null,
    msgNameId: result.version ?? null,
    pmtInfId: info.pmtInfId,
    transactions,
  };
}

/** Exact decimal sum (bigint at 5 decimals, the most ISO 20022 amounts carry). */
function sumOf(transactions: readonly NewBulkTransaction[]): string {
  const SCALE = 5;
  let sum = 0n;
  for (const t of transactions) {
    const [whole, fraction = ''] = t.amount.split('.');
    sum += BigInt(whole!) * 10n ** BigInt(SCALE) + BigInt(fraction.padEnd(SCALE, '0'));
  }
  const s = sum.toString().padStart(SCALE + 1, '0');
  const fraction = s.slice(-SCALE).replace(/0+$/, '').padEnd(2, '0');
  return `${s.slice(0, -SCALE)}.${fraction}`;
}
