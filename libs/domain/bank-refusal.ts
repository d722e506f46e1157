/**
 * What a bank's refusal means for a consent or a read, protocol-neutral. Adapters express bank
 * messages in Clearway's (Berlin Group) `tppMessages` vocabulary; this is the one place that turns
 * those codes into outcomes, so workflows never look at a protocol's codes.
 * - `consent_invalid`: the consent is no longer usable (revoked, unknown at the bank);
 * - `consent_expired`: it ran out;
 * - `access_exceeded`: the bank's access limit for it is reached;
 * - `resource_unknown`: the account or transaction does not exist for it;
 * - `certificate_refused`: the bank does not accept Clearway's own client certificate for the
 *   service (wrong CA, expired, revoked, or its PSD2 roles lack the service): nothing the client
 *   sent is at fault, and no retry can help until Clearway's certificate changes.
 */
export type BankRefusalKind = 'consent_invalid' | 'consent_expired' | 'access_exceeded' | 'resource_unknown' | 'certificate_refused';

const BY_CODE: Readonly<Record<string, BankRefusalKind>> = {
  CONSENT_INVALID: 'consent_invalid',
  CONSENT_UNKNOWN: 'consent_invalid',
  CONSENT_EXPIRED: 'consent_expired',
  ACCESS_EXCEEDED: 'access_exceeded',
  RESOURCE_UNKNOWN: 'resource_unknown',
  // Berlin Group 1.3.12 §14.11 (401): the TPP's certificate, or its PSD2 role, is not accepted.
  CERTIFICATE_INVALID: 'certificate_refused',
  CERTIFICATE_EXPIRED: 'certificate_refused',
  CERTIFICATE_BLOCKED: 'certificate_refused',
  CERTIFICATE_REVOKED: 'certificate_refused',
  CERTIFICATE_MISSING: 'certificate_refused',
  ROLE_INVALID: 'certificate_refused',
};

/** The refusal's meaning from the bank's messages and HTTP status; undefined for any other refusal. */
export function bankRefusalKind(refusal: { httpStatus?: number; messages?: readonly { code: string }[] } | undefined): BankRefusalKind | undefined {
  const kinds = (refusal?.messages ?? []).map((m) => BY_CODE[m.code]).filter((k): k is BankRefusalKind => k !== undefined);
  // Clearway's certificate first (nothing else at this bank can work), then the consent's own
  // state, which wins over a missing resource or a limit.
  for (const k of ['certificate_refused', 'consent_expired', 'consent_invalid', 'access_exceeded', 'resource_unknown'] as const) if (kinds.includes(k)) return k;
  return refusal?.httpStatus === 404 ? 'resource_unknown' : undefined;
}
