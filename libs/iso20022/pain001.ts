/**
 * The shapes `readPain001` hands to its caller: what a customer credit transfer initiation
 * (pain.001.001.03 or .09) says, reduced to what Clearway routes and pays. Amounts stay decimal
 * strings as written in the file; sums are computed in bigint and rendered back to strings.
 */

export type Pain001Version = 'pain.001.001.03' | 'pain.001.001.09';

export const PAIN001_VERSIONS: readonly Pain001Version[] = ['pain.001.001.03', 'pain.001.001.09'];

/** GrpHdr of the file. */
export interface Pain001GroupHeader {
  version: Pain001Version;
  msgId: string;
  creationDateTime: string;
  /** GrpHdr/NbOfTxs as declared (checked against the transactions read). */
  numberOfTransactions: number;
  /** GrpHdr/CtrlSum as written, when present (checked against the sum of the amounts). */
  controlSum?: string;
  initiatingPartyName?: string;
}

/** One PmtInf block: one debtor account, one execution date; Clearway makes one bulk of it. */
export interface Pain001PaymentInformation {
  /** 0-based position of the PmtInf in the file. */
  index: number;
  pmtInfId: string;
  batchBooking?: boolean;
  /** PmtInf/NbOfTxs as declared, when present. */
  numberOfTransactions?: number;
  /** PmtInf/CtrlSum as written, when present. */
  controlSum?: string;
  /** YYYY-MM-DD: .03 ReqdExctnDt; .09 ReqdExctnDt/Dt, or the date part of ReqdExctnDt/DtTm. */
  requestedExecutionDate: string;
  /** PmtTpInf/SvcLvl/Cd, e.g. SEPA. */
  serviceLevel?: string;
  /** PmtTpInf/LclInstrm/Cd, e.g. INST. */
  localInstrument?: string;
  /** LclInstrm INST: the bulk goes out as instant-sepa-credit-transfers. */
  instant: boolean;
  debtorName?: string;
  debtorIban: string;
  debtorAccountCurrency?: string;
  /** .03 DbtrAgt/FinInstnId/BIC, .09 DbtrAgt/FinInstnId/BICFI; absent when the file names none. */
  debtorAgentBic?: string;
  chargeBearer?: string;
}

/** One CdtTrfTxInf. */
export interface Pain001Transaction {
  pmtInfIndex: number;
  /** 0-based within its PmtInf. */
  index: number;
  instructionId?: string;
  endToEndId: string;
  /** Decimal string as written (trimmed), within the currency's decimals. */
  amount: string;
  currency: string;
  creditorName?: string;
  creditorIban: string;
  creditorAgentBic?: string;
  /** The first RmtInf/Ustrd. */
  remittanceInformationUnstructured?: string;
}

/**
 * Why a file was refused:
 * - `too_large`: more than `maxBytes` (HTTP 413); the rest of the input was not read.
 * - `malformed`: not well-formed XML, not UTF-8, or a DOCTYPE (never part of an ISO 20022 message).
 * - `unsupported`: well-formed, but not a pain.001.001.03 / .09 Document.
 * - `schema`: XSD-invalid.
 * - `semantic`: a check XSD cannot do (control sums, IBAN checksum, BIC, currency decimals, duplicates).
 */
export type Pain001IssueKind = 'too_large' | 'malformed' | 'unsupported' | 'schema' | 'semantic';

/** One problem with the file, located by element path, e.g. `PmtInf[0].CdtTrfTxInf[12].CdtrAcct.Id.IBAN`. */
export interface Pain001Issue {
  kind: Pain001IssueKind;
  /**
   * Element path below `CstmrCdtTrfInitn`, with 0-based indexes on `PmtInf` and `CdtTrfTxInf`;
   * attributes follow an `@` (`…Amt.InstdAmt@Ccy`). `Document` for problems with the whole file.
   */
  path: string;
  /** For the person fixing the file. Never echoes account numbers or names. */
  text: string;
}

/**
 * Receives the file's content while it streams. Calls come in file order and are awaited
 * (backpressure). Once any issue is found no further calls are made, but earlier calls may
 * already have happened: write into a database transaction and roll back unless `ok`.
 */
export interface Pain001Sink {
  groupHeader(h: Pain001GroupHeader): void | Promise<void>;
  /** Called once the PmtInf's own fields are read, before its first transaction. */
  paymentInformation(p: Pain001PaymentInformation): void | Promise<void>;
  /** Transactions in file order, in chunks of up to `chunkSize` (default 1,000), after their PmtInf. */
  transactions(chunk: Pain001Transaction[]): void | Promise<void>;
}

/** Sum of a set of transactions in one currency. */
export interface CurrencyTotal {
  currency: string;
  /** Decimal string with the currency's decimals, e.g. "1234.50". */
  amount: string;
  numberOfTransactions: number;
}

/** What was counted in one PmtInf (filled in for every PmtInf read, valid or not). */
export interface Pain001PaymentInformationSummary {
  index: number;
  pmtInfId: string;
  numberOfTransactions: number;
  /** Sum of the amounts irrespective of currency, as ISO CtrlSum defines it ("12.5" style, no padding). */
  controlSum: string;
  totals: CurrencyTotal[];
}

export interface Pain001ReadResult {
  /** Well-formed, XSD-valid, and every semantic check passed. */
  ok: boolean;
  /** At most `maxIssues` (default 50); schema issues first, then semantic ones. */
  issues: Pain001Issue[];
  /** More issues existed than `issues` holds. */
  issuesTruncated: boolean;
  version?: Pain001Version;
  groupHeader?: Pain001GroupHeader;
  paymentInformationCount: number;
  transactionCount: number;
  /** Sum of all amounts irrespective of currency (what GrpHdr/CtrlSum must equal). */
  controlSum: string;
  /** Per currency over the whole file, sorted by currency code. */
  totals: CurrencyTotal[];
  paymentInformations: Pain001PaymentInformationSummary[];
  /** Hex SHA-256 of the raw bytes: tells "the same file again" from "another file under a used MsgId". */
  sha256: string;
  bytes: number;
}

export interface ReadPain001Options {
  /** Default 50. */
  maxIssues?: number;
  /** Default 50 MiB; beyond it the read stops with one `too_large` issue. */
  maxBytes?: number;
  /** Transactions per `sink.transactions` call; default 1,000. */
  chunkSize?: number;
  /** Directory of the XSDs; default see `xsdDirectory()`. */
  xsdDir?: string;
}
