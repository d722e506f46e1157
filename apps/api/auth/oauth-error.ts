import type { Response } from 'express';

/**
 * An error of the token endpoint, in RFC 6749 §5.2 form (`error`, `error_description`), not
 * tppMessages: OAuth client libraries read this shape. `slow_down` (429) is the registered OAuth
 * extension error for "too many token requests" (RFC 8628, token endpoint usage).
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';

  constructor(
    readonly httpStatus: number,
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type' | 'slow_down',
    readonly description: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

export function sendOAuthError(res: Response, err: OAuthError): void {
  if (res.headersSent) return;
  res.setHeader('Cache-Control', 'no-store');
  if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  res.status(err.httpStatus).json({ error: err.error, error_description: err.description });
}
