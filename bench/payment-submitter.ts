/** A decoupled payment through the API, as the benches submit it (payments and floor), and its start-time metadata for the probes. */
import { randomUUID } from 'node:crypto';
import type { WorkflowStartOptions } from '@temporalio/client';
import { BicFi, PaymentProduct, TenantId, TransactionStatus } from '../libs/temporal/search-attributes';
import { paymentWorkflowId, type PaymentWorkflowState } from '../workflows/payment-initiation.api';
import { paymentDetails, paymentSummary } from '../workflows/shared/ui-metadata';
import type { Submit } from './load';
import type { BenchSystem } from './system';

export const PAYMENT_PATH = '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers';
const PAYMENT_BODY = JSON.stringify({
  instructedAmount: { currency: 'EUR', amount: '12.34' },
  debtorAccount: { iban: 'DE89370400440532013000' },
  creditorName: 'Bench',
  creditorAccount: { iban: 'NL91ABNA0417164300' },
});

/** One unit of work: a payment through the API, or a baseline workflow through the Temporal client. */
export function paymentSubmitter(system: BenchSystem, token: string, paymentIds?: string[]): Submit {
  return async () => {
    const res = await fetch(`${system.apiUrl}${PAYMENT_PATH}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'X-Request-ID': randomUUID(),
        'X-BicFi': 'SANDDEB0XXX',
        'PSU-IP-Address': '192.0.2.10',
        'PSU-ID': 'decoupled',
        'Content-Type': 'application/json',
      },
      body: PAYMENT_BODY,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST ${res.status}: ${text.slice(0, 300)}`);
    const { paymentId } = JSON.parse(text) as { paymentId: string };
    paymentIds?.push(paymentId);
    const handle = system.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
    return async () => {
      const state = (await handle.result()) as PaymentWorkflowState;
      if (state.transactionStatus !== 'ACSC') throw new Error(`payment ${paymentId} ended ${state.transactionStatus}`);
    };
  };
}


/** A payment's start-time search attributes and UI metadata, as `PaymentsService.initiate` sets them: for the probe workflows that stand for a payment. */
export function paymentLikeStart(workflowId: string): Pick<WorkflowStartOptions, 'typedSearchAttributes' | 'staticSummary' | 'staticDetails'> {
  const p = { product: 'sepa-credit-transfers', bicFi: 'SANDDEB0XXX', tenantId: 'tenant-bench' };
  return {
    staticSummary: paymentSummary({ ...p, amount: { currency: 'EUR', amount: '12.34' } }),
    staticDetails: paymentDetails({ ...p, paymentId: workflowId, apiBaseUrl: 'http://127.0.0.1:3000', bankName: 'Sandbox Bank', scaApproaches: ['REDIRECT', 'DECOUPLED'], scaTimeoutMs: 900_000 }),
    typedSearchAttributes: [
      { key: BicFi, value: p.bicFi },
      { key: TenantId, value: p.tenantId },
      { key: PaymentProduct, value: p.product },
      { key: TransactionStatus, value: 'RCVD' },
    ],
  };
}
