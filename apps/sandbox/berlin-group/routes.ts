/**
 * HTTP face of the Berlin Group sandbox: the NextGenPSD2 `/v1` PIS endpoints, the redirect SCA page
 * and the `_sandbox` controls. Handlers only translate HTTP ⇄ {@link BerlinGroupSandboxBank} calls.
 * The AIS endpoints live in `ais/routes.ts` and sit behind the same `/v1` gate.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { isPaymentProduct, type PaymentInitiationBody, type PaymentProduct } from '../../../libs/domain/payment';
import { AisSandboxBank, type AisSandboxOptions } from './ais/consents';
import { buildAisRouters } from './ais/routes';
import { PeriodicPaymentsSandbox } from './periodic-payments';
import { buildPeriodicRouters } from './periodic-routes';
import { buildSingleCancellationRouters } from './single-cancellation-routes';
import { BerlinGroupSandboxBank, SCA_EXEMPT_PSU_ID, type BerlinGroupSandboxOptions, type ScaDecision } from './bank';
import { isSandboxError, sandboxError, SandboxErrorCode, toErrorResponse, type SandboxError } from './errors';
import { checkFaults } from './faults';
import { DEDUPLICATE_HEADER, parseDeduplicateHeader } from './request-ledger';
import { renderScaMessage, renderScaPage } from './sca-page';
import { checkPaymentInitiationBody, isAbsoluteHttpUrl, isIpAddress, isUuid, redirectUriHeaders, type FieldProblem } from './validation';
import { BulkPaymentsSandboxBank } from './bulk-payments';
import { BULK_BODY_LIMIT, bulkCancellationPageRoutes, bulkPaymentRoutes, bulkScaPageRoutes, XML_TYPES } from './bulk-routes';

const JSON_LIMIT = '100kb';
/** Services BG defines that this sandbox does not offer yet (answered 400 SERVICE_INVALID, not 404). */
const PLANNED_PAYMENT_SERVICES = new Set(['bulk-payments']);

/** Sandbox options plus the AIS side's own (its clock and page size). */
export interface BerlinGroupSandboxRouterOptions extends BerlinGroupSandboxOptions {
  ais?: AisSandboxOptions;
  /**
   * Which sandbox bank this router is. `SANDDEB0XXX` (default) offers bulk payments and serves the
   * second bank, `SANDNL2AXXX` (SEPA single payments only, no bulk), under `/nl`.
   */
  profile?: 'SANDDEB0XXX' | 'SANDNL2AXXX';
}

export interface BerlinGroupSandboxRouter {
  router: express.Router;
  bank: BerlinGroupSandboxBank;
  /** The AIS side: consents, accounts, the PSU's revoke and the bank clock. */
  ais: AisSandboxBank;
  /** Standing orders (`periodic-payments.ts`). */
  periodic: PeriodicPaymentsSandbox;
  /** Used once the listening URL is known, when no `publicUrl` was configured. */
  setDefaultPublicUrl(url: string): void;
  /** Bulk payments (SANDDEB0XXX only). */
  bulk?: BulkPaymentsSandboxBank;
  /** The second sandbox bank, SANDNL2AXXX, served under `/nl` (SANDDEB0XXX only). */
  nl?: BerlinGroupSandboxRouter;
}

