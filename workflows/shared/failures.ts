import { ApplicationFailure, log } from '@temporalio/workflow';

/** Reads inside a loop that will try again: a failure after retries is logged, not fatal. */
export async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    log.warn('Bank read failed; will try again', { error: (err as Error).message });
    return undefined;
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
