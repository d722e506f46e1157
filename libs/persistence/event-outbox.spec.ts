import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { appendEvent, onEventsCommitted, type EndpointWakeup } from './event-outbox';
import { ConsentRepository } from './consent.repository';
import { OpMandateRepository } from './op-mandate.repository';
import { OpTransferRepository } from './op-transfer.repository';
import { PaymentRepository } from './payment.repository';
import { WebhookRepository } from './webhook.repository';
import { createApiClient, sepaPayment } from '../../test/support/factories';
import { genericEvent } from '../webhooks/events';

/** The transactional outbox against real PostgreSQL (the test database of this run). */
let ds: DataSource;
let payments: PaymentRepository;
let webhooks: WebhookRepository;
const woken: EndpointWakeup[][] = [];

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  payments = new PaymentRepository(ds);
  webhooks = new WebhookRepository(ds);
  onEventsCommitted(ds, (w) => woken.push(w));
});
afterAll(() => ds?.destroy());

async function newPayment(tenantId: string, clientId: string) {
  const id = randomUUID();
  await payments.insertOrGetExisting({
    id,
    tenantId,
    clientId,
    requestId: randomUUID(),
    requestHash: 'x'.repeat(64),
    bicFi: 'SANDDEB0XXX',
    paymentProduct: 'sepa-credit-transfers',
    body: sepaPayment() as never,
    currency: 'EUR',
    amountMinor: '12345',
    psuId: null,
    psuIpAddress: null,
    clientRedirectUri: null,
    clientNokRedirectUri: null,
  });
  return id;
}

async function newConsent(consents: ConsentRepository, client: { tenantId: string; clientId: string }) {
  const { consent } = await consents.insertOrGetExisting({
    id: randomUUID(), tenantId: client.tenantId, clientId: client.clientId, requestId: randomUUID(), requestHash: 'x'.repeat(64), bicFi: 'SANDDEB0XXX',
    access: { allPsd2: 'allAccounts' }, recurringIndicator: true, requestedValidUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false,
    psuId: null, psuIpAddress: null, clientRedirectUri: null, clientNokRedirectUri: null,
  });
  return consent;
}

