import type { FuzzFailure, FuzzRun } from './schemathesis';

/**
 * Where a response may differ from the OPE 1.3.3 contract without failing a fuzz run: the
 * contract's own defects, each with the reason, each matched as narrowly as the failure allows.
 * Anything else the fuzzer finds (any 5xx, any other schema, status, header or content-type
 * mismatch, a 2xx for data the contract forbids, a wrong answer to an unsupported method) fails.
 *
 * Not a response deviation, so not listed here: the spec's `Signature` header example ends in a
 * newline (a YAML block scalar), which is not a valid HTTP header value, so Schemathesis cannot
 * send the spec's examples at all; the examples phase is off (bench/fuzz/schemathesis.ts) and the
 * coverage, fuzzing and stateful phases generate their own values.
 */
export interface KnownDeviation {
  id: string;
  reason: string;
  matches(failure: FuzzFailure): boolean;
}

const header = (f: FuzzFailure, name: string) => Object.entries(f.requestHeaders).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

export const OPE_KNOWN_DEVIATIONS: readonly KnownDeviation[] = [
  {
    id: 'x-request-id-echo-without-a-request-id',
    reason:
      'Every response of the contract requires an X-Request-ID header, "ID of the request … as determined by the initiating party". ' +
      'A request that sent none (or an empty one) is refused with 400 naming the header, and there is no id to echo: inventing one would ' +
      'tell the client about a request id it never chose.',
    matches: (f) => f.code === 'ST107' && f.message.includes('`X-Request-ID`') && f.status === 400 && !header(f, 'X-Request-ID'),
  },
  {
    id: 'aspsp-information-errors-as-bare-array',
    reason:
      'The ASPSP information operations declare their 4xx bodies as a bare tppMessages array, unlike every other operation and unlike ' +
      "OPE's own examples, which show { \"tppMessages\": [...] }. Clearway answers with the object everywhere, so one client error parser works for the whole API.",
    matches: (f) =>
      f.code === 'ST108' && f.operation.startsWith('GET /aspspinformation/') && (f.status ?? 0) >= 400 && f.message.includes('is not of type "array"') && f.message.includes('tppMessages'),
  },
  {
    id: 'payment-201-overlapping-oneof',
    reason:
      "The payment initiation 201 is a oneOf of product-specific shapes (SEPA, Swedish giro, …) that overlap: a SEPA answer also satisfies the giro one, so no body can match exactly one. (test/support/stack.ts reads this oneOf as anyOf for the same reason.)",
    matches: (f) =>
      f.code === 'ST108' && f.operation === 'POST /paymentinitiation/v1/{payment-service}/{payment-product}' && f.status === 201 && f.message.includes("more than one of the schemas listed in the 'oneOf'"),
  },
];

export interface Triage {
  unexpected: FuzzFailure[];
  /** Known deviation id → how many failures it explained. */
  known: Record<string, number>;
}

export function triage(run: FuzzRun, deviations: readonly KnownDeviation[] = OPE_KNOWN_DEVIATIONS): Triage {
  const known: Record<string, number> = Object.fromEntries(deviations.map((d) => [d.id, 0]));
  const unexpected: FuzzFailure[] = [];
  for (const failure of run.failures) {
    const deviation = deviations.find((d) => d.matches(failure));
    if (deviation) known[deviation.id]! += 1;
    else unexpected.push(failure);
  }
  return { unexpected, known };
}

/** One line per kind of unexpected failure, with a sample message: what a failing run prints. */
export function describeUnexpected(failures: readonly FuzzFailure[]): string {
  const groups = new Map<string, FuzzFailure[]>();
  for (const f of failures) {
    const key = `${f.code} ${f.check} ${f.operation} → ${f.status ?? '?'}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.entries()].map(([key, list]) => `${list.length}× ${key}\n    ${list[0]!.message.split('\n').slice(0, 6).join('\n    ')}`).join('\n');
}
