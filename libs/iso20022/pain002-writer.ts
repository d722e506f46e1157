import { isValidBic } from '../domain/bic';
import { cleanText, splitText, XmlOutput, xmlText, xmlTextMax } from './xml-output';

/** ISO 20022 payment status codes (ExternalPaymentTransactionStatus1Code / ExternalPaymentGroupStatus1Code). */
export type Iso20022Status =
  | 'RCVD'
  | 'ACTC'
  | 'ACCP'
  | 'ACSP'
  | 'ACSC'
  | 'ACCC'
  | 'ACWC'
  | 'ACWP'
  | 'PATC'
  | 'PDNG'
  | 'PART'
  | 'RJCT'
  | 'CANC';

const STATUSES = new Set<string>(['RCVD', 'ACTC', 'ACCP', 'ACSP', 'ACSC', 'ACCC', 'ACWC', 'ACWP', 'PATC', 'PDNG', 'PART', 'RJCT', 'CANC']);

/** How many transactions of the group or PmtInf have one status (NbOfTxsPerSts). */
export interface Pain002StatusCount {
  status: Iso20022Status;
  count: number;
  /** Sum of those transactions' amounts, decimal string. */
  controlSum?: string;
}

/** GrpHdr and OrgnlGrpInfAndSts of the report. */
export interface Pain002Header {
  /** The report's own MsgId (1–35 characters). */
  msgId: string;
  /** xs:dateTime string, or a Date (written in UTC). */
  creationDateTime: string | Date;
  /** GrpHdr/InitgPty/Nm: who reports (cut to 140 characters). */
  initiatingPartyName?: string;
  /** GrpHdr/DbtrAgt: the debtor's bank, when the whole file went to one. */
  debtorAgentBic?: string;
  originalMsgId: string;
  /** The original message's name, e.g. pain.001.001.09. */
  originalMsgNameId: string;
  originalCreationDateTime?: string;
  originalNumberOfTransactions?: number;
  originalControlSum?: string;
  groupStatus?: Iso20022Status;
  /** ISO ExternalStatusReason1Code (e.g. AM04); anything longer than 4 characters goes out as Prtry. */
  groupReasonCode?: string;
  groupAdditionalInformation?: string;
  groupCountsPerStatus?: Pain002StatusCount[];
}

/** One OrgnlPmtInfAndSts. */
export interface Pain002PaymentInformationStatus {
  originalPmtInfId: string;
  status?: Iso20022Status;
  reasonCode?: string;
  additionalInformation?: string;
  numberOfTransactions?: number;
  controlSum?: string;
  /** Per-status counts (NbOfTxsPerSts). */
  countsPerStatus?: Pain002StatusCount[];
}

/** One TxInfAndSts. */
export interface Pain002TransactionStatus {
  originalInstructionId?: string;
  originalEndToEndId: string;
  status: Iso20022Status;
  /** ISO ExternalStatusReason1Code, e.g. AM04; longer codes go out as Prtry (cut to 35 characters). */
  reasonCode?: string;
  /** Free text, split over several AddtlInf of 105 characters (at most 10). */
  additionalInformation?: string;
  /** With `currency`: echoed as OrgnlTxRef/Amt/InstdAmt. */
  amount?: string;
  currency?: string;
}

export interface Pain002Group {
  info: Pain002PaymentInformationStatus;
  transactions: AsyncIterable<Pain002TransactionStatus> | Iterable<Pain002TransactionStatus>;
}

const NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:pain.002.001.10';
const XS_DATE_TIME = /^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$/;
const REASON_CODE = /^[A-Z0-9]{1,4}$/;
const CURRENCY = /^[A-Z]{3}$/;
const MAX_ADDITIONAL_INFO = 10;

