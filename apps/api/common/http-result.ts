import type { Response } from 'express';

/** A response whose status or headers depend on the outcome (201 vs 202, Location, ASPSP-SCA-Approach). */
export interface HttpResult<T> {
  status: number;
  body?: T;
  headers?: Record<string, string>;
}

export function sendHttpResult(res: Response, result: HttpResult<object>): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.status(result.status);
  if (result.body === undefined) res.end();
  else res.json(result.body);
}
