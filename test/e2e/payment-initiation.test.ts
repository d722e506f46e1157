import { randomUUID } from 'node:crypto';
import { PaymentRepository } from '../../libs/persistence/payment.repository';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { sepaPayment, type TestClient } from '../support/factories';
import { BIC, PIS, finalState, getStatus, initiate, pressScaButton } from '../support/payments';
import { TestStack } from '../support/stack';
import { patchesOf } from '../support/history-fixtures';
import { initiationRequestId, resolveAsOperator } from '../support/operator';
import { OperatorDecisionRepository } from '../../libs/persistence/initiation-attempt.repository';
import { UNKNOWN_OUTCOME_WARNING } from '../../apps/api/payments/payment.mapper';

/**
 * Single payments end to end: HTTP → NestJS → Temporal (real dev server) → worker → Berlin Group
 * adapter → sandbox bank over HTTP, with PostgreSQL underneath. Every /psd2 response is also
 * checked against the Open Payments Europe contract by TestStack.call.
 */
let stack: TestStack;
let client: TestClient;
let token: string;
let payments: PaymentRepository;

beforeAll(async () => {
  stack = await TestStack.start();
  client = await stack.newClient();
  token = await stack.token(client);
  payments = new PaymentRepository(stack.dataSource);
});
afterAll(async () => {
  await stack?.close();
});

/** How the API reports a payment whose initiation outcome is unknown. */
const UNKNOWN_REPORT = {
  transactionStatus: 'RCVD',
  tppMessages: [{ category: 'WARNING', code: 'WARNING', text: UNKNOWN_OUTCOME_WARNING }],
  clearway: { initiationOutcome: 'unknown' },
};

async function eventKinds(paymentId: string) {
  return (await payments.listEvents(paymentId)).map((e) => `${e.kind}:${e.status}`);
}

async function statusHistory(paymentId: string) {
  return (await payments.listEvents(paymentId)).filter((e) => e.kind === 'transaction_status').map((e) => e.status);
}

