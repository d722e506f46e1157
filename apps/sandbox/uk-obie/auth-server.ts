import { createHash, randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { certificateThumbprint, subjectDnOf } from '../../../libs/security/certificate-dn';
import express, { type Request, type Response } from 'express';
import { SignJWT, createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { OAuthError } from './errors';
import type { UkSandboxState, RegisteredClient } from './state';
import { SANDBOX_UK_PSUS } from './accounts';
import { authorisationPage } from './authorisation-page';

/** The Open Banking Directory's name in the software statements it signs. */
export const DIRECTORY_ISSUER = 'OpenBanking Ltd';
export const TRUST_ANCHOR = 'openbanking.org.uk';

export interface AuthServerContext {
  state: UkSandboxState;
  /** The bank's issuer URL (its public base URL). */
  issuer: () => string;
  /** The ASPSP's org id at the directory: the `aud` of registration requests (Stripe: "the OBIE issued org_id"). */
  orgId: string;
  /** Served over mTLS (client certificates from a trusted CA): `tls_client_auth` is offered. */
  mtls?: boolean;
}

/** The TLS client certificate of this request, when one from a trusted CA was presented. */
export function presentedCertificate(req: Request): { subjectDn: string; x5tS256: string } | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) return undefined;
  return { subjectDn: subjectDnOf(peer.raw), x5tS256: certificateThumbprint(peer.raw) };
}

/** RFC 8705 §3: a token bound to a certificate is good only over mTLS with that certificate. */
export function boundCertificateOk(req: Request, token: { x5tS256?: string }): boolean {
  return token.x5tS256 === undefined || presentedCertificate(req)?.x5tS256 === token.x5tS256;
}

const ACCESS_TOKEN_TTL_S = 3600;
const CODE_TTL_MS = 10 * 60_000;
const PENDING_TTL_MS = 15 * 60_000;

/** `c_hash` / `s_hash` (OIDC core 3.3.2.11): left half of SHA-256, base64url. */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export function discoveryDocument(issuer: string, mtls = false) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    jwks_uri: `${issuer}/jwks`,
    scopes_supported: ['openid', 'payments', 'accounts'],
    response_types_supported: ['code id_token'],
    response_modes_supported: ['fragment'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    id_token_signing_alg_values_supported: ['PS256'],
    request_object_signing_alg_values_supported: ['PS256'],
    request_parameter_supported: true,
    require_request_uri_registration: false,
    token_endpoint_auth_methods_supported: mtls ? ['private_key_jwt', 'tls_client_auth'] : ['private_key_jwt'],
    ...(mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
    token_endpoint_auth_signing_alg_values_supported: ['PS256'],
    claims_supported: ['openbanking_intent_id', 'acr', 'sub'],
    acr_values_supported: ['urn:openbanking:psd2:sca', 'urn:openbanking:psd2:ca'],
  };
}

