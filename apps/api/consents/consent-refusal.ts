import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { BankRefusal, ConsentRefusal } from '../../../workflows/consent.api';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { bankRefusalError, bankRefusalText } from '../common/bank-refusal';

/** Every refusal the consent workflow can give, once, as the Berlin Group error a client sees. */
const REFUSAL_ERRORS: Record<ConsentRefusal, { code: ApiErrorCode; status?: number }> = {
  consent_invalid: { code: ApiErrorCode.ConsentInvalid },
  consent_expired: { code: ApiErrorCode.ConsentExpired },
  service_not_granted: { code: ApiErrorCode.ServiceInvalid, status: 400 },
  access_exceeded: { code: ApiErrorCode.AccessExceeded },
  resource_unknown: { code: ApiErrorCode.ResourceUnknown },
  wrong_state: { code: ApiErrorCode.StatusInvalid },
  bank_refused: { code: ApiErrorCode.FormatError },
};

/** The names workflows used before their refusals were protocol-neutral (an update answered by an older worker during a deploy). */
const LEGACY_REFUSALS: Readonly<Record<string, ConsentRefusal>> = {
  CONSENT_INVALID: 'consent_invalid',
  CONSENT_EXPIRED: 'consent_expired',
  SERVICE_INVALID: 'service_not_granted',
  ACCESS_EXCEEDED: 'access_exceeded',
  RESOURCE_UNKNOWN: 'resource_unknown',
  STATUS_INVALID: 'wrong_state',
  BANK_REFUSED: 'bank_refused',
};

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
  // Not an ApplicationFailure: the update was refused by its validator or the workflow's state, in our own words.
  if (!failure) return new ApiError(ApiErrorCode.StatusInvalid, (err.cause as Error | undefined)?.message ?? err.message);
  const type = failure.type ? (LEGACY_REFUSALS[failure.type] ?? (failure.type as ConsentRefusal)) : undefined;
  const details = failure.details?.[0] as BankRefusal | undefined;
  if (type === 'bank_refused' && details) return bankRefusalError(details, ApiErrorCode.FormatError);
  const mapped = type && Object.prototype.hasOwnProperty.call(REFUSAL_ERRORS, type) ? REFUSAL_ERRORS[type] : undefined;
  if (!mapped) return new ApiError(ApiErrorCode.StatusInvalid, details ? bankRefusalText('STATUS_INVALID') : failure.message);
  // With bank details the message is the adapter's summary of the bank call (its paths and ids): say it in our words.
  return new ApiError(mapped.code, details ? bankRefusalText(mapped.code) : failure.message, undefined, [], mapped.status);
}
