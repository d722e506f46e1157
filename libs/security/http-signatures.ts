/**
 * HTTP Message Signatures (RFC 9421) with ed25519, and Content-Digest (RFC 9530), as profiled by
 * Open Payments / GNAP (RFC 9635 §7.3.1): the signature covers `@method` and `@target-uri`, plus
 * `authorization` when the request carries a token and `content-digest`, `content-length`,
 * `content-type` when it carries a body.
 *
 * Written on node:crypto rather than `@interledger/http-signature-utils`'s `validateSignature`:
 * that one rebuilds the signature base from the raw header text, ignores the label and `created`,
 * and so accepts stale signatures. Signing stays compatible with it (same base, same label `sig1`).
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** A public JWK as served in a wallet address's `jwks.json`. */
export interface Ed25519Jwk {
  kid: string;
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

export interface SignatureParams {
  created?: number;
  expires?: number;
  keyid?: string;
  nonce?: string;
  alg?: string;
  tag?: string;
}

/** One parsed `Signature-Input` member: `label=("c1" "c2");created=…;keyid="…"`. */
export interface ParsedSignatureInput {
  label: string;
  components: string[];
  params: SignatureParams;
  /** The serialized inner list with parameters, exactly as it goes after `"@signature-params": `. */
  serializedParams: string;
}

/** The parts of a request a signature base is built from. Header names are case-insensitive. */
export interface SignableRequest {
  method: string;
  /** Absolute URL as the client addressed it. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export enum SignatureFailure {
  Missing = 'signature_missing',
  Malformed = 'signature_malformed',
  MissingComponent = 'signature_missing_component',
  UnknownKey = 'signature_unknown_key',
  Stale = 'signature_stale',
  Expired = 'signature_expired',
  Replayed = 'signature_replayed',
  Invalid = 'signature_invalid',
  DigestMissing = 'content_digest_missing',
  DigestMismatch = 'content_digest_mismatch',
  LengthMismatch = 'content_length_mismatch',
}

export type SignatureCheck =
  | { ok: true; keyId: string; label: string; created: number }
  | { ok: false; failure: SignatureFailure; detail: string };

// ── Content-Digest (RFC 9530) ──────────────────────────────────────────────

const DIGEST_ALGORITHMS: Record<string, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** `sha-256=:…:` (or sha-512) over the exact body bytes. */
export function contentDigest(body: Buffer | string, algorithm: 'sha-256' | 'sha-512' = 'sha-512'): string {
  const digest = createHash(DIGEST_ALGORITHMS[algorithm]).update(body).digest('base64');
  return `${algorithm}=:${digest}:`;
}

/**
 * True when every digest in the header with an algorithm we know matches the body, and there is at
 * least one such digest (RFC 9530 §2: unknown algorithms are ignored).
 */
export function verifyContentDigest(body: Buffer | string, header: string | undefined): boolean {
  if (!header) return false;
  const members = parseDictionary(header);
  if (!members) return false;
  let checked = 0;
  for (const [algorithm, raw] of members) {
    const hash = DIGEST_ALGORITHMS[algorithm.toLowerCase()];
    if (!hash) continue;
    const match = /^:([A-Za-z0-9+/=]*):$/.exec(raw.value);
    if (!match) return false;
    const expected = createHash(hash).update(body).digest();
    const actual = Buffer.from(match[1], 'base64');
    if (actual.length !== expected.length || !actual.equals(expected)) return false;
    checked += 1;
  }
  return checked > 0;
}

// ── Signature-Input / Signature (RFC 8941 structured fields, the subset RFC 9421 uses) ──

/** Parses `Signature-Input` into its members; undefined when malformed. */
export function parseSignatureInput(header: string): ParsedSignatureInput[] | undefined {
  const members = parseDictionary(header);
  if (!members) return undefined;
  const parsed: ParsedSignatureInput[] = [];
  for (const [label, member] of members) {
    const list = /^\(((?:\s*"[^"\\]*"(?:;[a-z*][a-z0-9_.*-]*(?:=[^;\s()]+)?)*)*)\s*\)((?:;[a-z*][a-z0-9_.*-]*=(?:"[^"\\]*"|-?\d+))*)$/.exec(member.value);
    if (!list) return undefined;
    const components = [...list[1].matchAll(/"([^"\\]*)"/g)].map((m) => m[1]);
    const params: SignatureParams = {};
    for (const param of list[2].matchAll(/;([a-z*][a-z0-9_.*-]*)=("[^"\\]*"|-?\d+)/g)) {
      const [, name, rawValue] = param;
      const value = rawValue.startsWith('"') ? rawValue.slice(1, -1) : Number(rawValue);
      if (name === 'created' || name === 'expires') {
        if (typeof value !== 'number') return undefined;
        params[name] = value;
      } else if (name === 'keyid' || name === 'nonce' || name === 'alg' || name === 'tag') {
        if (typeof value !== 'string') return undefined;
        params[name] = value;
      }
    }
    parsed.push({ label, components, params, serializedParams: member.value });
  }
  return parsed;
}

/** `sig1=:base64:` → label → signature bytes; undefined when malformed. */
export function parseSignatureHeader(header: string): Map<string, Buffer> | undefined {
  const members = parseDictionary(header);
  if (!members) return undefined;
  const out = new Map<string, Buffer>();
  for (const [label, member] of members) {
    const match = /^:([A-Za-z0-9+/=]*):$/.exec(member.value);
    if (!match) return undefined;
    out.set(label, Buffer.from(match[1], 'base64'));
  }
  return out;
}

/** Splits a structured-field dictionary at top-level commas (not inside quotes or parentheses). */
function parseDictionary(header: string): Map<string, { value: string }> | undefined {
  const out = new Map<string, { value: string }>();
  let depth = 0;
  let quoted = false;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i < header.length; i += 1) {
    const ch = header[i];
    if (quoted) {
      if (ch === '\\') i += 1;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === ',' && depth === 0) {
      parts.push(header.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted || depth !== 0) return undefined;
  parts.push(header.slice(start));
  for (const part of parts) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    if (eq <= 0) return undefined;
    const key = trimmed.slice(0, eq);
    if (!/^[a-z*][a-z0-9_.*-]*$/.test(key)) return undefined;
    out.set(key, { value: trimmed.slice(eq + 1) });
  }
  return out;
}

// ── Signature base (RFC 9421 §2.5) ─────────────────────────────────────────

function headerValue(request: SignableRequest, name: string): string | undefined {
  const entry = Object.entries(request.headers).find(([key]) => key.toLowerCase() === name);
  if (!entry || entry[1] === undefined) return undefined;
  const values = Array.isArray(entry[1]) ? entry[1] : [entry[1]];
  // RFC 9421 §2.1: trim each value, join multiple field lines with ", ".
  return values.map((v) => v.trim().replace(/\s*\r?\n\s*/g, ' ')).join(', ');
}

function componentValue(request: SignableRequest, component: string): string | undefined {
  const url = new URL(request.url);
  switch (component) {
    case '@method':
      return request.method.toUpperCase();
    case '@target-uri':
      return request.url;
    case '@authority':
      return url.host.toLowerCase();
    case '@scheme':
      return url.protocol.slice(0, -1).toLowerCase();
    case '@path':
      return url.pathname || '/';
    case '@query':
      return url.search || '?';
    case '@request-target':
      return `${url.pathname || '/'}${url.search}`;
    default:
      if (component.startsWith('@')) return undefined;
      return headerValue(request, component);
  }
}

/** Builds the signature base; undefined when a covered component is absent from the request. */
export function signatureBase(request: SignableRequest, input: Pick<ParsedSignatureInput, 'components' | 'serializedParams'>): string | undefined {
  const lines: string[] = [];
  for (const component of input.components) {
    const value = componentValue(request, component);
    if (value === undefined) return undefined;
    lines.push(`"${component}": ${value}`);
  }
  lines.push(`"@signature-params": ${input.serializedParams}`);
  return lines.join('\n');
}

/** Serializes an inner list with parameters in the given order (RFC 8941 §4.1.1.1). */
export function serializeSignatureParams(components: string[], params: [string, string | number][]): string {
  const list = `(${components.map((c) => `"${c}"`).join(' ')})`;
  return list + params.map(([name, value]) => `;${name}=${typeof value === 'number' ? String(value) : `"${value}"`}`).join('');
}

// ── Signing (tests, and clients without the official library) ───────────────

export interface SignOptions {
  privateKey: KeyObject;
  keyId: string;
  /** Unix seconds; defaults to now. */
  created?: number;
  label?: string;
  /** Override the covered components (default: the Open Payments profile for this request). */
  components?: string[];
  nonce?: string;
}

/** The Open Payments profile: which components a request of this shape must cover. */
export function requiredComponents(request: SignableRequest, hasBody: boolean): string[] {
  const components = ['@method', '@target-uri'];
  if (headerValue(request, 'authorization') !== undefined) components.push('authorization');
  if (hasBody) components.push('content-digest', 'content-length', 'content-type');
  return components;
}

/**
 * Signs a request: adds Content-Digest (sha-512), Content-Length and Content-Type when there is a
 * body, then Signature-Input and Signature (label `sig1`, params keyid then created, like the
 * official client).
 */
export function signRequest(
  request: { method: string; url: string; headers?: Record<string, string>; body?: string },
  options: SignOptions,
): Record<string, string> {
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  if (request.body !== undefined && request.body !== '') {
    headers['Content-Digest'] = contentDigest(request.body, 'sha-512');
    headers['Content-Length'] = String(Buffer.byteLength(request.body));
    headers['Content-Type'] = headers['Content-Type'] ?? 'application/json';
  }
  const signable: SignableRequest = { method: request.method, url: request.url, headers };
  const components = options.components ?? requiredComponents(signable, request.body !== undefined && request.body !== '');
  const params: [string, string | number][] = [
    ['keyid', options.keyId],
    ['created', options.created ?? Math.floor(Date.now() / 1000)],
  ];
  if (options.nonce) params.push(['nonce', options.nonce]);
  const serializedParams = serializeSignatureParams(components, params);
  const base = signatureBase(signable, { components, serializedParams });
  if (base === undefined) throw new Error('A covered component is missing from the request');
  const label = options.label ?? 'sig1';
  const signature = cryptoSign(null, Buffer.from(base), options.privateKey).toString('base64');
  headers['Signature-Input'] = `${label}=${serializedParams}`;
  headers['Signature'] = `${label}=:${signature}:`;
  return headers;
}

// ── Verification ───────────────────────────────────────────────────────────

export interface VerifyOptions {
  /** Keys the signer may use (the client's JWKS). */
  keys: readonly Ed25519Jwk[];
  /** The exact body bytes received, when there is a body. */
  body?: Buffer;
  /** Unix seconds "now" (wall clock: clients sign with theirs). */
  nowSeconds: number;
  /** Oldest acceptable `created`, in seconds before now. */
  maxAgeSeconds: number;
  /** Tolerated clock skew for `created` in the future. */
  maxSkewSeconds?: number;
  /** Called with a nonce; returns false when it was seen before (replay). */
  checkNonce?: (keyId: string, nonce: string) => boolean;
  /** Components that must be covered, beyond the profile's. */
  requireComponents?: readonly string[];
  /** Skip the Open Payments profile (for the RFC test vectors). */
  skipProfile?: boolean;
}

export function jwkToPublicKey(jwk: Ed25519Jwk): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

export function isEd25519Jwk(value: unknown): value is Ed25519Jwk {
  if (typeof value !== 'object' || value === null) return false;
  const jwk = value as Record<string, unknown>;
  return (
    typeof jwk.kid === 'string' &&
    jwk.kty === 'OKP' &&
    jwk.crv === 'Ed25519' &&
    typeof jwk.x === 'string' &&
    /^[A-Za-z0-9_-]{43}$/.test(jwk.x) &&
    (jwk.alg === undefined || jwk.alg === 'EdDSA') &&
    (jwk.use === undefined || jwk.use === 'sig')
  );
}

/** Verifies the request's signature (and Content-Digest when there is a body). */
export function verifyRequestSignature(request: SignableRequest, options: VerifyOptions): SignatureCheck {
  const fail = (failure: SignatureFailure, detail: string): SignatureCheck => ({ ok: false, failure, detail });
  const inputHeader = headerValue(request, 'signature-input');
  const signatureHeader = headerValue(request, 'signature');
  if (!inputHeader || !signatureHeader) return fail(SignatureFailure.Missing, 'Signature and Signature-Input headers are required');
  const inputs = parseSignatureInput(inputHeader);
  const signatures = parseSignatureHeader(signatureHeader);
  if (!inputs || !signatures || inputs.length === 0) return fail(SignatureFailure.Malformed, 'Signature-Input or Signature is malformed');

  const input = inputs.find((candidate) => candidate.params.keyid && options.keys.some((k) => k.kid === candidate.params.keyid));
  if (!input) return fail(SignatureFailure.UnknownKey, 'No signature made with a key of the client');
  const key = options.keys.find((k) => k.kid === input.params.keyid)!;
  const signature = signatures.get(input.label);
  if (!signature) return fail(SignatureFailure.Malformed, `No Signature for label ${input.label}`);
  if (input.params.alg !== undefined && input.params.alg !== 'ed25519') return fail(SignatureFailure.Malformed, 'alg must be ed25519');

  const hasBody = options.body !== undefined && options.body.length > 0;
  if (!options.skipProfile) {
    const required = [...requiredComponents(request, hasBody), ...(options.requireComponents ?? [])];
    const missing = required.filter((component) => !input.components.includes(component));
    if (missing.length) return fail(SignatureFailure.MissingComponent, `Signature must cover ${missing.join(', ')}`);
    if (input.params.created === undefined) return fail(SignatureFailure.Malformed, 'Signature-Input must carry created');
  }
  if (input.params.created !== undefined) {
    if (options.nowSeconds - input.params.created > options.maxAgeSeconds) return fail(SignatureFailure.Stale, 'Signature is too old');
    if (input.params.created - options.nowSeconds > (options.maxSkewSeconds ?? 60)) return fail(SignatureFailure.Stale, 'Signature is from the future');
  }
  if (input.params.expires !== undefined && input.params.expires < options.nowSeconds) return fail(SignatureFailure.Expired, 'Signature expired');

  if (hasBody) {
    if (!verifyContentDigest(options.body!, headerValue(request, 'content-digest'))) {
      return headerValue(request, 'content-digest')
        ? fail(SignatureFailure.DigestMismatch, 'Content-Digest does not match the body')
        : fail(SignatureFailure.DigestMissing, 'Content-Digest is required with a body');
    }
    if (headerValue(request, 'content-length') !== String(options.body!.length)) {
      return fail(SignatureFailure.LengthMismatch, 'Content-Length does not match the body');
    }
  }

  const base = signatureBase(request, input);
  if (base === undefined) return fail(SignatureFailure.MissingComponent, 'A covered component is absent from the request');
  let valid: boolean;
  try {
    valid = cryptoVerify(null, Buffer.from(base), jwkToPublicKey(key), signature);
  } catch {
    valid = false;
  }
  if (!valid) return fail(SignatureFailure.Invalid, 'Signature does not verify');
  if (input.params.nonce !== undefined && options.checkNonce && !options.checkNonce(key.kid, input.params.nonce)) {
    return fail(SignatureFailure.Replayed, 'Signature nonce was already used');
  }
  return { ok: true, keyId: key.kid, label: input.label, created: input.params.created ?? options.nowSeconds };
}