/**
 * Streams a pain.002.001.10 customer payment status report to `out` (not ended): group, PmtInf and
 * transaction level, original MsgId/PmtInfId/EndToEndId echoed. The output is XSD-valid for any input
 * the types allow: texts are cleaned of characters XML cannot carry and cut to their XSD length, empty
 * optional values are left out. Values that cannot be made valid without changing their meaning (a
 * status outside the list, an amount with more than 5 decimals, an empty MsgId) throw a RangeError —
 * for the header before anything is written.
 */
export async function writePain002(
  out: NodeJS.WritableStream,
  header: Pain002Header,
  groups: AsyncIterable<Pain002Group> | Iterable<Pain002Group>,
): Promise<void> {
  const xml = new XmlOutput(out);
  await xml.write(`<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${NAMESPACE}">\n<CstmrPmtStsRpt>\n${groupHeader(header)}`);
  for await (const group of groups) {
    await xml.write(`<OrgnlPmtInfAndSts>${paymentInformationStatus(group.info)}\n`);
    for await (const tx of group.transactions) await xml.write(transactionStatus(tx));
    await xml.write('</OrgnlPmtInfAndSts>\n');
  }
  await xml.write('</CstmrPmtStsRpt>\n</Document>\n');
  await xml.flush();
}

function groupHeader(h: Pain002Header): string {
  const bic = h.debtorAgentBic;
  if (bic !== undefined && !isValidBic(bic)) throw new RangeError('debtorAgentBic is not a BIC');
  return (
    '<GrpHdr>' +
    `<MsgId>${required(h.msgId, 35, 'msgId')}</MsgId><CreDtTm>${dateTime(h.creationDateTime, 'creationDateTime')}</CreDtTm>` +
    optionalElement('InitgPty', h.initiatingPartyName, 140, (nm) => `<Nm>${nm}</Nm>`) +
    (bic ? `<DbtrAgt><FinInstnId><BICFI>${bic}</BICFI></FinInstnId></DbtrAgt>` : '') +
    '</GrpHdr>\n<OrgnlGrpInfAndSts>' +
    `<OrgnlMsgId>${required(h.originalMsgId, 35, 'originalMsgId')}</OrgnlMsgId>` +
    `<OrgnlMsgNmId>${required(h.originalMsgNameId, 35, 'originalMsgNameId')}</OrgnlMsgNmId>` +
    (h.originalCreationDateTime !== undefined
      ? `<OrgnlCreDtTm>${dateTime(h.originalCreationDateTime, 'originalCreationDateTime')}</OrgnlCreDtTm>`
      : '') +
    counted('OrgnlNbOfTxs', h.originalNumberOfTransactions) +
    decimal('OrgnlCtrlSum', h.originalControlSum) +
    status('GrpSts', h.groupStatus) +
    reason(h.groupReasonCode, h.groupAdditionalInformation) +
    countsPerStatus(h.groupCountsPerStatus) +
    '</OrgnlGrpInfAndSts>\n'
  );
}

function paymentInformationStatus(p: Pain002PaymentInformationStatus): string {
  return (
    `<OrgnlPmtInfId>${required(p.originalPmtInfId, 35, 'originalPmtInfId')}</OrgnlPmtInfId>` +
    counted('OrgnlNbOfTxs', p.numberOfTransactions) +
    decimal('OrgnlCtrlSum', p.controlSum) +
    status('PmtInfSts', p.status) +
    reason(p.reasonCode, p.additionalInformation) +
    countsPerStatus(p.countsPerStatus)
  );
}

function transactionStatus(t: Pain002TransactionStatus): string {
  return (
    '<TxInfAndSts>' +
    optionalElement('OrgnlInstrId', t.originalInstructionId, 35) +
    optionalElement('OrgnlEndToEndId', t.originalEndToEndId, 35) +
    status('TxSts', t.status) +
    reason(t.reasonCode, t.additionalInformation) +
    originalAmount(t.amount, t.currency) +
    '</TxInfAndSts>\n'
  );
}

// ── elements ──

