import { BankError, isBankError } from '../libs/adapters/bank-adapter';
import { UNRESOLVED_ATTEMPT_STATES, type AmbiguousCreation, type InitiationSafetyFacts } from '../libs/domain/initiation-safety';
import type { InitiationResourceType } from '../libs/persistence/entities/initiation-attempt.entity';
import type { InitiationAttemptRepository } from '../libs/persistence/initiation-attempt.repository';
import { toActivityFailure } from './bank-failure';

/** One creation at a bank (payment, consent, bulk payment), as the guard needs to see it. */
export interface GuardedCreation<R extends object> {
  resourceType: InitiationResourceType;
  resourceId: string;
  /** Sent as the request id of every attempt of this creation (recognisable in the bank's logs). */
  requestId: string;
  /**
   * Earlier attempts up to this number may have reached the bank, and the workflow decided that
   * creating again is safe anyway (see `mayCreateAgainAfterAmbiguity`). Unresolved attempts after
   * it still block: a retry of this very attempt after a crash must not send twice.
   */
  createAgainAfterAttempt?: number;
  /** What an earlier attempt already recorded (the resource row holds the bank's id). */
  recorded(): Promise<R | undefined>;
  /** Sends the request; throws the adapter's BankError. */
  send(requestId: string): Promise<R>;
  /**
   * Persists what the bank created, before the attempt is marked `created`; `'attempt-created'`
   * when it marked attempt number `attempt` `created` itself, in the same write (one round trip
   * fewer, and no moment where the resource is recorded and its attempt still `sending`).
   */
  record(result: R, attempt: number): Promise<void | 'attempt-created'>;
  bankIdOf(result: R): string;
  /** What decides, after an ambiguous attempt, whether the workflow may create again. */
  facts: InitiationSafetyFacts;
}

/**
 * Creates something at a bank at most once per logical creation, with a bank that does not
 * deduplicate: every attempt is written down before its request leaves (write-ahead), so an
 * attempt that may have reached the bank (ambiguous answer, or a worker that died mid-call) stops
 * every later attempt from sending again, unless the workflow explicitly decided it is safe. A
 * refused attempt makes every later one hear the same refusal.
 *
 * Provably-not-processed failures (connection refused, 429) and refusals are thrown as the usual
 * typed failures: the workflow's retry policy repeats the former and gives up on the latter.
 */
export async function createAtMostOnce<R extends object>(attempts: InitiationAttemptRepository, c: GuardedCreation<R>): Promise<R | AmbiguousCreation> {
  const ambiguous = (reason: string, lastAttempt: number): AmbiguousCreation => ({ outcome: 'ambiguous', reason, lastAttempt, facts: c.facts });
  const recorded = await c.recorded();
  if (recorded) return recorded;

  // Written down before the request leaves, unless an earlier attempt may have reached the bank.
  const attempt = await attempts.beginUnlessBlocked(c.resourceType, c.resourceId, c.requestId, c.createAgainAfterAttempt ?? 0);
  if (attempt === undefined) {
    const earlier = await attempts.list(c.resourceType, c.resourceId);
    // A refusal ends the creation: no policy retries it, so only a local activity run again after
    // its workflow task was lost gets here. It hears the same refusal; nothing is sent.
    const refused = earlier.find((a) => a.state === 'refused' && a.attempt > (c.createAgainAfterAttempt ?? 0));
    if (refused) return toActivityFailure(new BankError('rejected', refused.detail ?? 'refused by the bank', { httpStatus: refused.httpStatus ?? undefined }));
    const blocking = earlier.filter((a) => UNRESOLVED_ATTEMPT_STATES.has(a.state) && a.attempt > (c.createAgainAfterAttempt ?? 0));
    await attempts.markInterruptedAsAmbiguous(c.resourceType, c.resourceId);
    const last = blocking.at(-1);
    const reason = !last || last.state === 'sending' ? 'the attempt was interrupted mid-call' : (last.detail ?? 'the bank gave no clear answer');
    return ambiguous(reason, Math.max(0, ...earlier.map((a) => a.attempt)));
  }

  let result: R;
  try {
    result = await c.send(c.requestId);
  } catch (err) {
    // Anything but a classified bank failure leaves the attempt `sending`: it may have reached the bank.
    if (!isBankError(err)) throw err;
    const done = { httpStatus: err.details.httpStatus ?? null, detail: err.message };
    if (err.fate === 'ambiguous') {
      await attempts.finish(c.resourceType, c.resourceId, attempt, { state: 'ambiguous', bankResourceId: err.details.resourceId ?? null, ...done });
      return ambiguous(err.message, attempt);
    }
    await attempts.finish(c.resourceType, c.resourceId, attempt, { state: err.fate, ...done });
    return toActivityFailure(err);
  }
  if ((await c.record(result, attempt)) !== 'attempt-created') {
    await attempts.finish(c.resourceType, c.resourceId, attempt, { state: 'created', bankResourceId: c.bankIdOf(result) });
  }
  return result;
}
