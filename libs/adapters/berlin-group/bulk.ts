/**
 * Berlin Group NextGenPSD2 1.3.x bulk payments (`/v1/bulk-payments/{product}`): JSON products
 * send `bulkPaymentInitiation_json`, `pain.001-*` products a pain.001.001.09 document; the status
 * is read as pain.002 (`Accept: application/xml`) for per-transaction statuses and reason codes,
 * falling back to the JSON status where a bank offers no XML. Stateless, like the rest of the adapter.
 */
import { SaxesParser } from 'saxes';
import { BankError, type BankConnection, type CancelPaymentResult, type InitiatePaymentResult, type StartAuthorisationResult } from '../bank-adapter';
import type { BulkPaymentRef, BulkStatusReport, BulkTransactionForBank, BulkTransactionReport, InitiateBulkPaymentCommand } from '../bulk-payment-adapter';
import { isBulkXmlProduct } from '../../domain/bulk-payment';
import type { BankScaStatus } from '../../domain/transaction-status';
import { xmlText, xmlTextMax } from '../../iso20022/xml-output';
import type { BerlinGroupClient } from './client';
import { dropUndefined, mapTransactionStatus } from './transformers';
import { cancelPaymentResource, readScaStatus, readTransactionStatus, redirectHeaders, startScaProcess, toInitiationResult, type Redirect } from './requests';

/** A bulk body of tens of thousands of transactions takes longer to send than a single payment. */
const BULK_INITIATION_TIMEOUT_MS = 45_000;
const BULK_STATUS_TIMEOUT_MS = 30_000;
/** A pain.002 of 100,000 transactions is about 21 MB (about 210 bytes a transaction): room for that, still capped. */
const BULK_STATUS_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** `/v1/bulk-payments/{product}/...` with each segment encoded. */
export function bulkPaymentsPath(product: string, ...segments: string[]): string {
  return ['/v1/bulk-payments', product, ...segments].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

export class BerlinGroupBulkPayments {
  constructor(private readonly client: BerlinGroupClient) {}

  async initiate(conn: BankConnection, cmd: InitiateBulkPaymentCommand): Promise<InitiatePaymentResult> {
    const transactions: BulkTransactionForBank[] = [];
    for await (const t of cmd.transactions) transactions.push(t);
    const xml = isBulkXmlProduct(cmd.paymentProduct);
    const res = await this.client.send(conn, {
      method: 'POST',
      path: bulkPaymentsPath(cmd.paymentProduct),
      // One X-Request-ID per logical initiation; BG banks do not deduplicate on it (see initiation-guard).
      requestId: cmd.idempotencyKey,
      psu: cmd.psu,
      headers: redirectHeaders(cmd.redirect, cmd.redirectPreferred),
      ...(xml
        ? { rawBody: { contentType: 'application/xml', text: toPain001(conn.bicFi, cmd, transactions) } }
        : { body: toBgBulkInitiation(cmd, transactions) }),
      timeoutMs: Math.max(conn.timeoutMs ?? 0, BULK_INITIATION_TIMEOUT_MS),
    });
    return toInitiationResult(res, conn);
  }

  async status(conn: BankConnection, ref: BulkPaymentRef, opts: { perTransaction?: boolean } = {}): Promise<BulkStatusReport> {
    const path = bulkPaymentsPath(ref.paymentProduct, ref.bankPaymentId, 'status');
    if (opts.perTransaction) {
      try {
        const res = await this.client.send(conn, { method: 'GET', path, requestId: ref.requestId, psu: ref.psu, accept: 'application/xml', timeoutMs: BULK_STATUS_TIMEOUT_MS, maxResponseBytes: BULK_STATUS_MAX_RESPONSE_BYTES });
        if (typeof res.body === 'string') return parsePain002Status(res.body);
      } catch (err) {
        // 406: this bank has no XML status; anything else is the caller's to handle.
        if (!(err instanceof BankError && err.details.httpStatus === 406)) throw err;
      }
    }
    return { status: await readTransactionStatus(this.client, conn, ref, path) };
  }

  async startAuthorisation(conn: BankConnection, ref: BulkPaymentRef & { redirect: Redirect }): Promise<StartAuthorisationResult> {
    return startScaProcess(this.client, conn, ref, bulkPaymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations'));
  }

  async scaStatus(conn: BankConnection, ref: BulkPaymentRef & { authorisationId: string }): Promise<BankScaStatus> {
    return readScaStatus(this.client, conn, ref, bulkPaymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId));
  }

  async cancel(conn: BankConnection, ref: BulkPaymentRef): Promise<CancelPaymentResult> {
    return cancelPaymentResource(this.client, conn, ref, bulkPaymentsPath(ref.paymentProduct, ref.bankPaymentId));
  }
}

/** BG `bulkPaymentInitiation_json`. */
export function toBgBulkInitiation(cmd: InitiateBulkPaymentCommand, transactions: readonly BulkTransactionForBank[]): Record<string, unknown> {
  return dropUndefined({
    batchBookingPreferred: cmd.bulk.batchBookingPreferred,
    debtorAccount: dropUndefined({ iban: cmd.bulk.debtorIban, currency: cmd.bulk.debtorCurrency }),
    requestedExecutionDate: cmd.bulk.requestedExecutionDate,
    payments: transactions.map((t) =>
      dropUndefined({
        endToEndIdentification: t.endToEndId,
        instructedAmount: { currency: t.currency, amount: t.amount },
        creditorAccount: { iban: t.creditorIban },
        creditorAgent: t.creditorAgent,
        creditorName: t.creditorName,
        creditorAddress: t.creditorAddress,
        remittanceInformationUnstructured: t.remittanceInformationUnstructured,
      }),
    ),
  });
}

/** The bulk as a pain.001.001.09 document with one PmtInf (what `pain.001-*` products take). */
export function toPain001(debtorAgentBic: string, cmd: InitiateBulkPaymentCommand, transactions: readonly BulkTransactionForBank[], now = new Date()): string {
  const b = cmd.bulk;
  const instant = cmd.paymentProduct.includes('instant');
  const date = b.requestedExecutionDate ?? now.toISOString().slice(0, 10);
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">\n<CstmrCdtTrfInitn>\n',
    `<GrpHdr><MsgId>${xmlTextMax(b.messageId, 35)}</MsgId><CreDtTm>${now.toISOString().slice(0, 19)}</CreDtTm>`,
    `<NbOfTxs>${b.numberOfTransactions}</NbOfTxs><CtrlSum>${b.controlSum}</CtrlSum><InitgPty><Nm>Clearway</Nm></InitgPty></GrpHdr>\n`,
    `<PmtInf><PmtInfId>${xmlTextMax(b.pmtInfId, 35)}</PmtInfId><PmtMtd>TRF</PmtMtd>`,
    b.batchBookingPreferred === undefined ? '' : `<BtchBookg>${b.batchBookingPreferred}</BtchBookg>`,
    `<NbOfTxs>${b.numberOfTransactions}</NbOfTxs><CtrlSum>${b.controlSum}</CtrlSum>`,
    `<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl>${instant ? '<LclInstrm><Cd>INST</Cd></LclInstrm>' : ''}</PmtTpInf>`,
    `<ReqdExctnDt><Dt>${date}</Dt></ReqdExctnDt>`,
    `<Dbtr><Nm>${xmlTextMax(b.debtorName ?? 'NOTPROVIDED', 140)}</Nm></Dbtr>`,
    `<DbtrAcct><Id><IBAN>${xmlText(b.debtorIban)}</IBAN></Id>${b.debtorCurrency ? `<Ccy>${xmlText(b.debtorCurrency)}</Ccy>` : ''}</DbtrAcct>`,
    `<DbtrAgt><FinInstnId><BICFI>${xmlText(debtorAgentBic)}</BICFI></FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>\n`,
  ];
  for (const t of transactions) {
    parts.push(
      `<CdtTrfTxInf><PmtId><EndToEndId>${xmlTextMax(t.endToEndId, 35)}</EndToEndId></PmtId>` +
        `<Amt><InstdAmt Ccy="${xmlText(t.currency)}">${t.amount}</InstdAmt></Amt>` +
        (t.creditorAgent ? `<CdtrAgt><FinInstnId><BICFI>${xmlText(t.creditorAgent)}</BICFI></FinInstnId></CdtrAgt>` : '') +
        `<Cdtr><Nm>${xmlTextMax(t.creditorName, 140)}</Nm></Cdtr><CdtrAcct><Id><IBAN>${xmlText(t.creditorIban)}</IBAN></Id></CdtrAcct>` +
        (t.remittanceInformationUnstructured ? `<RmtInf><Ustrd>${xmlTextMax(t.remittanceInformationUnstructured, 140)}</Ustrd></RmtInf>` : '') +
        '</CdtTrfTxInf>\n',
    );
  }
  parts.push('</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n');
  return parts.join('');
}

