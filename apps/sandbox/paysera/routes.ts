/**
 * HTTP face of the Paysera-profile sandbox bank:
 * - `/psd2/v1/...`: Berlin Group 1.3.12 PIS (single payments) and AIS, mutual TLS only, the TPP
 *   identified by its QWAC and allowed only what its PSD2 roles name; SCA approach OAuth only.
 * - `/.well-known/oauth-authorization-server` (RFC 8414), `/oauth/authorize` (the PSU's page),
 *   `/oauth/token` (client authenticated by its certificate).
 * Consents, accounts and transactions reuse the Berlin Group sandbox's AIS bank (its data and
 * rules); here they are reached through OAuth, with a bearer token for every account read.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { isPaymentProduct } from '../../../libs/domain/payment';
import { AisSandboxBank, MAX_CONSENT_DAYS } from '../berlin-group/ais/consents';
import { DEFAULT_PSU_ID } from '../berlin-group/ais/accounts';
import { buildAisRouters } from '../berlin-group/ais/routes';
import { isAisError, toAisErrorResponse } from '../berlin-group/ais/errors';
import { checkPaymentInitiationBody, isUuid, type FieldProblem } from '../berlin-group/validation';
import { SandboxAuthorizationServer, type OAuthError, type OAuthResource } from './oauth-server';
import { renderConsentAuthorisation, renderMessage, renderPaymentAuthorisation } from './pages';
import { PayseraPayments, type PayseraPaymentBody } from './payments';
import { missingRole, tppOf, type CertificateRefusal } from './tpp-certificate';

export const PAYSERA_API_MOUNT = '/psd2';

export interface PayseraSandboxOptions {
  /** Bank clock (epoch ms); default Date.now. Tokens and codes expire on it. */
  now?: () => number;
  accessTokenTtlSeconds?: number;
  /** Status reads after authorisation before a payment is ACSC (default 1). */
  settleAfterReads?: number;
  /** Where browsers and TPPs reach the bank, when not the listening URL. */
  publicUrl?: string;
}

/** A TPP call the bank turned away for its certificate (kept for tests: how often, with which id). */
export interface CertificateRefusalRecord {
  code: CertificateRefusal['code'];
  method: string;
  path: string;
  requestId?: string;
}

export interface PayseraSandboxApp {
  app: express.Express;
  refusals: CertificateRefusalRecord[];
  payments: PayseraPayments;
  ais: AisSandboxBank;
  oauth: SandboxAuthorizationServer;
  setDefaultPublicUrl(url: string): void;
}

type Tpp = Extract<ReturnType<typeof tppOf>, { tpp: unknown }>['tpp'];

