import { HANDOFF_PURPOSES } from '../../../libs/security/handoff-purposes';
import type { SensitiveHandoffs } from '../../../libs/security/sensitive-handoffs';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from '../../../workflows/shared/psu-data';
import { ApiError } from './api-error';

/**
 * The body of `PUT .../authorisations/{id}` (BG Update PSU Data), sealed for the worker: an empty
 * body identifies the PSU (PSU-ID header); `psuData.password`, `authenticationMethodId` and
 * `scaAuthenticationData` are the embedded steps. Only a hand-off id enters Temporal.
 */
export async function sealPsuDataUpdate(
  handoffs: SensitiveHandoffs,
  tenantId: string,
  authorisationId: string,
  raw: unknown,
): Promise<PsuDataUpdateRequest> {
  const { kind, secret } = parseBody(raw);
  if (kind === 'identification') return { authorisationId, kind };
  return { authorisationId, kind, handoffId: await handoffs.seal(tenantId, HANDOFF_PURPOSES[kind], secret!) };
}

function parseBody(raw: unknown): { kind: PsuDataUpdateRequest['kind']; secret?: string } {
  if (raw === undefined || raw === null || (isObject(raw) && Object.keys(raw).length === 0)) return { kind: 'identification' };
  if (!isObject(raw)) throw ApiError.format('body', 'must be a JSON object');
  if (raw.psuData !== undefined) {
    const password = isObject(raw.psuData) ? raw.psuData.password : undefined;
    if (typeof password !== 'string' || !password) throw ApiError.format('psuData.password', 'is required');
    return { kind: 'credentials', secret: password };
  }
  if (raw.authenticationMethodId !== undefined) {
    if (typeof raw.authenticationMethodId !== 'string' || !raw.authenticationMethodId) throw ApiError.format('authenticationMethodId', 'must be a non-empty string');
    return { kind: 'selectMethod', secret: raw.authenticationMethodId };
  }
  if (raw.scaAuthenticationData !== undefined) {
    if (typeof raw.scaAuthenticationData !== 'string' || !raw.scaAuthenticationData) throw ApiError.format('scaAuthenticationData', 'must be a non-empty string');
    return { kind: 'otp', secret: raw.scaAuthenticationData };
  }
  throw ApiError.format('body', 'expected one of psuData, authenticationMethodId or scaAuthenticationData');
}

/** BG updatePsuAuthenticationResponse, with our own links to the next step. */
export function toPsuDataUpdateResponse(result: PsuDataUpdateSummary, authorisationPath: string) {
  const links: Record<string, { href: string }> = { scaStatus: { href: authorisationPath } };
  if (result.scaStatus === 'psuAuthenticated') links.selectAuthenticationMethod = { href: authorisationPath };
  if (result.scaStatus === 'scaMethodSelected') links.authoriseTransaction = { href: authorisationPath };
  return {
    scaStatus: result.scaStatus,
    ...(result.scaMethods ? { scaMethods: result.scaMethods } : {}),
    ...(result.chosenScaMethod ? { chosenScaMethod: result.chosenScaMethod } : {}),
    ...(result.challengeData ? { challengeData: result.challengeData } : {}),
    ...(result.psuMessage ? { psuMessage: result.psuMessage } : {}),
    _links: links,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
