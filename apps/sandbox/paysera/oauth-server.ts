/**
 * The Paysera-profile sandbox's OAuth 2.0 authorisation server (Berlin Group "OAuth SCA approach"):
 * authorization code with PKCE (S256 only) and `state`, clients authenticated by their TLS client
 * certificate (RFC 8705 `tls_client_auth`, client_id = the QWAC's organizationIdentifier), refresh
 * tokens that rotate. Access tokens are certificate-bound (RFC 8705 §3, `cnf.x5t#S256`): usable
 * only over mTLS with the very certificate they were issued to, not merely one with the same
 * client id (a stolen token, or one from before a certificate renewal, is refused). Refresh tokens
 * stay bound to the client (§4: confidential clients re-authenticate), so a renewed certificate
 * gets new access tokens bound to it. Scopes name the one resource a token is for: `PIS:<paymentId>` or
 * `AIS:<consentId>`. As strict as real banks: codes live 60 s and are single-use (a replay revokes
 * what the code gave), redirect_uri must match exactly, http only for loopback.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const CODE_TTL_MS = 60_000;
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 300;
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 90 * 24 * 3600;

export type OAuthResource = { kind: 'payment'; id: string } | { kind: 'consent'; id: string };

export function scopeOf(resource: OAuthResource): string {
  return `${resource.kind === 'payment' ? 'PIS' : 'AIS'}:${resource.id}`;
}

export function parseScope(scope: string | undefined): OAuthResource | undefined {
  const match = /^(PIS|AIS):([A-Za-z0-9-]{1,64})$/.exec(scope ?? '');
  if (!match) return undefined;
  return { kind: match[1] === 'PIS' ? 'payment' : 'consent', id: match[2]! };
}

/** RFC 6749 §5.2 / §4.1.2.1 errors. */
export interface OAuthError {
  error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'access_denied';
  error_description: string;
}

export interface AuthorizationRequest {
  responseType?: string;
  clientId?: string;
  redirectUri?: string;
  scope?: string;
  state?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
}

export interface CheckedAuthorizationRequest {
  clientId: string;
  redirectUri: string;
  resource: OAuthResource;
  state: string;
  codeChallenge: string;
}

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

interface CodeRecord extends CheckedAuthorizationRequest {
  expiresAt: number;
  used: boolean;
  /** Tokens the code gave, revoked if it is presented again. */
  issued: string[];
}

/** The client as its TLS certificate says: its id and the certificate's SHA-256 thumbprint (RFC 8705 `x5t#S256`). */
export interface CertificateClient {
  clientId: string;
  x5tS256: string;
}

interface TokenRecord {
  clientId: string;
  /** Access tokens: `cnf` of the certificate they are bound to. */
  cnf?: { 'x5t#S256': string };
  scope: string;
  expiresAt: number;
  kind: 'access' | 'refresh';
  /** The refresh token an access token came with (revoked together). */
  family: string;
}

export class SandboxAuthorizationServer {
  private readonly codes = new Map<string, CodeRecord>();
  private readonly tokens = new Map<string, TokenRecord>();

  constructor(
    private readonly now: () => number,
    private readonly ttl: { accessSeconds: number; refreshSeconds: number } = {
      accessSeconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      refreshSeconds: DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
    },
  ) {}

  /** Checks an authorization request; problems with redirect_uri must not be redirected (RFC 6749 §4.1.2.1). */
  checkAuthorizationRequest(req: AuthorizationRequest): CheckedAuthorizationRequest | (OAuthError & { redirectable: boolean }) {
    const bad = (error_description: string, redirectable = true, error: OAuthError['error'] = 'invalid_request') => ({ error, error_description, redirectable });
    if (!req.clientId) return bad('client_id is missing', false);
    if (!req.redirectUri || !isAcceptableRedirectUri(req.redirectUri)) {
      return bad('redirect_uri must be an absolute https URL (http only on a loopback address) without a fragment', false);
    }
    if (req.responseType !== 'code') return { ...bad('response_type must be "code"'), error: 'invalid_request' };
    if (!req.state || req.state.length < 8 || req.state.length > 512) return bad('state is required (8 to 512 characters)');
    if (req.codeChallengeMethod !== 'S256') return bad('code_challenge_method must be S256 (plain is not accepted)');
    if (!req.codeChallenge || !/^[A-Za-z0-9_-]{43}$/.test(req.codeChallenge)) return bad('code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)');
    const resource = parseScope(req.scope);
    if (!resource) return bad('scope must be PIS:<paymentId> or AIS:<consentId>', true, 'invalid_scope');
    return { clientId: req.clientId, redirectUri: req.redirectUri, resource, state: req.state, codeChallenge: req.codeChallenge };
  }

