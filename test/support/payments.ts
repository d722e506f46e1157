import { randomUUID } from 'node:crypto';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment } from './factories';
import { eventually, type TestStack } from './stack';

export const BIC = 'SANDDEB0XXX';
export const PIS = '/psd2/paymentinitiation/v1/payments';

export interface InitiateOptions {
  token: string;
  product?: string;
  psuId?: string;
  body?: Record<string, unknown>;
  requestId?: string;
  redirectUri?: string;
  nokRedirectUri?: string;
  headers?: Record<string, string>;
}

/** POST /payments/{product} as a client would send it. */
export function initiate(stack: TestStack, opts: InitiateOptions) {
  const headers: Record<string, string> = {
    'X-BicFi': BIC,
    'PSU-IP-Address': '192.0.2.10',
    'X-Request-ID': opts.requestId ?? randomUUID(),
    ...(opts.psuId ? { 'PSU-ID': opts.psuId } : {}),
    ...(opts.redirectUri ? { 'TPP-Redirect-URI': opts.redirectUri } : {}),
    ...(opts.nokRedirectUri ? { 'TPP-Nok-Redirect-URI': opts.nokRedirectUri } : {}),
    ...opts.headers,
  };
  return stack.call('POST', `${PIS}/${opts.product ?? 'sepa-credit-transfers'}`, { token: opts.token, headers, body: opts.body ?? sepaPayment() });
}

export function getStatus(stack: TestStack, token: string, paymentId: string, product = 'sepa-credit-transfers') {
  return stack.call('GET', `${PIS}/${product}/${paymentId}/status`, { token, headers: { 'X-BicFi': BIC } });
}

/** Waits until the payment's workflow has completed and returns its final state. */
export async function finalState(stack: TestStack, paymentId: string) {
  const handle = stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
  return eventually(async () => {
    const d = await handle.describe();
    return d.status.name === 'COMPLETED' ? d : undefined;
  }, 30_000, 200);
}

/** The PSU in a browser: opens the bank's SCA page, presses a button, follows redirects back. */
export async function pressScaButton(scaRedirect: string, decision: 'approve' | 'deny'): Promise<{ page: string; bankRedirect: string }> {
  const page = await (await fetch(scaRedirect)).text();
  const res = await fetch(scaRedirect, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }),
    redirect: 'manual',
  });
  if (res.status !== 302 && res.status !== 303) throw new Error(`SCA page answered ${res.status}: ${await res.text()}`);
  return { page, bankRedirect: res.headers.get('location')! };
}