export function buildAuthServerRouter(ctx: AuthServerContext): express.Router {
  const { state } = ctx;
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  router.get('/.well-known/openid-configuration', (_req, res) => void res.json(discoveryDocument(ctx.issuer(), ctx.mtls)));
  router.get('/jwks', (_req, res) => void res.json({ keys: [state.aspspKey.publicJwk] }));

  // ── The directory (sandbox only: the real one is the Open Banking Directory) ─────────────────
  router.get('/directory/jwks', (_req, res) => void res.json({ keys: [state.directoryKey.publicJwk] }));
  router.post('/directory/software-statements', express.json({ limit: '64kb' }), async (req, res) => {
    const b = req.body ?? {};
    if (typeof b.software_id !== 'string' || typeof b.org_id !== 'string' || !Array.isArray(b.software_jwks?.keys) || !Array.isArray(b.software_redirect_uris)) {
      return void res.status(400).json({ error: 'invalid_request', error_description: 'software_id, org_id, software_jwks.keys and software_redirect_uris are required' });
    }
    const ssa = await issueSoftwareStatement(state, {
      softwareId: b.software_id,
      orgId: b.org_id,
      jwks: b.software_jwks,
      redirectUris: b.software_redirect_uris,
      roles: Array.isArray(b.software_roles) ? b.software_roles : ['PISP', 'AISP'],
    });
    res.status(201).json({ software_statement: ssa });
  });

  // ── Dynamic Client Registration (OBIE DCR 3.3, RFC 7591) ─────────────────────────────────────
  const registrationJwt = express.text({ type: ['application/jwt', 'application/jose'], limit: '64kb' });
  const jwtBody = (req: Request): string => {
    if (typeof req.body !== 'string' || !req.is(['application/jwt', 'application/jose'])) {
      throw new OAuthError(400, 'invalid_client_metadata', 'The registration request must be a signed JWT (Content-Type: application/jwt)');
    }
    return req.body.trim();
  };
  router.post('/register', registrationJwt, async (req, res) => {
    try {
      const client = await register(ctx, jwtBody(req), req);
      res.status(201).json(registrationAnswer(client));
    } catch (err) {
      sendOAuthError(res, err);
    }
  });

  // Management (DCR 3.3 `/register/{ClientId}`): authorised, as the spec's TPPOAuth2Security says,
  // by an access token the client got with the client-credentials grant; the token's client must be
  // the one named (403 otherwise). A token bought with a PSU's authorisation does not qualify.
  const managedClient = (req: Request): RegisteredClient => {
    const bearer = /^Bearer (\S+)$/.exec(req.header('authorization') ?? '')?.[1];
    const token = bearer && !bearer.startsWith('refresh:') ? state.tokens.get(bearer) : undefined;
    if (!token || token.consentId !== undefined || token.expiresAt <= state.now() || !state.clients.has(token.clientId) || !boundCertificateOk(req, token)) {
      throw new OAuthError(401, 'invalid_token', 'A valid client-credentials access token of this client is required (Authorization: Bearer)');
    }
    if (token.clientId !== req.params.ClientId) throw new OAuthError(403, 'access_denied', 'The access token belongs to another client');
    return state.clients.get(token.clientId)!;
  };
  router.get('/register/:ClientId', (req, res) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      res.json(registrationAnswer(managedClient(req)));
    } catch (err) {
      sendOAuthError(res, err);
    }
  });
  router.put('/register/:ClientId', registrationJwt, async (req, res) => {
    try {
      const client = managedClient(req);
      await update(ctx, client, jwtBody(req), req);
      res.setHeader('Cache-Control', 'no-store');
      res.json(registrationAnswer(client));
    } catch (err) {
      sendOAuthError(res, err);
    }
  });
  router.delete('/register/:ClientId', (req, res) => {
    try {
      const client = managedClient(req);
      // Gone at once: its tokens, codes and pending authorisations with it.
      state.clients.delete(client.clientId);
      for (const [key, token] of state.tokens) if (token.clientId === client.clientId) state.tokens.delete(key);
      for (const [key, code] of state.codes) if (code.clientId === client.clientId) state.codes.delete(key);
      for (const [key, pending] of state.pending) if (pending.clientId === client.clientId) state.pending.delete(key);
      res.status(204).end();
    } catch (err) {
      sendOAuthError(res, err);
    }
  });

  // ── Token endpoint (private_key_jwt) ───────────────────────────────────────────────────────
  router.post('/token', form, async (req, res) => {
    try {
      const b = (req.body ?? {}) as Record<string, string>;
      const client = await authenticateClient(ctx, b, req);
      // tls_client_auth clients get certificate-bound tokens (RFC 8705 §3).
      const bound = client.authMethod === 'tls_client_auth' ? { x5tS256: presentedCertificate(req)!.x5tS256 } : {};
      res.setHeader('Cache-Control', 'no-store');
      if (b.grant_type === 'client_credentials') {
        const scope = (b.scope ?? '').split(' ').filter(Boolean);
        const allowed = scope.filter((s) => ['payments', 'accounts', 'openid'].includes(s));
        if (allowed.length === 0 || allowed.length !== scope.length) throw new OAuthError(400, 'invalid_scope', 'scope must be payments and/or accounts');
        const token = state.newSecret();
        state.tokens.set(token, { clientId: client.clientId, scope: allowed, expiresAt: state.now() + ACCESS_TOKEN_TTL_S * 1000, ...bound });
        return void res.json({ access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_S, scope: allowed.join(' ') });
      }
      if (b.grant_type === 'authorization_code') {
        const code = state.codes.get(b.code ?? '');
        if (!code || code.used || code.expiresAt < state.now() || code.clientId !== client.clientId) {
          if (code) code.used = true;
          throw new OAuthError(400, 'invalid_grant', 'The authorisation code is unknown, expired, used or not yours');
        }
        if (b.redirect_uri !== code.redirectUri) throw new OAuthError(400, 'invalid_grant', 'redirect_uri differs from the authorisation request');
        code.used = true;
        const token = state.newSecret();
        state.tokens.set(token, { clientId: client.clientId, scope: ['openid', code.kind], consentId: code.consentId, expiresAt: state.now() + ACCESS_TOKEN_TTL_S * 1000, ...bound });
        const refresh = code.kind === 'accounts' ? state.newSecret() : undefined;
        if (refresh) state.tokens.set(`refresh:${refresh}`, { clientId: client.clientId, scope: ['openid', code.kind], consentId: code.consentId, expiresAt: state.now() + 90 * 86_400_000 });
        return void res.json({
          access_token: token,
          token_type: 'Bearer',
          expires_in: ACCESS_TOKEN_TTL_S,
          scope: `openid ${code.kind}`,
          id_token: await idToken(ctx, client.clientId, code.consentId, {}),
          ...(refresh ? { refresh_token: refresh } : {}),
        });
      }
      if (b.grant_type === 'refresh_token') {
        const stored = state.tokens.get(`refresh:${b.refresh_token ?? ''}`);
        if (!stored || stored.clientId !== client.clientId || stored.expiresAt < state.now()) throw new OAuthError(400, 'invalid_grant', 'Unknown refresh token');
        const token = state.newSecret();
        state.tokens.set(token, { ...stored, expiresAt: state.now() + ACCESS_TOKEN_TTL_S * 1000, ...bound });
        return void res.json({ access_token: token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_S });
      }
      throw new OAuthError(400, 'unsupported_grant_type', `grant_type ${String(b.grant_type)} is not supported`);
    } catch (err) {
      sendOAuthError(res, err);
    }
  });

  // ── Authorisation (FAPI hybrid flow, signed request object) ─────────────────────────────────
  router.get('/authorize', async (req, res) => {
    try {
      const ticket = await startAuthorisation(ctx, req.query as Record<string, unknown>);
      const pending = state.pending.get(ticket)!;
      res.status(200).type('html').setHeader('Cache-Control', 'no-store').send(authorisationPage({ ticket, pending, state }));
    } catch (err) {
      // Never redirect to a URI we could not verify: the error is shown here.
      const e = err instanceof OAuthError ? err : new OAuthError(400, 'invalid_request', (err as Error).message);
      res.status(e.status).type('html').send(`<!doctype html><title>Authorisation error</title><h1>${e.error}</h1><p>${escapeHtml(e.message)}</p>`);
    }
  });

  router.post('/authorize', form, async (req, res) => {
    const b = (req.body ?? {}) as Record<string, string | string[]>;
    const ticket = String(b.ticket ?? '');
    const pending = state.pending.get(ticket);
    if (!pending || pending.expiresAt < state.now()) return void res.status(400).type('html').send('<!doctype html><title>Expired</title><p>This authorisation request is unknown or expired.</p>');
    const back = (params: Record<string, string>) => {
      state.pending.delete(ticket);
      res.redirect(302, `${pending.redirectUri}#${new URLSearchParams({ ...params, state: pending.state }).toString()}`);
    };
    if (b.decision === 'deny') {
      rejectConsent(state, pending);
      return back({ error: 'access_denied', error_description: 'The PSU refused the authorisation' });
    }
    const psu = String(b.username ?? '');
    if (SANDBOX_UK_PSUS[psu] === undefined || SANDBOX_UK_PSUS[psu] !== b.password) {
      return void res.status(401).type('html').send(authorisationPage({ ticket, pending, state, error: 'Unknown user name or wrong password' }));
    }
    const owned = state.accountsOf(psu).map((a) => a.accountId);
    const chosen = (Array.isArray(b.account) ? b.account : b.account ? [b.account] : []).filter((a) => owned.includes(a));
    if (chosen.length === 0 || (pending.kind === 'payments' && chosen.length !== 1)) {
      return void res.status(400).type('html').send(authorisationPage({ ticket, pending, state, psu, error: pending.kind === 'payments' ? 'Choose the account to pay from' : 'Choose at least one account' }));
    }
    if (!authoriseConsent(state, pending, psu, chosen)) {
      return back({ error: 'access_denied', error_description: 'The consent can no longer be authorised' });
    }
    const code = state.newSecret();
    state.codes.set(code, { clientId: pending.clientId, consentId: pending.consentId, kind: pending.kind, redirectUri: pending.redirectUri, expiresAt: state.now() + CODE_TTL_MS, used: false });
    back({ code, id_token: await idToken(ctx, pending.clientId, pending.consentId, { nonce: pending.nonce, c_hash: halfHash(code), s_hash: halfHash(pending.state) }) });
  });

  return router;
}

