/**
 * AIS refusals on top of the PIS ones in `../errors.ts`, mapped once to the HTTP status and the
 * NextGenPSD2 1.3.12 code of the `MessageCode{400,401,403}_AIS` enums.
 */
import { errorResponse, isSandboxError, toErrorResponse, type SandboxError, type SandboxErrorCode, type TppMessage } from '../errors';

export enum AisErrorCode {
  ConsentUnknown = 'CONSENT_UNKNOWN',
  ConsentInvalid = 'CONSENT_INVALID',
  ConsentExpired = 'CONSENT_EXPIRED',
  PsuCredentialsInvalid = 'PSU_CREDENTIALS_INVALID',
  ScaMethodUnknown = 'SCA_METHOD_UNKNOWN',
  PeriodInvalid = 'PERIOD_INVALID',
  ParameterNotSupported = 'PARAMETER_NOT_SUPPORTED',
}

export const AIS_ERROR_HTTP: Record<AisErrorCode, { status: number; code: string }> = {
  // BG: an unknown Consent-ID is 403, a known one that cannot be used is 401.
  [AisErrorCode.ConsentUnknown]: { status: 403, code: 'CONSENT_UNKNOWN' },
  [AisErrorCode.ConsentInvalid]: { status: 401, code: 'CONSENT_INVALID' },
  [AisErrorCode.ConsentExpired]: { status: 401, code: 'CONSENT_EXPIRED' },
  [AisErrorCode.PsuCredentialsInvalid]: { status: 401, code: 'PSU_CREDENTIALS_INVALID' },
  [AisErrorCode.ScaMethodUnknown]: { status: 400, code: 'SCA_METHOD_UNKNOWN' },
  [AisErrorCode.PeriodInvalid]: { status: 400, code: 'PERIOD_INVALID' },
  [AisErrorCode.ParameterNotSupported]: { status: 400, code: 'PARAMETER_NOT_SUPPORTED' },
};

/** Same shape as {@link SandboxError}, with the AIS codes allowed too. */
export interface AisError {
  error: SandboxErrorCode | AisErrorCode;
  messages: { path?: string; text: string }[];
}

export function aisError(error: SandboxErrorCode | AisErrorCode, text: string, path?: string): AisError {
  return { error, messages: [path === undefined ? { text } : { path, text }] };
}

export const isAisError: (value: unknown) => value is AisError = isSandboxError as (value: unknown) => value is AisError;

function isAisOnlyCode(code: string): code is AisErrorCode {
  return code in AIS_ERROR_HTTP;
}

export function toAisErrorResponse(error: AisError): { status: number; body: { tppMessages: TppMessage[] } } {
  if (!isAisOnlyCode(error.error)) return toErrorResponse(error as SandboxError);
  const { status, code } = AIS_ERROR_HTTP[error.error];
  return errorResponse(status, code, error.messages);
}
