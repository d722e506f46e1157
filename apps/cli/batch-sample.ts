import { defaultAmount, type GeneratePain001Spec, type Pain001Version } from '../../libs/iso20022';

/**
 * `clearway batch sample`: a pain.001 payment run for the dev sandbox, so a new user can try the
 * batch flow before their ERP exports a real file. Two debtor accounts at the two sandbox banks:
 * one `PmtInf` for SANDDEB0XXX (a bulk payment) and, unless `singles` is 0, one for SANDNL2AXXX
 * (no bulk payments: single payments, each with its own SCA). The first `rejected` transactions of
 * the bulk carry cents 13, which SANDDEB0XXX rejects with AM04 while the rest settle (the batch ends
 * `partially_completed`, the CLI exits 2).
 */
export interface SampleOptions {
  version: Pain001Version;
  /** Transactions in the SANDDEB0XXX bulk. */
  transactions: number;
  /** Single payments at SANDNL2AXXX; 0 for none. */
  singles: number;
  /** How many of the bulk's transactions the sandbox bank rejects (cents 13). */
  rejected: number;
  msgId: string;
  /** Creation time and execution date (today: a later date would wait for that day at the bank). */
  now: Date;
}

/** What a batch is made for (issue 7's 100,000): a sample of that size is 31 MB, under the upload's 50 MB. */
export const MAX_SAMPLE_TRANSACTIONS = 100_000;

export const SAMPLE_ACCOUNTS = {
  bulk: { pmtInfId: 'PMT-EUR-DE', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX' },
  singles: { pmtInfId: 'PMT-EUR-NL', debtorIban: 'NL91ABNA0417164300', debtorAgentBic: 'SANDNL2AXXX' },
} as const;

/** A MsgId unique to the second, so running `sample` twice gives two batches, not one (MsgId is the batch's identity). */
export function sampleMsgId(now: Date): string {
  return `SAMPLE-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
}

/** The default file name: the MsgId, with anything but letters, digits, '.' and '-' as '-' (a MsgId may hold '/' or spaces). */
export function sampleFileName(msgId: string): string {
  return `${msgId.replace(/[^A-Za-z0-9.-]+/g, '-')}.xml`;
}

/** Problems with the options, worded for the command line; empty when they make a valid file. */
export function sampleProblems(o: Pick<SampleOptions, 'transactions' | 'singles' | 'rejected' | 'msgId'>): string[] {
  const problems: string[] = [];
  if (o.transactions < 1) problems.push('--transactions must be at least 1');
  if (o.transactions + o.singles > MAX_SAMPLE_TRANSACTIONS) {
    problems.push(`--transactions and --singles add up to ${o.transactions + o.singles}; a batch holds at most ${MAX_SAMPLE_TRANSACTIONS}`);
  }
  if (o.rejected > o.transactions) problems.push(`--rejected (${o.rejected}) cannot exceed --transactions (${o.transactions})`);
  // pain.001's Max35Text, and the characters SEPA allows in identifiers.
  if (!/^[A-Za-z0-9/\-?:().,'+ ]{1,35}$/.test(o.msgId)) problems.push('--msg-id must be 1–35 of the SEPA characters (letters, digits, / - ? : ( ) . , \' + space)');
  return problems;
}

/** Amount of bulk transaction `i`: the generator's spread, with cents 13 on the first `rejected`. */
export function sampleAmount(rejected: number): (i: number) => string {
  return (i) => (i < rejected ? `${defaultAmount(i).split('.')[0]}.13` : defaultAmount(i));
}

export function sampleSpec(o: SampleOptions): GeneratePain001Spec {
  const today = o.now.toISOString().slice(0, 10);
  const common = { requestedExecutionDate: today, currency: 'EUR', batchBooking: true };
  return {
    version: o.version,
    msgId: o.msgId,
    creationDateTime: o.now.toISOString().slice(0, 19),
    initiatingPartyName: 'Clearway sample payment run',
    paymentInformations: [
      { ...SAMPLE_ACCOUNTS.bulk, ...common, debtorName: 'Sample GmbH', transactions: o.transactions, amount: sampleAmount(o.rejected) },
      ...(o.singles > 0 ? [{ ...SAMPLE_ACCOUNTS.singles, ...common, debtorName: 'Sample B.V.', transactions: o.singles }] : []),
    ],
  };
}
