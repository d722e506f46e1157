/**
 * HTTP face of the Open Payments sandbox ASE, on one server:
 * - wallet address server: `GET /{name}`, `GET /{name}/jwks.json`
 * - GNAP authorization server under `/auth/{tenantId}`, shaped like a current multi-tenant Rafiki
 *   (the wallets' `authServer`): `POST /auth/{tenantId}` (grant), `POST|DELETE .../continue/{id}`,
 *   `POST|DELETE .../token/{id}`, and the consent page `GET|POST .../interact/{id}/{nonce}`
 * - resource server at the root, paths exactly as in resource-server.yaml: `/incoming-payments`,
 *   `/quotes`, `/outgoing-payments`, `/outgoing-payment-grant`
 * - `_sandbox` controls (wallets, clients, faults, clock, settlement).
 * Every protected request (AS and RS) must carry an RFC 9421 signature by a key of the client.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { checkFaults } from '../berlin-group/faults';
import type { OpenPaymentsSandboxAse } from './ase';
import { renderConsentMessage, renderConsentPage } from './consent-page';
import { checkFees } from './config';
import { isOpError, opError, OpenPaymentsErrorCode as E, toErrorResponse, type OpenPaymentsError } from './errors';
import { parseGrantRequest, type AccessItem, type AccessType, type Grant } from './grants';
import { verifyRequestSignature, type Ed25519Jwk } from '../../../libs/security/http-signatures';
import type { PageQuery } from './payments';
import { isReservedName, WALLET_NAME } from './wallets';

const BODY_LIMIT = '100kb';

type Handler = (req: Request, res: Response) => Promise<void>;

export function buildOpenPaymentsApp(ase: OpenPaymentsSandboxAse, logger?: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const wrap = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);
  const raw = express.raw({ type: () => true, limit: BODY_LIMIT });

  app.get('/health', (_req, res) => void res.json({ status: 'up' }));
  app.use('/_sandbox', express.json(), controlRoutes(ase));

  const api = express.Router();
  api.use(faultGate(ase));
  api.use(raw);

  // ── Authorization server ──
  const auth = express.Router({ mergeParams: true });
  auth.use(tenantGate(ase));
  auth.post('/', wrap((req, res) => grantRequest(ase, req, res)));
  auth.post('/continue/:id', wrap((req, res) => continueGrant(ase, req, res)));
  auth.delete('/continue/:id', wrap((req, res) => revokeGrant(ase, req, res)));
  auth.post('/token/:id', wrap((req, res) => rotateToken(ase, req, res)));
  auth.delete('/token/:id', wrap((req, res) => revokeToken(ase, req, res)));
  app.get('/auth/:tenantId/interact/:id/:nonce', tenantGate(ase), wrap((req, res) => consentPage(ase, req, res)));
  app.post('/auth/:tenantId/interact/:id/:nonce', tenantGate(ase), express.urlencoded({ extended: false, limit: '10kb' }), wrap((req, res) => consentDecision(ase, req, res)));
  api.use('/auth/:tenantId', auth);

  // ── Resource server ──
  api.post('/incoming-payments', wrap((req, res) => createIncomingPayment(ase, req, res)));
  api.get('/incoming-payments', wrap((req, res) => listPayments(ase, req, res, 'incoming-payment')));
  api.get('/incoming-payments/:id', wrap((req, res) => getIncomingPayment(ase, req, res)));
  api.post('/incoming-payments/:id/complete', wrap((req, res) => completeIncomingPayment(ase, req, res)));
  api.post('/quotes', wrap((req, res) => createQuote(ase, req, res)));
  api.get('/quotes/:id', wrap((req, res) => getQuote(ase, req, res)));
  api.post('/outgoing-payments', wrap((req, res) => createOutgoingPayment(ase, req, res)));
  api.get('/outgoing-payments', wrap((req, res) => listPayments(ase, req, res, 'outgoing-payment')));
  api.get('/outgoing-payments/:id', wrap((req, res) => getOutgoingPayment(ase, req, res)));
  api.get('/outgoing-payment-grant', wrap((req, res) => outgoingPaymentGrant(ase, req, res)));

  // ── Wallet address server ──
  api.get('/:name/jwks.json', wrap(async (req, res) => {
    const name = walletName(String(req.params.name));
    if (!name || !(await ase.wallets.get(name))) return sendError(res, opError(E.NotFound, 'unknown wallet address'));
    res.set('Access-Control-Allow-Origin', '*');
    res.json({ keys: await ase.jwksOf(name) });
  }));
  api.get('/:name', wrap(async (req, res) => {
    const name = walletName(String(req.params.name));
    const wallet = name ? await ase.wallets.get(name) : undefined;
    if (!wallet) return sendError(res, opError(E.NotFound, 'unknown wallet address'));
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', 'public, max-age=60');
    res.json({
      id: ase.walletUrl(wallet.name),
      publicName: wallet.publicName,
      assetCode: wallet.assetCode,
      assetScale: wallet.assetScale,
      authServer: ase.grants.authServerUrl,
      resourceServer: ase.url,
    });
  }));
  app.use(api);

  app.use((req, res) => sendError(res, opError(E.NotFound, `No route ${req.method} ${req.path}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status === 413) return sendError(res, opError(E.InvalidRequest, 'request body too large', 413));
    logger?.error({ err }, 'open payments sandbox: unexpected error');
    sendError(res, opError(E.Internal, 'internal error'));
  });
  return app;
}

/** Only this ASE's tenant exists under `/auth`; any other path segment is an unknown route. */
function tenantGate(ase: OpenPaymentsSandboxAse) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (String(req.params.tenantId).toLowerCase() === ase.grants.tenantId) return next();
    sendError(res, opError(E.NotFound, `No route ${req.method} ${req.originalUrl.split('?')[0]}`));
  };
}

