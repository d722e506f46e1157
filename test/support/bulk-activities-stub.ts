import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BulkPaymentActivities } from '../../activities/bulk-payment.activities';
import type { ScaStatus, TransactionStatus } from '../../libs/domain/transaction-status';
import type { BulkStatusSummary, BulkTransactionCounts } from '../../workflows/bulk-payment.api';
import type { InitiationAttemptResult, InitiationSummary } from '../../workflows/payment-initiation.api';

type Name = keyof BulkPaymentActivities;
export type RecordedBulkChange = Parameters<BulkPaymentActivities['recordBulkPaymentStatus']>[0];

export interface BulkBankScript {
  initiate?: (attempt: number) => InitiationAttemptResult;
  /** Per SCA check (0-based). Default finalised. */
  scaStatus?: (check: number) => ScaStatus;
  /** Per status poll (0-based). Default: ACSC, every transaction settled. */
  poll?: (n: number) => Omit<BulkStatusSummary, 'counts'> & { counts?: BulkTransactionCounts };
  cancel?: () => { transactionStatus: TransactionStatus; authorisationRequired: boolean };
  /** Per cancellation SCA check (0-based). Default started. */
  cancellationScaStatus?: (check: number) => ScaStatus;
  numberOfTransactions?: number;
  scaTimeoutMs?: number;
}

export const DECOUPLED_BULK_INITIATION: InitiationSummary = {
  bankPaymentId: 'bank-bulk-1',
  transactionStatus: 'RCVD',
  rawTransactionStatus: 'RCVD',
  scaApproach: 'DECOUPLED',
  authorisationId: 'auth-1',
};

/**
 * Bulk activities stubbed at the bank boundary: records calls (with the server's clock, read
 * through `now`) and the status changes the workflow persists, and keeps per-status counts the way
 * the repository would (the bulk's status applied to open transactions).
 */
export function stubBulkBank(now: () => Promise<number>, script: BulkBankScript = {}) {
  const n = script.numberOfTransactions ?? 4;
  const calls: { name: Name; attempt: number; at: number }[] = [];
  const recorded: RecordedBulkChange[] = [];
  let counts: BulkTransactionCounts = { RCVD: n };
  const note = async (name: Name) => {
    const call = { name, attempt: activityInfo().attempt, at: await now() };
    calls.push(call);
    return call;
  };
  const callsTo = (name: Name) => calls.filter((c) => c.name === name);
  const isFinal = (s: string) => ['ACSC', 'ACCC', 'RJCT', 'CANC'].includes(s);
  const allFinal = () => Object.keys(counts).every(isFinal);

  const activities: BulkPaymentActivities = {
    async loadBulkPaymentSettings() {
      await note('loadBulkPaymentSettings');
      return { bicFi: 'SANDDEB0XXX', paymentProduct: 'sepa-credit-transfers', numberOfTransactions: n, scaTimeoutMs: script.scaTimeoutMs ?? 900_000 };
    },
    async initiateBulkPaymentAtBank() {
      const { attempt } = await note('initiateBulkPaymentAtBank');
      return script.initiate ? script.initiate(attempt) : DECOUPLED_BULK_INITIATION;
    },
    async confirmBankBulkPayment(_id, bankPaymentId) {
      await note('confirmBankBulkPayment');
      if (bankPaymentId !== 'bank-bulk-1') throw ApplicationFailure.create({ type: 'DecisionRefused', message: 'unknown bulk' });
      return { raw: 'RCVD', normalised: 'RCVD' };
    },
    async adoptBankBulkPayment() {
      await note('adoptBankBulkPayment');
    },
    async recordBulkOperatorDecision() {
      await note('recordBulkOperatorDecision');
    },
    async pollBulkPaymentStatusAtBank() {
      await note('pollBulkPaymentStatusAtBank');
      const read = script.poll?.(callsTo('pollBulkPaymentStatusAtBank').length - 1) ?? {
        transactionStatus: 'ACSC' as const,
        rawTransactionStatus: 'ACSC',
        allTransactionsFinal: true,
        perTransaction: true,
        counts: { ACSC: n },
      };
      if (read.counts) counts = read.counts;
      return { ...read, counts, allTransactionsFinal: read.counts ? read.allTransactionsFinal : allFinal() };
    },
    async getBankBulkScaStatus() {
      await note('getBankBulkScaStatus');
      const s = script.scaStatus?.(callsTo('getBankBulkScaStatus').length - 1) ?? 'finalised';
      return { raw: s, normalised: s };
    },
    async startBulkAuthorisationAtBank() {
      await note('startBulkAuthorisationAtBank');
      return { authorisationId: 'auth-2', scaStatus: 'received', scaApproach: 'REDIRECT', scaRedirectUrl: 'https://bank.example/sca/auth-2' };
    },
    async cancelBulkPaymentAtBank() {
      await note('cancelBulkPaymentAtBank');
      return script.cancel?.() ?? { transactionStatus: 'CANC', authorisationRequired: false };
    },
    async startBulkCancellationAuthorisationAtBank() {
      await note('startBulkCancellationAuthorisationAtBank');
      return { authorisationId: 'cancel-1', scaStatus: 'started', scaApproach: 'DECOUPLED', psuMessage: 'Confirm the cancellation in your app' };
    },
    async getBulkCancellationScaStatusAtBank() {
      await note('getBulkCancellationScaStatusAtBank');
      const s = script.cancellationScaStatus?.(callsTo('getBulkCancellationScaStatusAtBank').length - 1) ?? 'started';
      return { raw: s, normalised: s };
    },
    async recordBulkPaymentStatus(change) {
      await note('recordBulkPaymentStatus');
      recorded.push(change);
      if (change.kind === 'transaction_status' && change.applyToOpenTransactions) {
        const open = Object.entries(counts).filter(([s]) => !isFinal(s)).reduce((sum, [, c]) => sum + (c ?? 0), 0);
        const next: BulkTransactionCounts = Object.fromEntries(Object.entries(counts).filter(([s]) => isFinal(s)));
        if (open) next[change.status as TransactionStatus] = (next[change.status as TransactionStatus] ?? 0) + open;
        counts = next;
      }
      return { counts, allTransactionsFinal: allFinal() };
    },
  };
  return {
    activities,
    calls,
    recorded,
    callsTo,
    count: (name: Name) => callsTo(name).length,
    timeline: () => recorded.map((c) => `${c.kind}:${c.status}`),
  };
}
