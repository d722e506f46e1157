import { createHash } from 'node:crypto';

/**
 * Namespace of every id Clearway derives. Never change it: each derived id
 * (idempotent payment ids, end-to-end ids…) would change with it.
 */
export const CLEARWAY_ID_NAMESPACE = 'ffa3028d-23d1-494d-9210-e42c5168bad4';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Canonical 8-4-4-4-12 hex form, any version or variant, either case. */
export function isUuid(s: unknown): boolean {
  return typeof s === 'string' && UUID.test(s);
}

const PART_SEPARATOR = '\u001f';

/**
 * RFC 4122 (RFC 9562) version-5 UUID of `parts` within `namespace`: the same input always
 * yields the same id, which makes retried commands idempotent.
 *
 * A single part is hashed as is, so deriveUuid(ns, name) equals any uuidv5(name, ns).
 * Several parts are joined with a unit separator after escaping it (and the escape
 * character) inside each part, so ("a\u001fb", "c") and ("a", "b\u001fc") cannot collide.
 */
export function deriveUuid(namespace: string, ...parts: string[]): string {
  if (!isUuid(namespace)) throw new TypeError(`Namespace is not a UUID: ${namespace}`);
  const name = parts.map((part) => part.replace(/[\\\u001f]/g, '\\$&')).join(PART_SEPARATOR);

  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant

  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