export async function issueSoftwareStatement(
  state: UkSandboxState,
  s: { softwareId: string; orgId: string; jwks: { keys: JWK[] }; redirectUris: string[]; roles: string[]; expiresInS?: number },
): Promise<string> {
  return new SignJWT({
    software_id: s.softwareId,
    software_client_id: s.softwareId,
    software_client_name: `Sandbox TPP ${s.softwareId}`,
    software_roles: s.roles,
    software_jwks: s.jwks,
    software_redirect_uris: s.redirectUris,
    org_id: s.orgId,
    org_name: `Sandbox organisation ${s.orgId}`,
    org_status: 'Active',
    software_mode: 'Test',
  })
    .setProtectedHeader({ alg: 'PS256', kid: state.directoryKey.kid, typ: 'JWT' })
    .setIssuer(DIRECTORY_ISSUER)
    .setIssuedAt(Math.floor(state.now() / 1000))
    .setJti(state.newSecret())
    .setExpirationTime(Math.floor(state.now() / 1000) + (s.expiresInS ?? 365 * 86_400))
    .sign(state.directoryKey.privateKey);
}

/** The claims of a registration answer: what was registered (DCR 3.3 `OBClientRegistration1`) and the client id. */
const REGISTERED_CLAIMS = [
  'iss', 'iat', 'exp', 'aud', 'jti', 'software_statement', 'software_id', 'redirect_uris', 'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg', 'grant_types', 'response_types', 'scope', 'application_type', 'id_token_signed_response_alg',
  'request_object_signing_alg', 'tls_client_auth_subject_dn',
] as const;

