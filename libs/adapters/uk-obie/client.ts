/**
 * HTTP for UK Open Banking (OBIE 3.1.x, FAPI): discovery, Dynamic Client Registration, token
 * endpoint with `private_key_jwt`, signed request objects, and resource calls with detached JWS
 * (`x-jws-signature`) on requests and verified on responses. Every failure is a {@link BankError}.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, customFetch, jwtVerify, type CryptoKey, type JWK, type KeyObject, type JWTVerifyGetKey } from 'jose';
import { BankError, type BankConnection, type BankMessage, type PsuContext } from '../bank-adapter';
import { networkFailure } from '../berlin-group/client';
import { signDetached, verifyDetached, JwsSignatureError, type JwsProfile } from './jws';
import { bankFetch } from '../bank-fetch';
import type { BankTls } from '../bank-tls';
import { subjectDnOf } from '../../security/certificate-dn';
import { clearwayFieldOf } from './transformers';

export const DEFAULT_TIMEOUT_MS = 10_000;

/** Clearway as a TPP on the Open Banking Directory: its signing key and software statement. */
export interface UkTppIdentity {
  orgId: string;
  softwareId: string;
  /** PS256 key whose public half is in the software statement's JWKS under `kid`. */
  signingKey: CryptoKey | KeyObject;
  kid: string;
  publicJwk: JWK;
  /** The software statement assertion the directory issued; absent for sandbox banks, which issue one. */
  softwareStatement?: string;
  /** Clearway's registered OAuth redirect URI (`/callbacks/oauth`). */
  redirectUri: string;
  /** Trust anchor of our signatures (`http://openbanking.org.uk/tan`). */
  trustAnchor: string;
}

/** Where the `client_id` a bank issued on registration is kept (PostgreSQL in the worker). */
export interface UkRegistrationStore {
  find(bicFi: string, baseUrl: string): Promise<string | undefined>;
  /** Stores it unless another registration was stored first; returns the one kept. */
  save(bicFi: string, baseUrl: string, clientId: string): Promise<string>;
  /** The bank no longer knows this client. */
  forget(bicFi: string, baseUrl: string, clientId: string): Promise<void>;
}

export interface UkBankProfile {
  /** The ASPSP's org id at the directory: `aud` of registration requests, `iss` of its signatures. */
  orgId: string;
  jwsProfile: JwsProfile;
  /** Trust anchors accepted on the bank's signatures. */
  trustAnchors: readonly string[];
  /** 3.1.2 wants `x-fapi-financial-id` (the ASPSP's LEI or org id). */
  financialId?: string;
}

export interface UkObieClientOptions {
  identity: () => Promise<UkTppIdentity>;
  registrations: UkRegistrationStore;
  profileFor: (conn: BankConnection) => UkBankProfile;
  /** A software statement for a sandbox bank without one configured (its directory issues one). */
  softwareStatementFor?: (conn: BankConnection, identity: UkTppIdentity) => Promise<string | undefined>;
  fetch?: typeof fetch;
  now?: () => number;
  /**
   * mTLS per bank (`../bank-tls.ts`): a bank whose directory row names a client certificate
   * (`client_certificate_ref`) is called over mTLS with it and authenticated by it at the token
   * endpoint (RFC 8705 `tls_client_auth`); the others with `private_key_jwt`.
   */
  tls?: BankTls;
}

/** What a registration (or its update) may say differently from the identity's defaults. */
export interface RegistrationOverrides {
  softwareStatement?: string;
  redirectUris?: string[];
  expiresInS?: number;
  /** Signs the request instead of the identity's key (a new key, listed in `softwareStatement`). */
  signingKey?: CryptoKey | KeyObject;
  kid?: string;
}

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
  jwks_uri: string;
}

export interface ObieResponse {
  status: number;
  body: any;
  headers: Headers;
}

export const RS_PATH = '/open-banking/v3.1';