describe('redirect SCA', () => {
  test('approve on the bank page: PSU is sent back to the client, payment settles (ACSC)', async () => {
    const created = await initiate(stack, {
      token,
      psuId: 'alice',
      redirectUri: 'https://erp.example/payments/done?ref=42',
      nokRedirectUri: 'https://erp.example/payments/failed',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('REDIRECT');
    expect(created.headers.get('location')).toBe(`${PIS}/sepa-credit-transfers/${created.body.paymentId}`);
    expect(created.body.transactionStatus).toBe('RCVD');
    const scaRedirect: string = created.body._links.scaRedirect.href;
    expect(scaRedirect.startsWith(stack.sandbox.url)).toBe(true);

    const { page, bankRedirect } = await pressScaButton(scaRedirect, 'approve');
    expect(page).toContain('Approve');
    expect(page).toContain('Deny');
    expect(bankRedirect.startsWith(`${stack.baseUrl}/callbacks/payments/${created.body.paymentId}/sca`)).toBe(true);

    // The bank sent the PSU to Clearway; Clearway tells the workflow and forwards to the client.
    const back = await fetch(bankRedirect, { redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('https://erp.example/payments/done?ref=42');

    const done = await finalState(stack, created.body.paymentId);
    expect(done.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['BicFi', BIC],
        ['TenantId', client.tenantId],
        ['PaymentProduct', 'sepa-credit-transfers'],
        ['TransactionStatus', 'ACSC'],
        ['ScaStatus', 'finalised'],
      ]),
    );
    expect((await getStatus(stack, token, created.body.paymentId)).body).toEqual({ transactionStatus: 'ACSC' });
    expect(await statusHistory(created.body.paymentId)).toEqual(['ACSP', 'ACSC']);

    const auth = await stack.call('GET', new URL(created.body._links.scaStatus.href, stack.baseUrl).pathname, { token, headers: { 'X-BicFi': BIC } });
    expect(auth.body).toEqual({ scaStatus: 'finalised' });
  });

  test('deny on the bank page: PSU lands on the NOK URI, payment is RJCT', async () => {
    const created = await initiate(stack, { token, psuId: 'bob', redirectUri: 'https://shop.example/ok', nokRedirectUri: 'https://shop.example/nok' });
    expect(created.status).toBe(201);
    const { bankRedirect } = await pressScaButton(created.body._links.scaRedirect.href, 'deny');
    const back = await fetch(bankRedirect, { redirect: 'manual' });
    expect(back.headers.get('location')).toBe('https://shop.example/nok');
    await finalState(stack, created.body.paymentId);
    const stored = await payments.findById(created.body.paymentId);
    expect(stored).toMatchObject({ transactionStatus: 'RJCT', scaStatus: 'failed', statusReason: 'SCA failed' });
  });

  test('a forged callback (wrong state) is refused and does not touch the workflow', async () => {
    const created = await initiate(stack, { token, psuId: 'carol', redirectUri: 'https://shop.example/ok' });
    const res = await fetch(`${stack.baseUrl}/callbacks/payments/${created.body.paymentId}/sca?result=ok&state=forged`, { redirect: 'manual' });
    expect(res.status).toBe(404);
    expect((await getStatus(stack, token, created.body.paymentId)).body.transactionStatus).toBe('RCVD');
    await stack.call('DELETE', `${PIS}/sepa-credit-transfers/${created.body.paymentId}`, { token, headers: { 'X-BicFi': BIC } });
  });
});

describe('decoupled SCA', () => {
  test('PSU-ID decoupled: approved in the app, payment settles', async () => {
    const created = await initiate(stack, { token, psuId: 'decoupled' });
    expect(created.status).toBe(201);
    expect(created.headers.get('aspsp-sca-approach')).toBe('DECOUPLED');
    expect(created.body._links.scaRedirect).toBeUndefined();
    expect(created.body.psuMessage).toEqual(expect.any(String));
    await finalState(stack, created.body.paymentId);
    expect((await getStatus(stack, token, created.body.paymentId)).body.transactionStatus).toBe('ACSC');
  });

  test('PSU-ID decoupled-deny: SCA fails, payment ends RJCT', async () => {
    const created = await initiate(stack, { token, psuId: 'decoupled-deny' });
    await finalState(stack, created.body.paymentId);
    expect(await payments.findById(created.body.paymentId)).toMatchObject({ transactionStatus: 'RJCT', scaStatus: 'failed' });
  });
});

describe('bank outcomes after SCA', () => {
  test('cents 13: the bank rejects after SCA', async () => {
    const created = await initiate(stack, { token, psuId: 'decoupled', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: '99.13' } }) });
    await finalState(stack, created.body.paymentId);
    const stored = await payments.findById(created.body.paymentId);
    expect(stored).toMatchObject({ transactionStatus: 'RJCT', rawTransactionStatus: 'RJCT', scaStatus: 'finalised' });
  });

  test('cents 42: pending over several polls, then ACSC; every change is persisted once', async () => {
    const created = await initiate(stack, { token, psuId: 'decoupled', body: sepaPayment({ instructedAmount: { currency: 'EUR', amount: '10.42' } }) });
    await finalState(stack, created.body.paymentId);
    const history = await statusHistory(created.body.paymentId);
    expect(history[history.length - 1]).toBe('ACSC');
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(history.slice(0, -1).every((s) => s !== 'ACSC')).toBe(true);
    const sandboxView = stack.sandbox.bank.stats().payments.find((p) => p.transactionStatus === 'ACSC' && p.requestId);
    expect(sandboxView).toBeDefined();
  });
});

describe('cancellation', () => {
  test('DELETE before SCA cancels at the bank (204, CANC) and ends the workflow', async () => {
    const created = await initiate(stack, { token, psuId: 'dave', redirectUri: 'https://shop.example/ok' });
    const del = await stack.call('DELETE', `${PIS}/sepa-credit-transfers/${created.body.paymentId}`, { token, headers: { 'X-BicFi': BIC } });
    expect(del.status).toBe(204);
    await finalState(stack, created.body.paymentId);
    expect((await getStatus(stack, token, created.body.paymentId)).body.transactionStatus).toBe('CANC');
    const bankPaymentId = (await payments.findById(created.body.paymentId))!.bankPaymentId;
    expect(stack.sandbox.bank.stats().payments.find((p) => p.paymentId === bankPaymentId)?.transactionStatus).toBe('CANC');

    const again = await stack.call('DELETE', `${PIS}/sepa-credit-transfers/${created.body.paymentId}`, { token, headers: { 'X-BicFi': BIC } });
    expect(again.status).toBe(204);
  });

  test('DELETE of a settled payment is refused with 405 CANCELLATION_INVALID', async () => {
    const created = await initiate(stack, { token, psuId: 'decoupled' });
    await finalState(stack, created.body.paymentId);
    const del = await stack.call('DELETE', `${PIS}/sepa-credit-transfers/${created.body.paymentId}`, { token, headers: { 'X-BicFi': BIC } });
    expect(del.status).toBe(405);
    expect(del.body.tppMessages[0]).toMatchObject({ category: 'ERROR', code: 'CANCELLATION_INVALID' });
  });
});