function walletName(raw: string): string | undefined {
  return WALLET_NAME.test(raw) && !isReservedName(raw) ? raw : undefined;
}

function sendError(res: Response, error: OpenPaymentsError): void {
  const { status, body } = toErrorResponse(error);
  if (status === 401) res.set('WWW-Authenticate', 'GNAP');
  res.status(status).json(body);
}

function faultGate(ase: OpenPaymentsSandboxAse): express.RequestHandler {
  return async (_req, res, next) => {
    const latency = ase.faults.latencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const fault = ase.faults.decide();
    if (fault.kind === 'unavailable') return sendError(res, opError(E.ServiceUnavailable, 'The ASE is temporarily unavailable (sandbox fault injection)'));
    if (fault.kind === 'rateLimited') {
      res.set('Retry-After', String(fault.retryAfterSeconds));
      return sendError(res, opError(E.ServiceUnavailable, 'Too many requests (sandbox fault injection)', 429));
    }
    if (fault.dropResponse) loseResponse(res);
    next();
  };
}

/** The work is done, but the JSON answer never arrives: the client sees a 503 instead. */
function loseResponse(res: Response): void {
  const json = res.json.bind(res);
  res.json = () => {
    res.status(503);
    return json(toErrorResponse(opError(E.ServiceUnavailable, 'The response was lost (sandbox fault injection)')).body);
  };
}

// ── Body and signature ─────────────────────────────────────────────────────

function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function jsonBody(req: Request): Record<string, unknown> | OpenPaymentsError {
  const body = rawBody(req);
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return opError(E.InvalidRequest, 'the body must be a JSON object');
    return parsed as Record<string, unknown>;
  } catch {
    return opError(E.InvalidRequest, 'the body is not valid JSON');
  }
}

function targetUri(ase: OpenPaymentsSandboxAse, req: Request): string {
  return `${new URL(ase.url).origin}${req.originalUrl}`;
}

/** Verifies the RFC 9421 signature with the client's keys; sends 401 and returns false when it fails. */
function checkSignature(ase: OpenPaymentsSandboxAse, req: Request, res: Response, keys: Ed25519Jwk[] | undefined, code: E): boolean {
  if (!keys || keys.length === 0) {
    sendError(res, opError(code, 'the client has no keys to verify the signature with', 401));
    return false;
  }
  const result = verifyRequestSignature(
    { method: req.method, url: targetUri(ase, req), headers: req.headers },
    {
      keys,
      body: rawBody(req),
      nowSeconds: Math.floor(Date.now() / 1000),
      maxAgeSeconds: ase.options.signatureMaxAgeSeconds ?? 300,
      checkNonce: (keyId, nonce) => ase.checkNonce(keyId, nonce),
    },
  );
  if (!result.ok) {
    sendError(res, opError(code, `${result.failure}: ${result.detail}`, 401));
    return false;
  }
  return true;
}

function gnapToken(req: Request): string | undefined {
  const match = /^GNAP\s+(\S+)$/.exec(req.get('authorization') ?? '');
  return match?.[1];
}

// ── Authorization server ───────────────────────────────────────────────────

