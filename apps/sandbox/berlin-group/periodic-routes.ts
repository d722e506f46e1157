/**
 * HTTP face of the sandbox's standing orders (`periodic-payments.ts`):
 * `POST/GET/DELETE /v1/periodic-payments/{product}[/{paymentId}[/status]]`, `authorisations`,
 * `cancellation-authorisations`, the redirect page `/sca/periodic/{authorisationId}` and the
 * operator view `GET /_sandbox/periodic-payments/{paymentId}`. Mounted by `routes.ts`.
 */
import express, { type Request, type Response } from 'express';
import { isPaymentProduct, type PaymentProduct } from '../../../libs/domain/payment';
import { isoDateOf } from '../../../libs/domain/target2-calendar';
import { isSandboxError, sandboxError, SandboxErrorCode, toErrorResponse, type SandboxError } from './errors';
import { checkPeriodicTerms, type PeriodicPaymentBody, type PeriodicPaymentsSandbox } from './periodic-payments';
import { renderScaMessage, renderScaPage } from './sca-page';
import { checkPaymentInitiationBody, isAbsoluteHttpUrl, isIpAddress, type FieldProblem } from './validation';
import type { SandboxPaymentView } from './bank';
import { param, scaDecisionHandler, sendHtml } from './sca-decision';

type Reply = (res: Response, status: number, body?: unknown, headers?: Record<string, string>) => void;

