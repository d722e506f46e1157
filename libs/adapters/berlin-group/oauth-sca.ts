/**
 * The Berlin Group "OAuth SCA approach" (NextGenPSD2 1.3.x §6.3): the bank answers an initiation
 * with `_links.scaOAuth`, the URL of its authorisation server's RFC 8414 metadata. Clearway sends
 * the PSU to the authorization endpoint (code flow, PKCE S256, `state`, scope `PIS:<paymentId>` or
 * `AIS:<consentId>`), redeems the code at the token endpoint over the bank's mTLS connection, and
 * uses the access token where the bank wants it (account reads), refreshing it when the bank gave
 * a refresh token. Stateless: the PKCE verifier is derived from the state (`libs/security/pkce.ts`).
 */
import type { BankConnection } from '../bank-adapter';
import { BankError } from '../bank-adapter';
import type { BankGrant, OAuthAuthorisationResponse, OAuthExchangeRef, OAuthRedirect } from '../oauth-sca';
import type { PkceVerifiers } from '../../security/pkce';
import { networkFailure, DEFAULT_TIMEOUT_MS } from './client';

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  code_challenge_methods_supported?: string[];
  grant_types_supported?: string[];
}

export interface BgOAuthDeps {
  /** The bank's fetch (its mTLS Agent). */
  fetchFor(conn: BankConnection): typeof fetch;
  /** Our OAuth client_id at this bank: the directory's `tppId`, else the QWAC's organizationIdentifier. */
  clientIdFor(conn: BankConnection): string | undefined;
  pkce?: PkceVerifiers;
}

const WELL_KNOWN = '/.well-known/oauth-authorization-server';

/**
 * Where a bank's authorisation server metadata is: the directory's URL, else RFC 8414 §3 at the
 * origin of its API. The same at the redirect and at the code exchange (a stateless adapter cannot
 * remember the `scaOAuth` link between them), so a bank whose link says otherwise is caught at the
 * first initiation, not after the PSU approved.
 */
export function metadataUrlFor(conn: BankConnection): string {
  return conn.oauthMetadataUrl ?? `${new URL(conn.baseUrl).origin}${WELL_KNOWN}`;
}

export function scopeFor(kind: 'payment' | 'consent', bankResourceId: string): string {
  return `${kind === 'payment' ? 'PIS' : 'AIS'}:${bankResourceId}`;
}

export class BerlinGroupOAuth {
  constructor(private readonly deps: BgOAuthDeps) {}

  /** RFC 8414 metadata, checked: the issuer must be the URL it was fetched under (§3.3), endpoints https. */
  async metadata(conn: BankConnection, metadataUrl: string): Promise<AuthorizationServerMetadata> {
    const body = await this.request(conn, 'GET oauth metadata', metadataUrl, { method: 'GET', headers: { Accept: 'application/json' } });
    const m = body as Partial<AuthorizationServerMetadata>;
    if (typeof m.issuer !== 'string' || typeof m.authorization_endpoint !== 'string' || typeof m.token_endpoint !== 'string') {
      throw new BankError('protocol', 'oauth metadata lacks issuer, authorization_endpoint or token_endpoint');
    }
    const expected = metadataUrlOfIssuer(m.issuer);
    if (expected !== metadataUrl) throw new BankError('protocol', 'oauth metadata: the issuer does not match the URL it was fetched from (RFC 8414 §3.3)');
    for (const endpoint of [m.authorization_endpoint, m.token_endpoint]) {
      if (!endpoint.startsWith('https://')) throw new BankError('protocol', 'oauth metadata: endpoints must be https');
    }
    if (m.code_challenge_methods_supported && !m.code_challenge_methods_supported.includes('S256')) {
      throw new BankError('protocol', 'oauth metadata: the bank does not support PKCE S256');
    }
    return m as AuthorizationServerMetadata;
  }

