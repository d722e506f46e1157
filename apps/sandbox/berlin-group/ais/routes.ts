/**
 * HTTP face of the AIS side: the NextGenPSD2 consent and account endpoints, the consent SCA page and
 * the AIS `_sandbox` controls. Mounted by `../routes.ts` behind the same `/v1` gate as payments
 * (fault injection, X-Request-ID echo and check, JSON body parsing). Handlers only translate.
 */
import express, { type Request, type Response } from 'express';
import { SandboxErrorCode } from '../errors';
import { DEDUPLICATE_HEADER, parseDeduplicateHeader } from '../request-ledger';
import { renderScaMessage } from '../sca-page';
import { isAbsoluteHttpUrl, isIpAddress, type FieldProblem } from '../validation';
import { renderConsentPage } from './consent-page';
import type { AisSandboxBank, PsuDataStep, ReadContext, TransactionListQuery } from './consents';
import { AisErrorCode, aisError, isAisError, toAisErrorResponse, type AisError } from './errors';
import { isEntryReference, parseIsoDate } from './transactions';
import { param, scaDecisionHandler, sendHtml } from '../sca-decision';

/** The `/v1` reply of `../routes.ts`, which applies the "dropped response" fault. */
export type Reply = (res: Response, status: number, body?: unknown, headers?: Record<string, string>) => void;

export interface AisRouters {
  /** Mount under `/v1`, after the shared gate and JSON parser. */
  v1: express.Router;
  /** Mount under `/sca/consents`. */
  scaPage: express.Router;
  /** Mount under `/_sandbox` (never faulted). */
  admin: express.Router;
}

export function buildAisRouters(ais: AisSandboxBank, reply: Reply): AisRouters {
  return { v1: v1Routes(ais, reply), scaPage: consentPageRoutes(ais), admin: adminRoutes(ais) };
}

// ── /v1 ────────────────────────────────────────────────────────────────────