  issueCode(request: CheckedAuthorizationRequest): string {
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, { ...request, expiresAt: this.now() + CODE_TTL_MS, used: false, issued: [] });
    return code;
  }

  /**
   * `grant_type=authorization_code`. `authenticatedClientId` is what the client's certificate says;
   * `onAuthorised` runs once, when the code is good, and may refuse (the resource is gone).
   */
  exchangeCode(
    form: Record<string, string | undefined>,
    client: CertificateClient,
    onAuthorised: (resource: OAuthResource) => OAuthError | undefined,
  ): TokenSet | OAuthError {
    const authenticatedClientId = client.clientId;
    const code = form.code ? this.codes.get(form.code) : undefined;
    if (!code) return { error: 'invalid_grant', error_description: 'unknown authorization code' };
    if (code.used) {
      // RFC 6749 §4.1.2: a code used twice revokes what it gave.
      for (const token of code.issued) this.revokeFamily(token);
      return { error: 'invalid_grant', error_description: 'authorization code already used; the tokens it gave are revoked' };
    }
    if (code.expiresAt <= this.now()) return { error: 'invalid_grant', error_description: 'authorization code expired' };
    if (form.client_id !== undefined && form.client_id !== authenticatedClientId) {
      return { error: 'invalid_client', error_description: 'client_id does not match the client certificate' };
    }
    if (code.clientId !== authenticatedClientId) return { error: 'invalid_grant', error_description: 'the code was issued to another client' };
    if (form.redirect_uri !== code.redirectUri) return { error: 'invalid_grant', error_description: 'redirect_uri differs from the authorization request' };
    if (!form.code_verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier)) {
      return { error: 'invalid_request', error_description: 'code_verifier is missing or malformed (RFC 7636: 43 to 128 unreserved characters)' };
    }
    const challenge = createHash('sha256').update(form.code_verifier).digest('base64url');
    if (!safeEqual(challenge, code.codeChallenge)) return { error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' };
    code.used = true;
    const refused = onAuthorised(code.resource);
    if (refused) return refused;
    const tokens = this.issueTokens(client, scopeOf(code.resource));
    code.issued.push(tokens.refresh_token);
    return tokens;
  }

  /** `grant_type=refresh_token`: a new access token and a new refresh token; the old refresh token stops working. */
  refresh(form: Record<string, string | undefined>, client: CertificateClient): TokenSet | OAuthError {
    const authenticatedClientId = client.clientId;
    const record = form.refresh_token ? this.tokens.get(form.refresh_token) : undefined;
    if (!record || record.kind !== 'refresh' || record.expiresAt <= this.now()) return { error: 'invalid_grant', error_description: 'refresh token unknown, expired or revoked' };
    if (record.clientId !== authenticatedClientId) return { error: 'invalid_grant', error_description: 'the refresh token was issued to another client' };
    if (form.scope !== undefined && form.scope !== record.scope) return { error: 'invalid_scope', error_description: 'a refresh cannot change the scope' };
    this.revokeFamily(form.refresh_token!);
    return this.issueTokens(client, record.scope);
  }

  /**
   * The resource a bearer token grants, presented over mTLS with this certificate; a reason
   * otherwise. `not_bound`: a valid token presented with another certificate than the one it was
   * issued to (RFC 8705 §3: refused as `invalid_token`), whatever the client id says.
   */
  checkAccessToken(
    token: string | undefined,
    client: CertificateClient,
  ): { resource: OAuthResource; cnf: { 'x5t#S256': string } } | { problem: 'missing' | 'expired' | 'invalid' | 'not_bound' } {
    if (!token) return { problem: 'missing' };
    const record = this.tokens.get(token);
    if (!record || record.kind !== 'access' || !record.cnf) return { problem: 'invalid' };
    if (!safeEqual(record.cnf['x5t#S256'], client.x5tS256) || record.clientId !== client.clientId) return { problem: 'not_bound' };
    if (record.expiresAt <= this.now()) return { problem: 'expired' };
    return { resource: parseScope(record.scope)!, cnf: record.cnf };
  }

  /** Revokes every token for a resource (a deleted consent, a revoked access). */
  revokeResource(resource: OAuthResource): void {
    const scope = scopeOf(resource);
    for (const [token, record] of this.tokens) if (record.scope === scope) this.tokens.delete(token);
  }

  private issueTokens(client: CertificateClient, scope: string): TokenSet {
    const { clientId } = client;
    const access = randomBytes(32).toString('base64url');
    const refresh = randomBytes(32).toString('base64url');
    const now = this.now();
    this.tokens.set(refresh, { clientId, scope, kind: 'refresh', expiresAt: now + this.ttl.refreshSeconds * 1000, family: refresh });
    this.tokens.set(access, {
      clientId,
      scope,
      kind: 'access',
      cnf: { 'x5t#S256': client.x5tS256 },
      expiresAt: now + this.ttl.accessSeconds * 1000,
      family: refresh,
    });
    return { access_token: access, token_type: 'Bearer', expires_in: this.ttl.accessSeconds, refresh_token: refresh, scope };
  }

  private revokeFamily(refreshToken: string): void {
    for (const [token, record] of this.tokens) if (record.family === refreshToken) this.tokens.delete(token);
  }
}

export function isAcceptableRedirectUri(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.hash) return false;
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost');
  } catch {
    return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