export function buildPeriodicRouters(periodic: PeriodicPaymentsSandbox, reply: Reply): { v1: express.Router; scaPage: express.Router; admin: express.Router } {
  const sendError = (res: Response, error: SandboxError) => {
    const { status, body } = toErrorResponse(error);
    reply(res, status, body);
  };
  const base = (res: Response): string => res.locals.sandboxBaseUrl;
  const productOf = (req: Request, res: Response): PaymentProduct | undefined => {
    const product = param(req, 'product');
    if (isPaymentProduct(product) && product !== 'international') return product;
    sendError(res, sandboxError(SandboxErrorCode.ProductUnknown, `Payment product ${product} is not offered for periodic payments`));
    return undefined;
  };
  const answer = (res: Response, result: object | SandboxError, status = 200) => {
    if (isSandboxError(result)) return sendError(res, result);
    reply(res, status, result);
  };
  const redirectHeaders = (req: Request): { problems: FieldProblem[]; ok?: string; nok?: string } => {
    const ok = req.get('TPP-Redirect-URI') || undefined;
    const nok = req.get('TPP-Nok-Redirect-URI') || undefined;
    const problems: FieldProblem[] = [];
    for (const [name, value] of [['TPP-Redirect-URI', ok], ['TPP-Nok-Redirect-URI', nok]] as const) {
      if (value !== undefined && !isAbsoluteHttpUrl(value)) problems.push({ text: `Header ${name} must be an absolute http(s) URI` });
    }
    return { problems, ok, nok };
  };

  const v1 = express.Router();
  const path = '/periodic-payments/:product';

  v1.post(path, (req, res) => {
    const product = productOf(req, res);
    if (!product) return;
    const psuId = req.get('PSU-ID') || undefined;
    const preferred = req.get('TPP-Redirect-Preferred');
    const decoupled = psuId === 'decoupled' || psuId === 'decoupled-deny' || preferred === 'false';
    const { problems, ok, nok } = redirectHeaders(req);
    if (!isIpAddress(req.get('PSU-IP-Address'))) problems.push({ text: 'Header PSU-IP-Address is missing or not an IP address' });
    if (preferred !== undefined && preferred !== 'true' && preferred !== 'false') problems.push({ text: 'Header TPP-Redirect-Preferred must be "true" or "false"' });
    if (ok === undefined && !decoupled) problems.push({ text: 'Header TPP-Redirect-URI is required for the redirect SCA approach' });
    problems.push(...checkPaymentInitiationBody(req.body));
    if (typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body)) {
      problems.push(...checkPeriodicTerms(req.body as Record<string, unknown>, isoDateOf(periodic.today())));
    }
    if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
    const created = periodic.initiate({
      paymentProduct: product,
      body: req.body as PeriodicPaymentBody,
      psuId,
      tppRedirectPreferred: preferred === undefined ? undefined : preferred === 'true',
      tppRedirectUri: ok,
      tppNokRedirectUri: nok,
      baseUrl: base(res),
    });
    reply(res, 201, created.body, { Location: created.location, 'ASPSP-SCA-Approach': created.scaApproach });
  });

  v1.get(`${path}/:paymentId`, (req, res) => {
    const product = productOf(req, res);
    if (product) answer(res, periodic.read(product, param(req, 'paymentId')));
  });

  v1.get(`${path}/:paymentId/status`, (req, res) => {
    const product = productOf(req, res);
    if (product) answer(res, periodic.status(product, param(req, 'paymentId')));
  });

  v1.delete(`${path}/:paymentId`, (req, res) => {
    const product = productOf(req, res);
    if (!product) return;
    const result = periodic.cancel(product, param(req, 'paymentId'), base(res));
    if (isSandboxError(result)) return sendError(res, result);
    if (result.kind === 'cancelled') return reply(res, 204);
    reply(res, 202, result.body);
  });

  for (const [segment, purpose] of [['authorisations', 'initiation'], ['cancellation-authorisations', 'cancellation']] as const) {
    v1.post(`${path}/:paymentId/${segment}`, (req, res) => {
      const product = productOf(req, res);
      if (!product) return;
      const { problems, ok, nok } = redirectHeaders(req);
      if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))) {
        problems.push({ text: 'The request body must be a JSON object' });
      }
      if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
      const result = periodic.startAuthorisation(product, param(req, 'paymentId'), purpose, { tppRedirectUri: ok, tppNokRedirectUri: nok, baseUrl: base(res) });
      if (isSandboxError(result)) return sendError(res, result);
      reply(res, 201, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
    });
    v1.get(`${path}/:paymentId/${segment}`, (req, res) => {
      const product = productOf(req, res);
      if (product) answer(res, periodic.listAuthorisations(product, param(req, 'paymentId'), purpose));
    });
    v1.get(`${path}/:paymentId/${segment}/:authorisationId`, (req, res) => {
      const product = productOf(req, res);
      if (product) answer(res, periodic.scaStatus(product, param(req, 'paymentId'), param(req, 'authorisationId'), purpose));
    });
    v1.put(`${path}/:paymentId/${segment}/:authorisationId`, (req, res) => {
      const product = productOf(req, res);
      if (!product) return;
      const result = periodic.updatePsuData(product, param(req, 'paymentId'), param(req, 'authorisationId'), purpose);
      if (isSandboxError(result)) return sendError(res, result);
      reply(res, 200, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
    });
  }

  const scaPage = express.Router();
  scaPage.use(express.urlencoded({ extended: false, limit: '10kb' }));
  scaPage.get('/:authorisationId', (req, res) => {
    const state = periodic.pageState(param(req, 'authorisationId'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    const page = renderScaPage({ payment: state.body } as unknown as SandboxPaymentView);
    sendHtml(res, 200, state.purpose === 'cancellation' ? page.replace(/Authorise payment/g, 'Authorise cancellation of standing order') : page.replace(/Authorise payment/g, 'Authorise standing order'));
  });
  scaPage.post('/:authorisationId', scaDecisionHandler('authorisationId', (id, decision) => periodic.decide(id, decision)));

  const admin = express.Router();
  admin.get('/periodic-payments/:paymentId', (req, res) => {
    const view = periodic.view(param(req, 'paymentId'));
    if (!view) return void res.status(404).json({ message: 'Unknown periodic payment' });
    res.json(view);
  });

  return { v1, scaPage, admin };
}
