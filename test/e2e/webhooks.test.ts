import { randomUUID } from 'node:crypto';
import { createDataSource } from '../../libs/persistence/data-source';
import { appendEvent } from '../../libs/persistence/event-outbox';
import { genericEvent } from '../../libs/webhooks/events';
import { webhookSweepScheduleId, WEBHOOK_SWEEP_WORKFLOW_TYPE } from '../../workflows/webhook.api';
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
  // The sweep Schedule exists but does not fire during the tests: wakeups after commit must do the work.
  stack = await TestStack.start({ env: { WEBHOOK_RETRY_DELAYS_MS: '300,600,900,1200,1500,1800,2100', WEBHOOK_SWEEP_SECONDS: '3600' } });
  client = await stack.newClient();
  token = await stack.token(client, 'webhooks private');
  paymentToken = await stack.token(client, 'paymentinitiation private');
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});
beforeEach(() => receiver.reset());
// Each test registers its own endpoints; left over, they would receive (and sign for) the next test's events too.
afterEach(async () => {
  for (const e of (await stack.call('GET', WEBHOOKS, { token })).body.endpoints) await stack.call('DELETE', `${WEBHOOKS}/${e.endpointId}`, { token });
});

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

async function endpointFor(secretHolder: PythonWebhookReceiver, body: Record<string, unknown> = {}) {
  const created = await createEndpoint({ url: secretHolder.url(), ...body });
  expect(created.status).toBe(201);
  await secretHolder.setSecrets([created.body.secret]);
  return created.body as { endpointId: string; secret: string };
}

async function decoupledPayment(amount = '10.00', headers: Record<string, string> = {}) {
  const payment = await initiate(stack, { token: paymentToken, psuId: 'decoupled', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount } }), headers });
  expect(payment.status).toBe(201);
  return payment;
}

