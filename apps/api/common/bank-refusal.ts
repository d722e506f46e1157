import { bankRefusalKind } from '../../../libs/domain/bank-refusal';
import { ApiError, ApiErrorCode, type TppMessage } from './api-error';

/** What a Berlin Group bank answered when it refused a call: its HTTP status and tppMessages. */
export interface BankRefusalDetails {
  httpStatus: number;
  messages: { category: 'ERROR' | 'WARNING'; code: string; text?: string; path?: string }[];
}

/**
 * Bank codes a client sees as they are, with the status and our own words for each. The bank's
 * own `text` never reaches a client: banks write their resource ids and URL paths into it (a real
 * one answered an out-of-order SCA step with its internal consent id and path), and Clearway's ids
 * are not the bank's. The bank's `path` is kept when it names a body field.
 */
const BANK_CODES: Record<string, { code: ApiErrorCode; status: number; text: string }> = {
  FORMAT_ERROR: { code: ApiErrorCode.FormatError, status: 400, text: 'The bank refused the format of the request' },
  PARAMETER_NOT_CONSISTENT: { code: ApiErrorCode.ParameterNotConsistent, status: 400, text: 'The bank found the request parameters inconsistent' },
  PARAMETER_NOT_SUPPORTED: { code: ApiErrorCode.ParameterNotSupported, status: 400, text: 'The bank does not support a parameter of the request' },
  PERIOD_INVALID: { code: ApiErrorCode.PeriodInvalid, status: 400, text: 'The bank refused the requested period' },
  PAYMENT_FAILED: { code: ApiErrorCode.PaymentFailed, status: 400, text: 'The bank refused the payment' },
  EXECUTION_DATE_INVALID: { code: ApiErrorCode.ExecutionDateInvalid, status: 400, text: 'The bank refused the requested execution date' },
  SCA_METHOD_UNKNOWN: { code: ApiErrorCode.ScaMethodUnknown, status: 400, text: 'The bank does not know this SCA method' },
  PSU_CREDENTIALS_INVALID: { code: ApiErrorCode.PsuCredentialsInvalid, status: 401, text: 'The bank refused the PSU credentials' },
  CONSENT_INVALID: { code: ApiErrorCode.ConsentInvalid, status: 401, text: 'The consent is not valid at the bank' },
  CONSENT_EXPIRED: { code: ApiErrorCode.ConsentExpired, status: 401, text: 'The consent has expired at the bank' },
  RESOURCE_UNKNOWN: { code: ApiErrorCode.ResourceUnknown, status: 404, text: 'The bank does not know this resource' },
  CANCELLATION_INVALID: { code: ApiErrorCode.CancellationInvalid, status: 405, text: 'The bank refused to cancel the payment' },
  STATUS_INVALID: { code: ApiErrorCode.StatusInvalid, status: 409, text: 'The bank refused the request in the current state of the resource (for example an SCA step out of order)' },
  ACCESS_EXCEEDED: { code: ApiErrorCode.AccessExceeded, status: 429, text: 'The bank refused: access limit reached' },
};

const FIELD_PATH = /^[A-Za-z][A-Za-z0-9]*(\[\d+\])?(\.[A-Za-z][A-Za-z0-9]*(\[\d+\])?)*$/;

/**
 * The one mapping of a bank's refusal to what the client sees. The first message with a code we
 * know decides the error; a code we do not know becomes `fallback` (PAYMENT_FAILED for payments,
 * FORMAT_ERROR for consents); a 5xx is our 503.
 */
export function bankRefusalError(refusal: BankRefusalDetails, fallback: ApiErrorCode.PaymentFailed | ApiErrorCode.FormatError): ApiError {
  // Checked first: a certificate refused in the TLS handshake carries no HTTP status of the bank's.
  if (bankRefusalKind(refusal) === 'certificate_refused') return certificateRefusal(fallback === ApiErrorCode.PaymentFailed ? 'payment initiation' : 'account information');
  if (refusal.httpStatus >= 500) return new ApiError(ApiErrorCode.ServiceUnavailable, 'The bank is unavailable; try again');
  const known = refusal.messages.find((m) => BANK_CODES[m.code]);
  const main = known ? BANK_CODES[known.code]! : { code: fallback, status: 400, text: fallback === ApiErrorCode.PaymentFailed ? 'The bank refused the payment' : 'The bank refused the request' };
  const others: TppMessage[] = refusal.messages
    .filter((m) => m !== known)
    .map((m) => {
      const mapped = BANK_CODES[m.code];
      return { category: m.category, code: mapped?.code ?? fallback, text: mapped?.text ?? 'The bank refused the request', ...fieldPath(m.path) };
    });
  return new ApiError(main.code, main.text, fieldPath(known?.path).path, others, main.status);
}

/**
 * The bank refused Clearway's own client certificate (its CA, validity, or the PSD2 role the
 * service needs): the client's request is not at fault and repeating it cannot help, so not a
 * 400 or a 401 (the client's credentials are fine) but 403 SERVICE_BLOCKED, naming the service and
 * nothing of the bank's answer (its codes, CA names and paths stay in our logs).
 */
export function certificateRefusal(service: 'payment initiation' | 'account information'): ApiError {
  return new ApiError(
    ApiErrorCode.ServiceBlocked,
    `The bank does not accept Clearway's certificate for ${service}: this service is not available at this bank through Clearway until that is resolved (repeating the request will not help; contact Clearway support)`,
    undefined,
    [],
    403,
  );
}

/** Our words for a refusal code, for refusals whose text came from the bank call (never the call's own message). */
export function bankRefusalText(code: string): string {
  return BANK_CODES[code]?.text ?? 'The bank refused the request';
}

function fieldPath(path: string | undefined): { path?: string } {
  return path && FIELD_PATH.test(path) ? { path } : {};
}
