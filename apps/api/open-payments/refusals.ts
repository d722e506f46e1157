import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ApiError, ApiErrorCode } from '../common/api-error';

/** What a transfer or mandate workflow reports when the wallet or our checks refuse it. */
export interface OpenPaymentsRefusal {
  httpStatus: number;
  code: string;
  message: string;
}

/**
 * The API error for a refused authorisation update (`TransferRefused` / `MandateRefused`), or
 * undefined when the failure is not a refusal (transport faults are answered elsewhere).
 */
export function refusalError(err: unknown, type: 'TransferRefused' | 'MandateRefused'): ApiError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== type) return undefined;
  const refusal = (cause.details?.[0] as OpenPaymentsRefusal | undefined) ?? { httpStatus: 400, code: 'failed', message: cause.message };
  return refusal.httpStatus < 500
    ? new ApiError(ApiErrorCode.FormatError, clientText(refusal), refusal.code)
    : new ApiError(ApiErrorCode.ServiceUnavailable, 'The wallet is unavailable; repeat the request with the same X-Request-ID');
}

/**
 * Refusals Clearway itself words (activities' `refuse(code, message)`): their text names only what
 * the client sent. Any other text is the summary of a failed wallet call, which carries the
 * wallet's own resource paths (grants, quotes, incoming payments): the client gets our words.
 */
const OWN_REFUSAL_CODES: ReadonlySet<string> = new Set([
  'invalid_sender',
  'invalid_receiver',
  'asset_mismatch',
  'invalid_interval',
  'not_configured',
  'grant_not_granted',
  'interaction_missing',
  'hash_mismatch',
  'not_authorised',
  'requote_exceeds_grant',
]);

function clientText(refusal: OpenPaymentsRefusal): string {
  return OWN_REFUSAL_CODES.has(refusal.code) ? refusal.message : `The wallet refused the request (${refusal.code})`;
}

/** Where the PSU goes after the wallet: the client's redirect URI, tagged with the resource id. */
export function clientRedirect(redirectUri: string | null, idParam: 'transferId' | 'mandateId', id: string): string | undefined {
  if (!redirectUri) return undefined;
  const next = new URL(redirectUri);
  next.searchParams.set(idParam, id);
  return next.toString();
}
