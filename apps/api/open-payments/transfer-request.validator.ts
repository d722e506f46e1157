import type { OpAmount } from '../../../libs/adapters/open-payments/types';
import { MAX_AMOUNT_VALUE } from '../../../libs/domain/open-payments';
import { ApiError } from '../common/api-error';

export interface TransferRequest {
  senderWalletAddress: string;
  receiver: string;
  debitAmount?: OpAmount;
  receiveAmount?: OpAmount;
  redirectUri?: string;
  metadata?: Record<string, unknown>;
}

const FIELDS = new Set(['senderWalletAddress', 'receiver', 'debitAmount', 'receiveAmount', 'redirectUri', 'metadata']);

/**
 * `POST /openpayments/v1/transfers`. Checks what can be checked without the network; whether the
 * URLs are Open Payments wallets, and the assets match, the workflow finds out (and the POST
 * answers 400 all the same).
 */
export function validateTransferRequest(raw: unknown, opts: { allowHttp: boolean }): TransferRequest {
  if (!isObject(raw)) throw ApiError.format('body', 'must be a JSON object');
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) throw ApiError.format(key, 'unknown field');
  const request: TransferRequest = {
    senderWalletAddress: walletUrl('senderWalletAddress', raw.senderWalletAddress, opts.allowHttp),
    receiver: walletUrl('receiver', raw.receiver, opts.allowHttp),
  };
  if ((raw.debitAmount === undefined) === (raw.receiveAmount === undefined)) {
    throw ApiError.format(raw.debitAmount === undefined ? 'debitAmount' : 'receiveAmount', 'give exactly one of debitAmount and receiveAmount');
  }
  if (raw.debitAmount !== undefined) request.debitAmount = amount('debitAmount', raw.debitAmount);
  if (raw.receiveAmount !== undefined) request.receiveAmount = amount('receiveAmount', raw.receiveAmount);
  if (raw.redirectUri !== undefined) request.redirectUri = httpUrl('redirectUri', raw.redirectUri, true);
  if (raw.metadata !== undefined) {
    if (!isObject(raw.metadata) || JSON.stringify(raw.metadata).length > 2_000) throw ApiError.format('metadata', 'must be a JSON object of at most 2,000 characters');
    request.metadata = raw.metadata;
  }
  return request;
}

/** `{ value, assetCode, assetScale }`, value an integer string of minor units above zero. */
export function amount(path: string, raw: unknown): OpAmount {
  if (!isObject(raw)) throw ApiError.format(path, 'must be { "value": "1000", "assetCode": "EUR", "assetScale": 2 }');
  if (typeof raw.value !== 'string' || !/^[1-9]\d{0,18}$/.test(raw.value)) throw ApiError.format(`${path}.value`, 'must be a positive integer string of minor units, e.g. "1000"');
  if (BigInt(raw.value) > MAX_AMOUNT_VALUE) throw ApiError.format(`${path}.value`, `must be at most ${MAX_AMOUNT_VALUE} (a signed 64-bit integer)`);
  if (typeof raw.assetCode !== 'string' || !/^[A-Z]{3}$/.test(raw.assetCode)) throw ApiError.format(`${path}.assetCode`, 'must be a three-letter asset code such as "EUR"');
  if (typeof raw.assetScale !== 'number' || !Number.isInteger(raw.assetScale) || raw.assetScale < 0 || raw.assetScale > 18) {
    throw ApiError.format(`${path}.assetScale`, 'must be an integer from 0 to 18');
  }
  return { value: raw.value, assetCode: raw.assetCode, assetScale: raw.assetScale };
}

/**
 * Wallet addresses are fetched by the worker: outside development, refuse the obvious internal
 * targets (loopback, private and link-local literals, localhost) so a client cannot point Clearway
 * at its own network. DNS-level checks belong in the egress proxy of a real deployment.
 */
function walletUrl(path: string, raw: unknown, allowHttp: boolean): string {
  const url = httpUrl(path, raw, allowHttp);
  if (!allowHttp && isInternalHost(new URL(url).hostname)) throw ApiError.format(path, 'must not point at a loopback, private or link-local address');
  return url;
}

export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host.startsWith('fe80:') || host.startsWith('fc') || host.startsWith('fd')) return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

function httpUrl(path: string, raw: unknown, allowHttp: boolean): string {
  if (typeof raw !== 'string') throw ApiError.format(path, 'must be a URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ApiError.format(path, 'must be an absolute URL');
  }
  if (url.protocol === 'https:') return raw;
  if (url.protocol === 'http:' && allowHttp) return raw;
  throw ApiError.format(path, allowHttp ? 'must be an http(s) URL' : 'must be an https URL (plain http is allowed in development only)');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
