import type { OpAmount } from '../../../libs/adapters/open-payments/types';
import { parseRepeatingInterval, scheduleCadence } from '../../../libs/domain/iso8601-interval';
import { ApiError } from '../common/api-error';
import { amount, isInternalHost } from './transfer-request.validator';

export interface MandateRequest {
  senderWalletAddress: string;
  receiver: string;
  /** Per period. */
  debitAmount: OpAmount;
  /** ISO 8601 repeating interval `R<n>/<start>/<duration>`. */
  interval: string;
  redirectUri?: string;
  metadata?: Record<string, unknown>;
}

const FIELDS = new Set(['senderWalletAddress', 'receiver', 'debitAmount', 'interval', 'redirectUri', 'metadata']);

/** `POST /openpayments/v1/mandates`: what can be checked without the network. */
export function validateMandateRequest(raw: unknown, opts: { allowHttp: boolean }): MandateRequest {
  if (!isObject(raw)) throw ApiError.format('body', 'must be a JSON object');
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) throw ApiError.format(key, 'unknown field');
  const request: MandateRequest = {
    senderWalletAddress: walletUrl('senderWalletAddress', raw.senderWalletAddress, opts.allowHttp),
    receiver: walletUrl('receiver', raw.receiver, opts.allowHttp),
    debitAmount: amount('debitAmount', raw.debitAmount),
    interval: interval(raw.interval),
  };
  if (raw.redirectUri !== undefined) request.redirectUri = httpUrl('redirectUri', raw.redirectUri, true);
  if (raw.metadata !== undefined) {
    if (!isObject(raw.metadata) || JSON.stringify(raw.metadata).length > 2_000) throw ApiError.format('metadata', 'must be a JSON object of at most 2,000 characters');
    request.metadata = raw.metadata;
  }
  return request;
}

function interval(raw: unknown): string {
  const parsed = typeof raw === 'string' ? parseRepeatingInterval(raw) : undefined;
  if (!parsed) throw ApiError.format('interval', 'must be an ISO 8601 repeating interval R<n>/<start>/<duration> (n repetitions after the first period), e.g. R11/2027-01-01T00:00:00Z/P1M for 12 monthly payments');
  if (!scheduleCadence(parsed)) {
    throw ApiError.format('interval', 'the duration must be whole weeks/days/hours/minutes/seconds (at least one second), or months dividing a year (P1M, P2M, P3M, P4M, P6M, P1Y)');
  }
  return parsed.text;
}

/** Fetched by the worker: outside development, never an internal host (same guard as transfers). */
function walletUrl(path: string, raw: unknown, allowHttp: boolean): string {
  const url = httpUrl(path, raw, allowHttp);
  if (!allowHttp && isInternalHost(new URL(url).hostname)) throw ApiError.format(path, 'must not point at a loopback, private or link-local address');
  return url;
}

function httpUrl(path: string, raw: unknown, allowHttp: boolean): string {
  if (typeof raw !== 'string') throw ApiError.format(path, 'must be a URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ApiError.format(path, 'must be an absolute URL');
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && allowHttp)) return raw;
  throw ApiError.format(path, allowHttp ? 'must be an http(s) URL' : 'must be an https URL (plain http is allowed in development only)');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
