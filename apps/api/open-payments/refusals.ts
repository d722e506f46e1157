import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { withoutWalletPaths } from '../../../libs/adapters/open-payments/client';
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
    ? new ApiError(ApiErrorCode.FormatError, clientReason(refusal.message), refusal.code)
    : new ApiError(ApiErrorCode.ServiceUnavailable, 'The wallet is unavailable; repeat the request with the same X-Request-ID');
}

/**
 * The answer to a repeated `POST` (same X-Request-ID, same body) for a transfer or mandate that
 * ended before the PSU had a link: what the first request got, or would have got had it waited.
 * A refusal is answered as the first time (its status and code, the text without wallet hosts or
 * paths); one from a wallet that stayed unavailable (the first answer was 503 "repeat") is 409, as
 * repeating cannot help; without a refusal (cancelled while quoting), 400 naming the status, as the
 * authorisation update answers then.
 */
export function replayedEndError(refusal: OpenPaymentsRefusal | undefined, status: string, what: 'transfer' | 'mandate'): ApiError {
  if (refusal && refusal.httpStatus < 500) return new ApiError(ApiErrorCode.FormatError, clientReason(refusal.message), refusal.code);
  if (refusal) return new ApiError(ApiErrorCode.StatusInvalid, `The ${what} failed: the wallet stayed unavailable. Nothing was paid; start a new ${what} with a new X-Request-ID`);
  return new ApiError(ApiErrorCode.FormatError, `${what === 'transfer' ? 'Transfer' : 'Mandate'} is ${status}`, 'failed');
}

/**
 * A refusal's text or a transfer's, mandate's or period's `reason`, as clients see it: a quoted
 * wallet call keeps its method, status and codes, not the wallet's resource paths.
 */
export function clientReason(text: string): string {
  return withoutWalletPaths(text);
}

/** Where the PSU goes after the wallet: the client's redirect URI, tagged with the resource id. */
export function clientRedirect(redirectUri: string | null, idParam: 'transferId' | 'mandateId', id: string): string | undefined {
  if (!redirectUri) return undefined;
  const next = new URL(redirectUri);
  next.searchParams.set(idParam, id);
  return next.toString();
}
