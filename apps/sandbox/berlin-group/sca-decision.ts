/**
 * The POST of every sandbox redirect-SCA page (single-payment cancellations, bulk, periodic, AIS
 * consents): Approve or Deny, then the TPP's redirect (or a "Done" page without one).
 */
import type { Request, RequestHandler, Response } from 'express';
import { renderScaMessage } from './sca-page';

export type ScaPageDecision = 'approve' | 'deny';
export type ScaPageOutcome = { kind: 'unknown' } | { kind: 'refused'; reason: string } | { kind: 'decided'; scaStatus: string; redirectTo?: string };

export function sendHtml(res: Response, status: number, html: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(html);
}

export function param(req: Request, name: string): string {
  const value = req.params[name];
  return Array.isArray(value) ? value.join('/') : String(value ?? '');
}

/** `decide` gets the route parameter `idParam` and the PSU's decision. */
export function scaDecisionHandler(idParam: string, decide: (id: string, decision: ScaPageDecision) => ScaPageOutcome): RequestHandler {
  return (req, res) => {
    const decision = (req.body as Record<string, unknown> | undefined)?.decision;
    if (decision !== 'approve' && decision !== 'deny') return sendHtml(res, 400, renderScaMessage('Invalid decision', 'Choose Approve or Deny.'));
    const outcome = decide(param(req, idParam), decision);
    if (outcome.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (outcome.kind === 'refused') return sendHtml(res, 409, renderScaMessage('Already decided', outcome.reason));
    if (!outcome.redirectTo) return sendHtml(res, 200, renderScaMessage('Done', `SCA ${outcome.scaStatus}. You can close this window.`));
    res.set('Cache-Control', 'no-store').redirect(302, outcome.redirectTo);
  };
}
