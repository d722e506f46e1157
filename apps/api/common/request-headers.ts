import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { isValidBic } from '../../../libs/domain/bic';
import { isUuid } from '../../../libs/domain/ids';
import { ApiError } from './api-error';
import { sendApiError } from './tpp-error.filter';

/** The client APIs: every call carries an X-Request-ID, and the headers below are format-checked. */
export const CLIENT_API_PREFIXES = ['/psd2', '/openpayments/v1'] as const;

interface HeaderFormat {
  name: string;
  valid: (value: string) => boolean;
  expected: string;
}

const BOOLEAN = (v: string) => v === 'true' || v === 'false';

/**
 * Formats of the request headers the OPE 1.3.3 contract defines one for (header parameters with
 * `format`, `pattern` or `enum`). A header that is present must match, on every method of every
 * client endpoint, whether or not the endpoint reads it: a malformed header is a 400 naming it,
 * never silently forwarded to a bank or ignored. Whether a header is *required* is the endpoint's
 * business.
 */
const HEADER_FORMATS: readonly HeaderFormat[] = [
  { name: 'X-BicFi', valid: isValidBic, expected: 'a BICFI (ISO 9362: 8 or 11 characters, upper case, e.g. AAAADEBBXXX)' },
  // OPE says ipv4; PSUs have IPv6 addresses too, and BG banks accept both.
  { name: 'PSU-IP-Address', valid: (v) => isIP(v) !== 0, expected: 'an IPv4 or IPv6 address' },
  { name: 'PSU-Geo-Location', valid: (v) => /^GEO:-?[0-9]{1,2}\.[0-9]{6};-?[0-9]{1,3}\.[0-9]{6}$/.test(v), expected: 'GEO:<latitude>;<longitude> with six decimals, e.g. GEO:52.506931;13.144558' },
  { name: 'PSU-Device-ID', valid: isUuid, expected: 'a UUID' },
  { name: 'PSU-Http-Method', valid: (v) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(v), expected: 'one of GET, POST, PUT, PATCH, DELETE' },
  { name: 'TPP-Redirect-Preferred', valid: BOOLEAN, expected: '"true" or "false"' },
  { name: 'TPP-Explicit-Authorisation-Preferred', valid: BOOLEAN, expected: '"true" or "false"' },
  { name: 'TPP-Rejection-NoFunds-Preferred', valid: BOOLEAN, expected: '"true" or "false"' },
  { name: 'TPP-Redirect-URI', valid: isHttpUri, expected: 'an absolute http(s) URI' },
  { name: 'TPP-Nok-Redirect-URI', valid: isHttpUri, expected: 'an absolute http(s) URI' },
];

/**
 * For the client APIs: `X-Request-ID` is required (a UUID), echoed back as sent on every
 * response, errors included, and handed on in lower case, so the same UUID in capitals is the same
 * request everywhere ids are derived from it. Then every header of {@link HEADER_FORMATS} present is checked.
 */
export function checkRequestHeaders(req: Request, res: Response, next: NextFunction): void {
  const requestId = req.header('x-request-id');
  if (requestId) res.setHeader('X-Request-ID', requestId);
  if (!requestId) return sendApiError(res, ApiError.format('X-Request-ID', 'header is required'));
  if (!isUuid(requestId)) return sendApiError(res, ApiError.format('X-Request-ID', 'must be a UUID'));
  req.headers['x-request-id'] = requestId.toLowerCase();
  for (const format of HEADER_FORMATS) {
    const value = req.header(format.name);
    if (value !== undefined && !format.valid(value)) return sendApiError(res, ApiError.format(format.name, `must be ${format.expected}`));
  }
  next();
}

/** Echo only: for endpoints outside the client APIs (token endpoint, SCA callbacks). */
export function echoRequestId(req: Request, res: Response, next: NextFunction): void {
  const requestId = req.header('x-request-id');
  if (requestId) res.setHeader('X-Request-ID', requestId);
  next();
}

/** A header the endpoint cannot do without (its format was checked on the way in). */
export function requiredHeader(name: string, value: string | undefined): string {
  if (!value) throw ApiError.format(name, 'header is required');
  return value;
}

/** The BICFI of a path parameter (`/aspsps/{bicFi}`), with the same rule as the X-BicFi header. */
export function bicFiParameter(name: string, value: string): string {
  if (!isValidBic(value)) throw ApiError.format(name, `must be ${HEADER_FORMATS[0]!.expected}`);
  return value;
}

/**
 * BG's rule for PSU-IP-Address where the bank requires it but the TPP's client may omit it:
 * "If not available, the TPP shall use the IP Address used by the TPP when submitting this
 * request". That is the address our client called us from (IPv4-mapped IPv6 written as IPv4).
 */
export function psuIpAddressOrCaller(req: Request): string {
  const given = req.header('psu-ip-address');
  if (given) return given;
  const caller = req.ip ?? req.socket.remoteAddress ?? '';
  return caller.startsWith('::ffff:') && isIP(caller.slice(7)) === 4 ? caller.slice(7) : caller;
}

function isHttpUri(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
