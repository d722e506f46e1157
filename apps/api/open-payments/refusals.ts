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