async function settled(endpointId: string) {
  await eventually(async () => {
    const [row] = await stack.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`, [endpointId]);
    return row.n === 0;
  }, 40_000, 200);
}

async function eventsOf(subjectIds: string[]): Promise<{ id: string; type: string }[]> {
  return stack.dataSource.query('SELECT id, type FROM domain_events WHERE subject_id = ANY ($1::uuid[]) ORDER BY occurred_at', [subjectIds]);
}

describe('retries, outages, retry and replay', () => {
  test('a receiver that answers 500 to the first two attempts gets the event on the third, with the same webhook-id', async () => {
    const endpoint = await endpointFor(receiver, { eventTypes: ['payment.status_changed'] });
    await receiver.failFirst(2);
    const payment = await decoupledPayment();
    await finalState(stack, payment.body.paymentId);
    await settled(endpoint.endpointId);

    const all = (await receiver.received()).filter((r) => r.body.data.paymentId === payment.body.paymentId);
    const first = all[0]!;
    const sameMessage = all.filter((r) => r.webhookId === first.webhookId);
    expect(sameMessage.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(sameMessage.every((r) => r.verifiedWith.length === 1 && JSON.stringify(r.body) === JSON.stringify(first.body))).toBe(true);

    const log = await stack.call('GET', `${WEBHOOKS}/${endpoint.endpointId}/deliveries?status=delivered`, { token });
    const delivery = log.body.deliveries.find((d: { eventId: string }) => d.eventId === first.webhookId);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, lastResponseCode: 204 });
    const detail = await stack.call('GET', `${WEBHOOKS}/${endpoint.endpointId}/deliveries/${delivery.deliveryId}`, { token });
    expect(detail.body.attemptLog.map((a: { responseCode: number }) => a.responseCode)).toEqual([500, 500, 204]);
  });

  test('a receiver down during a burst gets everything once it is back; a message seen twice has the same webhook-id and body', async () => {
    const endpoint = await endpointFor(receiver);
    await receiver.down();
    const burst = await Promise.all(['11.00', '12.00', '13.05', '14.00', '15.00', '16.00'].map((amount) => decoupledPayment(amount)));
    const ids = burst.map((p) => p.body.paymentId as string);
    await Promise.all(ids.map((id) => finalState(stack, id)));
    await new Promise((r) => setTimeout(r, 1_500));
    await receiver.up();
    await settled(endpoint.endpointId);

    const events = await eventsOf(ids);
    expect(events.length).toBeGreaterThanOrEqual(ids.length * 2);
    const got = (await receiver.received()).filter((r) => ids.includes(r.body?.data?.paymentId));
    const delivered = new Map<string, string>();
    for (const r of got) {
      expect(r.verifiedWith).toEqual([0]);
      const body = JSON.stringify(r.body);
      if (delivered.has(r.webhookId)) expect(delivered.get(r.webhookId)).toBe(body);
      delivered.set(r.webhookId, body);
    }
    expect([...delivered.keys()].sort()).toEqual(events.map((e) => e.id).sort());
    // Per payment, in the order the changes happened.
    for (const id of ids) {
      const order = events.filter((e) => got.some((r) => r.webhookId === e.id && r.body.data.paymentId === id)).map((e) => e.id);
      const arrival = [...new Set(got.filter((r) => r.body.data.paymentId === id && r.answered < 300).map((r) => r.webhookId))];
      expect(arrival).toEqual(order);
    }
  });

  test('retry sends a delivery again; replay queues a window again; both keep the webhook-id', async () => {
    const endpoint = await endpointFor(receiver, { eventTypes: ['payment.status_changed'] });
    const since = new Date(Date.now() - 1_000).toISOString();
    const payment = await decoupledPayment();
    await finalState(stack, payment.body.paymentId);
    await settled(endpoint.endpointId);
    const before = (await receiver.received()).filter((r) => r.body.data.paymentId === payment.body.paymentId);
    expect(before).toHaveLength(2);

    const log = await stack.call('GET', `${WEBHOOKS}/${endpoint.endpointId}/deliveries`, { token });
    const retried = await stack.call('POST', `${WEBHOOKS}/${endpoint.endpointId}/deliveries/${log.body.deliveries[0].deliveryId}/retry`, { token });
    expect(retried.status).toBe(202);
    await eventually(async () => (await receiver.received()).filter((r) => r.body.data.paymentId === payment.body.paymentId).length === 3);

    const replay = await stack.call('POST', `${WEBHOOKS}/${endpoint.endpointId}/replay?since=${encodeURIComponent(since)}`, { token });
    expect(replay.status).toBe(202);
    expect(replay.body.queued).toBe(2);
    await settled(endpoint.endpointId);
    const after = (await receiver.received()).filter((r) => r.body.data.paymentId === payment.body.paymentId);
    expect(after).toHaveLength(5);
    expect(new Set(after.map((r) => r.webhookId))).toEqual(new Set(before.map((r) => r.webhookId)));

    expect((await stack.call('POST', `${WEBHOOKS}/${endpoint.endpointId}/replay`, { token })).body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'since' });
    expect((await stack.call('POST', `${WEBHOOKS}/${endpoint.endpointId}/replay?since=yesterday`, { token })).status).toBe(400);
  });

  test('a wakeup lost after commit is made good by the sweep', async () => {
    const endpoint = await endpointFor(receiver);
    // Written through a DataSource nobody listens to: as if the worker died right after the commit.
    const other = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 1 }).initialize();
    const event = genericEvent({ type: 'consent.expiring', tenantId: client.tenantId, subjectId: randomUUID(), dedupeKey: randomUUID(), data: { consentId: 'x', validUntil: '2027-01-01' } });
    try {
      await other.transaction((em) => appendEvent(em, event));
    } finally {
      await other.destroy();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect((await receiver.received()).some((r) => r.webhookId === event.id)).toBe(false);

    const schedule = await stack.temporal.schedule.getHandle(webhookSweepScheduleId(stack.config.temporal.taskQueue)).describe();
    expect(schedule.action).toMatchObject({ workflowType: WEBHOOK_SWEEP_WORKFLOW_TYPE });
    await stack.temporal.workflow.execute(WEBHOOK_SWEEP_WORKFLOW_TYPE, { taskQueue: stack.config.temporal.taskQueue, workflowId: `sweep-${randomUUID()}` });
    await eventually(async () => (await receiver.received()).some((r) => r.webhookId === event.id && r.verifiedWith.length === 1));
    await settled(endpoint.endpointId);
  });
});

describe('secret rotation', () => {
  test('after a rotation both secrets sign for 24 h: a receiver holding either verifies; then only the new one', async () => {
    const endpoint = await endpointFor(receiver, { eventTypes: ['payment.status_changed'] });
    const rotated = await stack.call('POST', `${WEBHOOKS}/${endpoint.endpointId}/rotate-secret`, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const window = new Date(rotated.body.previousSecretExpiresAt).getTime() - Date.now();
    expect(window).toBeGreaterThan(23.9 * 3_600_000);
    expect(window).toBeLessThanOrEqual(24 * 3_600_000);

    // Index 0: the old secret, 1: the new one.
    await receiver.setSecrets([endpoint.secret, rotated.body.secret]);
    const p1 = await decoupledPayment();
    await finalState(stack, p1.body.paymentId);
    await settled(endpoint.endpointId);
    for (const r of (await receiver.received()).filter((x) => x.body.data.paymentId === p1.body.paymentId)) {
      expect(r.signatures).toBe(2);
      expect(r.verifiedWith).toEqual([0, 1]);
    }

    // The overlap is over (moved into the past in the database): only the new secret signs.
    await stack.dataSource.query(`UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`, [endpoint.endpointId]);
    const p2 = await decoupledPayment();
    await finalState(stack, p2.body.paymentId);
    await settled(endpoint.endpointId);
    const late = (await receiver.received()).filter((x) => x.body.data.paymentId === p2.body.paymentId);
    expect(late.length).toBeGreaterThan(0);
    for (const r of late) {
      expect(r.signatures).toBe(1);
      expect(r.verifiedWith).toEqual([1]);
    }
  });
});

describe('managing endpoints', () => {
  test('list, patch (event types, description, disable, enable), delete; bad input is a 400 naming the field; the webhooks scope is required', async () => {
    const created = await createEndpoint({ url: receiver.url('/managed') });
    const id = created.body.endpointId;
    expect((await stack.call('GET', WEBHOOKS, { token })).body.endpoints.map((e: { endpointId: string }) => e.endpointId)).toContain(id);
    const patched = await stack.call('PATCH', `${WEBHOOKS}/${id}`, { token, body: { eventTypes: ['consent.status_changed'], description: 'AIS' } });
    expect(patched.body).toMatchObject({ eventTypes: ['consent.status_changed'], description: 'AIS', enabled: true });
    const disabled = await stack.call('PATCH', `${WEBHOOKS}/${id}`, { token, body: { enabled: false } });
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'Disabled by the client' });
    expect((await stack.call('POST', `${WEBHOOKS}/${id}/replay?since=${new Date().toISOString()}`, { token })).status).toBe(409);
    const enabled = await stack.call('PATCH', `${WEBHOOKS}/${id}`, { token, body: { enabled: true } });
    expect(enabled.body.enabled).toBe(true);
    expect(enabled.body.disabledReason).toBeUndefined();

    for (const [body, path] of [
      [{}, 'url'],
      [{ url: receiver.url(), eventTypes: ['payment.teleported'] }, 'eventTypes[0]'],
      [{ url: receiver.url(), eventTypes: [] }, 'eventTypes'],
      [{ url: receiver.url(), colour: 'blue' }, 'colour'],
      [{ url: 'ftp://example.com/x' }, 'url'],
      [{ url: receiver.url(), description: 'a\u0000b' }, 'description'],
    ] as const) {
      const res = await stack.call('POST', WEBHOOKS, { token, rawBody: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path });
    }
    expect((await stack.call('GET', WEBHOOKS, { token: paymentToken })).status).toBe(403);
    expect((await stack.call('DELETE', `${WEBHOOKS}/${id}`, { token })).status).toBe(204);
    expect((await stack.call('GET', `${WEBHOOKS}/${id}`, { token })).status).toBe(404);
  });

  test('another tenant sees none of it: every endpoint route answers 404', async () => {
    const mine = await createEndpoint({ url: receiver.url('/mine') });
    const id = mine.body.endpointId;
    const stranger = await stack.newClient();
    const theirs = await stack.token(stranger, 'webhooks private');
    expect((await stack.call('GET', WEBHOOKS, { token: theirs })).body.endpoints).toEqual([]);
    for (const [method, path, body] of [
      ['GET', `${WEBHOOKS}/${id}`],
      ['PATCH', `${WEBHOOKS}/${id}`, { enabled: false }],
      ['POST', `${WEBHOOKS}/${id}/rotate-secret`],
      ['GET', `${WEBHOOKS}/${id}/deliveries`],
      ['GET', `${WEBHOOKS}/${id}/deliveries/1`],
      ['POST', `${WEBHOOKS}/${id}/deliveries/1/retry`],
      ['POST', `${WEBHOOKS}/${id}/replay?since=${new Date().toISOString()}`],
      ['DELETE', `${WEBHOOKS}/${id}`],
    ] as const) {
      const res = await stack.call(method, path, { token: theirs, ...(body ? { body } : {}) });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await stack.call('GET', `${WEBHOOKS}/${id}`, { token })).body.enabled).toBe(true);
  });
});

describe('Berlin Group TPP-Notification-URI', () => {
  const CONSENTS = '/psd2/consent/v1/consents';

  test('a payment’s status changes are pushed to its TPP-Notification-URI as the client preferred, signed with the endpoint’s secret', async () => {
    // The endpoint itself takes no payment events: what arrives below is the BG notification alone.
    const endpoint = await endpointFor(receiver, { eventTypes: ['consent.expiring'] });
    const uri = receiver.url('/bg/notifications/p1');
    const payment = await decoupledPayment('10.00', { 'TPP-Notification-URI': uri, 'TPP-Notification-Content-Preferred': 'status=SCA,PROCESS' });
    expect(payment.headers.get('aspsp-notification-support')).toBe('true');
    expect(payment.headers.get('aspsp-notification-content')).toBe('status=SCA,PROCESS');
    const paymentId = payment.body.paymentId;
    await finalState(stack, paymentId);
    await settled(endpoint.endpointId);

    const got = (await receiver.received()).filter((r) => r.path === '/bg/notifications/p1');
    for (const r of got) expect(r.verifiedWith).toEqual([0]);
    expect(got.map((r) => r.body)).toEqual([
      { paymentId, authorisationId: expect.any(String), scaStatus: 'finalised' },
      { paymentId, transactionStatus: 'ACSP' },
      { paymentId, transactionStatus: 'ACSC' },
    ]);
    // Its own message ids: a receiver deduplicating by webhook-id never drops it as a copy of the webhook event.
    const eventIds = (await eventsOf([paymentId])).map((e) => e.id);
    for (const r of got) expect(eventIds).not.toContain(r.webhookId);
  });

  test('status=LAST gets only the final status; a URI outside the tenant’s endpoints is answered ASPSP-Notification-Support: false', async () => {
    const endpoint = await endpointFor(receiver, { eventTypes: ['consent.expiring'] });
    const last = await decoupledPayment('10.00', { 'TPP-Notification-URI': receiver.url('/bg/last'), 'TPP-Notification-Content-Preferred': 'status=LAST' });
    expect(last.headers.get('aspsp-notification-content')).toBe('status=LAST');
    const elsewhere = await decoupledPayment('10.00', { 'TPP-Notification-URI': `http://127.0.0.1:${receiver.hookPort + 1}/bg/elsewhere` });
    expect(elsewhere.headers.get('aspsp-notification-support')).toBe('false');
    expect(elsewhere.headers.get('aspsp-notification-content')).toBeNull();
    await Promise.all([finalState(stack, last.body.paymentId), finalState(stack, elsewhere.body.paymentId)]);
    await settled(endpoint.endpointId);
    expect((await receiver.received()).filter((r) => r.path === '/bg/last').map((r) => r.body)).toEqual([{ paymentId: last.body.paymentId, transactionStatus: 'ACSC' }]);
    expect(await stack.dataSource.query(`SELECT 1 FROM webhook_deliveries WHERE target_url LIKE '%/bg/elsewhere'`)).toEqual([]);
  });

  test('a consent’s status is pushed too; a bad URI or preference is a 400 naming the header, and nothing is stored', async () => {
    const endpoint = await endpointFor(receiver, { eventTypes: ['consent.expiring'] });
    const aisToken = await stack.token(client, 'accountinformation private');
    const consentBody = { access: { allPsd2: 'allAccounts' }, recurringIndicator: true, validUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false };
    const headers = { 'X-BicFi': 'SANDDEB0XXX', 'PSU-ID': 'decoupled', 'PSU-IP-Address': '192.0.2.10' };
    const consent = await stack.call('POST', CONSENTS, { token: aisToken, headers: { ...headers, 'TPP-Notification-URI': receiver.url('/bg/consent') }, body: consentBody });
    expect(consent.status).toBe(201);
    expect(consent.headers.get('aspsp-notification-content')).toBe('status=PROCESS');
    await eventually(async () => (await receiver.received()).some((r) => r.path === '/bg/consent' && r.body.consentStatus === 'valid'));
    await settled(endpoint.endpointId);

    const before = await stack.dataSource.query('SELECT count(*)::int AS n FROM payments WHERE tenant_id = $1', [client.tenantId]);
    for (const [extra, path] of [
      [{ 'TPP-Notification-URI': 'not a url' }, 'TPP-Notification-URI'],
      [{ 'TPP-Notification-URI': 'http://10.0.0.7/bg' }, 'TPP-Notification-URI'],
      [{ 'TPP-Notification-URI': receiver.url('/bg'), 'TPP-Notification-Content-Preferred': 'status=EVERYTHING' }, 'TPP-Notification-Content-Preferred'],
    ] as const) {
      const res = await initiate(stack, { token: paymentToken, psuId: 'decoupled', headers: extra });
      expect(res.status).toBe(400);
      expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path });
    }
    expect(await stack.dataSource.query('SELECT count(*)::int AS n FROM payments WHERE tenant_id = $1', [client.tenantId])).toEqual(before);
  });
});

