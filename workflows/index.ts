// Every workflow the worker hosts. Bundled for the Temporal sandbox: Temporal packages and pure code only.
export { paymentInitiationWorkflow } from './payment-initiation.workflow';
export { baselineWorkflow, baselineFanOutWorkflow, baselineFeaturesWorkflow, paymentFloorWorkflow, accountReadFloorWorkflow } from './baseline.workflow';
export { consentWorkflow } from './consent.workflow';
export { openPaymentsTransferWorkflow } from './op-transfer.workflow';
export { mandateWorkflow, mandatePaymentWorkflow } from './mandate.workflow';
export { webhookDispatcherWorkflow, webhookSweepWorkflow } from './webhook-dispatcher.workflow';
export { periodicPaymentWorkflow } from './periodic-payment.workflow';
export { bulkPaymentWorkflow } from './bulk-payment.workflow';
export { batchWorkflow } from './batch.workflow';
