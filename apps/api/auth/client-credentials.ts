import type { Request } from 'express';
import { findUnstorableText } from '../common/storable-text';

/** The form of `POST /connect/token` (RFC 6749 §4.4.2). */
export type TokenRequest = Partial<Record<'grant_type' | 'client_id' | 'client_secret' | 'scope', string>>;

/** The client id a token request claims (Basic credentials first, then the form), for rate limiting before it is checked. */
export function claimedClientId(req: Request): string | undefined {
  const form = req.body as TokenRequest | undefined;
  return parseBasic(req.header('authorization'))?.clientId ?? (typeof form?.client_id === 'string' ? form.client_id : undefined);
}

export function parseBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const credentials = { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
    // Credentials the database could not even look up are simply not credentials of any client.
    return findUnstorableText(credentials) ? undefined : credentials;
  } catch {
    return undefined; // malformed percent-encoding (RFC 6749 §2.3.1 form-encodes both parts)
  }
}
