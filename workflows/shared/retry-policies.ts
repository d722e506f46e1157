/**
 * Workflow failure types and retry policies, one module for every workflow (payments, consents,
 * Open Payments transfers and mandates, the benchmark baseline), so "non-retryable" means the
 * same everywhere. Activities throw these types; workflows name them in their retry policies.
 * Imports only `@temporalio/common`: safe in workflow code and in activities alike.
 */
import { ApplicationFailure, type RetryPolicy } from '@temporalio/common';

/** Every ApplicationFailure type an activity or workflow raises on purpose. */
export const FailureType = {
  /** The bank or wallet answered and refused (4xx other than 408/429): the same request cannot succeed. */
  BankRejected: 'BankRejected',
  /** 429: retried no sooner than the bank's Retry-After (`nextRetryDelay`). */
  BankRateLimited: 'BankRateLimited',
  /** 5xx, timeout or unreachable: retried where repeating the call is safe. */
  BankUnavailable: 'BankUnavailable',
  /** The bank answered something we cannot read: retried like an outage. */
  BankProtocolError: 'BankProtocolError',
  PaymentNotFound: 'PaymentNotFound',
  ConsentNotFound: 'ConsentNotFound',
  TransferNotFound: 'TransferNotFound',
  MandateNotFound: 'MandateNotFound',
  /** Our own checks or the wallet refused an Open Payments step (reported to the client as 4xx). */
  TransferRefused: 'TransferRefused',
  MandateRefused: 'MandateRefused',
  /** A sealed PSU secret expired before it reached the bank: the client must send it again. */
  HandoffExpired: 'HandoffExpired',
  /** The bank refused a payment initiation: the API turns it into the client's error. */
  InitiationRejected: 'InitiationRejected',
  /** An operator decision the workflow cannot apply (wrong phase, unknown bank payment). */
  DecisionRefused: 'DecisionRefused',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failures a retry cannot fix, the same list in every retry policy. */
export const NON_RETRYABLE_FAILURES: readonly FailureType[] = [
  FailureType.BankRejected,
  FailureType.PaymentNotFound,
  FailureType.ConsentNotFound,
  FailureType.TransferNotFound,
  FailureType.MandateNotFound,
  FailureType.TransferRefused,
  FailureType.MandateRefused,
  FailureType.HandoffExpired,
  FailureType.InitiationRejected,
  FailureType.DecisionRefused,
];

/**
 * A retry policy that never retries {@link NON_RETRYABLE_FAILURES}. `alsoNonRetryable` adds
 * step-specific ones (e.g. a 429 on an account read is an answer for the client, not a fault).
 */
export function retryPolicy(policy: Omit<RetryPolicy, 'nonRetryableErrorTypes'>, alsoNonRetryable: readonly FailureType[] = []): RetryPolicy {
  return { ...policy, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES, ...alsoNonRetryable] };
}

/** The policies most steps use; a workflow declares its proxies with these next to the steps. */
export const RETRY = {
  /** A bank step that must eventually happen (bounded by the step's scheduleToCloseTimeout). */
  bankStep: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' }),
  /** A command the client is waiting for: a few quick attempts, then the client hears about it. */
  bankCommand: retryPolicy({ initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 4 }),
  /** A read inside a loop that reads again: a failed read is simply retried by the next round. */
  bankRead: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 }),
  /** An account read the client is waiting for: a 429 from the bank is an answer, not a fault, so it is not retried. */
  accountRead: retryPolicy({ initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 3 }, [FailureType.BankRateLimited]),
  /**
   * One attempt, for a bank step's first try as a local activity: what its policy would retry is
   * handed to the step's regular activity, whose retries the server keeps.
   */
  firstAttemptOnly: retryPolicy({ maximumAttempts: 1 }),
  /** Our own database: retried until it works, a recorded change must never be lost. */
  ownDatabase: retryPolicy({ initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s' }),
} as const;

/** A typed failure with the details the workflow and the API read (HTTP status, bank messages). */
export function failure(type: FailureType, message: string, opts: { details?: unknown[]; nextRetryDelay?: string | number; nonRetryable?: boolean } = {}): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    details: opts.details,
    nextRetryDelay: opts.nextRetryDelay,
    nonRetryable: opts.nonRetryable ?? NON_RETRYABLE_FAILURES.includes(type),
  });
}
