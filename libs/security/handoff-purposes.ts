/**
 * What a sealed hand-off (sensitive_handoffs) carries. The purpose is bound into the ciphertext,
 * so a sealed OTP cannot be opened as a password.
 */
export const HANDOFF_PURPOSES = {
  credentials: 'consent-psu-credentials',
  selectMethod: 'consent-sca-method',
  otp: 'consent-otp',
  psuContext: 'ais-psu-context',
} as const;

/** The bank's answer to an OAuth/OIDC authorisation (code, id_token or error), on its way to the worker. */
export const OAUTH_RESPONSE_PURPOSE = 'oauth-authorisation-response';
