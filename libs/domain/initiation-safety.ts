/**
 * Exactly once against banks that do not deduplicate: when may a request that creates something at
 * the bank (a payment, a bulk payment, a consent) be sent again, and what is left when it may not.
 * Pure rules, shared by activities and workflows (payments, consents; bulk payments reuse them).
 *
 * The cases, by what the failed attempt tells (`RequestFate` in `libs/adapters/bank-adapter.ts`):
 * - provably not processed (connection refused, DNS, 429): send again, freely;
 * - refused (4xx): nothing was created, the resource failed;
 * - ambiguous (timeout or 5xx after sending, a lost or unreadable answer, a worker that died
 *   mid-call): the bank may hold a first resource that we know nothing about. Sending again may
 *   create a second one. That is acceptable only where the first cannot be executed or used
 *   without the PSU's SCA AND the PSU can only ever be shown one authorisation: then the first
 *   stays unauthorised and harmless (and is cancelled where we learn its id). Clearway cannot know
 *   in advance whether a bank will exempt a payment from SCA, so unless the bank documents that
 *   it never does, an ambiguous attempt is not repeated: the outcome is recorded as `unknown` and
 *   resolved (the bank's own lookup, evidence from account information, or an operator).
 */
import type { ScaApproach } from './transaction-status';

/** The life of one attempt, as recorded before and after it is sent (write-ahead). */
export type InitiationAttemptState = 'sending' | 'created' | 'not_processed' | 'refused' | 'ambiguous';

/** States after which the bank may hold something this attempt created that we do not know of. */
export const UNRESOLVED_ATTEMPT_STATES: ReadonlySet<InitiationAttemptState> = new Set(['sending', 'ambiguous']);

/** What decides whether a second creation after an ambiguous first one is harmless. */
export interface InitiationSafetyFacts {
  /**
   * The bank may execute a payment without the PSU's SCA (PSD2 RTS exemptions: trusted
   * beneficiaries, low value, TRA…). True unless the bank documents that it never exempts.
   */
  scaExemptionsPossible: boolean;
  /**
   * The bank may prompt the PSU by itself for anything it creates (decoupled SCA in the bank's
   * app, started with the creation): the PSU would then see one authorisation per creation.
   */
  bankMayPromptPsu: boolean;
}

/**
 * The facts for one resource: decoupled SCA needs the PSU's identity at creation, so without a
 * PSU-ID the bank cannot push an authorisation to the PSU's app.
 */
export function initiationSafetyFacts(
  aspsp: { scaApproaches: readonly ScaApproach[]; scaExemptionsPossible: boolean },
  psuIdGiven: boolean,
  /** Consents are never executed: only the prompting matters. */
  kind: 'payment' | 'consent' = 'payment',
): InitiationSafetyFacts {
  return {
    scaExemptionsPossible: kind === 'payment' && aspsp.scaExemptionsPossible,
    bankMayPromptPsu: psuIdGiven && aspsp.scaApproaches.includes('DECOUPLED'),
  };
}

/**
 * What a creation attempt returns when the bank's answer gave no certainty: the bank may or may
 * not hold something from it. Activities return it as a value; the workflow decides what follows.
 */
export interface AmbiguousCreation {
  outcome: 'ambiguous';
  /** What happened, in words (method, path, status): never bodies. */
  reason: string;
  /** The last attempt written down; a new creation is allowed only past it. */
  lastAttempt: number;
  facts: InitiationSafetyFacts;
}

export function isAmbiguousCreation<T extends object>(result: T | AmbiguousCreation): result is AmbiguousCreation {
  return (result as Partial<AmbiguousCreation>).outcome === 'ambiguous';
}

/** How many times a creation may be sent again after ambiguous attempts, where that is safe at all. */
export const MAX_CREATIONS_AFTER_AMBIGUITY = 2;

/**
 * After an ambiguous attempt: may a new creation be sent? Only where whatever the first attempt
 * may have created can never be executed (no SCA exemption) and never be shown to the PSU (the
 * bank cannot prompt the PSU by itself; the PSU only sees the authorisation Clearway hands out).
 */
export function mayCreateAgainAfterAmbiguity(facts: InitiationSafetyFacts, creationsAfterAmbiguity: number): boolean {
  return !facts.scaExemptionsPossible && !facts.bankMayPromptPsu && creationsAfterAmbiguity < MAX_CREATIONS_AFTER_AMBIGUITY;
}