function registrationAnswer(client: RegisteredClient): Record<string, unknown> {
  const registered = Object.fromEntries(REGISTERED_CLAIMS.filter((k) => client.metadata[k] !== undefined).map((k) => [k, client.metadata[k]]));
  return { ...registered, client_id: client.clientId, client_id_issued_at: client.issuedAt, redirect_uris: client.redirectUris, token_endpoint_auth_method: client.authMethod };
}

/**
 * A registration request is accepted only if: the software statement is signed by the directory
 * and current; the request is signed (PS256) by a key the statement lists, issued by the
 * statement's software id, addressed to this bank's org id, unexpired and not replayed; its
 * redirect URIs are among the statement's; it asks for what this bank offers.
 */
async function verifyRegistrationRequest(
  ctx: AuthServerContext,
  jwt: string,
  req: Request,
): Promise<{ claims: Record<string, unknown>; ssa: Record<string, any>; auth: Pick<RegisteredClient, 'authMethod' | 'subjectDn'> }> {
  const { state } = ctx;
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(jwt);
  } catch {
    throw new OAuthError(400, 'invalid_client_metadata', 'The registration request is not a JWT');
  }
  if (typeof claims.software_statement !== 'string') throw new OAuthError(400, 'invalid_software_statement', 'software_statement is required');
  let ssa: Record<string, any>;
  try {
    ({ payload: ssa } = await jwtVerify(claims.software_statement, createLocalJWKSet({ keys: [state.directoryKey.publicJwk] }), {
      issuer: DIRECTORY_ISSUER,
      algorithms: ['PS256'],
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(state.now()),
    }));
  } catch (err) {
    throw new OAuthError(400, 'invalid_software_statement', `The software statement is not one the directory issued: ${(err as Error).message}`);
  }
  if (typeof ssa.software_id !== 'string' || typeof ssa.org_id !== 'string' || !Array.isArray(ssa.software_jwks?.keys)) {
    throw new OAuthError(400, 'invalid_software_statement', 'The software statement lacks software_id, org_id or software_jwks');
  }
  try {
    await jwtVerify(jwt, createLocalJWKSet(ssa.software_jwks), {
      issuer: ssa.software_id,
      audience: ctx.orgId,
      algorithms: ['PS256'],
      requiredClaims: ['exp', 'iat', 'jti'],
      currentDate: new Date(state.now()),
      maxTokenAge: '1h',
    });
  } catch (err) {
    throw new OAuthError(400, 'invalid_client_metadata', `The registration request does not verify with the software statement's keys, or is expired: ${(err as Error).message}`);
  }
  if (!state.useJti(claims.jti, Number(claims.exp))) throw new OAuthError(400, 'invalid_client_metadata', 'The registration request was already used (jti)');
  const redirectUris = claims.redirect_uris;
  if (!Array.isArray(redirectUris) || redirectUris.length === 0 || !redirectUris.every((u) => typeof u === 'string' && (ssa.software_redirect_uris as string[]).includes(u))) {
    throw new OAuthError(400, 'invalid_redirect_uri', 'redirect_uris must be among the software statement\'s software_redirect_uris');
  }
  let auth: Pick<RegisteredClient, 'authMethod' | 'subjectDn'> = { authMethod: 'private_key_jwt' };
  if (claims.token_endpoint_auth_method === 'tls_client_auth') {
    // RFC 8705 §2.1: the subject DN the client will authenticate with, proven here by presenting it.
    if (!ctx.mtls) throw new OAuthError(400, 'invalid_client_metadata', 'tls_client_auth needs mTLS, which this bank is not serving');
    const presented = presentedCertificate(req);
    if (!presented) throw new OAuthError(400, 'invalid_client_metadata', 'tls_client_auth: present the client certificate (from a trusted CA) over mTLS');
    if (claims.tls_client_auth_subject_dn !== presented.subjectDn) {
      throw new OAuthError(400, 'invalid_client_metadata', 'tls_client_auth_subject_dn must be the subject DN of the presented client certificate');
    }
    auth = { authMethod: 'tls_client_auth', subjectDn: presented.subjectDn };
  } else if (claims.token_endpoint_auth_method !== 'private_key_jwt') {
    throw new OAuthError(400, 'invalid_client_metadata', `token_endpoint_auth_method must be private_key_jwt${ctx.mtls ? ' or tls_client_auth' : ' (tls_client_auth needs mTLS, which this bank is not serving)'}`);
  }
  for (const [name, expected] of [['token_endpoint_auth_signing_alg', 'PS256'], ['id_token_signed_response_alg', 'PS256'], ['request_object_signing_alg', 'PS256']] as const) {
    if (claims[name] !== undefined && claims[name] !== expected) throw new OAuthError(400, 'invalid_client_metadata', `${name} must be ${expected}`);
  }
  const responseTypes = claims.response_types;
  if (responseTypes !== undefined && !(Array.isArray(responseTypes) && responseTypes.includes('code id_token'))) {
    throw new OAuthError(400, 'invalid_client_metadata', 'response_types must include "code id_token"');
  }
  return { claims, ssa, auth };
}