/** Builds the router mounted under `/berlin-group` (the mount point is the caller's choice). */
export function buildBerlinGroupSandboxRouter(options: BerlinGroupSandboxRouterOptions = {}): BerlinGroupSandboxRouter {
  const bank = new BerlinGroupSandboxBank({
    decoupledDelayMs: options.decoupledDelayMs,
    pendingPolls: options.pendingPolls,
    faults: options.faults,
    random: options.random,
    deduplicateRequestIds: options.deduplicateRequestIds,
    now: options.now,
    businessNow: () => ais.now(),
  });
  const ais = new AisSandboxBank({ decoupledDelayMs: options.decoupledDelayMs, deduplicateRequestIds: options.deduplicateRequestIds, ...options.ais });
  const aisRouters = buildAisRouters(ais, reply);
  // Standing orders run on the AIS bank clock and book their executions on its accounts.
  const periodic = new PeriodicPaymentsSandbox({ now: options.now ?? Date.now, businessNow: () => ais.now(), decoupledDelayMs: options.decoupledDelayMs ?? 1000 });
  ais.setBookingSource((iban, today) => periodic.bookingsOf(iban, today));
  const periodicRouters = buildPeriodicRouters(periodic, reply);
  const cancellationRouters = buildSingleCancellationRouters(bank, reply);
  const profile = options.profile ?? 'SANDDEB0XXX';
  const bulk =
    profile === 'SANDDEB0XXX'
      ? new BulkPaymentsSandboxBank({ decoupledDelayMs: options.decoupledDelayMs ?? 1000, now: options.now ?? Date.now, businessNow: () => ais.now(), deduplicates: () => bank.deduplicates() })
      : undefined;
  const nl =
    profile === 'SANDDEB0XXX'
      ? buildBerlinGroupSandboxRouter({ ...options, profile: 'SANDNL2AXXX', ...(options.publicUrl ? { publicUrl: `${trimSlash(options.publicUrl)}/nl` } : {}) })
      : undefined;
  let defaultPublicUrl: string | undefined;
  const baseUrlOf = (req: Request): string =>
    trimSlash(options.publicUrl ?? defaultPublicUrl ?? `${req.protocol}://${req.get('host')}${req.baseUrl}`);

  const router = express.Router();
  router.use((req, res, next) => {
    res.locals.sandboxBaseUrl = baseUrlOf(req);
    next();
  });
  if (nl) router.use('/nl', nl.router);
  router.use('/_sandbox', aisRouters.admin, periodicRouters.admin, adminRoutes(bank, ais));
  if (bulk) {
    router.get('/_sandbox/bulk-payments/:paymentId', (req, res) => {
      const view = bulk.getBulk(param(req, 'paymentId'));
      if (!view) return void res.status(404).json({ message: 'Unknown bulk payment' });
      res.json(view);
    });
    router.get('/_sandbox/bulk-stats', (_req, res) => void res.json(bulk.stats()));
    router.use('/sca/bulk-payments', bulkScaPageRoutes(bulk));
    router.use('/sca/bulk-cancellations', bulkCancellationPageRoutes(bulk));
    router.use(
      '/v1/bulk-payments',
      echoRequestId,
      express.json({ limit: BULK_BODY_LIMIT }),
      express.text({ type: XML_TYPES, limit: BULK_BODY_LIMIT }),
      v1Gate(bank),
      bulkPaymentRoutes(bulk),
    );
  }
  router.use('/sca/consents', aisRouters.scaPage);
  router.use('/sca/periodic', periodicRouters.scaPage);
  router.use('/sca/cancellations', cancellationRouters.scaPage);
  router.use('/sca', scaPageRoutes(bank));
  // The body is read before the latency fault: a bank that is slow to answer has still received
  // the whole request, and finishes the work even if the client gave up waiting.
  router.use('/v1', echoRequestId, express.json({ limit: JSON_LIMIT }), v1Gate(bank), aisRouters.v1, periodicRouters.v1, cancellationRouters.v1, paymentRoutes(bank));
  router.use((req, res) => {
    sendError(res, sandboxError(SandboxErrorCode.RouteUnknown, `No route ${req.method} ${req.originalUrl}`));
  });
  router.use(errorHandler);

  return {
    router,
    bank,
    ais,
    periodic,
    setDefaultPublicUrl: (url) => {
      defaultPublicUrl = url;
      nl?.setDefaultPublicUrl(`${trimSlash(url)}/nl`);
    },
    ...(bulk ? { bulk } : {}),
    ...(nl ? { nl } : {}),
  };
}

// ── /v1: NextGenPSD2 PIS ───────────────────────────────────────────────────

/** Echoed on every `/v1` answer, errors from body parsing included. */
const echoRequestId: express.RequestHandler = (req, res, next) => {
  const requestId = req.get('X-Request-ID');
  if (requestId) res.set('X-Request-ID', requestId);
  next();
};