/**
 * A pain.002 status report (any version: elements are matched by local name) → the bulk's status
 * (GrpSts, else the PmtInf's) and each transaction's status and first reason code. Statuses go
 * through the same exhaustive map as JSON ones: an unknown code is pending, its raw value kept.
 */
export function parsePain002Status(xml: string): BulkStatusReport {
  const parser = new SaxesParser({ xmlns: true });
  const stack: string[] = [];
  let text = '';
  let groupStatus: string | undefined;
  let pmtInfStatus: string | undefined;
  const transactions: BulkTransactionReport[] = [];
  let current: { endToEndId?: string; status?: string; reason?: string } | undefined;
  parser.on('opentag', (tag) => {
    stack.push(tag.local);
    text = '';
    if (tag.local === 'TxInfAndSts') current = {};
  });
  parser.on('text', (t) => void (text += t));
  parser.on('closetag', (tag) => {
    const parent = stack[stack.length - 2];
    const value = text.trim();
    if (tag.local === 'GrpSts' && parent === 'OrgnlGrpInfAndSts') groupStatus = value;
    else if (tag.local === 'PmtInfSts' && parent === 'OrgnlPmtInfAndSts') pmtInfStatus ??= value;
    else if (current && tag.local === 'OrgnlEndToEndId' && parent === 'TxInfAndSts') current.endToEndId = value;
    else if (current && tag.local === 'TxSts' && parent === 'TxInfAndSts') current.status = value;
    else if (current && tag.local === 'Cd' && parent === 'Rsn' && stack.includes('StsRsnInf')) current.reason ??= value;
    else if (tag.local === 'TxInfAndSts' && current) {
      if (current.endToEndId && current.status) {
        transactions.push({ endToEndId: current.endToEndId, status: mapTransactionStatus(current.status), ...(current.reason ? { reasonCode: current.reason } : {}) });
      }
      current = undefined;
    }
    stack.pop();
    text = '';
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    throw new BankError('protocol', `pain.002 status report is not well-formed XML: ${(err as Error).message.slice(0, 100)}`);
  }
  const status = groupStatus ?? pmtInfStatus;
  if (!status) throw new BankError('protocol', 'pain.002 status report carries no group or payment information status');
  return { status: mapTransactionStatus(status), transactions };
}