function v1Routes(ais: AisSandboxBank, reply: Reply): express.Router {
  const v1 = express.Router();
  const sendError = (res: Response, error: AisError) => {
    const { status, body } = toAisErrorResponse(error);
    reply(res, status, body);
  };
  const answer = (res: Response, result: object | AisError, status = 200) =>
    isAisError(result) ? sendError(res, result) : reply(res, status, result);
  const problemsError = (problems: FieldProblem[]): AisError => ({ error: SandboxErrorCode.FormatError, messages: problems });

  v1.post('/consents', (req, res) => {
    const psuId = req.get('PSU-ID') || undefined;
    const redirectPreferred = req.get('TPP-Redirect-Preferred');
    const redirectUri = req.get('TPP-Redirect-URI') || undefined;
    const nokRedirectUri = req.get('TPP-Nok-Redirect-URI') || undefined;
    const redirect = psuId !== 'embedded' && psuId !== 'decoupled' && psuId !== 'decoupled-deny' && redirectPreferred !== 'false';
    const deduplicate = parseDeduplicateHeader(req.get(DEDUPLICATE_HEADER));
    const problems: FieldProblem[] = [];
    if (!isIpAddress(req.get('PSU-IP-Address'))) problems.push({ text: 'Header PSU-IP-Address is missing or not an IP address' });
    if (typeof deduplicate === 'object') problems.push({ text: deduplicate.problem });
    if (redirectPreferred !== undefined && redirectPreferred !== 'true' && redirectPreferred !== 'false') {
      problems.push({ text: 'Header TPP-Redirect-Preferred must be "true" or "false"' });
    }
    if (redirectUri === undefined && redirect) problems.push({ text: 'Header TPP-Redirect-URI is required for the redirect SCA approach' });
    problems.push(...checkRedirectUris(redirectUri, nokRedirectUri));
    if (problems.length) return sendError(res, problemsError(problems));

    const outcome = ais.createConsent({
      requestId: req.get('X-Request-ID')!,
      deduplicate: typeof deduplicate === 'boolean' ? deduplicate : undefined,
      body: req.body,
      psuId,
      tppRedirectPreferred: redirectPreferred === undefined ? undefined : redirectPreferred === 'true',
      tppRedirectUri: redirectUri,
      tppNokRedirectUri: nokRedirectUri,
      baseUrl: res.locals.sandboxBaseUrl,
    });
    if (isAisError(outcome)) return sendError(res, outcome);
    const { response } = outcome;
    reply(res, 201, response.body, { Location: response.location, 'ASPSP-SCA-Approach': response.scaApproach });
  });

  v1.get('/consents/:consentId', (req, res) => answer(res, ais.getConsent(param(req, 'consentId'), res.locals.sandboxBaseUrl)));
  v1.get('/consents/:consentId/status', (req, res) => answer(res, ais.getConsentStatus(param(req, 'consentId'))));
  v1.delete('/consents/:consentId', (req, res) => {
    const result = ais.deleteConsent(param(req, 'consentId'));
    if (isAisError(result)) return sendError(res, result);
    reply(res, 204);
  });

  v1.post('/consents/:consentId/authorisations', (req, res) => {
    const step = psuDataStepOf(req.body);
    const redirectUri = req.get('TPP-Redirect-URI') || undefined;
    const nokRedirectUri = req.get('TPP-Nok-Redirect-URI') || undefined;
    const problems = checkRedirectUris(redirectUri, nokRedirectUri);
    if (isAisError(step)) return sendError(res, step);
    if (problems.length) return sendError(res, problemsError(problems));
    const result = ais.startAuthorisation(param(req, 'consentId'), step, {
      tppRedirectUri: redirectUri,
      tppNokRedirectUri: nokRedirectUri,
      baseUrl: res.locals.sandboxBaseUrl,
    });
    if (isAisError(result)) return sendError(res, result);
    reply(res, 201, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
  });
  v1.get('/consents/:consentId/authorisations', (req, res) => answer(res, ais.listAuthorisations(param(req, 'consentId'))));
  v1.get('/consents/:consentId/authorisations/:authorisationId', (req, res) =>
    answer(res, ais.getScaStatus(param(req, 'consentId'), param(req, 'authorisationId'))),
  );
  v1.put('/consents/:consentId/authorisations/:authorisationId', (req, res) => {
    const step = psuDataStepOf(req.body);
    if (isAisError(step)) return sendError(res, step);
    const result = ais.updatePsuData(param(req, 'consentId'), param(req, 'authorisationId'), step, res.locals.sandboxBaseUrl);
    if (isAisError(result)) return sendError(res, result);
    reply(res, 200, result.body, { 'ASPSP-SCA-Approach': result.scaApproach });
  });

  v1.get('/accounts', (req, res) => {
    const ctx = readContext(req, res);
    const withBalance = booleanQuery(req, 'withBalance');
    if (isAisError(ctx)) return sendError(res, ctx);
    if (isAisError(withBalance)) return sendError(res, withBalance);
    answer(res, ais.listAccounts(ctx, { withBalance: withBalance ?? false }));
  });
  v1.get('/accounts/:accountId', (req, res) => {
    const ctx = readContext(req, res);
    const withBalance = booleanQuery(req, 'withBalance');
    if (isAisError(ctx)) return sendError(res, ctx);
    if (isAisError(withBalance)) return sendError(res, withBalance);
    answer(res, ais.getAccount(ctx, param(req, 'accountId'), { withBalance: withBalance ?? false }));
  });
  v1.get('/accounts/:accountId/balances', (req, res) => {
    const ctx = readContext(req, res);
    if (isAisError(ctx)) return sendError(res, ctx);
    answer(res, ais.getBalances(ctx, param(req, 'accountId')));
  });
  v1.get('/accounts/:accountId/transactions', (req, res) => {
    const ctx = readContext(req, res);
    if (isAisError(ctx)) return sendError(res, ctx);
    const query = transactionQueryOf(req);
    if (isAisError(query)) return sendError(res, query);
    answer(res, ais.getTransactions(ctx, param(req, 'accountId'), query));
  });
  v1.get('/accounts/:accountId/transactions/:transactionId', (req, res) => {
    const ctx = readContext(req, res);
    if (isAisError(ctx)) return sendError(res, ctx);
    answer(res, ais.getTransaction(ctx, param(req, 'accountId'), param(req, 'transactionId')));
  });

  return v1;
}

function checkRedirectUris(redirectUri: string | undefined, nokRedirectUri: string | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [name, value] of [['TPP-Redirect-URI', redirectUri], ['TPP-Nok-Redirect-URI', nokRedirectUri]] as const) {
    if (value !== undefined && !isAbsoluteHttpUrl(value)) problems.push({ text: `Header ${name} must be an absolute http(s) URI` });
  }
  return problems;
}

