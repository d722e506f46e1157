import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { toConsentApiError } from '../consents/consent-refusal';
import { clientReason, refusalError } from '../open-payments/refusals';
import { ApiErrorCode } from './api-error';
import { bankRefusalError } from './bank-refusal';

const BANK_ID = 'bank-consent-4711-8c1e';
const leakyText = `Consent ${BANK_ID}: scaStatus is received, expected psuAuthenticated (PUT /v1/consents/${BANK_ID}/authorisations/a1)`;

describe('bankRefusalError: the one mapping of a bank refusal to what a client sees', () => {
  test.each([
    ['STATUS_INVALID', 409, ApiErrorCode.StatusInvalid],
    ['PSU_CREDENTIALS_INVALID', 401, ApiErrorCode.PsuCredentialsInvalid],
    ['RESOURCE_UNKNOWN', 404, ApiErrorCode.ResourceUnknown],
    ['CANCELLATION_INVALID', 405, ApiErrorCode.CancellationInvalid],
    ['EXECUTION_DATE_INVALID', 400, ApiErrorCode.ExecutionDateInvalid],
    ['FORMAT_ERROR', 400, ApiErrorCode.FormatError],
    ['SOMETHING_BANK_SPECIFIC', 400, ApiErrorCode.PaymentFailed],
  ])('%s → %s %s, in our words only', (code, status, ours) => {
    const err = bankRefusalError({ httpStatus: 400, messages: [{ category: 'ERROR', code, text: leakyText, path: `/v1/consents/${BANK_ID}` }] }, ApiErrorCode.PaymentFailed);
    expect(err.httpStatus).toBe(status);
    expect(err.code).toBe(ours);
    expect(JSON.stringify(err.tppMessages)).not.toContain(BANK_ID);
    expect(JSON.stringify(err.tppMessages)).not.toContain('/v1/');
  });

  test('a field path of the bank is kept; the first known code decides; the others follow in our words', () => {
    const err = bankRefusalError(
      {
        httpStatus: 400,
        messages: [
          { category: 'ERROR', code: 'BANK_SPECIFIC', text: leakyText },
          { category: 'ERROR', code: 'FORMAT_ERROR', text: leakyText, path: 'debtorAccount.iban' },
        ],
      },
      ApiErrorCode.FormatError,
    );
    expect(err.tppMessages).toEqual([
      { category: 'ERROR', code: 'FORMAT_ERROR', text: 'The bank refused the format of the request', path: 'debtorAccount.iban' },
      { category: 'ERROR', code: 'FORMAT_ERROR', text: 'The bank refused the request' },
    ]);
  });

  test.each<[ApiErrorCode.PaymentFailed | ApiErrorCode.FormatError, number, string, string]>([
    [ApiErrorCode.PaymentFailed, 401, 'ROLE_INVALID', 'payment initiation'],
    [ApiErrorCode.PaymentFailed, 401, 'CERTIFICATE_INVALID', 'payment initiation'],
    [ApiErrorCode.FormatError, 401, 'ROLE_INVALID', 'account information'],
    [ApiErrorCode.FormatError, 401, 'CERTIFICATE_EXPIRED', 'account information'],
    // Refused in the TLS handshake: no HTTP status of the bank's (the workflow records 502).
    [ApiErrorCode.PaymentFailed, 502, 'CERTIFICATE_INVALID', 'payment initiation'],
  ])("Clearway's certificate refused (%s, bank %s %s): 403 SERVICE_BLOCKED naming the service, none of the bank's words", (fallback, httpStatus, code, service) => {
    const bankText = `The client certificate is not issued by a trusted QTSP (UNABLE_TO_VERIFY_LEAF_SIGNATURE) for /v1/consents/${BANK_ID}`;
    const err = bankRefusalError({ httpStatus, messages: [{ category: 'ERROR', code, text: bankText }] }, fallback);
    expect(err.httpStatus).toBe(403);
    expect(err.code).toBe(ApiErrorCode.ServiceBlocked);
    expect(err.tppMessages).toEqual([{ category: 'ERROR', code: 'SERVICE_BLOCKED', text: expect.stringContaining(`does not accept Clearway's certificate for ${service}`) }]);
    const shown = JSON.stringify(err.tppMessages);
    for (const leak of [BANK_ID, 'QTSP', 'UNABLE_TO_VERIFY', code, '/v1/']) expect(shown).not.toContain(leak);
  });

  test('a 5xx is our 503', () => {
    expect(bankRefusalError({ httpStatus: 502, messages: [] }, ApiErrorCode.PaymentFailed).httpStatus).toBe(503);
  });
});

