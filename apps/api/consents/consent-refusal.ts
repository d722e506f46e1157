import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { BankRefusal, ConsentRefusal } from '../../../workflows/consent.api';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { bankRefusalError, bankRefusalText } from '../common/bank-refusal';

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
  const type = failure.type as ConsentRefusal | undefined;
  const details = failure.details?.[0] as BankRefusal | undefined;
  if (type === 'BANK_REFUSED' && details) return bankRefusalError(details, ApiErrorCode.FormatError);
  const mapped = type ? REFUSAL_ERRORS[type] : undefined;
  if (!mapped) return new ApiError(ApiErrorCode.StatusInvalid, details ? bankRefusalText('STATUS_INVALID') : failure.message);
  // With bank details the message is the adapter's summary of the bank call (its paths and ids): say it in our words.
  return new ApiError(mapped.code, details ? bankRefusalText(mapped.code) : failure.message, undefined, [], mapped.status);
}
