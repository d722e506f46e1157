/**
 * Everything the Open Payments sandbox refuses, mapped once to HTTP status and the `error.code`
 * the specs use: GNAP codes (RFC 9635 §3.6, auth-server.yaml) on the authorization server and
 * Open Payments' `error-response` on the resource server. Both bodies are
 * `{ error: { code, description, details? } }`.
 */
export enum OpenPaymentsErrorCode {
  // Authorization server (GNAP)
  InvalidRequest = 'invalid_request',
  InvalidClient = 'invalid_client',
  RequestDenied = 'request_denied',
  InvalidContinuation = 'invalid_continuation',
  UnknownContinuation = 'unknown_continuation',
  InvalidRotation = 'invalid_rotation',
  UnknownInteraction = 'unknown_interaction',
  InvalidInteraction = 'invalid_interaction',
  // Resource server
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  InvalidResource = 'invalid_resource',
  InvalidReceiver = 'invalid_receiver',
  InvalidQuote = 'invalid_quote',
  InvalidAmount = 'invalid_amount',
  LimitExceeded = 'limit_exceeded',
  Conflict = 'conflict',
  /** Rafiki's WrongState: completing an incoming payment that is already completed or expired. */
  InvalidState = 'invalid_state',
  // Sandbox
  ServiceUnavailable = 'service_unavailable',
  Internal = 'internal_error',
}

export const OPEN_PAYMENTS_ERROR_HTTP: Record<OpenPaymentsErrorCode, number> = {
  [OpenPaymentsErrorCode.InvalidRequest]: 400,
  [OpenPaymentsErrorCode.InvalidClient]: 401,
  [OpenPaymentsErrorCode.RequestDenied]: 401,
  [OpenPaymentsErrorCode.InvalidContinuation]: 401,
  [OpenPaymentsErrorCode.UnknownContinuation]: 404,
  [OpenPaymentsErrorCode.InvalidRotation]: 400,
  [OpenPaymentsErrorCode.UnknownInteraction]: 404,
  [OpenPaymentsErrorCode.InvalidInteraction]: 400,
  [OpenPaymentsErrorCode.Unauthorized]: 401,
  [OpenPaymentsErrorCode.Forbidden]: 403,
  [OpenPaymentsErrorCode.NotFound]: 404,
  [OpenPaymentsErrorCode.InvalidResource]: 400,
  [OpenPaymentsErrorCode.InvalidReceiver]: 400,
  [OpenPaymentsErrorCode.InvalidQuote]: 400,
  [OpenPaymentsErrorCode.InvalidAmount]: 400,
  // Rafiki answers a grant limit breach with 403 (the token does not allow this payment).
  [OpenPaymentsErrorCode.LimitExceeded]: 403,
  [OpenPaymentsErrorCode.Conflict]: 409,
  [OpenPaymentsErrorCode.InvalidState]: 409,
  [OpenPaymentsErrorCode.ServiceUnavailable]: 503,
  [OpenPaymentsErrorCode.Internal]: 500,
};

/** A refusal returned as a value by the services; routes turn it into an error response. */
export interface OpenPaymentsError {
  error: OpenPaymentsErrorCode;
  description: string;
  /** Overrides the table (e.g. GNAP's 404 `invalid_continuation`). */
  status?: number;
}

export function opError(error: OpenPaymentsErrorCode, description: string, status?: number): OpenPaymentsError {
  return status === undefined ? { error, description } : { error, description, status };
}

export function isOpError(value: unknown): value is OpenPaymentsError {
  return typeof value === 'object' && value !== null && 'error' in value && 'description' in value && !('id' in value);
}

export function toErrorResponse(error: OpenPaymentsError): { status: number; body: { error: { code: string; description: string } } } {
  return {
    status: error.status ?? OPEN_PAYMENTS_ERROR_HTTP[error.error],
    body: { error: { code: error.error, description: error.description.slice(0, 500) } },
  };
}
