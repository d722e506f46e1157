import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../libs/domain/ids';
import { paymentWorkflowId, resolveInitiationUpdate, type OperatorDecision } from '../../workflows/payment-initiation.api';
import type { TestStack } from './stack';

/** The X-Request-ID every attempt of a payment's initiation carries (activities/payment.activities.ts). */
export function initiationRequestId(paymentId: string): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate');
}

/**
 * What an operator does for a payment whose initiation outcome is unknown: ask the bank (here the
 * sandbox's own books, by the initiation's X-Request-ID, as a bank's support desk would search
 * its logs) and tell the workflow through its `resolveInitiation` update.
 */
export async function resolveAsOperator(stack: TestStack, paymentId: string, operator = 'ops:e2e'): Promise<OperatorDecision> {
  const atBank = stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(paymentId));
  if (atBank.length > 1) throw new Error(`the bank holds ${atBank.length} payments for ${paymentId}: initiated more than once`);
  const decision: OperatorDecision = atBank[0]
    ? { operator, decision: 'initiated', bankPaymentId: atBank[0].paymentId, reason: 'The bank’s support found the payment by its X-Request-ID' }
    : { operator, decision: 'not_initiated', reason: 'The bank’s support found no payment with this X-Request-ID' };
  await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).executeUpdate(resolveInitiationUpdate, { args: [decision] });
  return decision;
}
