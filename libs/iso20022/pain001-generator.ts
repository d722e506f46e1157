import { ibanFromBban } from '../domain/iban';
import { CONTROL_SUM_SCALE, formatScaled, toScaled } from './decimal';
import type { Pain001Version } from './pain001';
import { XmlOutput, xmlText } from './xml-output';

/** Where in the file a deliberate fault goes: PmtInf index and transaction index within it (0-based). */
export interface FaultPosition {
  pmtInf: number;
  tx: number;
}

/** One PmtInf block of a generated file. */
export interface GeneratedPaymentInformation {
  pmtInfId: string;
  debtorIban: string;
  /** Omitted → DbtrAgt says `Othr/Id NOTPROVIDED` (the bank must come from the directory). */
  debtorAgentBic?: string;
  debtorName?: string;
  instant?: boolean;
  batchBooking?: boolean;
  /** YYYY-MM-DD; default 2026-12-01. */
  requestedExecutionDate?: string;
  /** Default EUR. */
  currency?: string;
  /** How many transactions. */
  transactions: number;
  /** Amount of transaction `i`; default deterministic amounts 1.00–5000.99 avoiding the sandbox's cents 13 and 42. */
  amount?: (i: number) => string;
  /** Creditor IBAN of transaction `i`; default valid German IBANs. */
  creditorIban?: (i: number) => string;
  /** Creditor agent BIC of transaction `i`, or undefined for none; default none. */
  creditorAgentBic?: (i: number) => string | undefined;
}

/** What `generatePain001` writes. Same spec, same bytes. */
export interface GeneratePain001Spec {
  version: Pain001Version;
  msgId: string;
  /** Default 2026-11-30T09:00:00. */
  creationDateTime?: string;
  initiatingPartyName?: string;
  paymentInformations: GeneratedPaymentInformation[];
  /** Deliberate faults for bad-file tests. */
  faults?: Partial<{
    groupNbOfTxs: number;
    groupCtrlSum: string;
    pmtInfNbOfTxs: { pmtInf: number; value: number };
    pmtInfCtrlSum: { pmtInf: number; value: string };
    /** A creditor IBAN of the right shape (XSD-valid) with wrong check digits. */
    badIbanAt: FaultPosition;
    /** A creditor agent BIC with "O" as second location character: the .09 XSD lets it through, ISO 9362 does not. */
    badBicAt: FaultPosition;
    /** This transaction repeats the EndToEndId of the one before it (tx ≥ 1). */
    duplicateEndToEndIdAt: FaultPosition;
    /** An element the XSD does not allow, inside this transaction. */
    unexpectedElementAt: FaultPosition;
    /** Stop writing at this transaction: the file ends mid-element (not well-formed). */
    truncateAt: FaultPosition;
  }>;
}

export interface GeneratedPain001 {
  bytes: number;
  numberOfTransactions: number;
  /** Sum of all amounts as GrpHdr/CtrlSum holds it (unless faulted). */
  controlSum: string;
}

const NAMESPACE = (v: Pain001Version) => `urn:iso:std:iso:20022:tech:xsd:${v}`;

/** Amount for transaction `i`: deterministic, spread over 1.00–5000.99, never cents 13 or 42 (sandbox scenarios). */
export function defaultAmount(i: number): string {
  const whole = 1 + ((i * 7919) % 5000);
  let cents = (i * 37) % 100;
  if (cents === 13 || cents === 42) cents = 0;
  return `${whole}.${String(cents).padStart(2, '0')}`;
}

/** A valid German IBAN for transaction `i` (bank code 37040044, account number from `i`). */
export function defaultCreditorIban(i: number): string {
  return ibanFromBban('DE', `37040044${String(i + 1).padStart(10, '0')}`);
}

/**
 * Streams a pain.001.001.03 or .09 file of any size to `out` (not ended), deterministic for a given
 * spec: XSD-valid and passing every semantic check unless `faults` says otherwise. For tests,
 * benchmarks and `clearway batch sample`; amounts are summed as bigints.
 */
