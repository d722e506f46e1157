/**
 * Every error the API returns, as Berlin Group message codes. Each code has one default HTTP
 * status (the table below); the exception filter renders them as `tppMessages`. BG reuses a few
 * codes under two statuses (SERVICE_INVALID is 400 for AIS scope, 405 for methods): those pass
 * the status explicitly.
 */
export enum ApiErrorCode {
  FormatError = 'FORMAT_ERROR',
  ParameterNotConsistent = 'PARAMETER_NOT_CONSISTENT',
  ParameterNotSupported = 'PARAMETER_NOT_SUPPORTED',
  PaymentFailed = 'PAYMENT_FAILED',
  ExecutionDateInvalid = 'EXECUTION_DATE_INVALID',
  ScaMethodUnknown = 'SCA_METHOD_UNKNOWN',
  TokenInvalid = 'TOKEN_INVALID',
  TokenExpired = 'TOKEN_EXPIRED',
  ServiceBlocked = 'SERVICE_BLOCKED',
  ResourceUnknown = 'RESOURCE_UNKNOWN',
  ProductUnknown = 'PRODUCT_UNKNOWN',
  CancellationInvalid = 'CANCELLATION_INVALID',
  ServiceInvalid = 'SERVICE_INVALID',
  StatusInvalid = 'STATUS_INVALID',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  PeriodInvalid = 'PERIOD_INVALID',
  PsuCredentialsInvalid = 'PSU_CREDENTIALS_INVALID',
  ConsentInvalid = 'CONSENT_INVALID',
  ConsentExpired = 'CONSENT_EXPIRED',
  AccessExceeded = 'ACCESS_EXCEEDED',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  InternalError = 'INTERNAL_SERVER_ERROR',
}

export const API_ERROR_HTTP_STATUS: Record<ApiErrorCode, number> = {
  [ApiErrorCode.FormatError]: 400,
  [ApiErrorCode.ParameterNotConsistent]: 400,
  [ApiErrorCode.ParameterNotSupported]: 400,
  [ApiErrorCode.PaymentFailed]: 400,
  [ApiErrorCode.ExecutionDateInvalid]: 400,
  [ApiErrorCode.ScaMethodUnknown]: 400,
  [ApiErrorCode.TokenInvalid]: 401,
  [ApiErrorCode.TokenExpired]: 401,
  [ApiErrorCode.ServiceBlocked]: 403,
  [ApiErrorCode.ResourceUnknown]: 404,
  [ApiErrorCode.ProductUnknown]: 404,
  [ApiErrorCode.CancellationInvalid]: 405,
  [ApiErrorCode.ServiceInvalid]: 405,
  [ApiErrorCode.StatusInvalid]: 409,
  [ApiErrorCode.UnsupportedMediaType]: 415,
  [ApiErrorCode.PeriodInvalid]: 400,
  [ApiErrorCode.PsuCredentialsInvalid]: 401,
  [ApiErrorCode.ConsentInvalid]: 401,
  [ApiErrorCode.ConsentExpired]: 401,
  [ApiErrorCode.AccessExceeded]: 429,
  [ApiErrorCode.ServiceUnavailable]: 503,
  [ApiErrorCode.InternalError]: 500,
};

export interface TppMessage {
  category: 'ERROR' | 'WARNING';
  code: string;
  text?: string;
  path?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly httpStatus: number;
  /** Response headers that belong to the error (`Retry-After`, `Allow`). */
  headers: Record<string, string> = {};

  constructor(
    readonly code: ApiErrorCode,
    text: string,
    readonly path?: string,
    /** Messages passed through from a bank, shown after ours. */
    readonly extraMessages: TppMessage[] = [],
    httpStatus?: number,
  ) {
    super(text);
    this.httpStatus = httpStatus ?? API_ERROR_HTTP_STATUS[code];
  }

  get tppMessages(): TppMessage[] {
    const own: TppMessage = { category: 'ERROR', code: this.code, text: this.message.slice(0, 512) };
    if (this.path) own.path = this.path;
    return [own, ...this.extraMessages];
  }

  /** 400 FORMAT_ERROR naming the offending field. */
  static format(path: string, text: string): ApiError {
    return new ApiError(ApiErrorCode.FormatError, `${path}: ${text}`, path);
  }

  static notFound(what: string): ApiError {
    return new ApiError(ApiErrorCode.ResourceUnknown, `${what} not found`);
  }

  /** 429 ACCESS_EXCEEDED with `Retry-After`. */
  static tooManyRequests(text: string, retryAfterSeconds: number): ApiError {
    const err = new ApiError(ApiErrorCode.AccessExceeded, text);
    err.headers['Retry-After'] = String(retryAfterSeconds);
    return err;
  }

  /** 405 SERVICE_INVALID with `Allow`: the path exists, the method does not. */
  static methodNotAllowed(method: string, allowed: string[]): ApiError {
    const err = new ApiError(ApiErrorCode.ServiceInvalid, `${method} is not allowed here; allowed: ${allowed.join(', ')}`);
    err.headers.Allow = allowed.join(', ');
    return err;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