export class UkObieClient {
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  /** Public metadata and keys, per bank: cached, as every OAuth client does. */
  private readonly discoveries = new Map<string, Promise<Discovery>>();
  private readonly jwks = new Map<string, JWTVerifyGetKey>();
  private readonly ccTokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly opts: UkObieClientOptions) {
    this.fetchImpl = opts.fetch ?? bankFetch();
    this.now = opts.now ?? Date.now;
  }

  identity(): Promise<UkTppIdentity> {
    return this.opts.identity();
  }

  profile(conn: BankConnection): UkBankProfile {
    return this.opts.profileFor(conn);
  }

  discovery(conn: BankConnection): Promise<Discovery> {
    let d = this.discoveries.get(conn.baseUrl);
    if (!d) {
      d = this.send(conn, 'GET', `${conn.baseUrl.replace(/\/$/, '')}/.well-known/openid-configuration`, {}).then(({ body }) => {
        for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
          if (typeof body?.[k] !== 'string') throw new BankError('protocol', `discovery: ${k} is missing`);
        }
        return body as Discovery;
      });
      d.catch(() => this.discoveries.delete(conn.baseUrl));
      this.discoveries.set(conn.baseUrl, d);
    }
    return d;
  }

  async bankKeys(conn: BankConnection): Promise<JWTVerifyGetKey> {
    const d = await this.discovery(conn);
    let keys = this.jwks.get(d.jwks_uri);
    if (!keys) {
      // Over the bank's own TLS setup (its CA, our certificate where it wants one), like every call to it.
      const tlsFetch = this.opts.tls?.fetchFor(conn);
      keys = createRemoteJWKSet(new URL(d.jwks_uri), {
        timeoutDuration: conn.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(tlsFetch ? { [customFetch]: tlsFetch as never } : {}),
      });
      this.jwks.set(d.jwks_uri, keys);
    }
    return keys;
  }

  /** Our client_id at this bank, registering (DCR) the first time. */
  async clientId(conn: BankConnection): Promise<string> {
    const stored = await this.opts.registrations.find(conn.bicFi, conn.baseUrl);
    if (stored) return stored;
    const clientId = await this.register(conn);
    return this.opts.registrations.save(conn.bicFi, conn.baseUrl, clientId);
  }

  /** OBIE DCR 3.3: a registration request JWT signed with our key, carrying the software statement. */
  async register(conn: BankConnection, overrides: RegistrationOverrides = {}): Promise<string> {
    const d = await this.discovery(conn);
    if (!d.registration_endpoint) throw new BankError('protocol', 'discovery: the bank offers no registration_endpoint');
    const jwt = await this.registrationRequest(conn, overrides);
    const { body } = await this.send(conn, 'POST', d.registration_endpoint, { body: jwt, contentType: 'application/jwt' });
    if (typeof body?.client_id !== 'string') throw new BankError('protocol', 'registration: no client_id in the answer');
    return body.client_id;
  }

  /** The signed registration request (`OBClientRegistration1` claims), for a new registration or an update. */
  private async registrationRequest(conn: BankConnection, overrides: RegistrationOverrides & { clientId?: string }): Promise<string> {
    const id = await this.identity();
    const ssa = overrides.softwareStatement ?? id.softwareStatement ?? (await this.opts.softwareStatementFor?.(conn, id));
    if (!ssa) throw new BankError('rejected', `No software statement for ${conn.bicFi}: configure UK_OBIE_SOFTWARE_STATEMENT`);
    const auth = this.tokenEndpointAuth(conn);
    const now = Math.floor(this.now() / 1000);
    return new SignJWT({
      ...(overrides.clientId ? { client_id: overrides.clientId } : {}),
      software_statement: ssa,
      software_id: id.softwareId,
      redirect_uris: overrides.redirectUris ?? [id.redirectUri],
      ...(auth.method === 'tls_client_auth'
        ? { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: auth.subjectDn }
        : { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256' }),
      grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
      response_types: ['code id_token'],
      id_token_signed_response_alg: 'PS256',
      request_object_signing_alg: 'PS256',
      application_type: 'web',
      scope: 'openid payments accounts',
    })
      .setProtectedHeader({ alg: 'PS256', kid: overrides.kid ?? id.kid, typ: 'JWT' })
      .setIssuer(id.softwareId)
      .setAudience(this.profile(conn).orgId)
      .setIssuedAt(now)
      .setExpirationTime(now + (overrides.expiresInS ?? 300))
      .setJti(randomUUID())
      .sign(overrides.signingKey ?? id.signingKey);
  }

  /** How we authenticate at this bank's token endpoint: by our certificate where the directory names one. */
  tokenEndpointAuth(conn: BankConnection): { method: 'tls_client_auth'; subjectDn: string } | { method: 'private_key_jwt' } {
    if (!conn.clientCertificateRef) return { method: 'private_key_jwt' };
    const pem = this.opts.tls?.clientCertificatePemFor(conn);
    if (!pem) throw new BankError('protocol', `ASPSP ${conn.bicFi} needs client certificate "${conn.clientCertificateRef}", which is not configured`, { fate: 'not_processed' });
    return { method: 'tls_client_auth', subjectDn: subjectDnOf(pem) };
  }

  /** `/register/{ClientId}` at this bank, for the client we registered there. */
  private async registrationUrl(conn: BankConnection): Promise<{ url: string; clientId: string }> {
    const d = await this.discovery(conn);
    if (!d.registration_endpoint) throw new BankError('protocol', 'discovery: the bank offers no registration_endpoint');
    const clientId = await this.clientId(conn);
    return { url: `${d.registration_endpoint.replace(/\/$/, '')}/${encodeURIComponent(clientId)}`, clientId };
  }

  /**
   * DCR 3.3 `GET /register/{ClientId}`: what the bank holds for our client (redirect URIs, auth
   * method, software statement…), authorised by a client-credentials token of that client.
   */
  async readRegistration(conn: BankConnection): Promise<Record<string, unknown>> {
    const { url, clientId } = await this.registrationUrl(conn);
    const { body } = await this.send(conn, 'GET', url, { headers: { Authorization: `Bearer ${await this.clientToken(conn, 'payments')}` } });
    if (body?.client_id !== clientId) throw new BankError('protocol', 'registration: the answer names another client');
    return body;
  }

  /**
   * DCR 3.3 `PUT /register/{ClientId}`: new redirect URIs and/or new keys. New keys come with a
   * new software statement listing them (the directory's), and the request is signed with the new
   * key (`signingKey`, `kid`); from then on the bank accepts only that statement's keys, so the
   * identity (UK_OBIE_SIGNING_KEY, _KID, _SOFTWARE_STATEMENT) must switch to them as well.
   */
  async updateRegistration(conn: BankConnection, changes: RegistrationOverrides): Promise<Record<string, unknown>> {
    const { url, clientId } = await this.registrationUrl(conn);
    const token = await this.clientToken(conn, 'payments');
    const jwt = await this.registrationRequest(conn, { ...changes, clientId });
    const { body } = await this.send(conn, 'PUT', url, { body: jwt, contentType: 'application/jwt', headers: { Authorization: `Bearer ${token}` } });
    if (body?.client_id !== clientId) throw new BankError('protocol', 'registration update: the answer names another client');
    return body;
  }

  /** DCR 3.3 `DELETE /register/{ClientId}`: the bank forgets our client; so do we (a later call registers anew). */
  async deleteRegistration(conn: BankConnection): Promise<void> {
    const { url, clientId } = await this.registrationUrl(conn);
    await this.send(conn, 'DELETE', url, { headers: { Authorization: `Bearer ${await this.clientToken(conn, 'payments')}` } });
    await this.opts.registrations.forget(conn.bicFi, conn.baseUrl, clientId);
    for (const key of [...this.ccTokens.keys()]) if (key.startsWith(`${conn.bicFi}|`)) this.ccTokens.delete(key);
  }

  /** RFC 7523 client assertion for the token endpoint. */
  private async clientAssertion(conn: BankConnection, clientId: string): Promise<string> {
    const [d, id] = await Promise.all([this.discovery(conn), this.identity()]);
    const now = Math.floor(this.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'PS256', kid: id.kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(d.token_endpoint)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(id.signingKey);
  }

  /** A token request; a bank that no longer knows our client (invalid_client) gets one new registration. */
  async tokenRequest(conn: BankConnection, params: Record<string, string>, retried = false): Promise<any> {
    const clientId = await this.clientId(conn);
    try {
      return await this.tokenRequestAs(conn, clientId, params);
    } catch (err) {
      const forgotten = err instanceof BankError && err.details.httpStatus === 401 && err.message.includes('invalid_client');
      if (!forgotten || retried || params.grant_type === 'authorization_code') throw err;
      await this.opts.registrations.forget(conn.bicFi, conn.baseUrl, clientId);
      this.ccTokens.clear();
      return this.tokenRequest(conn, params, true);
    }
  }

  private async tokenRequestAs(conn: BankConnection, clientId: string, params: Record<string, string>): Promise<any> {
    const d = await this.discovery(conn);
    const form = new URLSearchParams({ ...params, client_id: clientId });
    // tls_client_auth: the certificate of the mTLS connection is the credential (RFC 8705 §2).
    if (this.tokenEndpointAuth(conn).method === 'private_key_jwt') {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await this.clientAssertion(conn, clientId));
    }
    const { body } = await this.send(conn, 'POST', d.token_endpoint, { body: form.toString(), contentType: 'application/x-www-form-urlencoded' });
    if (typeof body?.access_token !== 'string') throw new BankError('protocol', 'token endpoint: no access_token');
    return body;
  }

  /** A client-credentials token for `scope`, reused until shortly before it expires. */
  async clientToken(conn: BankConnection, scope: 'payments' | 'accounts'): Promise<string> {
    const key = `${conn.bicFi}|${scope}`;
    const cached = this.ccTokens.get(key);
    if (cached && cached.expiresAt > this.now() + 30_000) return cached.token;
    const body = await this.tokenRequest(conn, { grant_type: 'client_credentials', scope });
    this.ccTokens.set(key, { token: body.access_token, expiresAt: this.now() + Number(body.expires_in ?? 300) * 1000 });
    return body.access_token;
  }

  /** The authorisation URL: FAPI hybrid flow with a PS256 request object naming the consent. */
  async authorisationUrl(conn: BankConnection, p: { consentId: string; scope: 'payments' | 'accounts'; redirectUri: string; state: string; nonce: string }): Promise<string> {
    const [d, id, clientId] = await Promise.all([this.discovery(conn), this.identity(), this.clientId(conn)]);
    const now = Math.floor(this.now() / 1000);
    const scope = `openid ${p.scope}`;
    const essentialIntent = { openbanking_intent_id: { value: p.consentId, essential: true } };
    const request = await new SignJWT({
      response_type: 'code id_token',
      client_id: clientId,
      redirect_uri: p.redirectUri,
      scope,
      state: p.state,
      nonce: p.nonce,
      max_age: 86400,
      claims: { userinfo: essentialIntent, id_token: { ...essentialIntent, acr: { essential: true, values: ['urn:openbanking:psd2:sca', 'urn:openbanking:psd2:ca'] } } },
    })
      .setProtectedHeader({ alg: 'PS256', kid: id.kid, typ: 'oauth-authz-req+jwt' })
      .setIssuer(clientId)
      .setAudience(d.issuer)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 3600)
      .setJti(randomUUID())
      .sign(id.signingKey);
    const url = new URL(d.authorization_endpoint);
    url.search = new URLSearchParams({ response_type: 'code id_token', client_id: clientId, redirect_uri: p.redirectUri, scope, state: p.state, nonce: p.nonce, request }).toString();
    return url.toString();
  }

  /** Checks an ID token from this bank for us (signature, iss, aud, exp) and returns its claims. */
  async verifyIdToken(conn: BankConnection, idToken: string): Promise<Record<string, unknown>> {
    const [d, keys, clientId] = await Promise.all([this.discovery(conn), this.bankKeys(conn), this.clientId(conn)]);
    try {
      const { payload } = await jwtVerify(idToken, keys, { issuer: d.issuer, audience: clientId, algorithms: ['PS256'], currentDate: new Date(this.now()) });
      return payload;
    } catch (err) {
      throw new BankError('rejected', `id_token refused: ${(err as Error).message}`);
    }
  }

  /**
   * A resource-server call. POSTs are signed (`x-jws-signature`); JSON answers must carry the
   * bank's valid signature; `x-fapi-interaction-id` must come back as sent.
   */
  async resource(
    conn: BankConnection,
    method: 'GET' | 'POST' | 'DELETE',
    pathOrUrl: string,
    opts: { token: string; body?: unknown; idempotencyKey?: string; psu?: PsuContext; signResponseRequired?: boolean } ,
  ): Promise<ObieResponse> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${conn.baseUrl.replace(/\/$/, '')}${RS_PATH}${pathOrUrl}`;
    const profile = this.profile(conn);
    const headers: Record<string, string> = { Authorization: `Bearer ${opts.token}`, Accept: 'application/json' };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      const id = await this.identity();
      headers['x-jws-signature'] = await signDetached(payload, id.signingKey, {
        kid: id.kid,
        iss: `${id.orgId}/${id.softwareId}`,
        tan: id.trustAnchor,
        profile: profile.jwsProfile,
        iat: Math.floor(this.now() / 1000),
      });
    }
    if (opts.idempotencyKey) headers['x-idempotency-key'] = opts.idempotencyKey;
    if (profile.financialId) headers['x-fapi-financial-id'] = profile.financialId;
    if (opts.psu?.psuIpAddress) headers['x-fapi-customer-ip-address'] = opts.psu.psuIpAddress;
    if (opts.psu?.psuUserAgent) headers['x-customer-user-agent'] = opts.psu.psuUserAgent;
    const res = await this.send(conn, method, url, { body: payload, contentType: payload !== undefined ? 'application/json' : undefined, headers, obie: true });
    if (res.status !== 204 && res.text !== '') {
      try {
        await verifyDetached(res.headers.get('x-jws-signature') ?? undefined, res.text, async (kid) => {
          const keys = await this.bankKeys(conn);
          return (await Promise.resolve()
            .then(() => keys({ alg: 'PS256', kid }, { payload: '', signature: '' } as never))
            .catch(() => undefined)) as CryptoKey | undefined;
        }, { profile: profile.jwsProfile, iss: profile.orgId, tans: profile.trustAnchors, now: this.now });
      } catch (err) {
        if (err instanceof JwsSignatureError) {
          // The bank acted (2xx) but we cannot trust the answer: ambiguous for creations.
          throw new BankError('protocol', `${method} ${new URL(url).pathname} → ${res.status}: response signature refused (${err.message})`, { httpStatus: res.status, fate: 'ambiguous' });
        }
        throw err;
      }
    }
    return { status: res.status, body: res.body, headers: res.headers };
  }

  /** Sends one request and classifies failures. */
  private async send(
    conn: BankConnection,
    method: string,
    url: string,
    opts: { body?: string; contentType?: string; headers?: Record<string, string>; obie?: boolean },
  ): Promise<{ status: number; body: any; text: string; headers: Headers }> {
    const interactionId = randomUUID();
    const headers: Record<string, string> = { 'x-fapi-interaction-id': interactionId, ...opts.headers };
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    const what = `${method} ${new URL(url).pathname}`;
    let res: Response;
    let text: string;
    let fetchImpl: typeof fetch;
    try {
      fetchImpl = this.opts.tls?.fetchFor(conn) ?? this.fetchImpl;
    } catch (err) {
      throw new BankError('protocol', (err as Error).message, { fate: 'not_processed' });
    }
    try {
      res = await fetchImpl(url, { method, headers, body: opts.body, redirect: 'manual', signal: AbortSignal.timeout(conn.timeoutMs ?? DEFAULT_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      throw networkFailure(err, what);
    }
    let body: any;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      if (res.status >= 200 && res.status < 300) throw new BankError('protocol', `${what} → HTTP ${res.status}: body is not JSON`, { httpStatus: res.status });
    }
    if (res.status < 200 || res.status >= 300) throw httpError(res.status, res.headers, body, what);
    if (opts.obie && res.headers.get('x-fapi-interaction-id') !== interactionId) {
      throw new BankError('protocol', `${what} → HTTP ${res.status}: x-fapi-interaction-id not echoed`, { httpStatus: res.status, fate: 'ambiguous' });
    }
    return { status: res.status, body, text, headers: res.headers };
  }
}

/** An OBIE error (`Errors[].ErrorCode`) or OAuth error as a BankError with BG-style messages. */
function httpError(status: number, headers: Headers, body: any, what: string): BankError {
  const messages: BankMessage[] = [];
  if (Array.isArray(body?.Errors)) {
    for (const e of body.Errors) {
      const path = clearwayFieldOf(typeof e?.Path === 'string' ? e.Path : undefined);
      messages.push({
        category: 'ERROR',
        code: status === 401 ? 'TOKEN_INVALID' : status === 403 ? 'CONSENT_INVALID' : status === 404 ? 'RESOURCE_UNKNOWN' : 'FORMAT_ERROR',
        text: `${String(e?.ErrorCode ?? 'UK.OBIE.Error')}: ${String(e?.Message ?? '').slice(0, 300)}`,
        ...(path ? { path } : {}),
      });
    }
  } else if (typeof body?.error === 'string') {
    messages.push({ category: 'ERROR', code: status === 401 ? 'TOKEN_INVALID' : 'FORMAT_ERROR', text: `${body.error}: ${String(body.error_description ?? '').slice(0, 300)}` });
  }
  const summary = `${what} → HTTP ${status}${messages[0]?.text ? `: ${messages[0].text}` : ''}`;
  if (status === 429) {
    const retry = Number(headers.get('retry-after'));
    return new BankError('rate_limited', summary, { httpStatus: status, messages, ...(Number.isFinite(retry) ? { retryAfterMs: retry * 1000 } : {}) });
  }
  if (status === 404) return new BankError('not_found', summary, { httpStatus: status, messages });
  if (status >= 500 || status === 408) return new BankError('unavailable', summary, { httpStatus: status, messages });
  return new BankError('rejected', summary, { httpStatus: status, messages });
}