function required(value: string, max: number, field: string): string {
  const text = xmlTextMax(value ?? '', max);
  if (text.trim() === '') throw new RangeError(`${field} must not be empty`);
  return text;
}

function optionalElement(tag: string, value: string | undefined, max: number, wrap = (s: string) => s): string {
  if (value === undefined) return '';
  const text = xmlTextMax(value, max);
  return text === '' ? '' : `<${tag}>${wrap(text)}</${tag}>`;
}

function dateTime(value: string | Date, field: string): string {
  const s = value instanceof Date ? value.toISOString() : value;
  if (!XS_DATE_TIME.test(s) || !isCalendarDate(s)) {
    throw new RangeError(`${field} is not an xs:dateTime`);
  }
  return s;
}

/** 2026-02-30 matches the pattern but is no date: libxml2 rejects it, so must we. */
function isCalendarDate(s: string): boolean {
  const [, y, m, d] = /^(-?\d{4,})-(\d\d)-(\d\d)/.exec(s)!.map(Number);
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function status(tag: string, value: Iso20022Status | undefined): string {
  if (value === undefined) return '';
  if (!STATUSES.has(value)) throw new RangeError(`${value} is not an ISO 20022 payment status`);
  return `<${tag}>${value}</${tag}>`;
}

/** StsRsnInf: Rsn/Cd for ISO codes, Rsn/Prtry for anything else; AddtlInf split in 105-character pieces. */
function reason(code: string | undefined, info: string | undefined): string {
  const rsn = code === undefined || code === '' ? '' : REASON_CODE.test(code) ? `<Cd>${code}</Cd>` : optionalElement('Prtry', code, 35);
  const additional = splitText(cleanText(info ?? '').trim(), 105)
    .slice(0, MAX_ADDITIONAL_INFO)
    .map((piece) => `<AddtlInf>${xmlText(piece)}</AddtlInf>`)
    .join('');
  if (!rsn && !additional) return '';
  return `<StsRsnInf>${rsn ? `<Rsn>${rsn}</Rsn>` : ''}${additional}</StsRsnInf>`;
}

function countsPerStatus(counts: Pain002StatusCount[] | undefined): string {
  return (counts ?? [])
    .map(
      (c) =>
        `<NbOfTxsPerSts>${counted('DtldNbOfTxs', c.count)}${status('DtldSts', c.status)}${decimal('DtldCtrlSum', c.controlSum)}</NbOfTxsPerSts>`,
    )
    .join('');
}

/** Max15NumericText. */
function counted(tag: string, n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isSafeInteger(n) || n < 0 || n > 999_999_999_999_999) throw new RangeError(`${tag} ${n} is not a count`);
  return `<${tag}>${n}</${tag}>`;
}

/** DecimalNumber: at most 18 digits, 17 of them decimals. */
function decimal(tag: string, value: string | undefined): string {
  if (value === undefined) return '';
  if (!fitsDigits(value, 18, 17)) throw new RangeError(`${tag} ${value} is not a decimal of at most 18 digits`);
  return `<${tag}>${value}</${tag}>`;
}

/** OrgnlTxRef/Amt/InstdAmt: ActiveOrHistoricCurrencyAndAmount (18 digits, 5 decimals, ≥ 0). */
function originalAmount(amount: string | undefined, currency: string | undefined): string {
  if (amount === undefined && currency === undefined) return '';
  if (amount === undefined || currency === undefined || !CURRENCY.test(currency) || !fitsDigits(amount, 18, 5)) {
    throw new RangeError(`amount ${amount} ${currency} is not an ISO 20022 currency amount`);
  }
  return `<OrgnlTxRef><Amt><InstdAmt Ccy="${currency}">${amount}</InstdAmt></Amt></OrgnlTxRef>`;
}

function fitsDigits(value: string, totalDigits: number, fractionDigits: number): boolean {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return false;
  const integer = match[1].replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction.length <= fractionDigits && integer.replace(/^0$/, '').length + fraction.length <= totalDigits;
}