describe('exactly once', () => {
  test('a client retrying POST with the same X-Request-ID gets the same payment; the bank sees one', async () => {
    const requestId = randomUUID();
    const first = await initiate(stack, { token, psuId: 'erin', redirectUri: 'https://shop.example/ok', requestId });
    const second = await initiate(stack, { token, psuId: 'erin', redirectUri: 'https://shop.example/ok', requestId });
    expect(second.status).toBe(201);
    expect(second.body.paymentId).toBe(first.body.paymentId);
    expect(second.body._links.scaRedirect).toEqual(first.body._links.scaRedirect);
    // The same answer as the first: the authorisation the bank created is named, none is offered to start.
    expect(second.body).toEqual(first.body);
    expect(second.body._links.scaStatus).toBeDefined();
    const bankPaymentId = (await payments.findById(first.body.paymentId))!.bankPaymentId;
    const atBank = stack.sandbox.bank.stats().payments.filter((p) => p.paymentId === bankPaymentId);
    expect(atBank).toHaveLength(1);
    expect(atBank[0]!.initiationRequests).toBe(1);

    const conflicting = await initiate(stack, { token, psuId: 'erin', requestId, body: sepaPayment({ creditorName: 'Someone Else' }) });
    expect(conflicting.status).toBe(400);
    expect(conflicting.body.tppMessages[0]).toMatchObject({ code: 'PARAMETER_NOT_CONSISTENT', path: 'X-Request-ID' });
  });

  test('the bank answering 503 after creating the payment: no second initiation; reported unknown, then resolved by an operator', async () => {
    const requestId = randomUUID();
    stack.sandbox.bank.setFaults({ dropResponseRate: 1 });
    const created = await initiate(stack, { token, psuId: 'decoupled', requestId, body: sepaPayment({ remittanceInformationUnstructured: 'lost answer' }) });
    stack.sandbox.bank.resetFaults();

    // Clearway cannot tell whether the bank holds the payment, and says so (201: its payment exists).
    expect(created.status).toBe(201);
    const { paymentId } = created.body;
    expect(created.body).toMatchObject(UNKNOWN_REPORT);
    expect(created.body._links.scaRedirect).toBeUndefined();
    expect(created.body._links.startAuthorisation).toBeUndefined();
    expect((await getStatus(stack, token, paymentId)).body).toEqual(UNKNOWN_REPORT);
    // A repeated POST reports the same, without sending anything to the bank.
    const repeated = await initiate(stack, { token, psuId: 'decoupled', requestId, body: sepaPayment({ remittanceInformationUnstructured: 'lost answer' }) });
    expect(repeated.body).toMatchObject({ paymentId, ...UNKNOWN_REPORT });

    // The bank received exactly one initiation request for it, and created one payment.
    const atBank = stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(paymentId));
    expect(atBank).toHaveLength(1);
    expect(atBank[0]!.initiationRequests).toBe(1);

    const decision = await resolveAsOperator(stack, paymentId, 'ops:carol');
    expect(decision).toMatchObject({ decision: 'initiated', bankPaymentId: atBank[0]!.paymentId });
    await finalState(stack, paymentId);
    expect((await getStatus(stack, token, paymentId)).body).toEqual({ transactionStatus: 'ACSC' });
    expect((await payments.findById(paymentId))).toMatchObject({ bankPaymentId: atBank[0]!.paymentId, initiationOutcome: 'resolved' });
    const audit = await new OperatorDecisionRepository(stack.dataSource).listForResource(client.tenantId, 'payment', paymentId);
    expect(audit).toEqual([expect.objectContaining({ operator: 'ops:carol', decision: 'initiated', bankResourceId: atBank[0]!.paymentId, reason: decision.reason, decidedAt: expect.any(Date) })]);
    expect(await eventKinds(paymentId)).toEqual(expect.arrayContaining(['initiation_outcome:unknown', 'initiation_outcome:resolved']));
    expect(stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(paymentId))).toHaveLength(1);
  });

  test('SCA-exempt payment whose answer is lost: the bank executed it once, Clearway never sends it again, reports unknown, then follows it to ACSC', async () => {
    stack.sandbox.bank.setFaults({ dropResponseRate: 1 });
    const created = await initiate(stack, { token, psuId: 'exempt', body: sepaPayment({ remittanceInformationUnstructured: 'exempt, lost answer' }) });
    stack.sandbox.bank.resetFaults();
    expect(created.body).toMatchObject(UNKNOWN_REPORT);

    const { paymentId } = created.body;
    const [atBank, ...more] = stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(paymentId));
    expect(more).toEqual([]);
    expect(atBank).toMatchObject({ executed: true, scaStatus: 'exempted', initiationRequests: 1 });

    await resolveAsOperator(stack, paymentId);
    await finalState(stack, paymentId);
    expect((await getStatus(stack, token, paymentId)).body).toEqual({ transactionStatus: 'ACSC' });
    expect(stack.sandbox.bank.findPaymentsByRequestId(initiationRequestId(paymentId)).filter((p) => p.executed)).toHaveLength(1);
  });

  test('an SCA-exempt payment with a clear answer: ACSP at once, no SCA, ACSC', async () => {
    const created = await initiate(stack, { token, psuId: 'exempt' });
    expect(created.status).toBe(201);
    expect(created.body.transactionStatus).toBe('ACSP');
    expect(created.body._links.scaRedirect).toBeUndefined();
    await finalState(stack, created.body.paymentId);
    expect((await getStatus(stack, token, created.body.paymentId)).body).toEqual({ transactionStatus: 'ACSC' });
  });
});