async function register(ctx: AuthServerContext, jwt: string, req: Request): Promise<RegisteredClient> {
  const { state } = ctx;
  const { claims, ssa, auth } = await verifyRegistrationRequest(ctx, jwt, req);
  const client: RegisteredClient = {
    // DCR 3.3: client_id is at most 36 characters (a UUID here).
    clientId: randomUUID(),
    softwareId: ssa.software_id,
    orgId: ssa.org_id,
    jwks: ssa.software_jwks,
    redirectUris: claims.redirect_uris as string[],
    roles: Array.isArray(ssa.software_roles) ? ssa.software_roles : [],
    issuedAt: Math.floor(state.now() / 1000),
    metadata: claims,
    ...auth,
  };
  state.clients.set(client.clientId, client);
  return client;
}

/**
 * `PUT /register/{ClientId}`: a new registration request, checked like the first (a current
 * software statement, signed by a key that statement lists, fresh jti), for the same software and
 * organisation. New keys come as a new statement (the directory lists them) signed with the new
 * key; from then on only the new statement's keys authenticate the client. `client_id`, when
 * given, must name this client.
 */
async function update(ctx: AuthServerContext, client: RegisteredClient, jwt: string, req: Request): Promise<void> {
  const { claims, ssa, auth } = await verifyRegistrationRequest(ctx, jwt, req);
  if (ssa.software_id !== client.softwareId || ssa.org_id !== client.orgId) {
    throw new OAuthError(400, 'invalid_software_statement', 'The software statement is for another software or organisation than this client');
  }
  if (claims.client_id !== undefined && claims.client_id !== client.clientId) throw new OAuthError(400, 'invalid_client_metadata', 'client_id does not name this client');
  client.jwks = ssa.software_jwks;
  client.redirectUris = claims.redirect_uris as string[];
  client.roles = Array.isArray(ssa.software_roles) ? ssa.software_roles : [];
  client.metadata = claims;
  client.authMethod = auth.authMethod;
  client.subjectDn = auth.subjectDn;
}

