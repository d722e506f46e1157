import type { Client } from '@temporalio/client';
import type { TenantBulkPaymentRepository } from '../../../libs/persistence/bulk-payment.repository';
import type { TenantPaymentRepository } from '../../../libs/persistence/payment.repository';
import type { TenantPeriodicPaymentRepository } from '../../../libs/persistence/periodic-payment.repository';
import type { Principal } from '../auth/token.service';
import { ApiError } from '../common/api-error';
import type { BulkPaymentsService } from './bulk-payments.service';
import { CancellationAuthorisationsService } from './cancellation-authorisations.service';
import type { PeriodicPaymentsService } from './periodic-payments.service';

/**
 * PUT `.../cancellation-authorisations/{cancellationId}` (OPE 1.3.3 `updatePaymentCancellationPsuData`):
 * the body is checked against the spec's four request bodies, and each valid one is answered with
 * the spec's error for banks that authorise cancellations by redirect or decoupled SCA only.
 */
const PAYMENT_ID = '6a1e4b1c-2f3d-4e5f-8a9b-0c1d2e3f4a5b';
const principal = { tenantId: 'tenant-1', clientId: 'client-1' } as Principal;
let scaStatus = 'started';
let scaApproach = 'REDIRECT';

function service(): CancellationAuthorisationsService {
  const payments = {
    findForTenant: async (tenantId: string, id: string) =>
      tenantId === 'tenant-1' && id === PAYMENT_ID ? { id, paymentService: 'payments', paymentProduct: 'sepa-credit-transfers', bicFi: 'SANDDEB0XXX', transactionStatus: 'ACCP' } : null,
  } as unknown as TenantPaymentRepository;
  const cancellations = {
    findCancellation: async (_t: string, _p: string, cancellationId: string) => (cancellationId === 'cancel-1' ? { cancellationId, scaStatus, scaApproach } : null),
    listCancellations: async () => [],
  } as unknown as TenantPeriodicPaymentRepository;
  return new CancellationAuthorisationsService({} as PeriodicPaymentsService, cancellations, {} as Client, payments, {} as BulkPaymentsService, {} as TenantBulkPaymentRepository);
}

async function put(body: unknown, cancellationId = 'cancel-1', paymentService = 'payments'): Promise<{ status: number; messages: ApiError['tppMessages'] }> {
  try {
    await service().update(principal, paymentService, 'sepa-credit-transfers', PAYMENT_ID, cancellationId, 'SANDDEB0XXX', body);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.httpStatus, messages: err.tppMessages };
    throw err;
  }
  throw new Error('PUT was answered 200');
}

beforeEach(() => {
  scaStatus = 'started';
  scaApproach = 'REDIRECT';
});

test.each([
  [[1], 'body'],
  ['text', 'body'],
  [{ psuId: 'x' }, 'psuId'],
  [{ psuData: 'secret' }, 'psuData'],
  [{ psuData: { pin: '1234' } }, 'psuData.pin'],
  [{ psuData: { password: 1234 } }, 'psuData.password'],
  [{ psuData: {} }, 'psuData'],
  [{ authenticationMethodId: '' }, 'authenticationMethodId'],
  [{ authenticationMethodId: 'x'.repeat(36) }, 'authenticationMethodId'],
  [{ scaAuthenticationData: 42 }, 'scaAuthenticationData'],
  [{ authenticationMethodId: 'SMS', scaAuthenticationData: '123456' }, 'scaAuthenticationData'],
])('a body that fits none of the spec’s requests (%j) is 400 FORMAT_ERROR naming %s, and never echoes a secret', async (body, path) => {
  const answer = await put(body);
  expect(answer.status).toBe(400);
  expect(answer.messages[0]).toMatchObject({ category: 'ERROR', code: 'FORMAT_ERROR', path });
  expect(JSON.stringify(answer.messages)).not.toMatch(/1234|secret/);
});

test('selecting an SCA method: 400 SCA_METHOD_UNKNOWN naming authenticationMethodId (the bank offered none)', async () => {
  const answer = await put({ authenticationMethodId: 'SMS-OTP' });
  expect(answer).toEqual({ status: 400, messages: [expect.objectContaining({ code: 'SCA_METHOD_UNKNOWN', path: 'authenticationMethodId' })] });
  expect(answer.messages[0]!.text).toContain('redirect approach');
});

test.each([
  [{ psuData: { password: 'hunter2' } }, 'psuData', 'REDIRECT', 'scaRedirect'],
  [{ scaAuthenticationData: '654321' }, 'scaAuthenticationData', 'DECOUPLED', 'bank app'],
])('embedded data (%j) on a %s cancellation: 409 STATUS_INVALID naming the field; the secret is not echoed', async (body, path, approach, where) => {
  scaApproach = approach;
  const answer = await put(body);
  expect(answer.status).toBe(409);
  expect(answer.messages[0]).toMatchObject({ code: 'STATUS_INVALID', path });
  expect(answer.messages[0]!.text).toContain(where);
  expect(JSON.stringify(answer.messages)).not.toMatch(/hunter2|654321/);
});

test('update PSU identification ({}): 409 STATUS_INVALID, the PSU authorises at the bank', async () => {
  expect(await put({})).toMatchObject({ status: 409, messages: [{ code: 'STATUS_INVALID' }] });
  expect(await put(undefined)).toMatchObject({ status: 409, messages: [{ code: 'STATUS_INVALID' }] });
});

test('a decided cancellation takes no PSU data at all: 409 naming its status', async () => {
  scaStatus = 'finalised';
  const answer = await put({ authenticationMethodId: 'SMS-OTP' });
  expect(answer.status).toBe(409);
  expect(answer.messages[0]!.text).toContain('already finalised');
});

test('unknown cancellation, payment or payment service: 404 / 405 before the body is looked at', async () => {
  expect((await put({ bad: 1 }, 'cancel-2')).status).toBe(404);
  expect((await put({}, 'cancel-1', 'unknown-payments')).messages[0]).toMatchObject({ code: 'SERVICE_INVALID' });
});