/** Every `/v1` request, PIS and AIS: fault injection, then the X-Request-ID check. */
function v1Gate(bank: BerlinGroupSandboxBank): express.RequestHandler {
  return async (req, res, next) => {
    const requestId = req.get('X-Request-ID');
    const latency = bank.faultLatencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const fault = bank.decideFault();
    if (fault.kind === 'unavailable') {
      return sendError(res, sandboxError(SandboxErrorCode.ServiceUnavailable, 'The ASPSP is temporarily unavailable (sandbox fault injection)'));
    }
    if (fault.kind === 'rateLimited') {
      res.set('Retry-After', String(fault.retryAfterSeconds));
      return sendError(res, sandboxError(SandboxErrorCode.AccessExceeded, 'Too many requests (sandbox fault injection)'));
    }
    res.locals.dropResponse = fault.dropResponse;
    if (!isUuid(requestId)) {
      return sendError(
        res,
        sandboxError(SandboxErrorCode.FormatError, 'Header X-Request-ID is missing or not a UUID', 'X-Request-ID'),
      );
    }
    next();
  };
}

function paymentRoutes(bank: BerlinGroupSandboxBank): express.Router {
  const v1 = express.Router();

  v1.post('/:paymentService/:paymentProduct', (req, res) => {
    const product = resolveProduct(req);
    if (isSandboxError(product)) return sendError(res, product);

    const psuId = req.get('PSU-ID') || undefined;
    const redirectPreferred = req.get('TPP-Redirect-Preferred');
    const redirectUri = req.get('TPP-Redirect-URI') || undefined;
    const nokRedirectUri = req.get('TPP-Nok-Redirect-URI') || undefined;
    const decoupled = psuId === 'decoupled' || psuId === 'decoupled-deny' || redirectPreferred === 'false';
    const deduplicate = parseDeduplicateHeader(req.get(DEDUPLICATE_HEADER));

    const problems: FieldProblem[] = [];
    if (!isIpAddress(req.get('PSU-IP-Address'))) {
      problems.push({ text: 'Header PSU-IP-Address is missing or not an IP address' });
    }
    if (redirectPreferred !== undefined && redirectPreferred !== 'true' && redirectPreferred !== 'false') {
      problems.push({ text: 'Header TPP-Redirect-Preferred must be "true" or "false"' });
    }
    if (typeof deduplicate === 'object') problems.push({ text: deduplicate.problem });
    if (redirectUri === undefined && !decoupled && psuId !== SCA_EXEMPT_PSU_ID) {
      problems.push({ text: 'Header TPP-Redirect-URI is required for the redirect SCA approach' });
    } else if (redirectUri !== undefined && !isAbsoluteHttpUrl(redirectUri)) {
      problems.push({ text: 'Header TPP-Redirect-URI must be an absolute http(s) URI' });
    }
    if (nokRedirectUri !== undefined && !isAbsoluteHttpUrl(nokRedirectUri)) {
      problems.push({ text: 'Header TPP-Nok-Redirect-URI must be an absolute http(s) URI' });
    }
    problems.push(...checkPaymentInitiationBody(req.body));
    if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });

    const outcome = bank.initiatePayment({
      requestId: req.get('X-Request-ID')!,
      deduplicate: typeof deduplicate === 'boolean' ? deduplicate : undefined,
      paymentProduct: product,
      payment: req.body as PaymentInitiationBody,
      psuId,
      tppRedirectPreferred: redirectPreferred === undefined ? undefined : redirectPreferred === 'true',
      tppRedirectUri: redirectUri,
      tppNokRedirectUri: nokRedirectUri,
      baseUrl: res.locals.sandboxBaseUrl,
    });
    if (isSandboxError(outcome)) return sendError(res, outcome);
    const { response } = outcome;
    reply(res, 201, response.body, { Location: response.location, ...(response.scaApproach ? { 'ASPSP-SCA-Approach': response.scaApproach } : {}) });
  });

  v1.get('/:paymentService/:paymentProduct/:paymentId', (req, res) => {
    withProduct(req, res, (product) => bank.readPayment(product, param(req, 'paymentId')));
  });

  v1.get('/:paymentService/:paymentProduct/:paymentId/status', (req, res) => {
    withProduct(req, res, (product) => bank.readStatus(product, param(req, 'paymentId')));
  });

  v1.delete('/:paymentService/:paymentProduct/:paymentId', (req, res) => {
    const product = resolveProduct(req);
    if (isSandboxError(product)) return sendError(res, product);
    const result = bank.cancelPayment(product, param(req, 'paymentId'));
    if (isSandboxError(result)) return sendError(res, result);
    if (result.authorisationRequired) {
      // Authorised and dated in the future: the PSU must authorise the cancellation (BG's 202 variant).
      const self = `${res.locals.sandboxBaseUrl}/v1/payments/${product}/${param(req, 'paymentId')}`;
      return reply(res, 202, { transactionStatus: result.transactionStatus, _links: { self: { href: self }, startAuthorisation: { href: `${self}/cancellation-authorisations` } } });
    }
    // No cancellation authorisation needed before SCA: BG's 204 variant.
    reply(res, 204);
  });

  v1.post('/:paymentService/:paymentProduct/:paymentId/authorisations', (req, res) => {
    const product = resolveProduct(req);
    if (isSandboxError(product)) return sendError(res, product);
    const problems = checkOptionalPsuData(req.body);
    const uris = redirectUriHeaders(req, problems);
    if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
    const result = bank.startAuthorisation(product, param(req, 'paymentId'), { ...uris, baseUrl: res.locals.sandboxBaseUrl });
    if (isSandboxError(result)) return sendError(res, result);
    reply(res, 201, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
  });

  v1.get('/:paymentService/:paymentProduct/:paymentId/authorisations', (req, res) => {
    withProduct(req, res, (product) => bank.listAuthorisations(product, param(req, 'paymentId')));
  });

  v1.get('/:paymentService/:paymentProduct/:paymentId/authorisations/:authorisationId', (req, res) => {
    withProduct(req, res, (product) =>
      bank.getScaStatus(product, param(req, 'paymentId'), param(req, 'authorisationId')),
    );
  });

  v1.put('/:paymentService/:paymentProduct/:paymentId/authorisations/:authorisationId', (req, res) => {
    const product = resolveProduct(req);
    if (isSandboxError(product)) return sendError(res, product);
    const problems = checkOptionalPsuData(req.body);
    if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
    const result = bank.updatePsuData(product, param(req, 'paymentId'), param(req, 'authorisationId'), res.locals.sandboxBaseUrl);
    if (isSandboxError(result)) return sendError(res, result);
    reply(res, 200, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
  });

  return v1;
}

function resolveProduct(req: Request): PaymentProduct | SandboxError {
  const service = param(req, 'paymentService');
  const product = param(req, 'paymentProduct');
  if (service !== 'payments') {
    if (PLANNED_PAYMENT_SERVICES.has(service)) {
      return sandboxError(SandboxErrorCode.ServiceInvalid, `Payment service ${service} is not offered by this ASPSP`);
    }
    return sandboxError(SandboxErrorCode.RouteUnknown, `Unknown payment service ${service}`);
  }
  if (!isPaymentProduct(product)) {
    return sandboxError(SandboxErrorCode.ProductUnknown, `Payment product ${product} is not offered by this ASPSP`);
  }
  return product;
}

function withProduct(req: Request, res: Response, read: (product: PaymentProduct) => object | SandboxError): void {
  const product = resolveProduct(req);
  if (isSandboxError(product)) return sendError(res, product);
  const result = read(product);
  if (isSandboxError(result)) return sendError(res, result);
  reply(res, 200, result);
}

/** Authorisation bodies may be empty or carry PSU data, which this sandbox does not need. */
function checkOptionalPsuData(body: unknown): FieldProblem[] {
  if (body === undefined) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ text: 'The request body must be a JSON object' }];
  }
  return [];
}

