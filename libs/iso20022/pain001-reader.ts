import { createHash } from 'node:crypto';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { isValidBic } from '../domain/bic';
import { isValidIban } from '../domain/iban';
import { formatMinor, parseDecimalAmount, type AmountRejection } from '../domain/money';
import { CONTROL_SUM_SCALE, formatScaled, toScaled } from './decimal';
import { ElementPath } from './element-path';
import type {
  CurrencyTotal,
  Pain001GroupHeader,
  Pain001Issue,
  Pain001IssueKind,
  Pain001PaymentInformation,
  Pain001PaymentInformationSummary,
  Pain001ReadResult,
  Pain001Sink,
  Pain001Transaction,
  Pain001Version,
  ReadPain001Options,
} from './pain001';
import { validateXsd, type XsdError, type XsdResult } from './xsd';

const NAMESPACES: Record<string, Pain001Version> = {
  'urn:iso:std:iso:20022:tech:xsd:pain.001.001.03': 'pain.001.001.03',
  'urn:iso:std:iso:20022:tech:xsd:pain.001.001.09': 'pain.001.001.09',
};

// saxes reports well-formedness errors as plain Errors reading "line:column: message".
const SAXES_ERROR = /^\d+:\d+: /;

const DEFAULT_MAX_ISSUES = 50;
const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
const DEFAULT_CHUNK_SIZE = 1000;
// Buffers handed in whole are fed in slices like a socket would, so sink calls interleave with parsing.
const SLICE = 64 * 1024;

/**
 * Streams a pain.001.001.03 / .09 file: parses it as it arrives (SAX, never a DOM), hands its content
 * to `sink`, and checks what XSD cannot: NbOfTxs and CtrlSum at group and PmtInf level, IBAN checksum,
 * BIC format, amounts within the currency's decimals, EndToEndId unique within its PmtInf; creditor
 * accounts must be IBANs and amounts InstdAmt (SEPA credit transfers). Once the last byte is in, the
 * bytes are validated against the XSD (libxml2 in reader mode on a worker thread, see xsd.ts) while
 * parsing and the sink catch up. The bytes themselves are the only thing kept in memory in proportion
 * to the file.
 *
 * Never throws for a bad file: the result lists the issues. Throws only for faults of the platform
 * (XSDs missing, the sink failing, the input stream erroring).
 */
