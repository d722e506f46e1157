import { log, sleep } from '@temporalio/workflow';
import { isAmbiguousCreation, mayCreateAgainAfterAmbiguity, type AmbiguousCreation } from '../../libs/domain/initiation-safety';

/** A short pause before creating again after an ambiguous attempt (the bank was struggling). */
const PAUSE_BEFORE_NEW_CREATION_MS = 2_000;

export type CreationOutcome<S> =
  /** `createdAgain` > 0: an earlier attempt may have left an orphan at the bank; clean up the ones it named. */
  | { kind: 'created'; result: S; createdAgain: number }
  /** Creating again is not safe: the bank may hold something Clearway knows nothing of. */
  | { kind: 'ambiguous'; reason: string };

/**
 * The workflow side of creating something (a payment, a consent, a bulk payment) at a bank that
 * does not deduplicate: the activity (`activities/initiation-guard.ts`) never sends twice on its
 * own; after an ambiguous attempt this decides, by `mayCreateAgainAfterAmbiguity`, whether a new
 * creation is harmless, and asks for it explicitly. Refusals and failures propagate to the caller.
 */
export async function createWithoutDuplicates<S extends object>(
  what: string,
  attempt: (opts: { createAgainAfterAttempt?: number }) => Promise<S | AmbiguousCreation>,
): Promise<CreationOutcome<S>> {
  let createAgainAfterAttempt: number | undefined;
  let createdAgain = 0;
  for (;;) {
    const result = await attempt(createAgainAfterAttempt === undefined ? {} : { createAgainAfterAttempt });
    if (!isAmbiguousCreation(result)) return { kind: 'created', result, createdAgain };
    if (!mayCreateAgainAfterAmbiguity(result.facts, createdAgain)) return { kind: 'ambiguous', reason: result.reason };
    log.warn(`${what} ambiguous; creating again: a first one, if any, stays unauthorised and unseen`, { attempt: result.lastAttempt });
    createAgainAfterAttempt = result.lastAttempt;
    createdAgain += 1;
    await sleep(PAUSE_BEFORE_NEW_CREATION_MS, { summary: `Pause before creating again (${what.toLowerCase()})` });
  }
}
