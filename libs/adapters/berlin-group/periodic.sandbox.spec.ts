/**
 * The BG adapter's standing orders and cancellation authorisations against the sandbox bank over
 * HTTP: the two agree on paths, bodies, statuses and the 202 cancellation.
 */
import { randomUUID } from 'node:crypto';
import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from '../../../apps/sandbox/berlin-group';
import type { BankConnection, PaymentRef } from '../bank-adapter';
import type { InitiatePeriodicPaymentCommand } from '../payment-services';
import { BerlinGroupAdapter } from '.';

let sandbox: RunningBerlinGroupSandbox;
let conn: BankConnection;
let scaOffsetMs = 0;
const DELAY_MS = 60_000;
const sut = new BerlinGroupAdapter();
const redirect = { okUri: 'https://tpp.example/callback/ok', nokUri: 'https://tpp.example/callback/nok' };

beforeAll(async () => {
  sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: DELAY_MS, now: () => Date.now() + scaOffsetMs });
  conn = { bicFi: 'SANDDEFFXXX', baseUrl: sandbox.url, timeoutMs: 5_000 };
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.ais.setClock(Date.parse('2027-01-04T10:00:00Z')));

function command(psuId: string, amount = '10.00'): InitiatePeriodicPaymentCommand {
  return {
    idempotencyKey: randomUUID(),
    paymentProduct: 'sepa-credit-transfers',
    payment: {
      debtorAccount: { iban: sandbox.ais.accountsOf(psuId)[0].iban },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: 'Landlord BV',
      instructedAmount: { currency: 'EUR', amount },
      remittanceInformationUnstructured: 'Rent',
    },
    terms: { startDate: '2027-01-05', endDate: '2027-06-30', frequency: 'Monthly', dayOfExecution: '31', executionRule: 'preceding' },
    psu: { psuId, psuIpAddress: '192.0.2.10' },
    redirect,
  };
}

const ref = (bankPaymentId: string): PaymentRef => ({ bankPaymentId, paymentProduct: 'sepa-credit-transfers', requestId: randomUUID(), psu: { psuIpAddress: '192.0.2.10' } });

it('initiates a standing order, follows SCA and status, and cancels it with a cancellation authorisation', async () => {
  const periodic = sut.periodicPayments;
  const created = await periodic.initiatePeriodicPayment(conn, command('decoupled'));
  expect(created).toMatchObject({ status: { normalised: 'RCVD' }, scaApproach: 'DECOUPLED' });
  expect(sandbox.periodic.view(created.bankPaymentId)).toBeDefined();
  expect((await periodic.getPeriodicScaStatus(conn, { ...ref(created.bankPaymentId), authorisationId: created.authorisationId! })).normalised).toBe('started');
  scaOffsetMs += DELAY_MS + 1;
  expect((await periodic.getPeriodicScaStatus(conn, { ...ref(created.bankPaymentId), authorisationId: created.authorisationId! })).normalised).toBe('finalised');
  expect(await periodic.getPeriodicPaymentStatus(conn, ref(created.bankPaymentId))).toEqual({ raw: 'ACCP', normalised: 'ACCP' });

  sandbox.ais.setClock(Date.parse('2027-02-02T10:00:00Z'));
  expect(sandbox.periodic.view(created.bankPaymentId)!.executions.map((e) => e.executionDate)).toEqual(['2027-01-29']);

  const cancel = await periodic.cancelPeriodicPayment(conn, ref(created.bankPaymentId));
  expect(cancel).toEqual({ status: { raw: 'ACCP', normalised: 'ACCP' }, authorisationRequired: true });
  const started = await sut.cancellationAuthorisations.startCancellationAuthorisation(conn, { ...ref(created.bankPaymentId), paymentService: 'periodic-payments', redirect });
  expect(started).toMatchObject({ scaApproach: 'DECOUPLED', scaStatus: { normalised: 'started' } });
  scaOffsetMs += DELAY_MS + 1;
  const cancellationRef = { ...ref(created.bankPaymentId), paymentService: 'periodic-payments' as const, cancellationId: started.authorisationId };
  expect((await sut.cancellationAuthorisations.getCancellationScaStatus(conn, cancellationRef)).normalised).toBe('finalised');
  expect((await periodic.getPeriodicPaymentStatus(conn, ref(created.bankPaymentId))).normalised).toBe('CANC');
});

it('cancels before SCA without authorisation (204), and maps an unknown order to not_found', async () => {
  const created = await sut.periodicPayments.initiatePeriodicPayment(conn, command('redirect-psu'));
  expect(created.scaApproach).toBe('REDIRECT');
  expect(created.scaRedirectUrl).toBe(`${sandbox.url}/sca/periodic/${created.authorisationId}`);
  expect(await sut.periodicPayments.cancelPeriodicPayment(conn, ref(created.bankPaymentId))).toEqual({ status: { raw: 'CANC', normalised: 'CANC' }, authorisationRequired: false });
  await expect(sut.periodicPayments.getPeriodicPaymentStatus(conn, ref(randomUUID()))).rejects.toMatchObject({ kind: 'not_found' });
});

it('a bad schedule is a refusal naming the field', async () => {
  const bad = command('decoupled');
  bad.terms = { ...bad.terms, dayOfExecution: '05' };
  await expect(sut.periodicPayments.initiatePeriodicPayment(conn, bad)).rejects.toMatchObject({ kind: 'rejected', details: { httpStatus: 400, messages: [expect.objectContaining({ path: 'dayOfExecution' })] } });
});
