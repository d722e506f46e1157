import { isBankError } from '../libs/adapters/bank-adapter';
import { bankRefusalKind } from '../libs/domain/bank-refusal';
import { failure, FailureType } from '../workflows/shared/retry-policies';

/**
 * Turns an adapter failure into the typed failure the workflows' retry policies name
 * (`workflows/shared/retry-policies.ts`). Which types are retried is declared there; only the
 * bank's Retry-After is set here, because only the bank knows it.
 */
export function toActivityFailure(err: unknown): never {
  if (!isBankError(err)) throw err;
  const refusal = bankRefusalKind(err.details);
  // `refusal` is the protocol-neutral meaning the workflows act on; messages are for the API's reply.
  const details = [{ httpStatus: err.details.httpStatus, messages: err.details.messages ?? [], ...(refusal ? { refusal } : {}) }];
  switch (err.kind) {
    case 'rejected':
    case 'not_found':
      throw failure(FailureType.BankRejected, err.message, { details });
    case 'rate_limited':
      // Also in the details: a workflow reads it there (a failure's nextRetryDelay does not reach workflow code).
      throw failure(FailureType.BankRateLimited, err.message, {
        details: err.details.retryAfterMs === undefined ? details : [{ ...details[0], retryAfterMs: err.details.retryAfterMs }],
        nextRetryDelay: err.details.retryAfterMs,
      });
    case 'unavailable':
      throw failure(FailureType.BankUnavailable, err.message, { details });
    case 'protocol':
      throw failure(FailureType.BankProtocolError, err.message, { details });
  }
}
