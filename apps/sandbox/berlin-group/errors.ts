/**
 * Everything the sandbox can refuse, mapped once to the HTTP status and Berlin Group message code
 * that NextGenPSD2 1.3.12 prescribes (see the `MessageCodeNNN_PIS*` enums in the spec).
 */
export enum SandboxErrorCode {
  FormatError = 'FORMAT_ERROR',
  IdempotencyConflict = 'IDEMPOTENCY_CONFLICT',
  ServiceInvalid = 'SERVICE_INVALID',
  ProductUnknown = 'PRODUCT_UNKNOWN',
  ResourceUnknown = 'RESOURCE_UNKNOWN',
  RouteUnknown = 'ROUTE_UNKNOWN',
  CancellationInvalid = 'CANCELLATION_INVALID',
  StatusInvalid = 'STATUS_INVALID',
  AccessExceeded = 'ACCESS_EXCEEDED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  InternalError = 'INTERNAL_SERVER_ERROR',
}

export const SANDBOX_ERROR_HTTP: Record<SandboxErrorCode, { status: number; code: string }> = {
  [SandboxErrorCode.FormatError]: { status: 400, code: 'FORMAT_ERROR' },
  // A replayed X-Request-ID with another body is a malformed retry, not a second payment.
  [SandboxErrorCode.IdempotencyConflict]: { status: 400, code: 'FORMAT_ERROR' },
  [SandboxErrorCode.ServiceInvalid]: { status: 400, code: 'SERVICE_INVALID' },
  [SandboxErrorCode.ProductUnknown]: { status: 404, code: 'PRODUCT_UNKNOWN' },
  // BG: an unknown resource id addressed in the path is 403 RESOURCE_UNKNOWN.
  [SandboxErrorCode.ResourceUnknown]: { status: 403, code: 'RESOURCE_UNKNOWN' },
  [SandboxErrorCode.RouteUnknown]: { status: 404, code: 'RESOURCE_UNKNOWN' },
  [SandboxErrorCode.CancellationInvalid]: { status: 405, code: 'CANCELLATION_INVALID' },
  [SandboxErrorCode.StatusInvalid]: { status: 409, code: 'STATUS_INVALID' },
  [SandboxErrorCode.AccessExceeded]: { status: 429, code: 'ACCESS_EXCEEDED' },
  [SandboxErrorCode.ServiceUnavailable]: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  [SandboxErrorCode.InternalError]: { status: 500, code: 'INTERNAL_SERVER_ERROR' },
};

export interface TppMessage {
  category: 'ERROR' | 'WARNING';
  code: string;
  path?: string;
  text?: string;
}

/** A refusal returned as a value by the bank; routes turn it into a BG error response. */
export interface SandboxError {
  error: SandboxErrorCode;
  messages: { path?: string; text: string }[];
}

export function sandboxError(error: SandboxErrorCode, text: string, path?: string): SandboxError {
  return { error, messages: [path === undefined ? { text } : { path, text }] };
}

export function isSandboxError(value: unknown): value is SandboxError {
  return typeof value === 'object' && value !== null && 'error' in value && 'messages' in value;
}

/** The BG error body: `{ tppMessages: [{ category, code, path?, text }] }`. */
export function toErrorResponse(error: SandboxError): { status: number; body: { tppMessages: TppMessage[] } } {
  const { status, code } = SANDBOX_ERROR_HTTP[error.error];
  return errorResponse(status, code, error.messages);
}

/** One error response from a resolved status and BG code; texts capped at 500 characters. */
export function errorResponse(
  status: number,
  code: string,
  messages: { path?: string; text: string }[],
): { status: number; body: { tppMessages: TppMessage[] } } {
  return {
    status,
    body: {
      tppMessages: messages.map(({ path, text }) => ({
        category: 'ERROR' as const,
        code,
        ...(path === undefined ? {} : { path }),
        text: text.slice(0, 500),
      })),
    },
  };
}