async function grantRequest(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const body = jsonBody(req);
  if (isOpError(body)) return sendError(res, body);
  const request = parseGrantRequest(body);
  if (isOpError(request)) return sendError(res, request);
  const keys = request.clientJwk ? [request.clientJwk] : await ase.wallets.clientKeys(request.clientWalletUrl!);
  if (!keys) return sendError(res, opError(E.InvalidClient, `could not resolve the keys of client ${request.client}`, 400));
  if (!checkSignature(ase, req, res, keys, E.InvalidClient)) return;
  const result = await ase.grants.request(request);
  if (isOpError(result)) return sendError(res, result);
  res.status(result.status).json(result.body);
}

/** Loads the grant named in the path and checks its continuation token and the client's signature. */
async function continuationGrant(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<Grant | undefined> {
  const grant = await ase.grants.byId(String(req.params.id));
  if (!grant) {
    sendError(res, opError(E.InvalidContinuation, 'unknown grant', 404));
    return undefined;
  }
  if (gnapToken(req) !== grant.continueToken) {
    sendError(res, opError(E.InvalidContinuation, 'the continuation access token is missing or wrong'));
    return undefined;
  }
  if (!checkSignature(ase, req, res, await ase.grants.clientKeys(grant), E.InvalidClient)) return undefined;
  return grant;
}

async function continueGrant(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const body = jsonBody(req);
  if (isOpError(body)) return sendError(res, body);
  const grant = await continuationGrant(ase, req, res);
  if (!grant) return;
  if (body.interact_ref !== undefined && typeof body.interact_ref !== 'string') return sendError(res, opError(E.InvalidRequest, 'interact_ref must be a string'));
  if (ase.takeContinuationFault() === 'lostResponse') loseResponse(res);
  const result = await ase.grants.continue(grant.id, body.interact_ref as string | undefined);
  if (isOpError(result)) return sendError(res, result);
  res.status(result.status).json(result.body);
}

async function revokeGrant(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const grant = await continuationGrant(ase, req, res);
  if (!grant) return;
  await ase.grants.revoke(grant.id);
  res.status(204).end();
}

async function managedToken(ase: OpenPaymentsSandboxAse, req: Request, res: Response) {
  const token = await ase.grants.tokenByManageId(String(req.params.id));
  if (!token || gnapToken(req) !== token.value) {
    sendError(res, opError(E.InvalidClient, 'unknown token or the token does not match its management URL', 401));
    return undefined;
  }
  if (!checkSignature(ase, req, res, await ase.grants.clientKeys(token.grant), E.InvalidClient)) return undefined;
  return token;
}

async function rotateToken(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const token = await managedToken(ase, req, res);
  if (!token) return;
  const result = await ase.grants.rotate(token.manageId);
  if (isOpError(result)) return sendError(res, result);
  res.json(result);
}

async function revokeToken(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const token = await managedToken(ase, req, res);
  if (!token) return;
  await ase.grants.revokeToken(token.manageId);
  res.status(204).end();
}

async function consentPage(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const grant = await ase.grants.byInteraction(String(req.params.id), String(req.params.nonce));
  res.type('html');
  if (!grant) return void res.status(404).send(renderConsentMessage('Unknown request', 'This authorisation request does not exist.'));
  if (grant.state === 'pending') return void res.send(renderConsentPage(grant));
  // autoApprove (or a reload after deciding): send the browser on to the client.
  const redirect = grant.state === 'approved' ? ase.grants.finishRedirect(grant) : undefined;
  if (redirect) return res.redirect(303, redirect);
  res.status(grant.state === 'approved' ? 200 : 409).send(
    renderConsentMessage('Already decided', grant.state === 'approved' ? 'Access was approved; you may close this window.' : 'This request was already decided.'),
  );
}

async function consentDecision(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const decision = (req.body as Record<string, unknown> | undefined)?.decision;
  res.type('html');
  if (decision !== 'approve' && decision !== 'deny') {
    return void res.status(400).send(renderConsentMessage('Invalid decision', 'Choose Approve or Deny.'));
  }
  const result = await ase.grants.decide(String(req.params.id), String(req.params.nonce), decision);
  if (isOpError(result)) {
    const status = toErrorResponse(result).status;
    return void res.status(status).send(renderConsentMessage('Cannot record the decision', result.description));
  }
  if (result.redirect) return res.redirect(303, result.redirect);
  res.send(renderConsentMessage(decision === 'approve' ? 'Access approved' : 'Access denied', 'You may close this window and return to the application.'));
}

// ── Resource server ────────────────────────────────────────────────────────

interface Authenticated {
  grant: Grant;
}

/** Token (`Authorization: GNAP …`) and signature by the token's client; sends 401 when either fails. */
async function authenticate(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<Authenticated | undefined> {
  const value = gnapToken(req);
  if (!value) {
    sendError(res, opError(E.Unauthorized, 'Authorization: GNAP <access token> is required'));
    return undefined;
  }
  const token = await ase.grants.tokenByValue(value);
  if (!token || !ase.grants.isTokenActive(token)) {
    sendError(res, opError(E.Unauthorized, 'the access token is unknown, expired or revoked'));
    return undefined;
  }
  if (!checkSignature(ase, req, res, await ase.grants.clientKeys(token.grant), E.Unauthorized)) return undefined;
  return { grant: token.grant };
}

/**
 * The access item allowing `action` on a resource of `walletUrl`. `ownOnly` is true when only the
 * narrow action (`read`, `list`) matched: the client then sees only what it created itself.
 */
function findAccess(grant: Grant, type: AccessType, actions: readonly string[], walletUrl: string | undefined): { item: AccessItem; action: string } | undefined {
  for (const action of actions) {
    const item = grant.access.find(
      (a) => a.type === type && a.actions.includes(action) && (!a.identifier || !walletUrl || a.identifier === walletUrl),
    );
    if (item) return { item, action };
  }
  return undefined;
}

function forbidden(res: Response, text = 'the access token does not allow this'): void {
  sendError(res, opError(E.Forbidden, text));
}

async function createIncomingPayment(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const body = jsonBody(req);
  if (isOpError(body)) return sendError(res, body);
  const wallet = await ase.payments.walletFromUrl(body.walletAddress);
  if (!wallet) return sendError(res, opError(E.InvalidRequest, 'walletAddress must be a wallet address of this ASE'));
  if (!findAccess(auth.grant, 'incoming-payment', ['create'], ase.walletUrl(wallet.name))) return forbidden(res);
  const created = await ase.payments.createIncomingPayment(auth.grant.client, wallet, body);
  if (isOpError(created)) return sendError(res, created);
  res.status(201).json({ ...created, methods: ase.payments.methodsFor(created) });
}

async function getIncomingPayment(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const found = await ase.payments.getIncomingPayment(String(req.params.id));
  if (!req.get('authorization')) {
    if (!found) return sendError(res, opError(E.NotFound, 'unknown incoming payment'));
    return void res.json(ase.payments.publicIncomingPayment(found.view));
  }
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  if (!found) return sendError(res, opError(E.NotFound, 'unknown incoming payment'));
  const access = findAccess(auth.grant, 'incoming-payment', ['read-all', 'read'], found.view.walletAddress);
  if (!access) return forbidden(res);
  // Another client's payment under a narrow `read` is answered like an unknown id.
  if (access.action === 'read' && found.client !== auth.grant.client) return sendError(res, opError(E.NotFound, 'unknown incoming payment'));
  res.json({ ...found.view, methods: found.view.completed ? [] : ase.payments.methodsFor(found.view) });
}

async function completeIncomingPayment(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const found = await ase.payments.getIncomingPayment(String(req.params.id));
  if (!found) return sendError(res, opError(E.NotFound, 'unknown incoming payment'));
  if (!findAccess(auth.grant, 'incoming-payment', ['complete'], found.view.walletAddress)) return forbidden(res);
  const completed = await ase.payments.completeIncomingPayment(String(req.params.id));
  if (isOpError(completed)) return sendError(res, completed);
  res.json(completed);
}

function pageQuery(req: Request): PageQuery | OpenPaymentsError {
  const out: PageQuery = {};
  for (const key of ['first', 'last'] as const) {
    const raw = req.query[key];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(value)) return opError(E.InvalidRequest, `${key} must be an integer`);
    out[key] = value;
  }
  if (req.query.cursor !== undefined) out.cursor = String(req.query.cursor);
  return out;
}

async function listPayments(ase: OpenPaymentsSandboxAse, req: Request, res: Response, type: 'incoming-payment' | 'outgoing-payment'): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const wallet = await ase.payments.walletFromUrl(req.query['wallet-address']);
  if (!wallet) return sendError(res, opError(E.InvalidRequest, 'wallet-address must be a wallet address of this ASE'));
  const access = findAccess(auth.grant, type, ['list-all', 'list'], ase.walletUrl(wallet.name));
  if (!access) return forbidden(res);
  const page = pageQuery(req);
  if (isOpError(page)) return sendError(res, page);
  const client = access.action === 'list' ? auth.grant.client : undefined;
  const result = type === 'incoming-payment'
    ? await ase.payments.listIncomingPayments(wallet.name, client, page)
    : await ase.payments.listOutgoingPayments(wallet.name, client, page);
  if (isOpError(result)) return sendError(res, result);
  res.json(result);
}