describe('outbound safety outside development (https, public addresses only)', () => {
  let strict: TestStack;
  let strictToken: string;

  beforeAll(async () => {
    strict = await TestStack.start({ worker: false, env: { OUTBOUND_ALLOW_HTTP: 'false', OUTBOUND_ALLOW_LOOPBACK: 'false' } });
    strictToken = await strict.token(await strict.newClient(), 'webhooks private');
  });
  afterAll(() => strict?.close());

  test.each([
    ['http://hooks.example.com/x', 'must be an https URL'],
    ['https://127.0.0.1/x', 'loopback'],
    ['https://localhost/x', 'localhost'],
    ['https://[::1]/x', 'loopback'],
    ['https://[::ffff:127.0.0.1]/x', 'loopback'],
    ['https://2130706433/x', 'loopback'],
    ['https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['https://[fe80::1]/x', 'link-local'],
    ['https://10.1.2.3/x', 'private'],
    ['https://192.168.0.10/x', 'private'],
    ['https://100.64.0.1/x', 'carrier-grade NAT'],
    ['https://[fd00::1]/x', 'unique-local'],
    ['https://0.0.0.0/x', 'unspecified'],
    ['https://user:secret@hooks.example.com/x', 'user name or password'],
  ])('%s is refused (%s)', async (url, why) => {
    const res = await strict.call('POST', WEBHOOKS, { token: strictToken, body: { url } });
    expect(res.status).toBe(400);
    expect(res.body.tppMessages[0]).toMatchObject({ code: 'FORMAT_ERROR', path: 'url' });
    expect(res.body.tppMessages[0].text).toContain(why);
  });
});
