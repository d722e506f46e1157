import { sepaPayment, type TestClient } from '../support/factories';
import { finalState, initiate } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { PythonWebhookReceiver, type ReceivedWebhook } from '../support/webhook-receiver';

/**
 * Webhooks end to end: status changes in the real payment flow → outbox → dispatcher workflow on the
 * real Temporal dev server → a receiver in Python that verifies every signature with the PyPI
 * `standardwebhooks` package, sharing no code with Clearway.
 */
let stack: TestStack;
let receiver: PythonWebhookReceiver;
let client: TestClient;
let token: string;
let paymentToken: string;

const WEBHOOKS = '/webhooks/v1/endpoints';

beforeAll(async () => {
  receiver = await PythonWebhookReceiver.start();
  // Short retry delays so the schedule runs within a test; the real one is checked with time skipping.
  stack = await TestStack.start({ env: { WEBHOOK_RETRY_DELAYS_MS: '300,600,900,1200,1500,1800,2100', WEBHOOK_SWEEP_SECONDS: '0' } });
  client = await stack.newClient();
  token = await stack.token(client, 'webhooks private');
  paymentToken = await stack.token(client, 'paymentinitiation private');
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});
beforeEach(() => receiver.reset());

async function createEndpoint(body: Record<string, unknown>, as = token) {
  const res = await stack.call('POST', WEBHOOKS, { token: as, body });
  return res;
}

/** The events of one resource that reached the receiver, in arrival order, each checked as verified. */
async function receivedFor(id: string, expected: number, timeoutMs = 30_000): Promise<ReceivedWebhook[]> {
  return eventually(async () => {
    const all = (await receiver.received()).filter((r) => r.answered < 300 && JSON.stringify(r.body).includes(id));
    return all.length >= expected ? all : undefined;
  }, timeoutMs, 200);
}

describe('endpoints and signed delivery of payment status changes', () => {
  test('a payment’s status changes reach the endpoint in order, signed (verified by the PyPI standardwebhooks package), without PII', async () => {
    const created = await createEndpoint({ url: receiver.url(), description: 'ERP', eventTypes: ['payment.status_changed'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: receiver.url(), description: 'ERP', eventTypes: ['payment.status_changed'], enabled: true });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await receiver.setSecrets([created.body.secret]);
    // The secret is shown once.
    const read = await stack.call('GET', `${WEBHOOKS}/${created.body.endpointId}`, { token });
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(created.body.secret.slice(6, 20));

    const payment = await initiate(stack, { token: paymentToken, psuId: 'decoupled', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: '10.00' } }) });
    expect(payment.status).toBe(201);
    const paymentId: string = payment.body.paymentId;
    await finalState(stack, paymentId);

    const got = await receivedFor(paymentId, 2);
    for (const r of got) expect(r.verifiedWith).toEqual([0]);
    expect(got.map((r) => r.body.data.transactionStatus)).toEqual(['ACSP', 'ACSC']);
    const last = got[got.length - 1]!;
    expect(last.body).toEqual({
      type: 'payment.status_changed',
      id: last.webhookId,
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      tenantId: client.tenantId,
      data: {
        paymentId,
        paymentService: 'payments',
        paymentProduct: 'sepa-credit-transfers',
        transactionStatus: 'ACSC',
        instructedAmount: { currency: 'EUR', amount: '10.00' },
      },
    });
    // Only the subscribed type, and never an IBAN or a name.
    expect(got.every((r) => r.body.type === 'payment.status_changed')).toBe(true);
    const everything = JSON.stringify(await receiver.received());
    for (const pii of ['DE89370400440532013000', 'NL91ABNA0417164300', 'Enterprise GmbH', 'Invoice']) expect(everything).not.toContain(pii);

    // The delivery log shows each delivery with its answer and latency.
    const log = await stack.call('GET', `${WEBHOOKS}/${created.body.endpointId}/deliveries`, { token });
    expect(log.status).toBe(200);
    const mine = log.body.deliveries.filter((d: { eventId: string }) => got.some((r) => r.webhookId === d.eventId));
    expect(mine).toHaveLength(2);
    for (const d of mine) expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastResponseCode: 204, eventType: 'payment.status_changed', lastLatencyMs: expect.any(Number) });
  });
});