async function createQuote(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const body = jsonBody(req);
  if (isOpError(body)) return sendError(res, body);
  const wallet = await ase.payments.walletFromUrl(body.walletAddress);
  if (!wallet) return sendError(res, opError(E.InvalidRequest, 'walletAddress must be a wallet address of this ASE'));
  if (!findAccess(auth.grant, 'quote', ['create'], undefined)) return forbidden(res);
  const quote = await ase.payments.createQuote(auth.grant.client, wallet, body);
  if (isOpError(quote)) return sendError(res, quote);
  res.status(201).json(quote);
}

async function getQuote(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const found = await ase.payments.getQuote(String(req.params.id));
  if (!found) return sendError(res, opError(E.NotFound, 'unknown quote'));
  const access = findAccess(auth.grant, 'quote', ['read-all', 'read'], undefined);
  if (!access) return forbidden(res);
  if (access.action === 'read' && found.client !== auth.grant.client) return sendError(res, opError(E.NotFound, 'unknown quote'));
  res.json(found.view);
}

async function createOutgoingPayment(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const body = jsonBody(req);
  if (isOpError(body)) return sendError(res, body);
  const wallet = await ase.payments.walletFromUrl(body.walletAddress);
  if (!wallet) return sendError(res, opError(E.InvalidRequest, 'walletAddress must be a wallet address of this ASE'));
  const access = findAccess(auth.grant, 'outgoing-payment', ['create'], ase.walletUrl(wallet.name));
  if (!access || !access.item.identifier) return forbidden(res);
  const idempotencyKey = req.get('idempotency-key') || undefined;
  const fault = ase.takeOutgoingPaymentFault();
  if (fault === 'unavailable') return sendError(res, opError(E.ServiceUnavailable, 'The ASE is temporarily unavailable (sandbox fault injection)'));
  if (fault === 'lostResponse') loseResponse(res);
  const result = await ase.payments.createOutgoingPayment(auth.grant, access.item, wallet, body, idempotencyKey);
  if (isOpError(result)) return sendError(res, result);
  res.status(result.status).json(result.view);
}

