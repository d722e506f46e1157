/**
 * Fault injection for the sandbox's `/v1` API, so customers (and our own tests) can see how their
 * integration behaves when the bank is slow, down, rate limiting, or loses responses.
 */

/** Faults applied to `/v1/*` requests only (never to `_sandbox` controls or the SCA page). */
export interface SandboxFaults {
  /** 0..1 probability of 503 SERVICE_UNAVAILABLE before doing anything. */
  errorRate: number;
  /** Added latency per request. */
  latencyMs: number;
  /** 0 = off; every Nth request gets 429 ACCESS_EXCEEDED with Retry-After. */
  rateLimitEvery: number;
  /** Value of Retry-After on 429 (default 1). */
  retryAfterSeconds: number;
  /** 0..1: perform the request (e.g. create the payment) then answer 503 as if the response was lost. */
  dropResponseRate: number;
}

export const NO_FAULTS: Readonly<SandboxFaults> = Object.freeze({
  errorRate: 0,
  latencyMs: 0,
  rateLimitEvery: 0,
  retryAfterSeconds: 1,
  dropResponseRate: 0,
});

/** What the fault layer decided for one request, before the handler runs. */
export type FaultDecision =
  | { kind: 'unavailable' }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'proceed'; dropResponse: boolean };

const LIMITS: Record<keyof SandboxFaults, { min: number; max: number; integer: boolean }> = {
  errorRate: { min: 0, max: 1, integer: false },
  latencyMs: { min: 0, max: 60_000, integer: true },
  rateLimitEvery: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  retryAfterSeconds: { min: 0, max: 3600, integer: true },
  dropResponseRate: { min: 0, max: 1, integer: false },
};

/** Returns an error text for a bad partial (unknown key, wrong type, out of range), else undefined. */
export function checkFaults(partial: unknown): string | undefined {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) return 'faults must be a JSON object';
  for (const [key, value] of Object.entries(partial)) {
    const limit = LIMITS[key as keyof SandboxFaults];
    if (!limit) return `unknown fault "${key}" (known: ${Object.keys(LIMITS).join(', ')})`;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < limit.min || value > limit.max) {
      return `${key} must be a number between ${limit.min} and ${limit.max}`;
    }
    if (limit.integer && !Number.isInteger(value)) return `${key} must be an integer`;
  }
  return undefined;
}

export class FaultInjector {
  private faults: SandboxFaults;
  private requestsSinceConfigured = 0;

  constructor(
    private readonly initial: Partial<SandboxFaults> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.faults = { ...NO_FAULTS, ...initial };
  }

  current(): SandboxFaults {
    return { ...this.faults };
  }

  /** Merges a partial; the rate-limit counter restarts so "every Nth" counts from now. */
  set(partial: Partial<SandboxFaults>): SandboxFaults {
    const problem = checkFaults(partial);
    if (problem) throw new RangeError(problem);
    this.faults = { ...this.faults, ...partial };
    this.requestsSinceConfigured = 0;
    return this.current();
  }

  /** Back to the faults the sandbox was started with. */
  reset(): SandboxFaults {
    this.faults = { ...NO_FAULTS, ...this.initial };
    this.requestsSinceConfigured = 0;
    return this.current();
  }

  /** Decides the fate of one `/v1` request. Randomness is only drawn for rates above zero. */
  decide(): FaultDecision {
    const { errorRate, rateLimitEvery, retryAfterSeconds, dropResponseRate } = this.faults;
    if (errorRate > 0 && this.random() < errorRate) return { kind: 'unavailable' };
    this.requestsSinceConfigured += 1;
    if (rateLimitEvery > 0 && this.requestsSinceConfigured % rateLimitEvery === 0) {
      return { kind: 'rateLimited', retryAfterSeconds };
    }
    return { kind: 'proceed', dropResponse: dropResponseRate > 0 && this.random() < dropResponseRate };
  }

  latencyMs(): number {
    return this.faults.latencyMs;
  }
}
