import { paymentWorkflowId } from '../../../workflows/payment-initiation.api';
import { periodicPaymentWorkflowId } from '../../../workflows/periodic-payment.api';

/**
 * The workflow that owns a payment, by its payment service: the SCA callback (one URL for every
 * service) wakes the right one. One line per service.
 */
const WORKFLOW_ID_BY_SERVICE: Record<string, (paymentId: string) => string> = {
  payments: paymentWorkflowId,
  'periodic-payments': periodicPaymentWorkflowId,
};

export function workflowIdForPayment(paymentService: string, paymentId: string): string {
  return (Object.hasOwn(WORKFLOW_ID_BY_SERVICE, paymentService) ? WORKFLOW_ID_BY_SERVICE[paymentService] : paymentWorkflowId)(paymentId);
}