export function buildPayseraSandbox(options: PayseraSandboxOptions = {}): PayseraSandboxApp {
  const now = options.now ?? Date.now;
  const payments = new PayseraPayments(options.settleAfterReads ?? 1);
  const ais = new AisSandboxBank({ now, deduplicateRequestIds: false });
  const oauth = new SandboxAuthorizationServer(now, {
    accessSeconds: options.accessTokenTtlSeconds ?? 300,
    // As long as a consent may live (BG: 180 days); each refresh rotates it.
    refreshSeconds: MAX_CONSENT_DAYS * 24 * 3600,
  });
  /** consentId → the TPP that created it; TPP names seen over mTLS, for the PSU's page. */
  const consentOwners = new Map<string, string>();
  const clientNames = new Map<string, string>();
  const refusals: CertificateRefusalRecord[] = [];
  const refuse = (req: Request, res: Response, refusal: CertificateRefusal) => {
    if (refusals.length >= 1000) refusals.shift();
    refusals.push({ code: refusal.code, method: req.method, path: req.originalUrl, ...(req.get('X-Request-ID') ? { requestId: req.get('X-Request-ID') } : {}) });
    bgError(res, 401, refusal.code, refusal.text);
  };
  let defaultPublicUrl: string | undefined;
  const origin = (req: Request) => (options.publicUrl ?? defaultPublicUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/+$/, '');
  const metadataUrl = (req: Request) => `${origin(req)}/.well-known/oauth-authorization-server`;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/health', (_req, res) => void res.json({ status: 'up' }));

  // ── OAuth authorisation server ─────────────────────────────────────────
  app.get('/.well-known/oauth-authorization-server', (req, res) => {
    const base = origin(req);
    res.json({
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['tls_client_auth'],
      // RFC 8705 §3.3: access tokens are bound to the client certificate they were issued to.
      tls_client_certificate_bound_access_tokens: true,
      scopes_supported: ['PIS', 'AIS'],
    });
  });

  const authorizeQuery = (source: Record<string, unknown>) => {
    const pick = (k: string) => (typeof source[k] === 'string' ? (source[k] as string) : undefined);
    return {
      responseType: pick('response_type'),
      clientId: pick('client_id'),
      redirectUri: pick('redirect_uri'),
      scope: pick('scope'),
      state: pick('state'),
      codeChallenge: pick('code_challenge'),
      codeChallengeMethod: pick('code_challenge_method'),
    };
  };
  const echoFields = (source: Record<string, unknown>) =>
    Object.fromEntries(
      ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method']
        .filter((k) => typeof source[k] === 'string')
        .map((k) => [k, source[k] as string]),
    );
  const redirectWith = (res: Response, redirectUri: string, params: Record<string, string>) => {
    const url = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    res.redirect(303, url.toString());
  };

  /** The pending resource an authorization request is about, owned by its client. */
  const pendingResource = (resource: OAuthResource, clientId: string): string | undefined => {
    if (resource.kind === 'payment') {
      const payment = payments.get(resource.id);
      if (!payment || payment.tppId !== clientId) return 'unknown payment';
      if (payment.transactionStatus !== 'RCVD' || payment.psuDecision) return 'this payment is no longer awaiting authorisation';
      return undefined;
    }
    const consent = ais.getConsentView(resource.id);
    if (!consent || consentOwners.get(resource.id) !== clientId) return 'unknown consent';
    if (consent.consentStatus !== 'received') return 'this consent is no longer awaiting authorisation';
    return undefined;
  };

  const authorize = (req: Request, res: Response, source: Record<string, unknown>, decide: boolean) => {
    res.set('Cache-Control', 'no-store');
    const checked = oauth.checkAuthorizationRequest(authorizeQuery(source));
    if ('error' in checked) {
      if (!checked.redirectable) return void res.status(400).type('html').send(renderMessage('Invalid request', checked.error_description));
      const params: Record<string, string> = { error: checked.error, error_description: checked.error_description };
      if (typeof source.state === 'string') params.state = source.state;
      return redirectWith(res, String(source.redirect_uri), params);
    }
    const blocked = pendingResource(checked.resource, checked.clientId);
    if (blocked) return redirectWith(res, checked.redirectUri, { error: 'invalid_request', error_description: blocked, state: checked.state });
    const clientName = clientNames.get(checked.clientId) ?? checked.clientId;
    const fields = echoFields(source);
    const { resource } = checked;

    if (!decide) {
      const html =
        resource.kind === 'payment'
          ? renderPaymentAuthorisation(payments.get(resource.id)!, ais.accountsOf(DEFAULT_PSU_ID), clientName, fields)
          : renderConsentAuthorisation(ais.getConsentView(resource.id)!, clientName, fields);
      return void res.type('html').send(html);
    }
    const decision = source.decision === 'approve' ? 'approve' : source.decision === 'deny' ? 'deny' : undefined;
    if (!decision) return void res.status(400).type('html').send(renderMessage('Invalid request', 'decision must be approve or deny'));
    if (decision === 'deny') {
      if (resource.kind === 'payment') payments.decide(resource.id, 'deny');
      else ais.decideConsent(ais.getConsentView(resource.id)!.authorisationIds[0]!, 'deny');
      return redirectWith(res, checked.redirectUri, { error: 'access_denied', error_description: 'The PSU denied the request', state: checked.state });
    }
    if (resource.kind === 'payment') {
      const payment = payments.get(resource.id)!;
      let debtorIban: string | undefined;
      if (!payment.debtorIban) {
        const account = ais.accountsOf(DEFAULT_PSU_ID).find((a) => a.resourceId === source.debtorAccount && a.currency === payment.body.instructedAmount.currency);
        if (!account) return void res.status(400).type('html').send(renderMessage('Choose an account', 'Pick the account to pay from'));
        debtorIban = account.iban;
      }
      payments.decide(resource.id, 'approve', debtorIban);
    }
    // A consent's approval takes effect at the code exchange (below), like a payment's.
    return redirectWith(res, checked.redirectUri, { code: oauth.issueCode(checked), state: checked.state });
  };
  app.get('/oauth/authorize', (req, res) => authorize(req, res, req.query as Record<string, unknown>, false));
  app.post('/oauth/authorize', express.urlencoded({ extended: false, limit: '20kb' }), (req, res) => authorize(req, res, req.body ?? {}, true));

  app.post('/oauth/token', express.urlencoded({ extended: false, limit: '20kb' }), (req, res) => {
    res.set('Cache-Control', 'no-store');
    const who = tppOf(req);
    const oauthError = (status: number, error: OAuthError) => void res.status(status).json(error);
    if ('code' in who) return oauthError(401, { error: 'invalid_client', error_description: who.text });
    const form = Object.fromEntries(Object.entries((req.body ?? {}) as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
    const { tpp } = who;
    if (form.grant_type === 'authorization_code') {
      const result = oauth.exchangeCode(form, tpp, (resource) => {
        const role = resource.kind === 'payment' ? 'PSP_PI' : 'PSP_AI';
        if (!tpp.roles.includes(role)) return { error: 'unauthorized_client', error_description: `the client certificate lacks ${role}` };
        if (resource.kind === 'payment') {
          return payments.authorise(resource.id) === 'ok' ? undefined : { error: 'invalid_grant', error_description: 'the payment is not approved' };
        }
        const view = ais.getConsentView(resource.id);
        const outcome = view ? ais.decideConsent(view.authorisationIds[0]!, 'approve') : undefined;
        return outcome?.kind === 'decided' ? undefined : { error: 'invalid_grant', error_description: 'the consent is not awaiting authorisation' };
      });
      if ('error' in result) return oauthError(400, result);
      return void res.json(result);
    }
    if (form.grant_type === 'refresh_token') {
      const result = oauth.refresh(form, tpp);
      if ('error' in result) return oauthError(400, result);
      return void res.json(result);
    }
    oauthError(400, { error: 'unsupported_grant_type', error_description: 'grant_type must be authorization_code or refresh_token' });
  });

  // ── /psd2/v1: Berlin Group, mTLS ───────────────────────────────────────
  const api = express.Router();
  api.use((req, res, next) => {
    res.locals.sandboxBaseUrl = `${origin(req)}${PAYSERA_API_MOUNT}`;
    const requestId = req.get('X-Request-ID');
    if (requestId) res.set('X-Request-ID', requestId);
    const who = tppOf(req);
    if ('code' in who) return refuse(req, res, who);
    clientNames.set(who.tpp.clientId, who.tpp.name);
    res.locals.tpp = who.tpp;
    if (!isUuid(requestId)) return bgError(res, 400, 'FORMAT_ERROR', 'Header X-Request-ID is missing or not a UUID');
    next();
  });
  api.use(express.json({ limit: '100kb' }));
  const needs = (role: 'PSP_PI' | 'PSP_AI') => (req: Request, res: Response, next: NextFunction) => {
    const refusal = missingRole(res.locals.tpp as Tpp, role);
    return refusal ? refuse(req, res, refusal) : next();
  };

  api.post('/v1/payments/:product', needs('PSP_PI'), (req, res) => {
    const product = String(req.params.product);
    if (!isPaymentProduct(product)) return bgError(res, 404, 'PRODUCT_UNKNOWN', `Payment product ${product} is not offered`);
    // The debtor account is optional here: the PSU picks it during SCA.
    const problems = checkPaymentInitiationBody(req.body).filter((p: FieldProblem) => !(p.path === 'debtorAccount' && /missing/.test(p.text)));
    if (problems.length) return bgErrors(res, 400, 'FORMAT_ERROR', problems);
    const tpp = res.locals.tpp as Tpp;
    const payment = payments.create({ product, requestId: req.get('X-Request-ID')!, tppId: tpp.clientId, body: req.body as PayseraPaymentBody, now: now() });
    const self = `${res.locals.sandboxBaseUrl}/v1/payments/${product}/${payment.paymentId}`;
    res
      .status(201)
      .set({ Location: self, 'ASPSP-SCA-Approach': 'OAUTH' })
      .json({
        transactionStatus: payment.transactionStatus,
        paymentId: payment.paymentId,
        authorisationId: payment.authorisationId,
        _links: {
          scaOAuth: { href: metadataUrl(req) },
          self: { href: self },
          status: { href: `${self}/status` },
          scaStatus: { href: `${self}/authorisations/${payment.authorisationId}` },
        },
      });
  });
  const ownPayment = (req: Request, res: Response) => {
    const payment = payments.get(String(req.params.paymentId));
    if (!payment || payment.product !== req.params.product || payment.tppId !== (res.locals.tpp as Tpp).clientId) {
      bgError(res, 403, 'RESOURCE_UNKNOWN', 'No such payment');
      return undefined;
    }
    return payment;
  };
  api.get('/v1/payments/:product/:paymentId', needs('PSP_PI'), (req, res) => {
    const payment = ownPayment(req, res);
    if (!payment) return;
    res.json({ ...payment.body, ...(payment.debtorIban ? { debtorAccount: { iban: payment.debtorIban } } : {}), transactionStatus: payment.transactionStatus });
  });
  api.get('/v1/payments/:product/:paymentId/status', needs('PSP_PI'), (req, res) => {
    const payment = ownPayment(req, res);
    if (!payment) return;
    res.json({ transactionStatus: payments.readStatus(payment.paymentId) });
  });
  api.get('/v1/payments/:product/:paymentId/authorisations', needs('PSP_PI'), (req, res) => {
    const payment = ownPayment(req, res);
    if (payment) res.json({ authorisationIds: [payment.authorisationId] });
  });
  api.get('/v1/payments/:product/:paymentId/authorisations/:authorisationId', needs('PSP_PI'), (req, res) => {
    const payment = ownPayment(req, res);
    if (!payment) return;
    if (payment.authorisationId !== req.params.authorisationId) return bgError(res, 403, 'RESOURCE_UNKNOWN', 'No such authorisation');
    res.json({ scaStatus: payment.scaStatus });
  });
  api.post('/v1/payments/:product/:paymentId/authorisations', needs('PSP_PI'), (req, res) => {
    // One OAuth authorisation per payment, created with it: its scaOAuth link is the way.
    if (ownPayment(req, res)) bgError(res, 409, 'STATUS_INVALID', 'This bank authorises payments through the OAuth link given at initiation');
  });
  api.delete('/v1/payments/:product/:paymentId', needs('PSP_PI'), (req, res) => {
    const payment = ownPayment(req, res);
    if (!payment) return;
    const outcome = payments.cancel(payment.paymentId);
    if (outcome !== 'cancelled') return bgError(res, 405, 'CANCELLATION_INVALID', 'The payment can no longer be cancelled');
    res.status(204).end();
  });

  // AIS: consent creation here (OAuth link), the rest through the Berlin Group sandbox's AIS routes.
  const aisReply = (res: Response, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.set(headers);
    if (body === undefined) res.status(status).end();
    else res.status(status).json(body);
  };
  const aisRoutes = buildAisRouters(ais, aisReply).v1;
  api.post('/v1/consents', needs('PSP_AI'), (req, res) => {
    const outcome = ais.createConsent({
      requestId: req.get('X-Request-ID')!,
      body: req.body,
      // The PSU identifies on the bank's own page: PSU-ID headers mean nothing to this bank.
      tppRedirectPreferred: true,
      baseUrl: res.locals.sandboxBaseUrl,
    });
    if (isAisError(outcome)) {
      const { status, body } = toAisErrorResponse(outcome);
      return void res.status(status).json(body);
    }
    const body = outcome.response.body as { consentId: string; _links: Record<string, unknown> };
    consentOwners.set(body.consentId, (res.locals.tpp as Tpp).clientId);
    const { scaRedirect: _internal, ...links } = body._links;
    res
      .status(201)
      .set({ Location: outcome.response.location, 'ASPSP-SCA-Approach': 'OAUTH' })
      .json({ ...body, _links: { scaOAuth: { href: metadataUrl(req) }, ...links } });
  });
  api.use('/v1/consents/:consentId', needs('PSP_AI'), (req, res, next) => {
    if (consentOwners.get(String(req.params.consentId)) !== (res.locals.tpp as Tpp).clientId) return bgError(res, 403, 'CONSENT_UNKNOWN', 'No such consent');
    if (req.method === 'POST' || req.method === 'PUT') return bgError(res, 409, 'STATUS_INVALID', 'This bank authorises consents through the OAuth link given at creation');
    if (req.method === 'DELETE') oauth.revokeResource({ kind: 'consent', id: String(req.params.consentId) });
    next();
  });
  api.use('/v1/accounts', needs('PSP_AI'), (req, res, next) => {
    const consentId = req.get('Consent-ID');
    const bearer = /^Bearer (\S+)$/.exec(req.get('Authorization') ?? '')?.[1];
    const checked = oauth.checkAccessToken(bearer, res.locals.tpp as Tpp);
    if ('problem' in checked) {
      res.set('WWW-Authenticate', `Bearer error="${checked.problem === 'missing' ? 'invalid_request' : 'invalid_token'}"`);
      const code = checked.problem === 'expired' ? 'TOKEN_EXPIRED' : checked.problem === 'missing' ? 'TOKEN_UNKNOWN' : 'TOKEN_INVALID';
      const text =
        checked.problem === 'missing'
          ? 'An OAuth access token (Authorization: Bearer) is required'
          : checked.problem === 'not_bound'
            ? 'The access token is bound to another client certificate (RFC 8705 cnf x5t#S256)'
            : `The access token is ${checked.problem}`;
      return bgError(res, 401, code, text);
    }
    if (checked.resource.kind !== 'consent' || checked.resource.id !== consentId) {
      return bgError(res, 401, 'TOKEN_INVALID', 'The access token was not issued for this Consent-ID');
    }
    next();
  });
  api.use('/v1', aisRoutes);
  api.use((req, res) => bgError(res, 404, 'RESOURCE_UNKNOWN', `No route ${req.method} ${req.path}`));
  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: string } | undefined)?.type;
    if (type === 'entity.parse.failed') return bgError(res, 400, 'FORMAT_ERROR', 'The request body is not valid JSON');
    if (type === 'entity.too.large') return bgError(res, 413, 'FORMAT_ERROR', 'The request body is too large');
    bgError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal error');
  });
  app.use(PAYSERA_API_MOUNT, api);
  app.use((req, res) => bgError(res, 404, 'RESOURCE_UNKNOWN', `No route ${req.method} ${req.path}`));

  return {
    app,
    refusals,
    payments,
    ais,
    oauth,
    setDefaultPublicUrl: (url) => {
      defaultPublicUrl = url;
    },
  };
}

function bgError(res: Response, status: number, code: string, text: string): void {
  bgErrors(res, status, code, [{ text }]);
}

function bgErrors(res: Response, status: number, code: string, problems: FieldProblem[]): void {
  res.status(status).json({ tppMessages: problems.map((p) => ({ category: 'ERROR', code, ...(p.path ? { path: p.path } : {}), text: p.text })) });
}