export async function generatePain001(out: NodeJS.WritableStream, spec: GeneratePain001Spec): Promise<GeneratedPain001> {
  const faults = spec.faults ?? {};
  const v09 = spec.version === 'pain.001.001.09';
  const bicTag = v09 ? 'BICFI' : 'BIC';
  const xml = new XmlOutput(out);

  const blocks = spec.paymentInformations.map((p) => {
    const amount = p.amount ?? defaultAmount;
    let sum = 0n;
    for (let i = 0; i < p.transactions; i++) sum += scaled(amount(i));
    return { p, amount, sum };
  });
  const total = blocks.reduce((n, b) => n + b.p.transactions, 0);
  const controlSum = formatScaled(
    blocks.reduce((s, b) => s + b.sum, 0n),
    CONTROL_SUM_SCALE,
  );

  await xml.write(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${NAMESPACE(spec.version)}">\n<CstmrCdtTrfInitn>\n` +
      `<GrpHdr><MsgId>${xmlText(spec.msgId)}</MsgId><CreDtTm>${spec.creationDateTime ?? '2026-11-30T09:00:00'}</CreDtTm>` +
      `<NbOfTxs>${faults.groupNbOfTxs ?? total}</NbOfTxs><CtrlSum>${faults.groupCtrlSum ?? controlSum}</CtrlSum>` +
      `<InitgPty><Nm>${xmlText(spec.initiatingPartyName ?? 'Clearway Generator')}</Nm></InitgPty></GrpHdr>\n`,
  );

  for (const [pi, { p, amount, sum }] of blocks.entries()) {
    const currency = p.currency ?? 'EUR';
    const nbOfTxs = faults.pmtInfNbOfTxs?.pmtInf === pi ? faults.pmtInfNbOfTxs.value : p.transactions;
    const ctrlSum = faults.pmtInfCtrlSum?.pmtInf === pi ? faults.pmtInfCtrlSum.value : formatScaled(sum, CONTROL_SUM_SCALE);
    const date = p.requestedExecutionDate ?? '2026-12-01';
    const agent = p.debtorAgentBic
      ? `<${bicTag}>${p.debtorAgentBic}</${bicTag}>`
      : '<Othr><Id>NOTPROVIDED</Id></Othr>';
    await xml.write(
      `<PmtInf><PmtInfId>${xmlText(p.pmtInfId)}</PmtInfId><PmtMtd>TRF</PmtMtd>` +
        `<BtchBookg>${p.batchBooking ?? true}</BtchBookg><NbOfTxs>${nbOfTxs}</NbOfTxs><CtrlSum>${ctrlSum}</CtrlSum>` +
        `<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl>${p.instant ? '<LclInstrm><Cd>INST</Cd></LclInstrm>' : ''}</PmtTpInf>` +
        `<ReqdExctnDt>${v09 ? `<Dt>${date}</Dt>` : date}</ReqdExctnDt>` +
        `<Dbtr><Nm>${xmlText(p.debtorName ?? `Debtor ${pi + 1}`)}</Nm></Dbtr>` +
        `<DbtrAcct><Id><IBAN>${p.debtorIban}</IBAN></Id><Ccy>${currency}</Ccy></DbtrAcct>` +
        `<DbtrAgt><FinInstnId>${agent}</FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>\n`,
    );
    for (let i = 0; i < p.transactions; i++) {
      const at = (f?: FaultPosition) => f?.pmtInf === pi && f.tx === i;
      if (at(faults.truncateAt)) {
        await xml.write('<CdtTrfTxInf><PmtId><EndToEndId>');
        await xml.flush();
        return { bytes: xml.bytes, numberOfTransactions: total, controlSum };
      }
      const endToEndId = endToEndIdOf(pi, at(faults.duplicateEndToEndIdAt) ? i - 1 : i);
      const iban = at(faults.badIbanAt) ? withWrongCheckDigits(creditorIbanOf(p, i)) : creditorIbanOf(p, i);
      const bic = at(faults.badBicAt) ? 'SANDDEBOXXX' : p.creditorAgentBic?.(i);
      await xml.write(
        `<CdtTrfTxInf><PmtId><InstrId>INSTR-${pi + 1}-${i + 1}</InstrId><EndToEndId>${endToEndId}</EndToEndId></PmtId>` +
          `<Amt><InstdAmt Ccy="${currency}">${amount(i)}</InstdAmt></Amt>` +
          (at(faults.unexpectedElementAt) ? '<Unexpected>1</Unexpected>' : '') +
          (bic ? `<CdtrAgt><FinInstnId><${bicTag}>${bic}</${bicTag}></FinInstnId></CdtrAgt>` : '') +
          `<Cdtr><Nm>Creditor ${i + 1}</Nm></Cdtr><CdtrAcct><Id><IBAN>${iban}</IBAN></Id></CdtrAcct>` +
          `<RmtInf><Ustrd>Invoice ${pi + 1}-${i + 1}</Ustrd></RmtInf></CdtTrfTxInf>\n`,
      );
    }
    await xml.write('</PmtInf>\n');
  }
  await xml.write('</CstmrCdtTrfInitn>\n</Document>\n');
  await xml.flush();
  return { bytes: xml.bytes, numberOfTransactions: total, controlSum };
}

// An amount a test wants rejected beyond 3 decimals counts as 0: readers skip the CtrlSum check then.
function scaled(amount: string): bigint {
  return toScaled(amount, CONTROL_SUM_SCALE) ?? 0n;
}

function endToEndIdOf(pmtInf: number, i: number): string {
  return `E2E-${pmtInf + 1}-${String(i + 1).padStart(6, '0')}`;
}

function creditorIbanOf(p: GeneratedPaymentInformation, i: number): string {
  return (p.creditorIban ?? defaultCreditorIban)(i);
}

/** Same shape, check digits off by one (kept within 02–98 so the XSD pattern still matches). */
function withWrongCheckDigits(iban: string): string {
  const check = Number(iban.slice(2, 4));
  const wrong = check >= 98 ? check - 1 : check + 1;
  return `${iban.slice(0, 2)}${String(wrong).padStart(2, '0')}${iban.slice(4)}`;
}
