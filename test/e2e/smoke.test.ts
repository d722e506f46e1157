import { TestStack, eventually } from '../support/stack';
import { sepaPayment } from '../support/factories';

let stack: TestStack;
beforeAll(async () => {
  stack = await TestStack.start();
});
afterAll(async () => {
  await stack?.close();
});

test('decoupled payment reaches ACSC', async () => {
  const client = await stack.newClient();
  const token = await stack.token(client);
  const created = await stack.call('POST', '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers', {
    token,
    headers: { 'X-BicFi': 'SANDDEB0XXX', 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'decoupled' },
    body: sepaPayment(),
  });
  console.log(created.status, JSON.stringify(created.body), created.headers.get('aspsp-sca-approach'));
  expect(created.status).toBe(201);
  const id = created.body.paymentId;
  const final = await eventually(async () => {
    const s = await stack.call('GET', `/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${id}/status`, { token, headers: { 'X-BicFi': 'SANDDEB0XXX' } });
    return s.body.transactionStatus === 'ACSC' ? s : undefined;
  });
  expect(final.body.transactionStatus).toBe('ACSC');
});
