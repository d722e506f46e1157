import type { ConsentEntity } from '../../../libs/persistence/entities/consent.entity';

const BASE = '/psd2/consent/v1/consents';

export const consentPath = (id: string) => `${BASE}/${id}`;
export const consentAuthorisationPath = (id: string, authorisationId: string) => `${consentPath(id)}/authorisations/${authorisationId}`;

/** 201 of `POST /consents` (OPE consentsResponse-201). */
export function toConsentCreatedResponse(
  consentId: string,
  c: { consentStatus: string; scaApproach: string; authorisationId?: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = { self: { href: consentPath(consentId) }, status: { href: `${consentPath(consentId)}/status` } };
  if (c.scaRedirectUrl) links.scaRedirect = { href: c.scaRedirectUrl };
  if (c.authorisationId) links.scaStatus = { href: consentAuthorisationPath(consentId, c.authorisationId) };
  else if (c.scaApproach === 'EMBEDDED') links.startAuthorisationWithPsuAuthentication = { href: `${consentPath(consentId)}/authorisations` };
  else links.startAuthorisation = { href: `${consentPath(consentId)}/authorisations` };
  // OPE 1.3.3's consentsResponse-201 calls the PSU's text `message` (at most 512 characters), where BG says `psuMessage`.
  return { consentStatus: c.consentStatus, consentId, _links: links, ...(c.psuMessage ? { message: c.psuMessage.slice(0, 512) } : {}) };
}

/** `GET /consents/{id}` (BG consentInformationResponse-200_json). */
export function toConsentResponse(c: ConsentEntity) {
  return {
    access: c.access,
    recurringIndicator: c.recurringIndicator,
    validUntil: c.validUntil ?? c.requestedValidUntil,
    frequencyPerDay: c.frequencyPerDay,
    lastActionDate: c.lastActionDate ?? c.createdAt.toISOString().slice(0, 10),
    consentStatus: c.consentStatus,
    _links: { status: { href: `${consentPath(c.id)}/status` } },
  };
}