/** private_key_jwt (RFC 7523): a PS256 assertion by the client's key, for this token endpoint, used once. */
async function authenticateClient(ctx: AuthServerContext, b: Record<string, string>, req: Request): Promise<RegisteredClient> {
  const { state } = ctx;
  const named = b.client_id !== undefined ? state.clients.get(b.client_id) : undefined;
  if (named?.authMethod === 'tls_client_auth') {
    // RFC 8705 §2.1: the certificate is the credential; an assertion is not this client's method.
    if (b.client_assertion !== undefined) throw new OAuthError(401, 'invalid_client', 'This client authenticates with tls_client_auth, not a client assertion');
    const presented = presentedCertificate(req);
    if (!presented || presented.subjectDn !== named.subjectDn) {
      throw new OAuthError(401, 'invalid_client', 'tls_client_auth: no trusted client certificate with the registered subject DN was presented');
    }
    return named;
  }
  if (b.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || typeof b.client_assertion !== 'string') {
    throw new OAuthError(401, 'invalid_client', 'private_key_jwt client authentication is required');
  }
  let clientId: unknown;
  try {
    clientId = decodeJwt(b.client_assertion).iss;
  } catch {
    throw new OAuthError(401, 'invalid_client', 'client_assertion is not a JWT');
  }
  const client = typeof clientId === 'string' ? state.clients.get(clientId) : undefined;
  if (!client || (b.client_id !== undefined && b.client_id !== client.clientId)) throw new OAuthError(401, 'invalid_client', 'Unknown client');
  if (client.authMethod !== 'private_key_jwt') throw new OAuthError(401, 'invalid_client', 'This client authenticates with tls_client_auth');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(b.client_assertion, createLocalJWKSet(client.jwks), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: [`${ctx.issuer()}/token`, ctx.issuer()],
      algorithms: ['PS256'],
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(state.now()),
    }));
  } catch (err) {
    throw new OAuthError(401, 'invalid_client', `client_assertion refused: ${(err as Error).message}`);
  }
  if (!state.useJti(payload.jti, Number(payload.exp))) throw new OAuthError(401, 'invalid_client', 'client_assertion was already used (jti)');
  return client;
}

