import { randomUUID } from 'node:crypto';
import { addDays, nextExecutions, type PeriodicSchedule } from '../../libs/domain/target2-calendar';
import { consentBody, createConsent, waitForConsentStatus } from '../support/consents';
import type { TestClient } from '../support/factories';
import { BIC, pressScaButton } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { PythonWebhookReceiver } from '../support/webhook-receiver';

/**
 * Standing orders end to end: API → periodic workflow (real Temporal dev server) → worker → BG
 * adapter → sandbox bank over HTTP, with PostgreSQL. The bank's clock is moved through its control
 * endpoint (`PUT /berlin-group/_sandbox/clock`); Clearway sees each execution where a real bank
 * shows it (booked on the debtor account, read through the client's AIS consent), emits an outbox
 * event per execution, and cancels a live order with the PSU's cancellation authorisation.
 */
const PERIODIC = '/psd2/paymentinitiation/v1/periodic-payments/sepa-credit-transfers';
const PSU = 'decoupled';

let stack: TestStack;
let client: TestClient;
let pisToken: string;
let aisToken: string;
let receiver: PythonWebhookReceiver;
let webhookToken: string;

beforeAll(async () => {
  receiver = await PythonWebhookReceiver.start();
  stack = await TestStack.start({ env: { PERIODIC_OBSERVE_EVERY_MS: '400', PERIODIC_GRACE_BUSINESS_DAYS: '2', CONSENT_STATUS_CHECK_SECONDS: '3600' } });
  client = await stack.newClient();
  pisToken = await stack.token(client, 'paymentinitiation private');
  aisToken = await stack.token(client, 'accountinformation private');
  webhookToken = await stack.token(client, 'webhooks private');
}, 120_000);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

/** The documented control endpoint of the sandbox bank's clock. */
async function bankClock(body: { at?: string; advanceMs?: number }): Promise<string> {
  const res = await fetch(`${stack.sandbox.url}/_sandbox/clock`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { now: string }).now;
}

const headers = (extra: Record<string, string> = {}) => ({ 'X-BicFi': BIC, ...extra });

async function executions(paymentId: string): Promise<{ executionIndex: number; executionDate: string; outcome: string; bookingDate?: string; reason?: string }[]> {
  const res = await stack.call('GET', `${PERIODIC}/${paymentId}/executions`, { token: pisToken, headers: headers(), contract: false });
  expect(res.status).toBe(200);
  return res.body.executions;
}

async function status(paymentId: string): Promise<string> {
  return (await stack.call('GET', `${PERIODIC}/${paymentId}/status`, { token: pisToken, headers: headers() })).body.transactionStatus;
}

async function outbox(paymentId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  return stack.dataSource.query('SELECT type, payload FROM domain_events WHERE subject_id = $1 ORDER BY occurred_at', [paymentId]);
}

