/**
 * The operator's ruling on an initiation whose outcome is unknown (`resolveInitiation`), the same
 * for single payments, bulks and standing orders: checked by the update's validator (only while the
 * outcome is unknown and no other decision is being checked), `initiated` confirmed at the bank
 * (the bank must know the id the operator names), audited, then handed to the workflow's main line,
 * which applies it; the operator's answer waits until it has been applied.
 */
import type { UpdateDefinition } from '@temporalio/common';
import { condition, currentUpdateInfo, setHandler } from '@temporalio/workflow';
import type { BankTransactionStatus, TransactionStatus } from '../../libs/domain/transaction-status';
import type { OperatorDecision, OperatorDecisionResult } from '../payment-initiation.api';
import { findApplicationFailure } from './failures';
import { failure, FailureType } from './retry-policies';

export type AcceptedDecision = OperatorDecision & { status?: BankTransactionStatus };

export interface OperatorDecisionHooks {
  /** True while the initiation outcome is unknown. */
  outcomeUnknown(): boolean;
  /** For the refusal's text: the initiation outcome as the workflow knows it. */
  initiationOutcome(): string | undefined;
  /** The bank's status of the payment the operator names (fails when the bank does not know it). */
  confirmAtBank(bankPaymentId: string): Promise<BankTransactionStatus>;
  /** The audit row, keyed by the update's id. */
  record(updateId: string, decision: OperatorDecision): Promise<void>;
  /** Hands the checked decision to the workflow's main line. */
  accept(decision: AcceptedDecision): void;
  /** True once the main line has applied it. */
  resolved(): boolean;
  transactionStatus(): TransactionStatus;
}

export function handleOperatorDecisions(
  update: UpdateDefinition<OperatorDecisionResult, [OperatorDecision]>,
  hooks: OperatorDecisionHooks,
): void {
  let deciding = false;
  setHandler(
    update,
    async (d) => {
      deciding = true;
      try {
        const status = d.decision === 'initiated' ? await hooks.confirmAtBank(d.bankPaymentId) : undefined;
        await hooks.record(currentUpdateInfo()!.id, d);
        hooks.accept({ ...d, status });
      } catch (err) {
        deciding = false;
        throw failure(FailureType.DecisionRefused, findApplicationFailure(err)?.message ?? 'The decision could not be checked with the bank');
      }
      await condition(hooks.resolved);
      return { transactionStatus: hooks.transactionStatus(), initiationOutcome: 'resolved' as const };
    },
    {
      validator: (d: OperatorDecision) => {
        if (!hooks.outcomeUnknown() || deciding) throw new Error(`Nothing to decide: the initiation outcome is ${hooks.initiationOutcome() ?? 'known'}`);
        const text = (v: unknown, max: number) => typeof v === 'string' && v.trim().length > 0 && v.length <= max;
        if (!text(d?.operator, 200)) throw new Error('operator: a staff identity (1-200 characters) is required');
        if (!text(d.reason, 1000)) throw new Error('reason: what the bank said (1-1000 characters) is required');
        if (d.decision === 'initiated' ? !text(d.bankPaymentId, 200) : d.decision !== 'not_initiated') {
          throw new Error('decision: "initiated" with bankPaymentId, or "not_initiated"');
        }
      },
    },
  );
}
