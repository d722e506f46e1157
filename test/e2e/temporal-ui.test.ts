import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment, type TestClient } from '../support/factories';
import { BIC, finalState, initiate, pressScaButton } from '../support/payments';
import { aisGet, consentHandle, createConsent, waitForConsentStatus } from '../support/consents';
import { TestStack, eventually } from '../support/stack';
import { TEST_PII, eventSummaries, statusViewOf, uiMetadataOf } from '../support/ui-metadata';

/**
 * The Temporal UI as the operator console (docs/operators.md): every workflow the API starts has a
 * static summary and details, keeps its current details up to date with the phase, labels its
 * activities and timers, answers the `statusView` query, and shows no personal data anywhere.
 * Status polls every 4 s here, so the polling phase can be seen without racing it.
 */
let stack: TestStack;
let client: TestClient;
let token: string;

beforeAll(async () => {
  stack = await TestStack.start({ env: { PAYMENT_POLL_INITIAL_MS: '4000', PAYMENT_POLL_MAX_MS: '4000' } });
  client = await stack.newClient();
  token = await stack.token(client, 'paymentinitiation accountinformation private');
});
afterAll(async () => {
  await stack?.close();
});

function expectNoPii(...texts: (string | undefined)[]): void {
  for (const text of texts) for (const pii of TEST_PII) expect(text ?? '').not.toContain(pii);
}

test('a payment: summary and details on start, the SCA wait and the result in words, labelled steps, no PII', async () => {
  const created = await initiate(stack, { token, psuId: 'alice', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: '142.66' } }), redirectUri: 'https://erp.example/done' });
  expect(created.status).toBe(201);
  const paymentId: string = created.body.paymentId;
  const handle = stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId));

  const waiting = await uiMetadataOf(handle);
  expect(waiting.summary).toBe(`SCT 142.66 EUR · ${BIC} · tenant ${client.tenantId}`);
  expect(waiting.details).toContain(`[Payment (API)](${stack.baseUrl}/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${paymentId})`);
  expect(waiting.details).toContain(`- Bank: ${BIC}`);
  expect(waiting.details).toMatch(/- SCA approaches the bank offers: .*REDIRECT/);
  expect(waiting.current).toMatch(/^Waiting for the PSU's SCA since \d\d:\d\d \(redirect\); times out at \d\d:\d\d UTC$/);
  const view = await statusViewOf(handle);
  expect(view).toMatchObject({ resource: 'payment', id: paymentId, phase: 'awaiting_sca', details: waiting.current, api: { transactionStatus: 'RCVD' } });
  expect(view.href).toBe(`/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/${paymentId}`);

  const { bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'approve');
  await fetch(bankRedirect, { redirect: 'manual' });
  await finalState(stack, paymentId);
  const done = await uiMetadataOf(handle);
  expect(done.current).toBe('Final: ACSC');
  expect(done.summary).toBe(waiting.summary);
  expect((await statusViewOf(handle)).api).toMatchObject({ transactionStatus: 'ACSC', scaStatus: 'finalised' });

  const events = await eventSummaries(handle);
  expect(events.activities[0]).toBe(`Initiate at ${BIC}`);
  // Each check records the change it found in the same step (patch payment-read-records): no separate "Record status" steps.
  expect(events.activities).toContain('Check SCA status');
  expect(events.activities.filter((a) => a.startsWith('Record '))).toEqual([]);
  expect(events.activities.some((a) => /^Check status( \(attempt \d+\))?$/.test(a))).toBe(true);
  expect(events.timers.length).toBeGreaterThan(0);
  for (const t of events.timers) expect(t).toMatch(/^(Wait before SCA check \d+|SCA timeout|Wait before status check \d+)$/);
  // The started event carries the summary and details too; history as a whole stays free of PII.
  expect(events.all).toContain(waiting.summary!);
  expectNoPii(waiting.summary, waiting.details, waiting.current, done.current, events.all, JSON.stringify(view));
});

test('a payment polled at the bank says what it saw and when it checks next', async () => {
  // Cents 42: the bank reports PDNG for three polls after SCA; the decoupled app approves by itself.
  const created = await initiate(stack, { token, psuId: 'decoupled', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: '10.42' } }) });
  expect(created.status).toBe(201);
  const handle = stack.temporal.workflow.getHandle(paymentWorkflowId(created.body.paymentId));
  const polling = await eventually(async () => {
    const { current } = await uiMetadataOf(handle);
    // Between two checks (not the instant a check starts) the details name the next one.
    return current.startsWith('Polling the bank') && current.includes('next check') ? current : undefined;
  }, 30_000, 50);
  expect(polling).toMatch(/^Polling the bank: (PDNG|ACSP|ACTC|ACCP|ACWC|RCVD), next check in 4 s$/);
  expect((await statusViewOf(handle)).phase).toBe('polling_status');
  await finalState(stack, created.body.paymentId);
  expect((await uiMetadataOf(handle)).current).toBe('Final: ACSC');
  const { activities, timers } = await eventSummaries(handle);
  expect(activities).toEqual(expect.arrayContaining(['Check status (attempt 2)', 'Check status (attempt 3)']));
  expect(timers).toEqual(expect.arrayContaining(['Wait before status check 2', 'Wait before status check 3']));
});

test('a consent: summary on start, valid-until and the unattended reads used in its current details', async () => {
  const created = await createConsent(stack, { token, psuId: 'decoupled' });
  expect(created.status).toBe(201);
  const consentId: string = created.body.consentId;
  await waitForConsentStatus(stack, token, consentId, 'valid');
  const handle = consentHandle(stack, consentId);

  const valid = await eventually(async () => {
    const m = await uiMetadataOf(handle);
    return m.current.startsWith('Consent valid until') ? m : undefined;
  });
  expect(valid.summary).toBe(`AIS consent · 4 reads/day · accounts, balances, transactions · ${BIC} · tenant ${client.tenantId}`);
  expect(valid.details).toContain(`[Consent (API)](${stack.baseUrl}/psd2/consent/v1/consents/${consentId})`);
  expect(valid.current).toMatch(/^Consent valid until \d{4}-\d\d-\d\d; 0 of 4 unattended reads used today/);

  // Two reads without the PSU on the same endpoint count against frequencyPerDay.
  expect((await aisGet(stack, token, consentId, '')).status).toBe(200);
  expect((await aisGet(stack, token, consentId, '')).status).toBe(200);
  const afterReads = await uiMetadataOf(handle);
  expect(afterReads.current).toMatch(/; 2 of 4 unattended reads used today/);
  expect((await statusViewOf(handle))).toMatchObject({ resource: 'consent', id: consentId, phase: 'active', api: { consentStatus: 'valid' } });
  const { activities } = await eventSummaries(handle);
  expect(activities[0]).toBe(`Create consent at ${BIC}`);
  expect(activities).toEqual(expect.arrayContaining([`Read accounts (unattended) at ${BIC}`, `Read the granted consent at ${BIC}`]));

  expect((await stack.call('DELETE', `/psd2/consent/v1/consents/${consentId}`, { token, headers: { 'X-BicFi': BIC } })).status).toBe(204);
  await eventually(async () => ((await uiMetadataOf(handle)).current.startsWith('Final: terminatedByTpp') ? true : undefined));
});