export async function readPain001(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer | string> | Buffer,
  sink: Pain001Sink,
  opts: ReadPain001Options = {},
): Promise<Pain001ReadResult> {
  const reader = new Pain001Reader(sink, opts.maxIssues ?? DEFAULT_MAX_ISSUES, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const received = new ReceivedBytes(opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const receiving = received.receive(input);
  receiving.catch(() => undefined); // awaited below; a failing input must not count as unhandled meanwhile
  let xsd: Promise<XsdResult | undefined> | undefined;
  const startXsdOnceComplete = () => {
    if (xsd || !received.complete || !reader.version || !reader.wellFormedSoFar) return;
    xsd = validateXsd(received.document(), reader.version, opts.xsdDir).then(
      (result) => {
        // Stop feeding the sink as soon as the file is known to be invalid.
        if (!result.valid) reader.schemaInvalid = true;
        return result;
      },
      (err: unknown) => {
        if (reader.wellFormedSoFar) throw err; // libxml2 failed on a file the parser found well-formed: a fault of ours
        return undefined; // its own take on a malformed file: the parser's issue says it already
      },
    );
    xsd.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  };

  // Parse each chunk as it arrives; reading goes on meanwhile, so the XSD can start at the last byte.
  for (let i = 0; ; ) {
    if (i < received.chunks.length) {
      if (reader.wellFormedSoFar) {
        reader.write(received.chunks[i]);
        await reader.drainSink();
      }
      i += 1;
      // Parsing alone only yields to microtasks: let the input's I/O in between chunks, so the
      // last byte (and with it the XSD check on its worker thread) comes while parsing goes on,
      // not after it.
      if (!received.ended) await new Promise<void>((resolve) => setImmediate(resolve));
    } else if (received.ended) {
      break;
    } else {
      await received.more();
    }
    startXsdOnceComplete();
  }
  await receiving;
  if (received.tooLarge) return reader.tooLarge(received.maxBytes, received.bytes);
  reader.end();
  await reader.drainSink();
  startXsdOnceComplete();
  const schema = await xsd;
  if (schema && !schema.valid && reader.wellFormedSoFar) {
    reader.addSchemaIssues(locateXsdErrors(received.document(), schema.errors, reader.maxIssues));
  }
  return reader.result(received.sha256(), received.bytes);
}

/**
 * The input, read as fast as it comes (up to `maxBytes`), hashed and kept for the XSD check; the
 * parser follows behind. A malformed file is still read to its end, so an HTTP client that is still
 * sending gets its 400 cleanly; a too-large one is read no further (and not destroyed).
 */
class ReceivedBytes {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  complete = false;
  tooLarge = false;
  /** No more chunks will come: complete, too large, or the input failed. */
  ended = false;
  private readonly hash = createHash('sha256');
  private wake?: () => void;
  private whole?: Buffer;

  constructor(readonly maxBytes: number) {}

  async receive(input: NodeJS.ReadableStream | AsyncIterable<Buffer | string> | Buffer): Promise<void> {
    // Iterated by hand: leaving a for-await loop would destroy a Node stream, and an HTTP server
    // could then no longer answer 413 on that connection. Abandoned, the stream just stays paused.
    const chunks = slices(input)[Symbol.asyncIterator]();
    try {
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        const buffer = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
        this.bytes += buffer.length;
        if (this.bytes > this.maxBytes) {
          this.tooLarge = true;
          return;
        }
        this.hash.update(buffer);
        this.chunks.push(buffer);
        this.notify();
      }
      this.complete = true;
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  /** Resolves when another chunk arrived or the input ended. */
  more(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** The whole file in one buffer (for libxml2); the chunks become views on it, so the bytes are held once. */
  document(): Buffer {
    if (!this.whole) {
      const whole = Buffer.concat(this.chunks, this.bytes);
      for (let i = 0, offset = 0; i < this.chunks.length; offset += this.chunks[i].length, i++) {
        this.chunks[i] = whole.subarray(offset, offset + this.chunks[i].length);
      }
      this.whole = whole;
    }
    return this.whole;
  }

  sha256(): string {
    return this.hash.digest('hex');
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

async function* slices(input: NodeJS.ReadableStream | AsyncIterable<Buffer | string> | Buffer): AsyncIterable<Buffer | string> {
  if (Buffer.isBuffer(input)) {
    for (let i = 0; i < input.length; i += SLICE) yield input.subarray(i, i + SLICE);
    return;
  }
  yield* input as AsyncIterable<Buffer | string>;
}

/** Thrown inside the SAX callbacks to stop parsing; becomes one issue. */
class StopParsing extends Error {
  constructor(
    readonly kind: Pain001IssueKind,
    readonly text: string,
  ) {
    super(text);
  }
}

interface PmtInfState {
  info: Partial<Pain001PaymentInformation> & { index: number };
  emitted: boolean;
  hasDebtorIban: boolean;
  transactions: number;
  /** Sum at CONTROL_SUM_SCALE; `undefined` once an amount was unusable (then sums are not compared). */
  sum: bigint | undefined;
  totals: Map<string, { minor: bigint; count: number }>;
  endToEndIds: Map<string, number>;
}

type TxState = Partial<Pain001Transaction> & { pmtInfIndex: number; index: number; hasCreditorIban: boolean };

const AMOUNT_TEXT: Record<AmountRejection, (currency: string) => string> = {
  not_a_string: () => 'amount missing',
  format: () => 'amount is not a plain decimal number',
  not_positive: () => 'amount must be greater than zero',
  too_many_decimals: (c) => `amount has more decimals than ${c} allows`,
  unknown_currency: (c) => `${c} is not an ISO 4217 currency`,
  too_large: () => 'amount has more than 14 integer digits',
};

class Pain001Reader {
  version?: Pain001Version;
  wellFormedSoFar = true;
  /** Set when the XSD check, running alongside, found the file invalid. */
  schemaInvalid = false;
  private readonly parser = new SaxesParser({ xmlns: true });
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly path = new ElementPath();
  private text = '';

  private readonly schemaIssues: Pain001Issue[] = [];
  private readonly issues: Pain001Issue[] = [];
  private issueCount = 0;

  private readonly group: Partial<Pain001GroupHeader> & { nbOfTxsText?: string } = {};
  private pmtInf?: PmtInfState;
  private tx?: TxState;
  private readonly summaries: Pain001PaymentInformationSummary[] = [];
  private transactionCount = 0;
  private fileSum: bigint | undefined = 0n;
  private readonly fileTotals = new Map<string, { minor: bigint; count: number }>();

  /** Sink calls gathered during a synchronous parser.write, run in order by drainSink. */
  private ops: (() => void | Promise<void>)[] = [];
  private pendingTransactions: Pain001Transaction[] = [];

  constructor(
    private readonly sink: Pain001Sink,
    readonly maxIssues: number,
    private readonly chunkSize: number,
  ) {
    this.parser.on('xmldecl', (decl) => {
      if (decl.encoding && !/^utf-?8$/i.test(decl.encoding)) {
        throw new StopParsing('malformed', `encoding ${decl.encoding} is not supported: ISO 20022 messages are UTF-8`);
      }
    });
    this.parser.on('doctype', () => {
      throw new StopParsing('malformed', 'a DOCTYPE is not allowed in an ISO 20022 message');
    });
    this.parser.on('opentag', (tag) => this.onOpen(tag));
    this.parser.on('text', (t) => (this.text += t));
    this.parser.on('cdata', (t) => (this.text += t));
    this.parser.on('closetag', () => this.onClose());
  }

  private get sinkActive(): boolean {
    return this.issueCount === 0 && !this.schemaInvalid;
  }

  write(buffer: Buffer): void {
    this.guard(() => this.parser.write(this.decoder.decode(buffer, { stream: true })));
  }

  end(): void {
    if (!this.wellFormedSoFar) return;
    this.guard(() => {
      this.parser.write(this.decoder.decode());
      this.parser.close();
    });
    if (this.wellFormedSoFar) this.finishGroup();
  }

  async drainSink(): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    for (const op of ops) {
      if (!this.sinkActive) return;
      await op();
    }
  }

  /** Runs parser work; a file that cannot be parsed on becomes its one and only issue. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const fatal = fatalIssue(err);
      if (!fatal) throw err;
      this.wellFormedSoFar = false;
      this.ops = [];
      this.onlyIssue(fatal.kind, fatal.text);
    }
  }

  private onOpen(tag: SaxesTagNS): void {
    this.text = '';
    const depth = this.path.depth;
    if (depth === 0) {
      const version = NAMESPACES[tag.uri];
      if (tag.local !== 'Document' || !version) {
        throw new StopParsing(
          'unsupported',
          'not a pain.001.001.03 or pain.001.001.09 Document (root element or namespace differs)',
        );
      }
      this.version = version;
      this.group.version = version;
    }
    this.path.open(tag.local);
    switch (this.path.key) {
      case 'PmtInf':
        this.startPmtInf(this.path.lastIndex);
        break;
      case 'PmtInf/CdtTrfTxInf':
        this.startTransaction(this.path.lastIndex);
        break;
      case 'PmtInf/CdtTrfTxInf/Amt/InstdAmt':
        if (this.tx) this.tx.currency = (tag.attributes.Ccy?.value ?? '').trim();
        break;
    }
  }

  private onClose(): void {
    const handle = Pain001Reader.ON_CLOSE.get(this.path.key);
    if (handle) handle(this, this.text.trim());
    this.text = '';
    this.path.close();
  }

  /**
   * What to do when an element closes, by its path (`key`, see ElementPath) and trimmed text. One map
   * lookup per element: most of a file's 13 elements per transaction need nothing.
   */
  private static readonly ON_CLOSE = new Map<string, (r: Pain001Reader, value: string) => void>([
    // ── GrpHdr ──
    ['GrpHdr/MsgId', (r, v) => (r.group.msgId = v)],
    ['GrpHdr/CreDtTm', (r, v) => (r.group.creationDateTime = v)],
    ['GrpHdr/NbOfTxs', (r, v) => (r.group.nbOfTxsText = v)],
    ['GrpHdr/CtrlSum', (r, v) => (r.group.controlSum = v)],
    ['GrpHdr/InitgPty/Nm', (r, v) => (r.group.initiatingPartyName = v)],
    ['GrpHdr', (r) => r.emitGroupHeader()],
    // ── PmtInf ──
    ['PmtInf/PmtInfId', (r, v) => r.setPmtInf({ pmtInfId: v })],
    ['PmtInf/BtchBookg', (r, v) => r.setPmtInf({ batchBooking: v === 'true' || v === '1' })],
    ['PmtInf/NbOfTxs', (r, v) => r.setPmtInf({ numberOfTransactions: Number(v) })],
    ['PmtInf/CtrlSum', (r, v) => r.setPmtInf({ controlSum: v })],
    ['PmtInf/PmtTpInf/SvcLvl/Cd', (r, v) => r.setPmtInf({ serviceLevel: v })],
    ['PmtInf/PmtTpInf/LclInstrm/Cd', (r, v) => r.setPmtInf({ localInstrument: v })],
    // .03: the date itself; .09: the Dt/DtTm choice below
    ['PmtInf/ReqdExctnDt', (r, v) => r.version === 'pain.001.001.03' && r.setPmtInf({ requestedExecutionDate: v })],
    ['PmtInf/ReqdExctnDt/Dt', (r, v) => r.setPmtInf({ requestedExecutionDate: v })],
    ['PmtInf/ReqdExctnDt/DtTm', (r, v) => r.setPmtInf({ requestedExecutionDate: v.slice(0, 10) })],
    ['PmtInf/Dbtr/Nm', (r, v) => r.setPmtInf({ debtorName: v })],
    [
      'PmtInf/DbtrAcct/Id/IBAN',
      (r, v) => {
        r.setPmtInf({ debtorIban: v });
        if (r.pmtInf) r.pmtInf.hasDebtorIban = true;
        r.checkIban(v);
      },
    ],
    ['PmtInf/DbtrAcct', (r) => r.pmtInf && !r.pmtInf.hasDebtorIban && r.semantic(r.path.path('Id.IBAN'), 'the debtor account must be an IBAN')],
    ['PmtInf/DbtrAcct/Ccy', (r, v) => r.setPmtInf({ debtorAccountCurrency: v })],
    ['PmtInf/DbtrAgt/FinInstnId/BIC', (r, v) => r.debtorAgentBic(v)],
    ['PmtInf/DbtrAgt/FinInstnId/BICFI', (r, v) => r.debtorAgentBic(v)],
    ['PmtInf/ChrgBr', (r, v) => r.setPmtInf({ chargeBearer: v })],
    ['PmtInf', (r) => r.endPmtInf()],
    // ── CdtTrfTxInf ──
    ['PmtInf/CdtTrfTxInf/PmtId/InstrId', (r, v) => r.setTx({ instructionId: v })],
    ['PmtInf/CdtTrfTxInf/PmtId/EndToEndId', (r, v) => r.endToEndId(v)],
    [
      'PmtInf/CdtTrfTxInf/Amt/InstdAmt',
      (r, v) => {
        r.setTx({ amount: v });
        r.checkAmount(v, r.tx?.currency ?? '');
      },
    ],
    [
      'PmtInf/CdtTrfTxInf/Amt/EqvtAmt',
      (r) => {
        r.semantic(r.path.path(), 'only InstdAmt is supported: give the amount in the currency to transfer');
        if (r.pmtInf) r.pmtInf.sum = undefined;
      },
    ],
    ['PmtInf/CdtTrfTxInf/CdtrAgt/FinInstnId/BIC', (r, v) => r.creditorAgentBic(v)],
    ['PmtInf/CdtTrfTxInf/CdtrAgt/FinInstnId/BICFI', (r, v) => r.creditorAgentBic(v)],
    ['PmtInf/CdtTrfTxInf/Cdtr/Nm', (r, v) => r.setTx({ creditorName: v })],
    [
      'PmtInf/CdtTrfTxInf/CdtrAcct/Id/IBAN',
      (r, v) => {
        r.setTx({ creditorIban: v, hasCreditorIban: true });
        r.checkIban(v);
      },
    ],
    ['PmtInf/CdtTrfTxInf/RmtInf/Ustrd', (r, v) => r.tx && r.tx.remittanceInformationUnstructured === undefined && r.setTx({ remittanceInformationUnstructured: v })],
    ['PmtInf/CdtTrfTxInf', (r) => r.endTransaction()],
  ]);

  private setPmtInf(fields: Partial<Pain001PaymentInformation>): void {
    if (this.pmtInf) Object.assign(this.pmtInf.info, fields);
  }

  private setTx(fields: Partial<TxState>): void {
    if (this.tx) Object.assign(this.tx, fields);
  }

  private debtorAgentBic(bic: string): void {
    this.setPmtInf({ debtorAgentBic: bic });
    this.checkBic(bic);
  }

  private creditorAgentBic(bic: string): void {
    this.setTx({ creditorAgentBic: bic });
    this.checkBic(bic);
  }

  private endToEndId(id: string): void {
    const { tx, pmtInf } = this;
    if (!tx || !pmtInf) return;
    tx.endToEndId = id;
    const first = pmtInf.endToEndIds.get(id);
    if (first !== undefined) {
      this.semantic(this.path.path(), `EndToEndId is already used by CdtTrfTxInf[${first}] of this PmtInf`);
    } else {
      pmtInf.endToEndIds.set(id, tx.index);
    }
  }

  // ── group ──

  private emitGroupHeader(): void {
    const g = this.group;
    const header: Pain001GroupHeader = {
      version: this.version!,
      msgId: g.msgId ?? '',
      creationDateTime: g.creationDateTime ?? '',
      numberOfTransactions: Number(g.nbOfTxsText ?? NaN),
      ...(g.controlSum !== undefined && { controlSum: g.controlSum }),
      ...(g.initiatingPartyName !== undefined && { initiatingPartyName: g.initiatingPartyName }),
    };
    Object.assign(this.group, header);
    if (this.sinkActive) this.ops.push(() => this.sink.groupHeader(header));
  }

  private finishGroup(): void {
    const declared = this.group.nbOfTxsText;
    if (declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) !== this.transactionCount) {
      this.semantic('GrpHdr.NbOfTxs', `NbOfTxs is ${declared} but the file holds ${this.transactionCount} transactions`);
    }
    this.compareControlSum('GrpHdr.CtrlSum', this.group.controlSum, this.fileSum);
  }

  // ── PmtInf ──

  private startPmtInf(index: number): void {
    this.pmtInf = {
      info: { index, instant: false },
      emitted: false,
      hasDebtorIban: false,
      transactions: 0,
      sum: 0n,
      totals: new Map(),
      endToEndIds: new Map(),
    };
  }

  /** Everything of the PmtInf precedes its first CdtTrfTxInf, so it is complete here. */
  private emitPmtInf(pmt: PmtInfState): void {
    if (pmt.emitted) return;
    pmt.emitted = true;
    const i = pmt.info;
    const info: Pain001PaymentInformation = {
      index: i.index,
      pmtInfId: i.pmtInfId ?? '',
      requestedExecutionDate: i.requestedExecutionDate ?? '',
      instant: i.localInstrument === 'INST',
      debtorIban: i.debtorIban ?? '',
      ...definedOnly({
        batchBooking: i.batchBooking,
        numberOfTransactions: i.numberOfTransactions,
        controlSum: i.controlSum,
        serviceLevel: i.serviceLevel,
        localInstrument: i.localInstrument,
        debtorName: i.debtorName,
        debtorAccountCurrency: i.debtorAccountCurrency,
        debtorAgentBic: i.debtorAgentBic,
        chargeBearer: i.chargeBearer,
      }),
    };
    if (this.sinkActive) this.ops.push(() => this.sink.paymentInformation(info));
  }

  private endPmtInf(): void {
    const pmt = this.pmtInf;
    if (!pmt) return;
    this.emitPmtInf(pmt);
    this.flushTransactions();
    const declared = pmt.info.numberOfTransactions;
    if (declared !== undefined && Number.isInteger(declared) && declared !== pmt.transactions) {
      this.semantic(this.path.path('NbOfTxs'), `NbOfTxs is ${declared} but the PmtInf holds ${pmt.transactions} transactions`);
    }
    this.compareControlSum(this.path.path('CtrlSum'), pmt.info.controlSum, pmt.sum);
    this.summaries.push({
      index: pmt.info.index,
      pmtInfId: pmt.info.pmtInfId ?? '',
      numberOfTransactions: pmt.transactions,
      controlSum: formatScaled(pmt.sum ?? 0n, CONTROL_SUM_SCALE),
      totals: currencyTotals(pmt.totals),
    });
    this.pmtInf = undefined;
  }

  // ── CdtTrfTxInf ──

  private startTransaction(index: number): void {
    const pmt = this.pmtInf;
    if (pmt) this.emitPmtInf(pmt);
    this.tx = { pmtInfIndex: pmt?.info.index ?? 0, index, hasCreditorIban: false };
  }

  private endTransaction(): void {
    const tx = this.tx;
    const pmt = this.pmtInf;
    this.tx = undefined;
    if (!tx || !pmt) return;
    pmt.transactions += 1;
    this.transactionCount += 1;
    if (!tx.hasCreditorIban) {
      this.semantic(this.path.path('CdtrAcct.Id.IBAN'), 'the creditor account must be an IBAN');
    }
    const amount = parseDecimalAmount(tx.amount, tx.currency ?? '');
    const scaled = amount.ok ? toScaled(tx.amount!, CONTROL_SUM_SCALE) : undefined;
    if (amount.ok && scaled !== undefined) {
      addTo(pmt.totals, tx.currency!, amount.minor);
      addTo(this.fileTotals, tx.currency!, amount.minor);
      if (pmt.sum !== undefined) pmt.sum += scaled;
      if (this.fileSum !== undefined) this.fileSum += scaled;
    } else {
      pmt.sum = undefined;
      this.fileSum = undefined;
    }
    if (!this.sinkActive) return;
    this.pendingTransactions.push({
      pmtInfIndex: tx.pmtInfIndex,
      index: tx.index,
      endToEndId: tx.endToEndId ?? '',
      amount: tx.amount ?? '',
      currency: tx.currency ?? '',
      creditorIban: tx.creditorIban ?? '',
      ...definedOnly({
        instructionId: tx.instructionId,
        creditorName: tx.creditorName,
        creditorAgentBic: tx.creditorAgentBic,
        remittanceInformationUnstructured: tx.remittanceInformationUnstructured,
      }),
    });
    if (this.pendingTransactions.length >= this.chunkSize) this.flushTransactions();
  }

  private flushTransactions(): void {
    if (this.pendingTransactions.length === 0) return;
    const chunk = this.pendingTransactions;
    this.pendingTransactions = [];
    if (this.sinkActive) this.ops.push(() => this.sink.transactions(chunk));
  }

  // ── checks ──

  private checkIban(iban: string): void {
    if (!isValidIban(iban)) {
      this.semantic(this.path.path(), 'not a valid IBAN: its country, length or check digits are wrong');
    }
  }

  private checkBic(bic: string): void {
    if (!isValidBic(bic)) this.semantic(this.path.path(), 'not a valid BIC (ISO 9362): 8 or 11 characters, bank, country and location code');
  }

  private checkAmount(amount: string, currency: string): void {
    const parsed = parseDecimalAmount(amount, currency);
    if (parsed.ok) return;
    const onCurrency = parsed.reason === 'unknown_currency';
    this.semantic(this.path.path(onCurrency ? '@Ccy' : undefined), AMOUNT_TEXT[parsed.reason](currency));
  }

  private compareControlSum(path: string, declared: string | undefined, computed: bigint | undefined): void {
    if (declared === undefined || computed === undefined) return; // an unusable amount is reported already
    if (toScaled(declared, CONTROL_SUM_SCALE) !== computed) {
      this.semantic(path, `CtrlSum is ${declared} but the amounts add up to ${formatScaled(computed, CONTROL_SUM_SCALE)}`);
    }
  }

  // ── issues and result ──

  private semantic(path: string, text: string): void {
    this.addIssue('semantic', path, text);
  }

  private addIssue(kind: Pain001IssueKind, path: string, text: string): void {
    this.issueCount += 1;
    if (this.issues.length < this.maxIssues) this.issues.push({ kind, path, text });
  }

  /** A file that could not be read to the end: earlier findings would only distract. */
  private onlyIssue(kind: Pain001IssueKind, text: string): void {
    this.issues.length = 0;
    this.issueCount = 0;
    this.addIssue(kind, 'Document', text);
  }

  addSchemaIssues(issues: Pain001Issue[]): void {
    this.schemaIssues.push(...issues);
  }

  tooLarge(maxBytes: number, bytesRead: number): Pain001ReadResult {
    this.wellFormedSoFar = false;
    this.onlyIssue('too_large', `the file is larger than ${maxBytes} bytes`);
    return this.result('', bytesRead);
  }

  result(sha256: string, bytes: number): Pain001ReadResult {
    // A schema issue and a semantic one on the same element say the same thing twice.
    const schemaPaths = new Set(this.schemaIssues.map((i) => i.path));
    const semantic = this.issues.filter((i) => !schemaPaths.has(i.path));
    const all = [...this.schemaIssues, ...semantic];
    const total = this.schemaIssues.length + this.issueCount - (this.issues.length - semantic.length);
    const issues = all.slice(0, this.maxIssues);
    const g = this.group;
    return {
      ok: total === 0,
      issues,
      issuesTruncated: total > issues.length,
      ...(this.version && { version: this.version }),
      ...(g.msgId !== undefined &&
        g.version && {
          groupHeader: {
            version: g.version,
            msgId: g.msgId,
            creationDateTime: g.creationDateTime ?? '',
            numberOfTransactions: Number(g.nbOfTxsText ?? NaN),
            ...definedOnly({ controlSum: g.controlSum, initiatingPartyName: g.initiatingPartyName }),
          },
        }),
      paymentInformationCount: this.summaries.length,
      transactionCount: this.transactionCount,
      controlSum: formatScaled(this.fileSum ?? 0n, CONTROL_SUM_SCALE),
      totals: currencyTotals(this.fileTotals),
      paymentInformations: this.summaries,
      sha256,
      bytes,
    };
  }
}

function fatalIssue(err: unknown): { kind: Pain001IssueKind; text: string } | undefined {
  if (err instanceof StopParsing) return { kind: err.kind, text: err.text };
  if ((err as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
    return { kind: 'malformed', text: 'the file is not valid UTF-8' };
  }
  if (err instanceof Error && SAXES_ERROR.test(err.message)) {
    return { kind: 'malformed', text: `not well-formed XML at ${err.message}` };
  }
  return undefined;
}

function addTo(totals: Map<string, { minor: bigint; count: number }>, currency: string, minor: bigint): void {
  const t = totals.get(currency);
  if (t) {
    t.minor += minor;
    t.count += 1;
  } else {
    totals.set(currency, { minor, count: 1 });
  }
}

function currencyTotals(totals: Map<string, { minor: bigint; count: number }>): CurrencyTotal[] {
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, t]) => ({ currency, amount: formatMinor(t.minor, currency), numberOfTransactions: t.count }));
}

/** Drops undefined members, so optional fields are absent rather than present-and-undefined. */
function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in o) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

/**
 * Finds the element path of each XSD finding with a second SAX pass over the (invalid) document:
 * libxml2 reports a line and an element name, so the path is that of the last element of that name
 * starting on or before that line. Only runs for files that failed, and only for `max` findings.
 */
function locateXsdErrors(document: Buffer, errors: XsdError[], max: number): Pain001Issue[] {
  const wanted = errors.slice(0, max);
  const paths: (string | undefined)[] = wanted.map(() => undefined);
  const byElement = new Map<string, number[]>();
  wanted.forEach((e, i) => {
    if (e.element && e.line !== undefined) byElement.set(e.element, [...(byElement.get(e.element) ?? []), i]);
  });
  const parser = new SaxesParser({ xmlns: true });
  const path = new ElementPath();
  let startLine = 1;
  parser.on('opentagstart', () => (startLine = parser.line));
  parser.on('opentag', (tag) => {
    path.open(tag.local);
    for (const i of byElement.get(tag.local) ?? []) {
      if (startLine <= wanted[i].line!) paths[i] = path.path(wanted[i].attribute ? `@${wanted[i].attribute}` : undefined);
    }
  });
  parser.on('closetag', () => path.close());
  parser.write(document.toString('utf8')).close();
  return wanted.map((e, i) => ({ kind: 'schema', path: paths[i] ?? 'Document', text: e.message }));
}