test('a status change fans out to the endpoint and wakes it after commit', async () => {
  const client = await createApiClient(ds);
  const endpointId = randomUUID();
  await webhooks.createEndpoint({ id: endpointId, tenantId: client.tenantId, url: 'https://hooks.example/x', description: null, eventTypes: null, secretSealed: 'sealed' });
  const paymentId = await newPayment(client.tenantId, client.clientId);
  woken.length = 0;
  await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
  expect(woken).toEqual([[{ endpointId, tenantId: client.tenantId, streaming: false }]]);
  // While its dispatcher streams (polls), the commit says so: no Temporal signal is needed.
  await webhooks.setStreamingUntil(endpointId, new Date(Date.now() + 60_000));
  await payments.recordStatusChange({ paymentId, seq: 1, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
  expect(woken[1]).toEqual([{ endpointId, tenantId: client.tenantId, streaming: true }]);
});

test('outbox atomicity: when the event cannot be written, the status change is rolled back with it', async () => {
  const client = await createApiClient(ds);
  const paymentId = await newPayment(client.tenantId, client.clientId);
  // A fault inside the transaction, exactly where the event is written.
  await ds.query(`
    CREATE OR REPLACE FUNCTION refuse_outbox_for_test() RETURNS trigger AS $$
    BEGIN
      IF NEW.tenant_id = '${client.tenantId}' THEN RAISE EXCEPTION 'outbox unavailable'; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql`);
  await ds.query('CREATE TRIGGER refuse_outbox_for_test BEFORE INSERT ON domain_events FOR EACH ROW EXECUTE FUNCTION refuse_outbox_for_test()');
  try {
    await expect(payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' })).rejects.toThrow('outbox unavailable');
  } finally {
    await ds.query('DROP TRIGGER refuse_outbox_for_test ON domain_events');
    await ds.query('DROP FUNCTION refuse_outbox_for_test()');
  }
  // Neither the status nor its history row was kept: the retry of the activity writes all three together.
  expect((await payments.findById(paymentId))!.transactionStatus).toBe('RCVD');
  expect(await payments.listEvents(paymentId)).toEqual([]);

  await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
  expect((await payments.findById(paymentId))!.transactionStatus).toBe('ACSC');
  const events = await ds.query('SELECT type, payload FROM domain_events WHERE subject_id = $1', [paymentId]);
  expect(events).toEqual([{ type: 'payment.status_changed', payload: expect.objectContaining({ paymentId, transactionStatus: 'ACSC' }) }]);
});

test('a retried status write (same workflow sequence number) stores one event and one delivery', async () => {
  const client = await createApiClient(ds);
  const endpointId = randomUUID();
  await webhooks.createEndpoint({ id: endpointId, tenantId: client.tenantId, url: 'https://hooks.example/x', description: null, eventTypes: null, secretSealed: 'sealed' });
  const paymentId = await newPayment(client.tenantId, client.clientId);
  for (let i = 0; i < 3; i++) await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP' });
  expect(await ds.query('SELECT count(*)::int AS n FROM domain_events WHERE subject_id = $1', [paymentId])).toEqual([{ n: 1 }]);
  expect(await ds.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE subject_id = $1', [paymentId])).toEqual([{ n: 1 }]);
});

test('only enabled endpoints of the same tenant that subscribe to the type get a delivery', async () => {
  const [a, b] = [await createApiClient(ds), await createApiClient(ds)];
  const endpoint = (tenantId: string, eventTypes: string[] | null) =>
    webhooks.createEndpoint({ id: randomUUID(), tenantId, url: 'https://hooks.example/x', description: null, eventTypes, secretSealed: 'sealed' });
  const all = await endpoint(a.tenantId, null);
  const paymentsOnly = await endpoint(a.tenantId, ['payment.status_changed']);
  const consentsOnly = await endpoint(a.tenantId, ['consent.status_changed']);
  const disabled = await endpoint(a.tenantId, null);
  await webhooks.updateEndpoint(a.tenantId, disabled.id, { enabled: false });
  const otherTenant = await endpoint(b.tenantId, null);
  const paymentId = await newPayment(a.tenantId, a.clientId);
  woken.length = 0;
  await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP' });
  await payments.recordStatusChange({ paymentId, seq: 1, kind: 'sca_status', status: 'finalised', rawStatus: 'finalised' });
  const rows: { endpoint_id: string; type: string }[] = await ds.query(
    'SELECT d.endpoint_id, e.type FROM webhook_deliveries d JOIN domain_events e ON e.id = d.event_id WHERE d.subject_id = $1 ORDER BY d.id',
    [paymentId],
  );
  expect(rows).toEqual([
    { endpoint_id: all.id, type: 'payment.status_changed' },
    { endpoint_id: paymentsOnly.id, type: 'payment.status_changed' },
    { endpoint_id: all.id, type: 'payment.sca_status_changed' },
  ]);
  expect(rows.map((r) => r.endpoint_id)).not.toContain(consentsOnly.id);
  expect(rows.map((r) => r.endpoint_id)).not.toContain(otherTenant.id);
  expect(woken.flat().map((w) => w.endpointId).sort()).toEqual([all.id, paymentsOnly.id, all.id].sort());
});

test('appendEvent refuses to run outside a transaction', async () => {
  await expect(
    appendEvent(ds.manager, genericEvent({ type: 'consent.expiring', tenantId: 't', subjectId: randomUUID(), dedupeKey: randomUUID(), data: {} })),
  ).rejects.toThrow('inside the transaction');
});

describe('every resource writes its events with its changes', () => {
  const eventsOf = (subjectId: string): Promise<{ type: string; payload: Record<string, unknown>; notification_content: string | null; notification_final: boolean }[]> =>
    ds.query('SELECT type, payload, notification_content, notification_final FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at, type', [subjectId]);
  const amount = { value: '500', assetCode: 'EUR', assetScale: 2 };

  test('consents: status and SCA status changes, consent.expiring once', async () => {
    const client = await createApiClient(ds);
    const consents = new ConsentRepository(ds);
    const consent = await newConsent(consents, client);
    await consents.recordStatusChange({ consentId: consent.id, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'finalised', authorisationId: 'a1' });
    await consents.recordStatusChange({ consentId: consent.id, seq: 1, kind: 'consent_status', status: 'valid', rawStatus: 'valid' });
    for (let i = 0; i < 2; i++) {
      await consents.emitEvent({ tenantId: client.tenantId, type: 'consent.expiring', subjectId: consent.id, dedupeKey: `consent.expiring:${consent.id}`, payload: { consentId: consent.id, validUntil: '2027-06-01' } });
    }
    await consents.recordStatusChange({ consentId: consent.id, seq: 2, kind: 'consent_status', status: 'expired', rawStatus: 'expired', reason: 'validUntil reached' });
    expect(await eventsOf(consent.id)).toEqual([
      { type: 'consent.sca_status_changed', payload: { consentId: consent.id, authorisationId: 'a1', scaStatus: 'finalised' }, notification_content: 'SCA', notification_final: false },
      { type: 'consent.status_changed', payload: { consentId: consent.id, consentStatus: 'valid' }, notification_content: 'PROCESS', notification_final: false },
      { type: 'consent.expiring', payload: { consentId: consent.id, validUntil: '2027-06-01' }, notification_content: null, notification_final: false },
      { type: 'consent.status_changed', payload: { consentId: consent.id, consentStatus: 'expired', statusReason: 'validUntil reached' }, notification_content: 'PROCESS', notification_final: true },
    ]);
    await expect(consents.emitEvent({ tenantId: client.tenantId, type: 'consent.unheard_of', subjectId: consent.id, dedupeKey: randomUUID(), payload: {} })).rejects.toThrow('catalogue');
  });

  test('consents: each kind sets its own columns and the authorisation\'s; a replayed change writes nothing', async () => {
    const client = await createApiClient(ds);
    const consents = new ConsentRepository(ds);
    const consent = await newConsent(consents, client);
    await consents.upsertAuthorisation({ consentId: consent.id, authorisationId: 'a1', scaApproach: 'DECOUPLED', scaRedirectUrl: null, scaStatus: { raw: 'started', normalised: 'started' } });
    await consents.recordStatusChange({ consentId: consent.id, seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'a1' });
    await consents.recordStatusChange({ consentId: consent.id, seq: 1, kind: 'consent_status', status: 'rejected', rawStatus: 'REJECTED', reason: "PSU's bank said no" });
    // A retry of seq 1 with other values (it cannot happen, but must not overwrite): nothing changes.
    await consents.recordStatusChange({ consentId: consent.id, seq: 1, kind: 'consent_status', status: 'valid', rawStatus: 'valid' });
    expect(await consents.findById(consent.id)).toMatchObject({ scaStatus: 'finalised', consentStatus: 'rejected', rawConsentStatus: 'REJECTED', statusReason: "PSU's bank said no" });
    expect(await consents.listAuthorisations(client.tenantId, consent.id)).toEqual([expect.objectContaining({ authorisationId: 'a1', scaStatus: 'finalised', rawScaStatus: 'FINALISED' })]);
    expect((await consents.listEvents(consent.id)).map((e) => [e.seq, e.kind, e.status])).toEqual([[0, 'sca_status', 'finalised'], [1, 'consent_status', 'rejected']]);
    expect((await eventsOf(consent.id)).map((e) => e.type)).toEqual(['consent.sca_status_changed', 'consent.status_changed']);
    await expect(consents.recordStatusChange({ consentId: randomUUID(), seq: 0, kind: 'consent_status', status: 'valid', rawStatus: 'valid' })).rejects.toThrow('not found');
  });

  test('transfers: each status change once (by workflow sequence), with amounts and no wallet addresses', async () => {
    const client = await createApiClient(ds);
    const transfers = new OpTransferRepository(ds);
    const { transfer } = await transfers.insertOrGetExisting({
      id: randomUUID(), tenantId: client.tenantId, clientId: client.clientId, requestId: randomUUID(), requestHash: 'x'.repeat(64), mandateId: null,
      senderWalletAddress: 'https://wallet.example/alice', receiver: 'https://wallet.example/bob', debitAmount: amount, receiveAmount: null, redirectUri: null, metadata: null,
    });
    await transfers.recordStatus({ transferId: transfer.id, seq: 0, status: 'awaiting_authorisation' });
    await transfers.recordStatus({ transferId: transfer.id, seq: 0, status: 'awaiting_authorisation' });
    await transfers.update(transfer.id, { sentAmount: amount });
    await transfers.recordStatus({ transferId: transfer.id, seq: 1, status: 'completed' });
    const events = await eventsOf(transfer.id);
    expect(events.map((e) => [e.type, e.payload.status])).toEqual([
      ['transfer.status_changed', 'awaiting_authorisation'],
      ['transfer.status_changed', 'completed'],
    ]);
    expect(events[1]!.payload).toEqual({ transferId: transfer.id, status: 'completed', debitAmount: amount, sentAmount: amount });
    expect(JSON.stringify(events)).not.toContain('wallet.example');
  });

  test('mandates: a status transition is one event (setting the same status again is none); periods when claimed and when their status changes', async () => {
    const client = await createApiClient(ds);
    const mandates = new OpMandateRepository(ds);
    const { mandate } = await mandates.insertOrGetExisting({
      id: randomUUID(), tenantId: client.tenantId, clientId: client.clientId, requestId: randomUUID(), requestHash: 'x'.repeat(64),
      senderWalletAddress: 'https://wallet.example/alice', receiver: 'https://wallet.example/bob', debitAmount: amount, interval: 'R3/2027-01-01T00:00:00Z/P1M', redirectUri: null, metadata: null,
    });
    await mandates.setStatus(mandate.id, 'active', null);
    await mandates.setStatus(mandate.id, 'active', null);
    await mandates.setStatus(mandate.id, 'paused', 'Paused by the client');
    await mandates.setStatus(mandate.id, 'active', null);
    const periodStart = new Date('2027-01-01T00:00:00Z');
    await mandates.claimPeriod(mandate.id, periodStart, 'sending', null);
    await mandates.claimPeriod(mandate.id, periodStart, 'sending', null);
    await mandates.updatePeriod(mandate.id, periodStart, { outgoingPaymentUrl: 'https://wallet.example/op/1' });
    await mandates.updatePeriod(mandate.id, periodStart, { sentAmount: amount, status: 'completed', reason: null });
    const events = await eventsOf(mandate.id);
    expect(events.map((e) => [e.type, e.payload.status])).toEqual([
      ['mandate.status_changed', 'active'],
      ['mandate.status_changed', 'paused'],
      ['mandate.status_changed', 'active'],
      ['mandate.period_status_changed', 'sending'],
      ['mandate.period_status_changed', 'completed'],
    ]);
    expect(events[4]!.payload).toEqual({ mandateId: mandate.id, periodStart: periodStart.toISOString(), status: 'completed', sentAmount: amount });
    expect((await mandates.findById(mandate.id))!.status).toBe('active');
  });
});

test('a resource’s deliveries wait for its earlier pending one on the same target only', async () => {
  const client = await createApiClient(ds);
  const endpointId = randomUUID();
  await webhooks.createEndpoint({ id: endpointId, tenantId: client.tenantId, url: 'https://hooks.example/x', description: null, eventTypes: null, secretSealed: 'sealed' });
  const paymentId = await newPayment(client.tenantId, client.clientId);
  await webhooks.subscribeNotifications({ subjectId: paymentId, tenantId: client.tenantId, endpointId, uri: 'https://hooks.example/bg', content: ['PROCESS'] });
  await payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP' });
  await payments.recordStatusChange({ paymentId, seq: 1, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' });
  const now = new Date(Date.now() + 1_000);
  const due = await webhooks.dueDeliveries(endpointId, now, 10);
  // One per target: the first event for the endpoint, and the first for the notification URI.
  expect(due.map((d) => [d.format, d.data.transactionStatus])).toEqual([
    ['event', 'ACSP'],
    ['bg_notification', 'ACSP'],
  ]);
  // The notification URI fails and waits for its retry; the endpoint's next webhook is not held back.
  const [event, note] = due;
  await webhooks.recordAttempts(
    endpointId,
    [
      { deliveryId: event!.id, attemptedAt: now, ok: true, statusCode: 204, latencyMs: 3, error: null, nextAttemptAt: null, gaveUp: false },
      { deliveryId: note!.id, attemptedAt: now, ok: false, statusCode: 404, latencyMs: 3, error: 'HTTP 404', nextAttemptAt: new Date(now.getTime() + 5_000), gaveUp: false },
    ],
    now,
  );
  expect((await webhooks.dueDeliveries(endpointId, now, 10)).map((d) => [d.format, d.data.transactionStatus])).toEqual([['event', 'ACSC']]);
  expect(await webhooks.nextDueAt(endpointId)).toEqual(new Date(0));
});

describe('a payment status change in one round trip (issue 12)', () => {
  test('a notification subscription committed while the change waits for the outbox lock still gets the event', async () => {
    const client = await createApiClient(ds);
    const endpointId = randomUUID();
    await webhooks.createEndpoint({ id: endpointId, tenantId: client.tenantId, url: 'https://hooks.example/x', description: null, eventTypes: ['consent.status_changed'], secretSealed: 'sealed' });
    const paymentId = await newPayment(client.tenantId, client.clientId);
    // The subscriber's side (subscribeNotifications) holds the lock and has inserted its row, not yet committed.
    const subscriber = ds.createQueryRunner();
    await subscriber.connect();
    await subscriber.startTransaction();
    let recorded = false;
    try {
      await subscriber.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [paymentId]);
      await subscriber.query(
        `INSERT INTO resource_notification_subscriptions (subject_id, tenant_id, endpoint_id, uri, content) VALUES ($1, $2, $3, 'https://hooks.example/bg', '{PROCESS}')`,
        [paymentId, client.tenantId, endpointId],
      );
      const change = payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP' }).then(() => (recorded = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(recorded).toBe(false); // waiting for the lock
      await subscriber.commitTransaction();
      await change;
    } finally {
      if (subscriber.isTransactionActive) await subscriber.rollbackTransaction();
      await subscriber.release();
    }
    // The event's fan-out took its snapshot after the lock, so it saw the subscription; a snapshot
    // taken before (one statement for lock and fan-out) would have left the PSU's TPP without it.
    expect(await ds.query(`SELECT format, target_url FROM webhook_deliveries WHERE subject_id = $1`, [paymentId])).toEqual([
      { format: 'bg_notification', target_url: 'https://hooks.example/bg' },
    ]);
  });

  test('the event carries the payment\'s amount whether or not this process had read the payment', async () => {
    const client = await createApiClient(ds);
    const paymentId = await newPayment(client.tenantId, client.clientId);
    const fresh = new PaymentRepository(ds);
    await fresh.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACTC', rawStatus: 'ACTC' });
    const warm = new PaymentRepository(ds);
    await warm.findById(paymentId);
    await warm.recordStatusChange({ paymentId, seq: 1, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC', reason: "it's done \\ ok" });
    const events: { payload: Record<string, unknown> }[] = await ds.query('SELECT payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at', [paymentId]);
    const amount = (sepaPayment() as { instructedAmount: unknown }).instructedAmount;
    expect(events.map((e) => e.payload)).toEqual([
      { paymentId, paymentService: 'payments', paymentProduct: 'sepa-credit-transfers', transactionStatus: 'ACTC', instructedAmount: amount },
      { paymentId, paymentService: 'payments', paymentProduct: 'sepa-credit-transfers', transactionStatus: 'ACSC', statusReason: "it's done \\ ok", instructedAmount: amount },
    ]);
    expect(await ds.query('SELECT reason FROM payment_events WHERE payment_id = $1 AND seq = 1', [paymentId])).toEqual([{ reason: "it's done \\ ok" }]);
  });

  test('a change to a payment that does not exist is refused, and nothing is written', async () => {
    const paymentId = randomUUID();
    await expect(payments.recordStatusChange({ paymentId, seq: 0, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC' })).rejects.toThrow('not found');
    expect(await ds.query('SELECT count(*)::int AS n FROM domain_events WHERE subject_id = $1', [paymentId])).toEqual([{ n: 0 }]);
  });
});
