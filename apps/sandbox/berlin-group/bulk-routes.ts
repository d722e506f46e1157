/**
 * HTTP face of the sandbox's bulk payments (see `bulk-payments.ts`): `/v1/bulk-payments/...` and
 * the bulk SCA page `/sca/bulk-payments/{authorisationId}`. Mounted by `routes.ts` for banks that
 * offer bulk payments; a bank that does not answers them as a real one does (SERVICE_INVALID).
 */
import express, { type Request, type Response } from 'express';
import { SCA_EXEMPT_PSU_ID } from './bank';
import { BulkPaymentsSandboxBank, isSandboxBulkProduct, isXmlBulkProduct, type SandboxBulkProduct } from './bulk-payments';
import { isSandboxError, sandboxError, SandboxErrorCode } from './errors';
import { DEDUPLICATE_HEADER, parseDeduplicateHeader } from './request-ledger';
import { param, reply, sendError, sendHtml } from './routes';
import { escapeHtml, renderScaMessage } from './sca-page';
import { isAbsoluteHttpUrl, isIpAddress, redirectUriHeaders, type FieldProblem } from './validation';
import { scaDecisionHandler } from './sca-decision';

/** Bodies of bulk initiations: far larger than a single payment's 100 kB. */
export const BULK_BODY_LIMIT = '60mb';
export const XML_TYPES = ['application/xml', 'text/xml'];

