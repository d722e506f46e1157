/**
 * What the sandbox remembers about the `X-Request-ID`s of creating requests (payment initiation,
 * consent creation; bulk initiation can use it too).
 *
 * BG 1.3.12 defines `X-Request-ID` as the id of one request, "unique to the call", and promises
 * no idempotency: real banks do not deduplicate on it, so a repeated initiation creates a second
 * payment. That is this sandbox's default. Deduplication (a repeat answers with the resource the
 * first request created) is an opt-in scenario: per sandbox (`deduplicateRequestIds`,
 * `SANDBOX_BG_DEDUPLICATE=true`, `PUT /_sandbox/settings`) or per request
 * (`Sandbox-Deduplicate: true|false`, which wins over the sandbox setting).
 *
 * Either way the ledger counts the requests and the resources per `X-Request-ID`, so tests can
 * prove how often one logical request reached the bank and what it created.
 */
export class RequestLedger {
  private readonly requests = new Map<string, number>();
  private readonly created = new Map<string, string[]>();

  constructor(private deduplicating = false) {}

  /** The sandbox-wide setting; a request's own `Sandbox-Deduplicate` header overrides it. */
  get deduplicates(): boolean {
    return this.deduplicating;
  }

  setDeduplication(on: boolean): void {
    this.deduplicating = on;
  }

  /**
   * Counts one creating request. Returns the id of the resource to replay when deduplication
   * applies and this X-Request-ID already created one; otherwise undefined (create a new one).
   */
  admit(requestId: string, deduplicate: boolean | undefined): string | undefined {
    this.requests.set(requestId, (this.requests.get(requestId) ?? 0) + 1);
    if (!(deduplicate ?? this.deduplicating)) return undefined;
    return this.created.get(requestId)?.[0];
  }

  /** A request created a resource. */
  recordCreated(requestId: string, resourceId: string): void {
    this.created.set(requestId, [...(this.created.get(requestId) ?? []), resourceId]);
  }

  /** Creating requests that carried this X-Request-ID (created, replayed or refused). */
  requestsWith(requestId: string): number {
    return this.requests.get(requestId) ?? 0;
  }

  /** Resources created by requests with this X-Request-ID, oldest first. */
  createdWith(requestId: string): readonly string[] {
    return this.created.get(requestId) ?? [];
  }

  get totalRequests(): number {
    let total = 0;
    for (const n of this.requests.values()) total += n;
    return total;
  }
}

/** The `Sandbox-Deduplicate` header: undefined when absent, an error text when malformed. */
export function parseDeduplicateHeader(value: string | undefined): boolean | undefined | { problem: string } {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return { problem: 'Header Sandbox-Deduplicate must be "true" or "false"' };
}

export const DEDUPLICATE_HEADER = 'Sandbox-Deduplicate';