// ── /sca: the redirect page ────────────────────────────────────────────────

function scaPageRoutes(bank: BerlinGroupSandboxBank): express.Router {
  const sca = express.Router();
  sca.use(express.urlencoded({ extended: false, limit: '10kb' }));

  sca.get('/:authorisationId', (req, res) => {
    const state = bank.openScaPage(param(req, 'authorisationId'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    sendHtml(res, 200, renderScaPage(state.payment));
  });

  sca.post('/:authorisationId', (req, res) => {
    const decision = (req.body as Record<string, unknown> | undefined)?.decision;
    if (decision !== 'approve' && decision !== 'deny') {
      return sendHtml(res, 400, renderScaMessage('Invalid decision', 'Choose Approve or Deny.'));
    }
    const outcome = bank.decideRedirectSca(param(req, 'authorisationId'), decision satisfies ScaDecision);
    if (outcome.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (outcome.kind === 'refused') return sendHtml(res, 409, renderScaMessage('Already decided', outcome.reason));
    if (!outcome.redirectTo) {
      return sendHtml(res, 200, renderScaMessage('Done', `SCA ${outcome.scaStatus}. You can close this window.`));
    }
    res.set('Cache-Control', 'no-store').redirect(302, outcome.redirectTo);
  });

  return sca;
}

// ── /_sandbox: controls for tests and dev mode (never faulted) ─────────────

function adminRoutes(bank: BerlinGroupSandboxBank, ais: AisSandboxBank): express.Router {
  const admin = express.Router();
  admin.use(express.json({ limit: '10kb' }));

  admin.get('/stats', (_req, res) => {
    res.json(bank.stats());
  });
  // Opt-in kindness, both for payments and consents: see request-ledger.ts.
  admin.get('/settings', (_req, res) => {
    res.json({ deduplicateRequestIds: bank.deduplicates() });
  });
  admin.put('/settings', (req, res) => {
    const on = (req.body as { deduplicateRequestIds?: unknown } | undefined)?.deduplicateRequestIds;
    if (typeof on !== 'boolean') return void res.status(400).json({ message: 'deduplicateRequestIds must be true or false' });
    bank.setDeduplication(on);
    ais.setDeduplication(on);
    res.json({ deduplicateRequestIds: on });
  });
  admin.get('/faults', (_req, res) => {
    res.json(bank.faults());
  });
  admin.put('/faults', (req, res) => {
    const problem = checkFaults(req.body);
    if (problem) return void res.status(400).json({ message: problem });
    res.json(bank.setFaults(req.body));
  });
  admin.delete('/faults', (_req, res) => {
    res.json(bank.resetFaults());
  });
  admin.get('/payments/:paymentId', (req, res) => {
    const payment = bank.getPayment(param(req, 'paymentId'));
    if (!payment) return void res.status(404).json({ message: 'Unknown payment' });
    res.json(payment);
  });

  return admin;
}

// ── responses ──────────────────────────────────────────────────────────────

/**
 * Every `/v1` answer goes through here so the "dropped response" fault can replace it after the
 * bank has done the work.
 */
export function reply(res: Response, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (res.locals.dropResponse) {
    res.locals.dropResponse = false;
    const lost = toErrorResponse(
      sandboxError(SandboxErrorCode.ServiceUnavailable, 'The response was lost (sandbox fault injection)'),
    );
    res.status(lost.status).json(lost.body);
    return;
  }
  res.set(headers);
  if (body === undefined) res.status(status).end();
  else res.status(status).json(body);
}

export function sendError(res: Response, error: SandboxError): void {
  const { status, body } = toErrorResponse(error);
  reply(res, status, body);
}

export function sendHtml(res: Response, status: number, html: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(html);
}

/** Body-parser failures (malformed JSON, too large) are the client's fault: 400, never 500. */
function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  const type = (err as { type?: string } | undefined)?.type;
  if (type === 'entity.parse.failed') {
    return sendError(res, sandboxError(SandboxErrorCode.FormatError, 'The request body is not valid JSON'));
  }
  if (type === 'entity.too.large') {
    return sendError(res, sandboxError(SandboxErrorCode.FormatError, `The request body is larger than ${JSON_LIMIT}`));
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return sendError(res, sandboxError(SandboxErrorCode.FormatError, 'The request body encoding is not supported'));
  }
  sendError(res, sandboxError(SandboxErrorCode.InternalError, 'Unexpected error in the sandbox bank'));
}

export function param(req: Request, name: string): string {
  const value = req.params[name];
  return Array.isArray(value) ? value.join('/') : String(value ?? '');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
