import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { BankRefusal, ConsentRefusal } from '../../../workflows/consent.api';
import { ApiError, ApiErrorCode, type TppMessage } from '../common/api-error';

/** Every refusal the consent workflow can give, once, as the API error a client sees. */
const REFUSAL_ERRORS: Record<ConsentRefusal, { code: ApiErrorCode; status?: number }> = {
  CONSENT_INVALID: { code: ApiErrorCode.ConsentInvalid },
  CONSENT_EXPIRED: { code: ApiErrorCode.ConsentExpired },
  SERVICE_INVALID: { code: ApiErrorCode.ServiceInvalid, status: 400 },
  ACCESS_EXCEEDED: { code: ApiErrorCode.AccessExceeded },
  RESOURCE_UNKNOWN: { code: ApiErrorCode.ResourceUnknown },
  STATUS_INVALID: { code: ApiErrorCode.StatusInvalid },
  BANK_REFUSED: { code: ApiErrorCode.FormatError },
};

/** Bank codes we pass through to the client as they are (they exist in our contract too). */
const PASSTHROUGH = new Set(['FORMAT_ERROR', 'PARAMETER_NOT_CONSISTENT', 'PARAMETER_NOT_SUPPORTED', 'PERIOD_INVALID', 'PSU_CREDENTIALS_INVALID', 'SCA_METHOD_UNKNOWN', 'RESOURCE_UNKNOWN']);

/** A failed update carrying a refusal from the consent workflow (as opposed to a transport fault). */
export function isConsentRefusal(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError;
}

function applicationFailureIn(err: unknown): ApplicationFailure | undefined {
  let current = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return current;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

/** Turns a failed workflow update into the API error; rethrows anything that is not a refusal. */
export function toConsentApiError(err: unknown): ApiError {
  if (err instanceof WorkflowNotFoundError) return new ApiError(ApiErrorCode.ConsentInvalid, 'The consent has ended');
  if (!(err instanceof WorkflowUpdateFailedError)) throw err;
  const failure = applicationFailureIn(err.cause);
  if (!failure) return new ApiError(ApiErrorCode.StatusInvalid, (err.cause as Error | undefined)?.message ?? err.message);
  const type = failure.type as ConsentRefusal | undefined;
  const details = failure.details?.[0] as BankRefusal | undefined;
  if (type === 'BANK_REFUSED' && details) return fromBank(details, failure.message);
  const mapped = type ? REFUSAL_ERRORS[type] : undefined;
  if (!mapped) return new ApiError(ApiErrorCode.StatusInvalid, failure.message);
  return new ApiError(mapped.code, failure.message, undefined, [], mapped.status);
}

function fromBank(details: BankRefusal, message: string): ApiError {
  if (details.httpStatus >= 500) return new ApiError(ApiErrorCode.ServiceUnavailable, 'The bank is unavailable; try again');
  const first = details.messages.find((m) => PASSTHROUGH.has(m.code));
  const extra: TppMessage[] = details.messages.filter((m) => m !== first).map((m) => ({ category: m.category, code: PASSTHROUGH.has(m.code) ? m.code : 'FORMAT_ERROR', ...(m.text ? { text: m.text } : {}) }));
  if (first?.code === 'PSU_CREDENTIALS_INVALID') return new ApiError(ApiErrorCode.PsuCredentialsInvalid, first.text ?? message, undefined, extra);
  if (first?.code === 'RESOURCE_UNKNOWN') return new ApiError(ApiErrorCode.ResourceUnknown, first.text ?? message, undefined, extra);
  const code = (first?.code as ApiErrorCode | undefined) ?? ApiErrorCode.FormatError;
  return new ApiError(code, `The bank refused: ${first?.text ?? message}`, first?.path, extra, 400);
}