export function bulkPaymentRoutes(bulk: BulkPaymentsSandboxBank): express.Router {
  const v1 = express.Router();

  v1.post('/:paymentProduct', async (req, res, next) => {
    try {
      const product = productOf(req, res);
      if (!product) return;
      const xml = isXmlBulkProduct(product);
      const isXmlBody = req.is(XML_TYPES) !== false && req.is(XML_TYPES) !== null;
      if (xml !== isXmlBody) {
        return sendError(res, sandboxError(SandboxErrorCode.FormatError, xml ? `${product} needs Content-Type: application/xml (a pain.001 document)` : `${product} needs Content-Type: application/json`));
      }
      const psuId = req.get('PSU-ID') || undefined;
      const redirectPreferred = req.get('TPP-Redirect-Preferred');
      const redirectUri = req.get('TPP-Redirect-URI') || undefined;
      const nokRedirectUri = req.get('TPP-Nok-Redirect-URI') || undefined;
      const decoupled = psuId === 'decoupled' || psuId === 'decoupled-deny' || redirectPreferred === 'false';
      const deduplicate = parseDeduplicateHeader(req.get(DEDUPLICATE_HEADER));
      const problems: FieldProblem[] = [];
      if (!isIpAddress(req.get('PSU-IP-Address'))) problems.push({ text: 'Header PSU-IP-Address is missing or not an IP address' });
      if (redirectPreferred !== undefined && redirectPreferred !== 'true' && redirectPreferred !== 'false') {
        problems.push({ text: 'Header TPP-Redirect-Preferred must be "true" or "false"' });
      }
      if (typeof deduplicate === 'object') problems.push({ text: deduplicate.problem });
      if (psuId === SCA_EXEMPT_PSU_ID) problems.push({ text: 'Bulk payments are never exempted from SCA at this bank' });
      if (redirectUri === undefined && !decoupled) problems.push({ text: 'Header TPP-Redirect-URI is required for the redirect SCA approach' });
      else if (redirectUri !== undefined && !isAbsoluteHttpUrl(redirectUri)) problems.push({ text: 'Header TPP-Redirect-URI must be an absolute http(s) URI' });
      if (nokRedirectUri !== undefined && !isAbsoluteHttpUrl(nokRedirectUri)) problems.push({ text: 'Header TPP-Nok-Redirect-URI must be an absolute http(s) URI' });
      if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });

      const created = await bulk.initiate({
        requestId: req.get('X-Request-ID')!,
        deduplicate: typeof deduplicate === 'boolean' ? deduplicate : undefined,
        product,
        body: req.body,
        psuId,
        tppRedirectPreferred: redirectPreferred === undefined ? undefined : redirectPreferred === 'true',
        tppRedirectUri: redirectUri,
        tppNokRedirectUri: nokRedirectUri,
        baseUrl: res.locals.sandboxBaseUrl,
      });
      if (isSandboxError(created)) return sendError(res, created);
      reply(res, 201, created.body, { Location: created.location, 'ASPSP-SCA-Approach': created.scaApproach });
    } catch (err) {
      next(err);
    }
  });

  v1.get('/:paymentProduct/:paymentId', (req, res) => {
    const product = productOf(req, res);
    if (!product) return;
    const result = bulk.read(product, param(req, 'paymentId'));
    if (isSandboxError(result)) return sendError(res, result);
    reply(res, 200, result);
  });

  v1.get('/:paymentProduct/:paymentId/status', async (req, res, next) => {
    try {
      const product = productOf(req, res);
      if (!product) return;
      // BG: the status of a bulk may be asked for as pain.002 (XML) or JSON.
      if (req.accepts(['application/json', 'application/xml']) === 'application/xml') {
        const report = await bulk.readStatusReport(product, param(req, 'paymentId'));
        if (isSandboxError(report)) return sendError(res, report);
        if (res.locals.dropResponse) return reply(res, 200, {});
        res.status(200).type('application/xml').send(report);
        return;
      }
      const result = bulk.readStatus(product, param(req, 'paymentId'));
      if (isSandboxError(result)) return sendError(res, result);
      reply(res, 200, result);
    } catch (err) {
      next(err);
    }
  });

  v1.delete('/:paymentProduct/:paymentId', (req, res) => {
    const product = productOf(req, res);
    if (!product) return;
    const result = bulk.cancel(product, param(req, 'paymentId'));
    if (isSandboxError(result)) return sendError(res, result);
    if (result.authorisationRequired) {
      // Authorised and waiting for its date: the PSU must authorise the cancellation (BG's 202 variant).
      const self = `${res.locals.sandboxBaseUrl}/v1/bulk-payments/${product}/${param(req, 'paymentId')}`;
      return reply(res, 202, { transactionStatus: result.transactionStatus, _links: { self: { href: self }, status: { href: `${self}/status` }, startAuthorisation: { href: `${self}/cancellation-authorisations` } } });
    }
    reply(res, 204);
  });

  // The bulk's authorisations and its cancellation's: the same routes over two sets of bank calls.
  // PUT on a cancellation needs no PSU data here (the PSU acts on the page or in the app): it
  // answers the current status.
  const authorisationKinds = [
    {
      path: 'authorisations',
      start: bulk.startAuthorisation.bind(bulk),
      list: bulk.listAuthorisations.bind(bulk),
      scaStatus: bulk.getScaStatus.bind(bulk),
      readMethods: ['get'] as const,
    },
    {
      path: 'cancellation-authorisations',
      start: bulk.startCancellationAuthorisation.bind(bulk),
      list: bulk.listCancellationAuthorisations.bind(bulk),
      scaStatus: bulk.getCancellationScaStatus.bind(bulk),
      readMethods: ['get', 'put'] as const,
    },
  ];
  for (const kind of authorisationKinds) {
    v1.post(`/:paymentProduct/:paymentId/${kind.path}`, (req, res) => {
      const product = productOf(req, res);
      if (!product) return;
      const problems: FieldProblem[] = [];
      const uris = redirectUriHeaders(req, problems);
      if (problems.length) return sendError(res, { error: SandboxErrorCode.FormatError, messages: problems });
      const result = kind.start(product, param(req, 'paymentId'), { ...uris, baseUrl: res.locals.sandboxBaseUrl });
      if (isSandboxError(result)) return sendError(res, result);
      reply(res, 201, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
    });
    v1.get(`/:paymentProduct/:paymentId/${kind.path}`, (req, res) => {
      const product = productOf(req, res);
      if (!product) return;
      const result = kind.list(product, param(req, 'paymentId'));
      if (isSandboxError(result)) return sendError(res, result);
      reply(res, 200, result);
    });
    for (const method of kind.readMethods) {
      v1[method](`/:paymentProduct/:paymentId/${kind.path}/:subId`, (req, res) => {
        const product = productOf(req, res);
        if (!product) return;
        const result = kind.scaStatus(product, param(req, 'paymentId'), param(req, 'subId'));
        if (isSandboxError(result)) return sendError(res, result);
        reply(res, 200, result);
      });
    }
  }

  return v1;
}