  /**
   * The URL the PSU is sent to, for the payment or consent the bank just created. `scaOAuth` is the
   * bank's link; it must be the metadata URL the exchange will use ({@link metadataUrlFor}).
   */
  async authorizationUrl(conn: BankConnection, scaOAuth: string, kind: 'payment' | 'consent', bankResourceId: string, redirect: OAuthRedirect): Promise<string> {
    const pkce = this.requirePkce();
    const clientId = this.requireClientId(conn);
    if (scaOAuth !== metadataUrlFor(conn)) {
      throw new BankError('protocol', `ASPSP ${conn.bicFi}: scaOAuth is not the metadata URL the directory names (set aspsps.oauth_metadata_url)`);
    }
    const metadata = await this.metadata(conn, scaOAuth);
    const url = new URL(metadata.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect.redirectUri,
      scope: scopeFor(kind, bankResourceId),
      state: redirect.state,
      code_challenge: pkce.challenge(redirect.state),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** `authorization_code` grant. A refused code (`invalid_grant`, …) is `rejected`: codes are single-use. */
  async exchange(conn: BankConnection, ref: OAuthExchangeRef, response: OAuthAuthorisationResponse): Promise<BankGrant> {
    if (response.error || !response.code) throw new BankError('rejected', `the PSU or the bank refused the authorisation (${response.error ?? 'no code'})`);
    if (response.state !== ref.redirect.state) throw new BankError('rejected', 'the state of the answer is not the one of this authorisation');
    const metadata = await this.metadata(conn, metadataUrlFor(conn));
    if (response.iss !== undefined && response.iss !== metadata.issuer) throw new BankError('rejected', 'the answer names another issuer (RFC 9207)');
    return this.token(conn, metadata, {
      grant_type: 'authorization_code',
      code: response.code,
      redirect_uri: ref.redirect.redirectUri,
      client_id: this.requireClientId(conn),
      code_verifier: this.requirePkce().verifier(response.state),
    });
  }

  /** `refresh_token` grant; the bank may rotate the refresh token (kept when it sends none). */
  async refresh(conn: BankConnection, grant: BankGrant): Promise<BankGrant> {
    if (!grant.refreshToken) throw new BankError('rejected', 'this grant has no refresh token');
    const metadata = await this.metadata(conn, metadataUrlFor(conn));
    const fresh = await this.token(conn, metadata, { grant_type: 'refresh_token', refresh_token: grant.refreshToken, client_id: this.requireClientId(conn) });
    return { ...fresh, refreshToken: fresh.refreshToken ?? grant.refreshToken };
  }

  private async token(conn: BankConnection, metadata: AuthorizationServerMetadata, form: Record<string, string>): Promise<BankGrant> {
    const body = await this.request(conn, 'POST oauth token', metadata.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    const t = body as Record<string, unknown>;
    if (typeof t.access_token !== 'string' || !t.access_token) throw new BankError('protocol', 'token response without access_token');
    if (typeof t.token_type !== 'string' || t.token_type.toLowerCase() !== 'bearer') throw new BankError('protocol', 'token response: token_type is not Bearer');
    const expiresIn = typeof t.expires_in === 'number' && t.expires_in > 0 ? t.expires_in : undefined;
    return {
      accessToken: t.access_token,
      tokenType: 'Bearer',
      ...(typeof t.refresh_token === 'string' && t.refresh_token ? { refreshToken: t.refresh_token } : {}),
      ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}),
      ...(typeof t.scope === 'string' ? { scope: t.scope } : {}),
    };
  }

  /** One request to the authorisation server; bodies (codes, tokens) never go into messages. */
  private async request(conn: BankConnection, what: string, url: string, init: RequestInit): Promise<unknown> {
    const fetchImpl = this.deps.fetchFor(conn);
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(conn.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      throw networkFailure(err, what);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      if (json === undefined) throw new BankError('protocol', `${what} → HTTP ${res.status}: body is not JSON`, { httpStatus: res.status });
      return json;
    }
    const error = typeof (json as { error?: unknown })?.error === 'string' ? (json as { error: string }).error : undefined;
    const summary = `${what} → HTTP ${res.status}${error ? ` (${error})` : ''}`;
    if (res.status === 429) return Promise.reject(new BankError('rate_limited', summary, { httpStatus: 429 }));
    if (res.status >= 500 || res.status === 408) return Promise.reject(new BankError('unavailable', summary, { httpStatus: res.status, fate: 'ambiguous' }));
    return Promise.reject(
      new BankError('rejected', summary, { httpStatus: res.status, ...(error ? { messages: [{ category: 'ERROR' as const, code: error }] } : {}) }),
    );
  }

  private requirePkce(): PkceVerifiers {
    if (!this.deps.pkce) throw new BankError('protocol', 'OAuth SCA needs PKCE verifiers (the adapter was built without key material)', { fate: 'not_processed' });
    return this.deps.pkce;
  }

  private requireClientId(conn: BankConnection): string {
    const clientId = this.deps.clientIdFor(conn);
    if (!clientId) throw new BankError('protocol', `no OAuth client_id for ASPSP ${conn.bicFi} (tppId or a QWAC with an organizationIdentifier)`, { fate: 'not_processed' });
    return clientId;
  }
}

/** RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
export function metadataUrlOfIssuer(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}${WELL_KNOWN}${path}`;
}
