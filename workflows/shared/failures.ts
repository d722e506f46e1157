import { ApplicationFailure, log } from '@temporalio/workflow';

/** Reads inside a loop that will try again: a failure after retries is logged, not fatal. */
export function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  // One derived promise instead of an async function's: the SDK's promise hook traces each one (docs/benchmarks.md).
  const failed = (err: unknown) => {
    log.warn('Bank read failed; will try again', { error: (err as Error).message });
    return undefined;
  };
  try {
    return read().then(undefined, failed);
  } catch (err) {
    return Promise.resolve(failed(err));
  }
}

/** The ApplicationFailure behind an ActivityFailure (or the error itself). */
export function findApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return current;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

/** How an Open Payments step failed, for the client: 400-class (the wallet or our checks refused) or 502. */
export interface OpenPaymentsRefusal {
  httpStatus: number;
  code: string;
  message: string;
}

/**
 * Reads a failed step of a transfer or mandate: our own refusals (`refusedType`) and the wallet's
 * 4xx are 400s carrying their code; anything else (the wallet unreachable) is a 502.
 */
export function openPaymentsRefusalOf(err: unknown, refusedType: 'TransferRefused' | 'MandateRefused', fallback: string): OpenPaymentsRefusal {
  const failure = findApplicationFailure(err);
  const details = failure?.details?.[0] as (Partial<OpenPaymentsRefusal> & { messages?: { code: string }[] }) | undefined;
  const code = details?.code ?? details?.messages?.[0]?.code ?? failure?.type ?? 'failed';
  const httpStatus = (details?.httpStatus && details.httpStatus < 500) || failure?.type === refusedType ? 400 : 502;
  return { httpStatus, code, message: failure?.message ?? fallback };
}
