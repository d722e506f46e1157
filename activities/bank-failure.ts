import { ApplicationFailure } from '@temporalio/common';
import { isBankError } from '../libs/adapters/bank-adapter';

/**
 * Turns an adapter failure into the typed ApplicationFailure the workflow's retry policies name.
 * Which types are retried is declared in the workflow; only the bank's Retry-After is set here,
 * because only the bank knows it.
 */
export function toActivityFailure(err: unknown): never {
  if (!isBankError(err)) throw err;
  const details = [{ httpStatus: err.details.httpStatus, messages: err.details.messages ?? [] }];
  switch (err.kind) {
    case 'rejected':
    case 'not_found':
      throw ApplicationFailure.create({ type: 'BankRejected', message: err.message, details });
    case 'rate_limited':
      throw ApplicationFailure.create({
        type: 'BankRateLimited',
        message: err.message,
        details,
        nextRetryDelay: err.details.retryAfterMs,
      });
    case 'unavailable':
      throw ApplicationFailure.create({ type: 'BankUnavailable', message: err.message, details });
    case 'protocol':
      throw ApplicationFailure.create({ type: 'BankProtocolError', message: err.message, details });
  }
}