async function startAuthorisation(ctx: AuthServerContext, q: Record<string, unknown>): Promise<string> {
  const { state } = ctx;
  const client = typeof q.client_id === 'string' ? state.clients.get(q.client_id) : undefined;
  if (!client) throw new OAuthError(400, 'invalid_client', 'Unknown client_id');
  if (typeof q.request !== 'string') throw new OAuthError(400, 'invalid_request', 'A signed request object (request) is required');
  let ro: Record<string, any>;
  try {
    ({ payload: ro } = await jwtVerify(q.request, createLocalJWKSet(client.jwks), {
      issuer: client.clientId,
      audience: ctx.issuer(),
      algorithms: ['PS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(state.now()),
    }));
  } catch (err) {
    throw new OAuthError(400, 'invalid_request_object', `The request object does not verify: ${(err as Error).message}`);
  }
  // FAPI: the request object decides; query parameters, where repeated, must agree with it.
  for (const name of ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce']) {
    if (typeof ro[name] !== 'string' || !ro[name]) throw new OAuthError(400, 'invalid_request_object', `${name} is required in the request object`);
    if (q[name] !== undefined && q[name] !== ro[name]) throw new OAuthError(400, 'invalid_request', `${name} differs between the query and the request object`);
  }
  if (ro.response_type !== 'code id_token') throw new OAuthError(400, 'unsupported_response_type', 'response_type must be "code id_token"');
  if (!client.redirectUris.includes(ro.redirect_uri)) throw new OAuthError(400, 'invalid_request', 'redirect_uri is not registered');
  const scopes = String(ro.scope).split(' ');
  const kind = scopes.includes('payments') ? 'payments' : scopes.includes('accounts') ? 'accounts' : undefined;
  if (!scopes.includes('openid') || !kind) throw new OAuthError(400, 'invalid_scope', 'scope must be "openid payments" or "openid accounts"');
  const intent = ro.claims?.id_token?.openbanking_intent_id?.value ?? ro.claims?.userinfo?.openbanking_intent_id?.value;
  if (typeof intent !== 'string') throw new OAuthError(400, 'invalid_request_object', 'claims.id_token.openbanking_intent_id.value is required');
  const consent = kind === 'payments' ? state.paymentConsents.get(intent) : state.accountConsents.get(intent);
  if (!consent || consent.clientId !== client.clientId) throw new OAuthError(400, 'invalid_request_object', 'openbanking_intent_id names no consent of this client');
  if (consent.status !== 'AwaitingAuthorisation') throw new OAuthError(400, 'invalid_request_object', `The consent is ${consent.status}`);
  const ticket = state.newSecret();
  state.pending.set(ticket, { clientId: client.clientId, consentId: intent, kind, redirectUri: ro.redirect_uri, state: ro.state, nonce: ro.nonce, expiresAt: state.now() + PENDING_TTL_MS });
  return ticket;
}

function authoriseConsent(state: UkSandboxState, p: { kind: 'payments' | 'accounts'; consentId: string }, psu: string, accounts: string[]): boolean {
  const consent = p.kind === 'payments' ? state.paymentConsents.get(p.consentId) : state.accountConsents.get(p.consentId);
  if (!consent || consent.status !== 'AwaitingAuthorisation') return false;
  consent.status = 'Authorised';
  consent.updated = state.isoNow();
  consent.psu = psu;
  if ('debtorAccountId' in consent || p.kind === 'payments') (consent as { debtorAccountId?: string }).debtorAccountId = accounts[0];
  else (consent as { accountIds: string[] }).accountIds = accounts;
  return true;
}

function rejectConsent(state: UkSandboxState, p: { kind: 'payments' | 'accounts'; consentId: string }): void {
  const consent = p.kind === 'payments' ? state.paymentConsents.get(p.consentId) : state.accountConsents.get(p.consentId);
  if (consent && consent.status === 'AwaitingAuthorisation') {
    consent.status = 'Rejected';
    consent.updated = state.isoNow();
  }
}

async function idToken(ctx: AuthServerContext, clientId: string, consentId: string, extra: Record<string, string>): Promise<string> {
  const now = Math.floor(ctx.state.now() / 1000);
  return new SignJWT({ openbanking_intent_id: consentId, acr: 'urn:openbanking:psd2:sca', auth_time: now, ...extra })
    .setProtectedHeader({ alg: 'PS256', kid: ctx.state.aspspKey.kid, typ: 'JWT' })
    .setIssuer(ctx.issuer())
    .setSubject(consentId)
    .setAudience(clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(ctx.state.aspspKey.privateKey);
}

function sendOAuthError(res: Response, err: unknown): void {
  if (err instanceof OAuthError && err.error === 'invalid_token') res.setHeader('WWW-Authenticate', `Bearer error="invalid_token", error_description="${err.message.replace(/"/g, "'")}"`);
  if (err instanceof OAuthError) return void res.status(err.status).json({ error: err.error, error_description: err.message });
  res.status(500).json({ error: 'server_error', error_description: 'Unexpected error' });
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export type { Request };