async function getOutgoingPayment(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const found = await ase.payments.getOutgoingPayment(String(req.params.id));
  if (!found) return sendError(res, opError(E.NotFound, 'unknown outgoing payment'));
  const access = findAccess(auth.grant, 'outgoing-payment', ['read-all', 'read'], found.view.walletAddress as string);
  if (!access) return forbidden(res);
  if (access.action === 'read' && found.client !== auth.grant.client) return sendError(res, opError(E.NotFound, 'unknown outgoing payment'));
  res.json(found.view);
}

async function outgoingPaymentGrant(ase: OpenPaymentsSandboxAse, req: Request, res: Response): Promise<void> {
  const auth = await authenticate(ase, req, res);
  if (!auth) return;
  const item = auth.grant.access.find((a) => a.type === 'outgoing-payment');
  if (!item) return forbidden(res, 'the access token is not an outgoing-payment grant');
  res.json(await ase.payments.grantSpentAmounts(auth.grant, item));
}

// ── _sandbox controls ──────────────────────────────────────────────────────

function controlRoutes(ase: OpenPaymentsSandboxAse): express.Router {
  const router = express.Router();
  const bad = (res: Response, text: string) => void res.status(400).json({ error: { code: 'invalid_request', description: text } });
  const wrap = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

  /** Registers (or updates) a hosted wallet: `{ name, assetCode?, assetScale?, publicName?, jwks?, balance? }`. */
  router.post('/wallets', wrap(async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const jwks = Array.isArray(body.jwks) ? body.jwks : (body.jwks as { keys?: unknown } | undefined)?.keys;
    try {
      const wallet = await ase.registerWallet({
        name: String(body.name ?? ''),
        publicName: body.publicName as string | undefined,
        assetCode: body.assetCode as string | undefined,
        assetScale: body.assetScale as number | undefined,
        balance: body.balance === undefined ? undefined : String(body.balance),
        jwks: jwks as Ed25519Jwk[] | undefined,
      });
      res.status(201).json({ ...walletJson(ase, wallet), jwks: { keys: await ase.jwksOf(wallet.name) } });
    } catch (err) {
      if (err instanceof RangeError || err instanceof SyntaxError) return bad(res, err.message);
      throw err;
    }
  }));
  router.get('/wallets', wrap(async (_req, res) => {
    res.json({ wallets: (await ase.wallets.all()).map((w) => walletJson(ase, w)) });
  }));
  /** A client hosted elsewhere whose keys are known in advance: `{ walletAddress, jwks }`. */
  router.post('/clients', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const jwks = Array.isArray(body.jwks) ? body.jwks : (body.jwks as { keys?: unknown } | undefined)?.keys;
    if (typeof body.walletAddress !== 'string' || !Array.isArray(jwks)) return bad(res, 'walletAddress and jwks are required');
    ase.registerClient({ walletAddress: body.walletAddress, jwks: jwks as Ed25519Jwk[] });
    res.status(204).end();
  });
  router.get('/faults', (_req, res) => void res.json(ase.faults.current()));
  router.put('/faults', (req, res) => {
    const problem = checkFaults(req.body);
    if (problem) return bad(res, problem);
    res.json(ase.setFaults(req.body));
  });
  router.delete('/faults', (_req, res) => void res.json(ase.resetFaults()));
  /** `{ now: ISO date }` or `{ advanceMs }`. */
  router.post('/clock', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.now === 'string' && !Number.isNaN(Date.parse(body.now))) ase.setClock(new Date(body.now));
    else if (typeof body.advanceMs === 'number' && Number.isFinite(body.advanceMs)) ase.advanceClock(body.advanceMs);
    else return bad(res, 'give { now } or { advanceMs }');
    res.json({ now: ase.now().toISOString() });
  });
  router.delete('/clock', (_req, res) => {
    ase.resetClock();
    res.json({ now: ase.now().toISOString() });
  });
  /** `{ fixed, basisPoints }` (fixed in minor units, as a string or number). */
  router.get('/fees', (_req, res) => void res.json(feesJson(ase.currentFees())));
  router.put('/fees', (req, res) => {
    const fees = checkFees(req.body);
    if (typeof fees === 'string') return bad(res, fees);
    res.json(feesJson(ase.setFees(fees)));
  });
  /** `{ unavailable?, lostResponses? }`: counts of the next outgoing-payment creates to fail. */
  router.put('/outgoing-payment-faults', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const count = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000);
    if (!count(body.unavailable) || !count(body.lostResponses)) return bad(res, 'give { unavailable?, lostResponses? } as integers 0..1000');
    ase.failOutgoingPaymentCreates({ unavailable: body.unavailable as number | undefined, lostResponses: body.lostResponses as number | undefined });
    res.status(204).end();
  });
  /** `{ lostResponses }`: the next grant continuations are done, then answered 503 (the answer lost). */
  router.put('/grant-continuation-faults', (req, res) => {
    const n = (req.body ?? {}).lostResponses;
    if (!(Number.isInteger(n) && n >= 0 && n <= 1000)) return bad(res, 'give { lostResponses } as an integer 0..1000');
    ase.failGrantContinuations({ lostResponses: n });
    res.status(204).end();
  });
  router.put('/idempotency', (req, res) => {
    if (typeof req.body?.deduplicate !== 'boolean') return bad(res, 'give { deduplicate: boolean }');
    ase.setIdempotencyDeduplication(req.body.deduplicate);
    res.json({ deduplicate: req.body.deduplicate });
  });
  router.put('/auto-approve', (req, res) => {
    if (typeof req.body?.enabled !== 'boolean') return bad(res, 'give { enabled: boolean }');
    ase.setAutoApprove(req.body.enabled);
    res.json({ enabled: req.body.enabled });
  });
  router.post('/settle', wrap(async (_req, res) => void res.json({ settled: await ase.settlePending() })));
  return router;
}

function feesJson(fees: { fixed: bigint; basisPoints: number }) {
  return { fixed: fees.fixed.toString(), basisPoints: fees.basisPoints };
}

function walletJson(ase: OpenPaymentsSandboxAse, wallet: { name: string; publicName: string; assetCode: string; assetScale: number; balance: bigint }) {
  return {
    id: ase.walletUrl(wallet.name),
    name: wallet.name,
    publicName: wallet.publicName,
    assetCode: wallet.assetCode,
    assetScale: wallet.assetScale,
    balance: wallet.balance.toString(),
  };
}