function readContext(req: Request, res: Response): ReadContext | AisError {
  const psuIp = req.get('PSU-IP-Address');
  if (psuIp !== undefined && !isIpAddress(psuIp)) {
    return aisError(SandboxErrorCode.FormatError, 'Header PSU-IP-Address is not an IP address', 'PSU-IP-Address');
  }
  return { consentId: req.get('Consent-ID') || undefined, psuPresent: psuIp !== undefined, baseUrl: res.locals.sandboxBaseUrl };
}

/** The embedded step a body carries: exactly one of psuData, authenticationMethodId, scaAuthenticationData, or none. */
function psuDataStepOf(body: unknown): PsuDataStep | AisError {
  if (body === undefined) return { kind: 'none' };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return aisError(SandboxErrorCode.FormatError, 'The request body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const present = (['psuData', 'authenticationMethodId', 'scaAuthenticationData'] as const).filter((k) => fields[k] !== undefined);
  if (present.length > 1) return aisError(SandboxErrorCode.FormatError, `Send one of ${present.join(', ')} per request`);
  switch (present[0]) {
    case 'psuData': {
      const psuData = fields.psuData;
      if (typeof psuData !== 'object' || psuData === null) return aisError(SandboxErrorCode.FormatError, 'psuData must be an object', 'psuData');
      return { kind: 'credentials', password: (psuData as Record<string, unknown>).password };
    }
    case 'authenticationMethodId':
      return { kind: 'selectMethod', authenticationMethodId: fields.authenticationMethodId };
    case 'scaAuthenticationData':
      return { kind: 'otp', scaAuthenticationData: fields.scaAuthenticationData };
    default:
      return { kind: 'none' };
  }
}

function stringQuery(req: Request, name: string): string | undefined | AisError {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return aisError(SandboxErrorCode.FormatError, `Query parameter ${name} must be given once`, name);
  return value;
}

function booleanQuery(req: Request, name: string): boolean | undefined | AisError {
  const value = stringQuery(req, name);
  if (value === undefined || isAisError(value)) return value;
  if (value !== 'true' && value !== 'false') return aisError(SandboxErrorCode.FormatError, `Query parameter ${name} must be true or false`, name);
  return value === 'true';
}

function transactionQueryOf(req: Request): TransactionListQuery | AisError {
  const raw: Record<string, string | undefined> = {};
  for (const name of ['bookingStatus', 'dateFrom', 'dateTo', 'entryReferenceFrom', 'deltaAfter', 'page']) {
    const value = stringQuery(req, name);
    if (isAisError(value)) return value;
    raw[name] = value;
  }
  const deltaList = booleanQuery(req, 'deltaList');
  const withBalance = booleanQuery(req, 'withBalance');
  if (isAisError(deltaList)) return deltaList;
  if (isAisError(withBalance)) return withBalance;

  let bookingStatus: TransactionListQuery['bookingStatus'];
  switch (raw.bookingStatus) {
    case 'booked':
    case 'pending':
    case 'both':
      bookingStatus = raw.bookingStatus;
      break;
    case 'all':
      bookingStatus = 'both';
      break;
    case 'information':
      return aisError(AisErrorCode.ParameterNotSupported, 'bookingStatus=information (standing orders) is not offered by this sandbox', 'bookingStatus');
    default:
      return aisError(SandboxErrorCode.FormatError, 'Query parameter bookingStatus is required: booked, pending or both', 'bookingStatus');
  }
  const query: TransactionListQuery = { bookingStatus, deltaList: deltaList ?? false, withBalance: withBalance ?? false };
  for (const name of ['dateFrom', 'dateTo'] as const) {
    if (raw[name] === undefined) continue;
    const day = parseIsoDate(raw[name]);
    if (day === undefined) return aisError(SandboxErrorCode.FormatError, `Query parameter ${name} must be an ISO date (YYYY-MM-DD)`, name);
    query[name] = day;
  }
  for (const name of ['entryReferenceFrom', 'deltaAfter'] as const) {
    const value = raw[name];
    if (value === undefined) continue;
    if (!(value === '' && name === 'deltaAfter') && !isEntryReference(value)) {
      return aisError(SandboxErrorCode.FormatError, `Query parameter ${name} is not an entry reference of this bank`, name);
    }
    query[name] = value;
  }
  if (raw.page !== undefined) {
    if (!/^[1-9]\d{0,6}$/.test(raw.page)) return aisError(SandboxErrorCode.FormatError, 'Query parameter page must be a positive integer', 'page');
    query.page = Number(raw.page);
  }
  const delta = query.deltaList || query.entryReferenceFrom !== undefined || query.deltaAfter !== undefined;
  // Pending entries are all dated today, so a pending-only report needs no period.
  if (!delta && query.dateFrom === undefined && bookingStatus !== 'pending') {
    return aisError(SandboxErrorCode.FormatError, 'Query parameter dateFrom is required unless entryReferenceFrom, deltaList=true or bookingStatus=pending is given', 'dateFrom');
  }
  if (query.dateFrom !== undefined && query.dateTo !== undefined && query.dateFrom > query.dateTo) {
    return aisError(AisErrorCode.PeriodInvalid, 'dateFrom is after dateTo', 'dateFrom');
  }
  return query;
}

// ── /sca/consents ──────────────────────────────────────────────────────────

function consentPageRoutes(ais: AisSandboxBank): express.Router {
  const sca = express.Router();
  sca.use(express.urlencoded({ extended: false, limit: '10kb' }));

  sca.get('/:authorisationId', (req, res) => {
    const state = ais.openConsentPage(param(req, 'authorisationId'));
    if (state.kind === 'unknown') return sendHtml(res, 404, renderScaMessage('Unknown authorisation', 'This SCA link is not valid.'));
    if (state.kind === 'done') return sendHtml(res, 200, renderScaMessage('Nothing to authorise', state.reason));
    sendHtml(res, 200, renderConsentPage(state.consent));
  });

  sca.post('/:authorisationId', scaDecisionHandler('authorisationId', (id, decision) => ais.decideConsent(id, decision)));

  return sca;
}

// ── /_sandbox (AIS) ────────────────────────────────────────────────────────

function adminRoutes(ais: AisSandboxBank): express.Router {
  const admin = express.Router();
  admin.use(express.json({ limit: '10kb' }));

  admin.get('/ais/stats', (_req, res) => void res.json(ais.stats()));
  admin.get('/psus/:psuId/accounts', (req, res) => {
    res.json({
      accounts: ais.accountsOf(param(req, 'psuId')).map(({ resourceId, iban, currency, name, ownerName }) => ({ resourceId, iban, currency, name, ownerName })),
    });
  });
  admin.get('/consents/:consentId', (req, res) => {
    const consent = ais.getConsentView(param(req, 'consentId'));
    if (!consent) return void res.status(404).json({ message: 'Unknown consent' });
    res.json(consent);
  });
  admin.post('/consents/:consentId/revoke', (req, res) => {
    const result = ais.revokeConsent(param(req, 'consentId'));
    if (isAisError(result)) {
      return void res.status(result.error === AisErrorCode.ConsentUnknown ? 404 : 409).json({ message: result.messages[0].text });
    }
    res.json(result);
  });
  /** `{ "at": ISO date-time | epoch ms }` freezes the bank clock, `{ "advanceMs": n }` moves it. */
  admin.put('/clock', (req, res) => {
    const { at, advanceMs } = (req.body ?? {}) as { at?: unknown; advanceMs?: unknown };
    const atMs = typeof at === 'string' ? Date.parse(at) : typeof at === 'number' ? at : undefined;
    if (at !== undefined && (atMs === undefined || Number.isNaN(atMs))) return void res.status(400).json({ message: 'at must be an ISO date-time or epoch ms' });
    if (advanceMs !== undefined && (typeof advanceMs !== 'number' || !Number.isFinite(advanceMs))) {
      return void res.status(400).json({ message: 'advanceMs must be a number' });
    }
    if (atMs !== undefined) ais.setClock(atMs);
    if (typeof advanceMs === 'number') ais.advanceClock(advanceMs);
    res.json({ now: new Date(ais.now()).toISOString() });
  });
  admin.delete('/clock', (_req, res) => {
    ais.resetClock();
    res.json({ now: new Date(ais.now()).toISOString() });
  });

  return admin;
}
