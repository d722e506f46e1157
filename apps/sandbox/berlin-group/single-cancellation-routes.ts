/**
 * HTTP face of single payments' cancellation authorisations (`single-cancellations.ts`):
 * `POST/GET /v1/payments/{product}/{paymentId}/cancellation-authorisations[/{id}]`, `PUT` on one, and
 * the redirect page `/sca/cancellations/{id}`. Mounted by `routes.ts`.
 */
import express, { type Request, type Response } from 'express';
import type { BerlinGroupSandboxBank } from './bank';
import { sandboxError, SandboxErrorCode, toErrorResponse, type SandboxError } from './errors';
import { renderScaMessage, renderScaPage } from './sca-page';
import { redirectUriHeaders, type FieldProblem } from './validation';
import { param, scaDecisionHandler, sendHtml } from './sca-decision';

type Reply = (res: Response, status: number, body?: unknown, headers?: Record<string, string>) => void;

export function buildSingleCancellationRouters(bank: BerlinGroupSandboxBank, reply: Reply): { v1: express.Router; scaPage: express.Router } {
  const sendError = (res: Response, error: SandboxError) => {
    const { status, body } = toErrorResponse(error);
    reply(res, status, body);
  };
  const paymentOf = (req: Request, res: Response) => {
    const payment = bank.getPayment(param(req, 'paymentId'));
    if (!payment || payment.paymentProduct !== param(req, 'product')) {
      sendError(res, sandboxError(SandboxErrorCode.ResourceUnknown, `Payment ${param(req, 'paymentId')} is unknown for ${param(req, 'product')}`, 'paymentId'));
      return undefined;
    }
    return payment;
  };
  const base = '/payments/:product/:paymentId/cancellation-authorisations';
  const v1 = express.Router();

  v1.post(base, (req, res) => {
    const payment = paymentOf(req, res);
    if (!payment) return;
    const problems: FieldProblem[] = [];
    const uris = redirectUriHeaders(req, problems);
    if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
    if (payment.transactionStatus !== 'ACCP') return sendError(res, sandboxError(SandboxErrorCode.StatusInvalid, `The payment can no longer be cancelled (transaction status ${payment.transactionStatus})`));
    const started = bank.cancellations.start(payment.paymentId, uris);
    if (!started) return sendError(res, sandboxError(SandboxErrorCode.StatusInvalid, 'No cancellation was requested: send DELETE on the payment first'));
    const baseUrl: string = res.locals.sandboxBaseUrl;
    reply(
      res,
      201,
      {
        scaStatus: bank.cancellations.scaStatusOf(started),
        authorisationId: started.id,
        _links: {
          ...(started.approach === 'REDIRECT' ? { scaRedirect: { href: `${baseUrl}/sca/cancellations/${started.id}` } } : {}),
          scaStatus: { href: `${baseUrl}/v1/payments/${payment.paymentProduct}/${payment.paymentId}/cancellation-authorisations/${started.id}` },
        },
        ...(started.approach === 'DECOUPLED' ? { psuMessage: 'Please confirm the cancellation in your Clearway Sandbox Bank app.' } : {}),
      },
      { 'ASPSP-SCA-Approach': started.approach },
    );
  });

  v1.get(base, (req, res) => {
    const payment = paymentOf(req, res);
    if (payment) reply(res, 200, { cancellationIds: bank.cancellations.list(payment.paymentId) });
  });

  for (const method of ['get', 'put'] as const) {
    v1[method](`${base}/:cancellationId`, (req, res) => {
      const payment = paymentOf(req, res);
      if (!payment) return;
      const authorisation = bank.cancellations.find(payment.paymentId, param(req, 'cancellationId'));
      if (!authorisation) return sendError(res, sandboxError(SandboxErrorCode.ResourceUnknown, `Cancellation ${param(req, 'cancellationId')} is unknown for payment ${payment.paymentId}`, 'cancellationId'));
      // PUT needs no PSU data here (the PSU acts on the page or in the app): the current status.
      reply(res, 200, { scaStatus: bank.cancellations.scaStatusOf(authorisation) });
    });
  }

  const scaPage = express.Router();
  scaPage.use(express.urlencoded({ extended: false, limit: '10kb' }));
  scaPage.get('/:id', (req, res) => {
    const state = bank.cancellations.open(param(req, 'id'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    sendHtml(res, 200, renderScaPage(bank.getPayment(state.paymentId)!).replace(/Authorise payment/g, 'Authorise cancellation of payment'));
  });
  scaPage.post('/:id', scaDecisionHandler('id', (id, decision) => bank.cancellations.decide(id, decision)));

  return { v1, scaPage };
}