function productOf(req: Request, res: Response): SandboxBulkProduct | undefined {
  const product = param(req, 'paymentProduct');
  if (isSandboxBulkProduct(product)) return product;
  sendError(res, sandboxError(SandboxErrorCode.ProductUnknown, `Payment product ${product} is not offered for bulk payments by this ASPSP`));
  return undefined;
}

/** The redirect page of a bulk's cancellation authorisation: Approve (the bulk is cancelled) or Deny. */
export function bulkCancellationPageRoutes(bulk: BulkPaymentsSandboxBank): express.Router {
  const sca = express.Router();
  sca.use(express.urlencoded({ extended: false, limit: '10kb' }));
  sca.get('/:cancellationId', (req, res) => {
    const state = bulk.openCancellationPage(param(req, 'cancellationId'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    const b = state.bulk;
    sendHtml(
      res,
      200,
      `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorise cancellation of bulk payment · Clearway Sandbox Bank</title></head>
<body>
<p>Clearway Sandbox Bank (Berlin Group NextGenPSD2): test mode, no real money moves.</p>
<h1>Authorise cancellation of bulk payment</h1>
<dl>
  <dt>Payments</dt><dd id="count">${b.numberOfTransactions}</dd>
  <dt>Total</dt><dd id="total">${escapeHtml(b.controlSum)} ${escapeHtml(b.currency)}</dd>
</dl>
<form method="post">
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body>
</html>
`,
    );
  });
  sca.post('/:cancellationId', scaDecisionHandler('cancellationId', (id, decision) => bulk.decideCancellation(id, decision)));
  return sca;
}

/** The bulk's redirect SCA page: what the PSU authorises (count and total), Approve or Deny. */
export function bulkScaPageRoutes(bulk: BulkPaymentsSandboxBank): express.Router {
  const sca = express.Router();
  sca.use(express.urlencoded({ extended: false, limit: '10kb' }));
  sca.get('/:authorisationId', (req, res) => {
    const state = bulk.openScaPage(param(req, 'authorisationId'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    const b = state.bulk;
    const iban = b.debtorIban.length <= 8 ? b.debtorIban : `${b.debtorIban.slice(0, 4)} •••• ${b.debtorIban.slice(-4)}`;
    sendHtml(
      res,
      200,
      `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorise bulk payment · Clearway Sandbox Bank</title></head>
<body>
<p>Clearway Sandbox Bank (Berlin Group NextGenPSD2): test mode, no real money moves.</p>
<h1>Authorise bulk payment</h1>
<dl>
  <dt>Payments</dt><dd id="count">${b.numberOfTransactions}</dd>
  <dt>Total</dt><dd id="total">${escapeHtml(b.controlSum)} ${escapeHtml(b.currency)}</dd>
  <dt>From account</dt><dd>${escapeHtml(iban)}</dd>
  ${b.batchBookingPreferred === undefined ? '' : `<dt>Booking</dt><dd id="booking">${b.batchBookingPreferred ? 'one debit for the whole bulk' : 'one debit per payment'}</dd>`}
</dl>
<form method="post">
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body>
</html>
`,
    );
  });
  sca.post('/:authorisationId', scaDecisionHandler('authorisationId', (id, decision) => bulk.decide(id, decision)));
  return sca;
}
