/**
 * The OAuth side of activities that are not about the authorisation itself: where the PSU comes
 * back to (`/callbacks/oauth`, with a signed `state` naming the payment or consent), and the
 * consent's tokens for account reads, refreshed when the bank issued a refresh token. Tokens are
 * read from and written to `bank_grants` sealed; they never reach workflow history or logs.
 */
import type { BankConnection } from '../libs/adapters/bank-adapter';
import { isBankError } from '../libs/adapters/bank-adapter';
import type { BankGrant, OAuthRedirect } from '../libs/adapters/oauth-sca';
import type { BankGrants } from '../libs/security/bank-grants';
import { oauthCallbackUrl, oauthState } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';

/** Refresh this long before the bank's expiry, so a read does not race it. */
export const REFRESH_MARGIN_MS = 30_000;

export function oauthRedirectFor(deps: { publicBaseUrl: string; callbackSigner: HmacSigner }, resource: 'payments' | 'consents', id: string): OAuthRedirect {
  return { redirectUri: oauthCallbackUrl(deps.publicBaseUrl), state: oauthState(deps.callbackSigner, { resource, id }) };
}

/** An adapter that can refresh a grant (the Berlin Group OAuth approach does). */
type Refreshing = { refreshGrant(conn: BankConnection, grant: BankGrant): Promise<BankGrant> };
const canRefresh = (adapter: object): adapter is Refreshing => typeof (adapter as Partial<Refreshing>).refreshGrant === 'function';

/**
 * The consent's grant for a read, fresh: undefined when the consent has none (banks whose reads
 * need no token). An expiring grant with a refresh token is refreshed and stored again; when two
 * reads refresh at once and the bank rotated the token under one of them, the other's grant is
 * read back rather than failing the read.
 */
export async function consentGrantForReads(
  grants: BankGrants | undefined,
  adapter: object,
  conn: BankConnection,
  consent: { id: string; tenantId: string },
  now: () => number = Date.now,
): Promise<BankGrant | undefined> {
  const grant = await grants?.load('consent', consent.id);
  if (!grants || !grant) return undefined;
  if (grant.expiresAt === undefined || grant.expiresAt - REFRESH_MARGIN_MS > now() || !grant.refreshToken || !canRefresh(adapter)) return grant;
  try {
    const fresh = await adapter.refreshGrant(conn, grant);
    await grants.save('consent', consent.id, consent.tenantId, fresh);
    return fresh;
  } catch (err) {
    if (isBankError(err) && err.kind === 'rejected') {
      const current = await grants.load('consent', consent.id);
      if (current && current.refreshToken !== grant.refreshToken) return current;
    }
    throw err;
  }
}