describe('consent refusals from the workflow', () => {
  const refused = (type: string, message: string, details?: unknown) =>
    new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : [] }));

  test('an out-of-order SCA step (bank 409 STATUS_INVALID) is our 409, without the bank call in the text', () => {
    const err = toConsentApiError(
      refused('BANK_REFUSED', `PUT /v1/consents/${BANK_ID}/authorisations/a1 → HTTP 409 (STATUS_INVALID)`, {
        httpStatus: 409,
        messages: [{ category: 'ERROR', code: 'STATUS_INVALID', text: leakyText }],
      }),
    );
    expect(err.httpStatus).toBe(409);
    expect(err.code).toBe(ApiErrorCode.StatusInvalid);
    expect(err.message).not.toContain(BANK_ID);
  });

  test("a consent the bank refused for Clearway's certificate (lacking PSP_AI) is 403 SERVICE_BLOCKED for account information", () => {
    const err = toConsentApiError(
      refused('bank_refused', 'POST /v1/consents → HTTP 401 (ROLE_INVALID)', {
        httpStatus: 401,
        messages: [{ category: 'ERROR', code: 'ROLE_INVALID', text: 'The client certificate lacks the PSD2 role PSP_AI this service requires' }],
      }),
    );
    expect(err.httpStatus).toBe(403);
    expect(err.code).toBe(ApiErrorCode.ServiceBlocked);
    expect(err.message).toContain('account information');
    expect(err.message).not.toContain('PSP_AI');
  });

  test.each([
    ['consent_invalid', ApiErrorCode.ConsentInvalid],
    ['consent_expired', ApiErrorCode.ConsentExpired],
    ['service_not_granted', ApiErrorCode.ServiceInvalid],
    ['access_exceeded', ApiErrorCode.AccessExceeded],
    ['resource_unknown', ApiErrorCode.ResourceUnknown],
    ['wrong_state', ApiErrorCode.StatusInvalid],
    ['bank_refused', ApiErrorCode.FormatError],
    // Names of workflows from before the refusals were protocol-neutral (an older worker during a deploy).
    ['CONSENT_EXPIRED', ApiErrorCode.ConsentExpired],
    ['SERVICE_INVALID', ApiErrorCode.ServiceInvalid],
  ])('the workflow\'s neutral refusal %s is the API\'s %s', (type, code) => {
    expect(toConsentApiError(refused(type, 'why')).code).toBe(code);
  });

  test('a refusal from a bank call (with details) never carries the call summary; our own refusals keep their words', () => {
    const fromBank = toConsentApiError(refused('RESOURCE_UNKNOWN', `GET /v1/consents/${BANK_ID}/status → HTTP 404`, { httpStatus: 404, messages: [] }));
    expect(fromBank.message).not.toContain(BANK_ID);
    const ours = toConsentApiError(refused('STATUS_INVALID', 'The consent is still being created at the bank'));
    expect(ours.message).toBe('The consent is still being created at the bank');
  });
});

describe('Open Payments refusals', () => {
  const refused = (code: string, message: string, httpStatus = 400) =>
    new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ type: 'TransferRefused', message, nonRetryable: true, details: [{ httpStatus, code, message }] }));

  test("our own refusal keeps its words; a quoted wallet call keeps its method, status and codes, not the wallet's paths", () => {
    expect(refusalError(refused('asset_mismatch', 'debitAmount is in USD/2, the sender\'s wallet in EUR/2'), 'TransferRefused')?.message).toContain('USD');
    const wallet = refusalError(refused('BankRejected', 'POST wallet.example:8443/alice/incoming-payments/ip-123 → HTTP 403 (limit_exceeded)'), 'TransferRefused');
    expect(wallet?.message).toBe('POST (wallet) → HTTP 403 (limit_exceeded)');
  });

  test.each([
    ['Creation failed: GET auth.example/tenant-1/continue/c-9: timed out', 'Creation failed: GET (wallet): timed out'],
    ['The PSU denied the payment', 'The PSU denied the payment'],
    ['The sender https://wallet.example/alice is not an Open Payments wallet address', 'The sender https://wallet.example/alice is not an Open Payments wallet address'],
  ])('reason %j → %j', (reason, shown) => {
    expect(clientReason(reason)).toBe(shown);
  });
});