describe('reads and authorisations', () => {
  test('GET returns the payment as submitted with its status; authorisations list, get and start', async () => {
    const body = sepaPayment({ endToEndIdentification: 'E2E-0001' });
    const created = await initiate(stack, { token, psuId: 'frank', redirectUri: 'https://shop.example/ok', body });
    const path = `${PIS}/sepa-credit-transfers/${created.body.paymentId}`;
    const got = await stack.call('GET', path, { token, headers: { 'X-BicFi': BIC } });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ ...body, transactionStatus: 'RCVD' });

    const list = await stack.call('GET', `${path}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
    expect(list.body.authorisationIds).toHaveLength(1);

    // Update PSU data (identification): the bank confirms where SCA stands.
    const updated = await stack.call('PUT', `${path}/authorisations/${list.body.authorisationIds[0]}`, { token, headers: { 'X-BicFi': BIC, 'PSU-ID': 'frank' }, body: {} });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ scaStatus: 'received', _links: { scaStatus: { href: `${path}/authorisations/${list.body.authorisationIds[0]}` } } });
    const unknown = await stack.call('PUT', `${path}/authorisations/not-there`, { token, headers: { 'X-BicFi': BIC }, body: {} });
    expect(unknown.status).toBe(404);

    const started = await stack.call('POST', `${path}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ authorisationId: expect.any(String), scaStatus: expect.any(String) });
    expect(started.body._links.scaStatus.href).toBe(`${path}/authorisations/${started.body.authorisationId}`);
    const listAfter = await stack.call('GET', `${path}/authorisations`, { token, headers: { 'X-BicFi': BIC } });
    expect(listAfter.body.authorisationIds).toEqual(expect.arrayContaining([list.body.authorisationIds[0], started.body.authorisationId]));

    // The PSU completes the newest authorisation: the workflow follows it.
    if (started.body._links.scaRedirect) {
      const { bankRedirect } = await pressScaButton(started.body._links.scaRedirect.href, 'approve');
      await fetch(bankRedirect, { redirect: 'manual' });
      await finalState(stack, created.body.paymentId);
      expect((await getStatus(stack, token, created.body.paymentId)).body.transactionStatus).toBe('ACSC');
    } else {
      await stack.call('DELETE', path, { token, headers: { 'X-BicFi': BIC } });
    }
  });
});

test('workflow ids are derived from payment ids, one workflow per payment, started under a named patch gate', async () => {
  const created = await initiate(stack, { token, psuId: 'decoupled' });
  const d = await stack.temporal.workflow.getHandle(paymentWorkflowId(created.body.paymentId)).describe();
  expect(d.workflowId).toBe(`payment-${created.body.paymentId}`);
  expect(d.type).toBe('paymentInitiationWorkflow');
  await finalState(stack, created.body.paymentId);
  // The API names the patch gate it starts the payment under: no patch marker, no TemporalChangeVersion.
  const history = await stack.temporal.workflow.getHandle(paymentWorkflowId(created.body.paymentId)).fetchHistory();
  expect(patchesOf(history)).toEqual([]);
  const upserted = history.events!.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
  expect(upserted).toEqual(expect.arrayContaining(['TransactionStatus']));
  expect(upserted).not.toContain('TemporalChangeVersion');
});
