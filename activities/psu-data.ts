import type { PsuDataUpdate, PsuDataUpdateResult } from '../libs/adapters/bank-adapter';
import { HANDOFF_PURPOSES } from '../libs/security/handoff-purposes';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from '../workflows/shared/psu-data';
import { failure, FailureType } from '../workflows/shared/retry-policies';

/** Opens the sealed PSU input of one "Update PSU Data" step, for payments and consents alike. */
export async function openPsuDataUpdate(
  handoffs: SensitiveHandoffs,
  tenantId: string,
  req: PsuDataUpdateRequest,
  psuId: string | undefined,
): Promise<PsuDataUpdate> {
  if (req.kind === 'identification') return { kind: 'identification', psuId };
  const secret = req.handoffId ? await handoffs.open(tenantId, req.handoffId, HANDOFF_PURPOSES[req.kind]) : undefined;
  if (secret === undefined) {
    throw failure(FailureType.HandoffExpired, 'The PSU data expired before it reached the bank; send it again');
  }
  switch (req.kind) {
    case 'credentials':
      return { kind: 'credentials', psuId, password: secret };
    case 'selectMethod':
      return { kind: 'selectMethod', authenticationMethodId: secret };
    case 'otp':
      return { kind: 'otp', scaAuthenticationData: secret };
  }
}

export function toPsuDataSummary(result: PsuDataUpdateResult): PsuDataUpdateSummary {
  return {
    scaStatus: result.scaStatus.normalised,
    scaMethods: result.scaMethods,
    chosenScaMethod: result.chosenScaMethod,
    challengeData: result.challengeData,
    psuMessage: result.psuMessage,
  };
}
