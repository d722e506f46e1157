/** A decoupled payment through the API, as the benches submit it (payments and floor). */
import { randomUUID } from 'node:crypto';
import { paymentWorkflowId, type PaymentWorkflowState } from '../workflows/payment-initiation.api';
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

