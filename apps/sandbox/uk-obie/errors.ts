import type { Response } from 'express';

/** OBIE error response (`OBErrorResponse1`): one top-level code, one entry per problem. */
export class ObieError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export function sendObieError(res: Response, err: ObieError, interactionId: string): void {
  res
    .status(err.status)
    .json({
      Code: `${err.status} ${err.status === 400 ? 'Bad Request' : err.status === 401 ? 'Unauthorized' : err.status === 403 ? 'Forbidden' : err.status === 404 ? 'Not Found' : 'Error'}`,
      Id: interactionId,
      Message: err.message,
      Errors: [{ ErrorCode: err.errorCode, Message: err.message, ...(err.path ? { Path: err.path } : {}) }],
    });
}

/** RFC 6749 / RFC 7591 error: `{ error, error_description }`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}
