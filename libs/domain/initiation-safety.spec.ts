import { initiationSafetyFacts, MAX_CREATIONS_AFTER_AMBIGUITY, mayCreateAgainAfterAmbiguity } from './initiation-safety';

describe('initiation safety after an ambiguous attempt', () => {
  const neverExempts = { scaApproaches: ['REDIRECT', 'EMBEDDED'] as const, scaExemptionsPossible: false };

  it.each([
    { case: 'the bank may exempt the payment from SCA', aspsp: { ...neverExempts, scaExemptionsPossible: true }, psuId: false, again: false },
    { case: 'the bank may prompt the PSU itself (decoupled, PSU-ID given)', aspsp: { scaApproaches: ['REDIRECT', 'DECOUPLED'] as const, scaExemptionsPossible: false }, psuId: true, again: false },
    { case: 'decoupled offered but no PSU-ID: the bank cannot prompt anyone', aspsp: { scaApproaches: ['REDIRECT', 'DECOUPLED'] as const, scaExemptionsPossible: false }, psuId: false, again: true },
    { case: 'SCA always required, the PSU only sees the link Clearway hands out', aspsp: neverExempts, psuId: true, again: true },
  ])('$case → create again: $again', ({ aspsp, psuId, again }) => {
    expect(mayCreateAgainAfterAmbiguity(initiationSafetyFacts({ ...aspsp, scaApproaches: [...aspsp.scaApproaches] }, psuId), 0)).toBe(again);
  });

  it(`at most ${MAX_CREATIONS_AFTER_AMBIGUITY} creations after ambiguous attempts`, () => {
    const facts = initiationSafetyFacts({ scaApproaches: ['REDIRECT'], scaExemptionsPossible: false }, false);
    expect(mayCreateAgainAfterAmbiguity(facts, MAX_CREATIONS_AFTER_AMBIGUITY - 1)).toBe(true);
    expect(mayCreateAgainAfterAmbiguity(facts, MAX_CREATIONS_AFTER_AMBIGUITY)).toBe(false);
  });

  it('a consent is never executed: only the prompting matters', () => {
    const exempting = { scaApproaches: ['REDIRECT' as const], scaExemptionsPossible: true };
    expect(initiationSafetyFacts(exempting, true, 'consent')).toEqual({ scaExemptionsPossible: false, bankMayPromptPsu: false });
    expect(initiationSafetyFacts(exempting, true, 'payment')).toEqual({ scaExemptionsPossible: true, bankMayPromptPsu: false });
  });
});