test('a standing order executes on the bank clock, a cents-13 order keeps failing and continuing, and a live order is cancelled with the PSU’s authorisation', async () => {
  // The bank's day is ours, frozen: only the test moves it.
  const today = (await bankClock({ at: new Date().toISOString() })).slice(0, 10);
  const debtor = stack.sandbox.ais.accountsOf(PSU)[0].iban;
  // A receiver that verifies every signature with the PyPI standardwebhooks package, independently of Clearway.
  const endpoint = await stack.call('POST', '/webhooks/v1/endpoints', {
    token: webhookToken,
    body: { url: receiver.url(), eventTypes: ['periodic_payment.executed', 'periodic_payment.execution_failed'] },
  });
  expect(endpoint.status).toBe(201);
  await receiver.setSecrets([endpoint.body.secret]);

  // The client's AIS consent for the debtor account: Clearway sees executions through it.
  const consent = await createConsent(stack, { token: aisToken, psuId: PSU, body: consentBody({ frequencyPerDay: 4 }) });
  expect(consent.status).toBe(201);
  await bankClock({ advanceMs: 5_000 }); // the AIS app decides on the bank clock
  await waitForConsentStatus(stack, aisToken, consent.body.consentId, 'valid');

  const schedule: PeriodicSchedule = { startDate: addDays(today, 1), endDate: addDays(today, 60), frequency: 'Weekly', executionRule: 'following' };
  const dates = nextExecutions(schedule, { limit: 10 }).map((e) => e.executionDate);
  const order = (amount: string) => ({
    instructedAmount: { currency: 'EUR', amount },
    debtorAccount: { iban: debtor },
    creditorAccount: { iban: 'NL91ABNA0417164300' },
    creditorName: 'Landlord BV',
    remittanceInformationUnstructured: 'Rent',
    ...schedule,
  });
  const initiate = async (amount: string) => {
    const res = await stack.call('POST', PERIODIC, {
      token: pisToken,
      headers: headers({ 'PSU-ID': PSU, 'PSU-IP-Address': '192.0.2.10', 'Consent-ID': consent.body.consentId, 'X-Request-ID': randomUUID() }),
      body: order(amount),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
    expect(res.body).toMatchObject({ transactionStatus: 'RCVD', _links: { self: { href: `${PERIODIC}/${res.body.paymentId}` } } });
    return res.body.paymentId as string;
  };
  const rent = await initiate('10.00');
  const short = await initiate('25.13');
  // SCA once (the banking app approves), then the order is live at the bank.
  await eventually(async () => (await status(rent)) === 'ACCP' && (await status(short)) === 'ACCP', 30_000, 200);
  const read = await stack.call('GET', `${PERIODIC}/${rent}`, { token: pisToken, headers: headers() });
  expect(read.body).toMatchObject({ frequency: 'Weekly', startDate: schedule.startDate, transactionStatus: 'ACCP' });

  // Two weeks at the bank: two executions of the rent; the first of the short order refused (AM04).
  for (const k of [0, 1]) {
    await bankClock({ at: `${addDays(dates[k], 1)}T10:00:00Z` });
    await eventually(async () => (await executions(rent)).length === k + 1, 30_000, 200);
  }
  expect((await executions(rent)).map((e) => [e.executionIndex, e.executionDate, e.outcome, e.bookingDate])).toEqual([
    [1, dates[0], 'executed', dates[0]],
    [2, dates[1], 'executed', dates[1]],
  ]);
  await eventually(async () => (await executions(short)).length >= 1, 30_000, 200);
  expect(stack.sandbox.periodic.view(short)).toBeUndefined(); // Clearway's id is not the bank's
  // A third week: the short order's second execution is refused too, and it is still live.
  await bankClock({ at: `${addDays(dates[2], 1)}T10:00:00Z` });
  await eventually(async () => (await executions(rent)).length === 3 && (await executions(short)).length >= 2, 30_000, 200);
  expect((await executions(short)).slice(0, 2).map((e) => [e.executionIndex, e.outcome, e.reason?.startsWith('not booked by')])).toEqual([
    [1, 'not_booked', true],
    [2, 'not_booked', true],
  ]);
  expect(await status(short)).toBe('ACCP');

  // Cancel the rent: the bank wants the PSU to authorise the cancellation.
  const del = await stack.call('DELETE', `${PERIODIC}/${rent}`, { token: pisToken, headers: headers() });
  expect(del.status).toBe(202);
  expect(del.body).toMatchObject({ transactionStatus: 'ACCP', _links: { startAuthorisation: { href: `${PERIODIC}/${rent}/cancellation-authorisations` } } });
  const started = await stack.call('POST', `${PERIODIC}/${rent}/cancellation-authorisations`, { token: pisToken, headers: headers({ 'PSU-IP-Address': '192.0.2.10' }) });
  expect(started.status).toBe(201);
  const cancellationId = started.body.authorisationId;
  expect(started.body._links.scaStatus.href).toBe(`${PERIODIC}/${rent}/cancellation-authorisations/${cancellationId}`);
  await eventually(async () => (await status(rent)) === 'CANC', 30_000, 200);
  expect((await stack.call('GET', `${PERIODIC}/${rent}/cancellation-authorisations`, { token: pisToken, headers: headers() })).body).toEqual([cancellationId]);
  expect((await stack.call('GET', `${PERIODIC}/${rent}/cancellation-authorisations/${cancellationId}`, { token: pisToken, headers: headers() })).body).toEqual({ scaStatus: 'finalised' });

  // Another month at the bank: nothing more for the cancelled rent; the short order keeps failing.
  await bankClock({ at: `${addDays(dates[4], 1)}T10:00:00Z` });
  await eventually(async () => (await executions(short)).length >= 4, 30_000, 200);
  expect((await executions(rent)).length).toBe(3);
  expect(stack.sandbox.ais.now()).toBeGreaterThan(Date.parse(dates[4]));

  // The outbox: an event per execution and per status change, ids and amounts only, no IBANs.
  const rentEvents = await outbox(rent);
  expect(rentEvents.filter((e) => e.type === 'periodic_payment.executed').map((e) => [e.payload.executionIndex, e.payload.executionDate])).toEqual([
    [1, dates[0]],
    [2, dates[1]],
    [3, dates[2]],
  ]);
  expect(rentEvents.filter((e) => e.type === 'periodic_payment.status_changed').map((e) => e.payload.transactionStatus)).toEqual(['ACCP', 'CANC']);
  const shortEvents = await outbox(short);
  expect(shortEvents.filter((e) => e.type === 'periodic_payment.execution_failed').length).toBeGreaterThanOrEqual(4);
  expect(JSON.stringify([...rentEvents, ...shortEvents])).not.toContain(debtor);
  expect(JSON.stringify([...rentEvents, ...shortEvents])).not.toContain('NL91ABNA0417164300');
  // The same events, delivered and verified at the receiver.
  const delivered = await eventually(async () => {
    const got = (await receiver.received()).filter((r) => r.answered < 300 && r.body?.data?.paymentId === rent && r.body.type === 'periodic_payment.executed');
    return got.length >= 3 ? got : undefined;
  }, 30_000, 200);
  expect(delivered.every((r) => r.verifiedWith.length === 1)).toBe(true);
  expect(delivered.map((r) => r.body.data.executionIndex).sort()).toEqual([1, 2, 3]);
  expect(rentEvents.find((e) => e.type === 'periodic_payment.executed')!.payload).toMatchObject({ instructedAmount: { currency: 'EUR', amount: '10.00' }, paymentService: 'periodic-payments' });
}, 240_000);

test('bad schedules are refused naming the field, nothing stored; a periodic payment is not a single payment', async () => {
  const reset = await fetch(`${stack.sandbox.url}/_sandbox/clock`, { method: 'DELETE' });
  expect(reset.status).toBe(200);
  const bad = async (overrides: Record<string, unknown>) =>
    stack.call('POST', PERIODIC, {
      token: pisToken,
      headers: headers({ 'PSU-ID': PSU, 'PSU-IP-Address': '192.0.2.10' }),
      body: { instructedAmount: { currency: 'EUR', amount: '10.00' }, debtorAccount: { iban: 'DE89370400440532013000' }, creditorAccount: { iban: 'NL91ABNA0417164300' }, creditorName: 'X', startDate: addDays(new Date().toISOString().slice(0, 10), 2), frequency: 'Monthly', ...overrides },
    });
  for (const [overrides, path] of [
    [{ frequency: 'Hourly' }, 'frequency'],
    [{ dayOfExecution: '05' }, 'dayOfExecution'],
    [{ executionRule: 'nearest' }, 'executionRule'],
    [{ startDate: '2020-01-01' }, 'startDate'],
    [{ endDate: '2020-01-01' }, 'endDate'],
    [{ frequency: 'MonthlyVariable' }, 'monthsOfExecution'],
    [{ requestedExecutionDate: '2030-01-01' }, 'requestedExecutionDate'],
  ] as const) {
    const res = await bad(overrides);
    expect([res.status, res.body.tppMessages[0].path]).toEqual([400, path]);
  }
  const consentless = await bad({ frequency: 'Monthly' });
  expect(consentless.status).toBe(201);
  const single = await stack.call('GET', `/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${consentless.body.paymentId}/status`, { token: pisToken, headers: headers() });
  expect(single.status).toBe(404);
}, 60_000);

test('redirect SCA: the PSU approves on the bank page, comes back through Clearway to the client, the order is live; DELETE of a live order without a consent', async () => {
  await fetch(`${stack.sandbox.url}/_sandbox/clock`, { method: 'DELETE' });
  const start = addDays(new Date().toISOString().slice(0, 10), 3);
  const request = {
    token: pisToken,
    headers: headers({ 'PSU-ID': 'redirect-psu', 'PSU-IP-Address': '192.0.2.10', 'TPP-Redirect-URI': 'https://client.example/done', 'X-Request-ID': randomUUID() }),
    body: { instructedAmount: { currency: 'EUR', amount: '99.00' }, debtorAccount: { iban: 'DE89370400440532013000' }, creditorAccount: { iban: 'NL91ABNA0417164300' }, creditorName: 'Gym', startDate: start, frequency: 'MonthlyVariable', monthsOfExecution: ['1', '7'], dayOfExecution: '31' },
  };
  const created = await stack.call('POST', PERIODIC, request);
  expect(created.status).toBe(201);
  expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
  // A repeated POST answers as the first did, the bank's authorisation included.
  const repeated = await stack.call('POST', PERIODIC, request);
  expect([repeated.status, repeated.body]).toEqual([201, created.body]);
  expect(created.body._links.scaStatus).toBeDefined();
  const id = created.body.paymentId;
  const { page, bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'approve');
  expect(page).toContain('Authorise standing order');
  // The bank sends the PSU to Clearway's callback, which wakes the order's workflow and forwards to the client.
  const back = await fetch(bankRedirect, { redirect: 'manual' });
  expect([back.status, back.headers.get('location')]).toEqual([302, 'https://client.example/done']);
  await eventually(async () => (await status(id)) === 'ACCP', 20_000, 100);
  const auths = await stack.call('GET', `${PERIODIC}/${id}/authorisations`, { token: pisToken, headers: headers() });
  expect(auths.body.authorisationIds).toEqual([created.body._links.scaStatus.href.split('/').pop()]);
  const auth = await stack.call('GET', created.body._links.scaStatus.href, { token: pisToken, headers: headers() });
  expect(auth.body).toEqual({ scaStatus: 'finalised' });
  // Without a consent Clearway cannot see executions, and says so.
  expect((await stack.call('GET', `${PERIODIC}/${id}/executions`, { token: pisToken, headers: headers(), contract: false })).body).toEqual({ observable: false, executions: [] });
  // Another client cannot see it; a cancellation authorisation before DELETE is refused.
  const other = await stack.token(await stack.newClient(), 'paymentinitiation private');
  expect((await stack.call('GET', `${PERIODIC}/${id}/status`, { token: other, headers: headers() })).status).toBe(404);
  expect((await stack.call('POST', `${PERIODIC}/${id}/cancellation-authorisations`, { token: pisToken, headers: headers() })).status).toBe(409);
  // A standing order is not a bulk payment: the bulk lookup does not find it.
  expect((await stack.call('POST', `/psd2/paymentinitiation/v1/bulk-payments/sepa-credit-transfers/${id}/cancellation-authorisations`, { token: pisToken, headers: headers(), contract: false })).status).toBe(404);
}, 60_000);

test('a future-dated single payment: DELETE → 202, the generic cancellation-authorisations endpoint, the PSU approves in the app → CANC', async () => {
  await fetch(`${stack.sandbox.url}/_sandbox/clock`, { method: 'DELETE' });
  const PIS = '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers';
  const created = await stack.call('POST', PIS, {
    token: pisToken,
    headers: headers({ 'PSU-ID': PSU, 'PSU-IP-Address': '192.0.2.10' }),
    body: { instructedAmount: { currency: 'EUR', amount: '120.00' }, debtorAccount: { iban: 'DE89370400440532013000' }, creditorAccount: { iban: 'NL91ABNA0417164300' }, creditorName: 'Supplier', requestedExecutionDate: addDays(new Date().toISOString().slice(0, 10), 5) },
  });
  expect(created.status).toBe(201);
  const id = created.body.paymentId;
  const singleStatus = async () => (await stack.call('GET', `${PIS}/${id}/status`, { token: pisToken, headers: headers() })).body.transactionStatus;
  await eventually(async () => (await singleStatus()) === 'ACCP', 20_000, 100);
  const del = await stack.call('DELETE', `${PIS}/${id}`, { token: pisToken, headers: headers() });
  expect(del.status).toBe(202);
  expect(del.body._links.startAuthorisation.href).toBe(`${PIS}/${id}/cancellation-authorisations`);
  const started = await stack.call('POST', del.body._links.startAuthorisation.href, { token: pisToken, headers: headers({ 'PSU-IP-Address': '192.0.2.10' }) });
  expect(started.status).toBe(201);
  expect(started.body).toMatchObject({ scaStatus: 'started', _links: { scaStatus: { href: `${PIS}/${id}/cancellation-authorisations/${started.body.authorisationId}` } } });
  await eventually(async () => (await singleStatus()) === 'CANC', 20_000, 100);
  expect((await stack.call('GET', `${PIS}/${id}/cancellation-authorisations`, { token: pisToken, headers: headers() })).body).toEqual([started.body.authorisationId]);
  const events = await outbox(id);
  expect(events.filter((e) => e.type === 'payment.status_changed').map((e) => e.payload.transactionStatus).at(-1)).toBe('CANC');
}, 60_000);
