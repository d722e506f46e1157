import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { importJWK } from 'jose';
import { isValidIban } from '../../../libs/domain/iban';
import { minorUnits } from '../../../libs/domain/currency';
import { signDetached, verifyDetached, JwsSignatureError } from '../../../libs/adapters/uk-obie/jws';
import { ObieError, sendObieError } from './errors';
import { boundCertificateOk, TRUST_ANCHOR } from './auth-server';
import type { AccountConsent, DomesticPayment, DomesticPaymentStatus, IssuedToken, PaymentConsent, RegisteredClient, UkSandboxState } from './state';

export const RS_PREFIX = '/open-banking/v3.1';

export interface ResourceContext {
  state: UkSandboxState;
  issuer: () => string;
  orgId: string;
}

interface Call {
  token: IssuedToken;
  client: RegisteredClient;
  interactionId: string;
}

const ACCOUNT_PERMISSIONS = new Set([
  'ReadAccountsBasic',
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadTransactionsBasic',
  'ReadTransactionsDetail',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
]);
const PAGE_SIZE = 50;
/** Stripe's rule for RemittanceInformation.Reference: a contiguous run of 6 alphanumerics, not all one character. */
const REFERENCE_CHARS = /^[A-Za-z0-9 &\-./]{1,35}$/;

export function buildResourceRouter(ctx: ResourceContext): express.Router {
  const { state } = ctx;
  const router = express.Router();
  // The body is kept as sent: its signature covers those exact bytes.
  router.use(express.text({ type: () => true, limit: '256kb' }));

  const pisp = `${RS_PREFIX}/pisp`;
  const aisp = `${RS_PREFIX}/aisp`;

  for (const kind of ['domestic', 'international'] as const) {
  const idField = kind === 'domestic' ? 'DomesticPaymentId' : 'InternationalPaymentId';
  router.post(`${pisp}/${kind}-payment-consents`, handle(ctx, 'payments', 'client', async (req, call) => {
    const body = await signedJson(ctx, req, call);
    const idem = idempotencyScope(req, call, `${kind}-payment-consents`);
    const seen = state.idempotent(idem, body);
    if (seen.previous) return replay(seen.previous, seen.hash);
    const initiation = kind === 'domestic' ? validateDomesticInitiation(body) : validateInternationalInitiation(body);
    const now = state.isoNow();
    const consent: PaymentConsent = {
      consentId: state.newId(kind === 'domestic' ? 'pdc' : 'pic'),
      kind,
      clientId: call.client.clientId,
      status: 'AwaitingAuthorisation',
      initiation,
      risk: body.Risk,
      created: now,
      updated: now,
      paymentIds: [],
    };
    state.paymentConsents.set(consent.consentId, consent);
    const answer = { status: 201, body: paymentConsentBody(ctx, consent) };
    state.remember(idem, seen.hash, answer.status, answer.body);
    return answer;
  }));

  router.get(`${pisp}/${kind}-payment-consents/:id`, handle(ctx, 'payments', 'client', async (req, call) => {
    const consent = state.paymentConsents.get(String(req.params.id));
    if (!consent || consent.kind !== kind || consent.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', 'ConsentId not found');
    return { status: 200, body: paymentConsentBody(ctx, consent) };
  }));

  router.post(`${pisp}/${kind}-payments`, handle(ctx, 'payments', 'psu', async (req, call) => {
    const body = await signedJson(ctx, req, call);
    const key = idempotencyKeyOf(req);
    state.paymentRequestsByKey.set(key, (state.paymentRequestsByKey.get(key) ?? 0) + 1);
    const idem = idempotencyScope(req, call, `${kind}-payments`);
    const seen = state.idempotent(idem, body);
    // OBIE: a repeat with the same key (and body) within 24 h returns the payment the first one made.
    if (seen.previous) return replay(seen.previous, seen.hash);
    const consentId = body?.Data?.ConsentId;
    if (typeof consentId !== 'string' || consentId !== call.token.consentId) throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'Data.ConsentId must be the consent this token was issued for', 'Data.ConsentId');
    const consent = state.paymentConsents.get(consentId);
    if (!consent || consent.kind !== kind || consent.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', 'ConsentId not found', 'Data.ConsentId');
    if (consent.status !== 'Authorised') throw new ObieError(400, 'UK.OBIE.Resource.InvalidConsentStatus', `The consent is ${consent.status}`, 'Data.ConsentId');
    if (JSON.stringify(body.Data.Initiation) !== JSON.stringify(consent.initiation) || JSON.stringify(body.Risk) !== JSON.stringify(consent.risk)) {
      throw new ObieError(400, 'UK.OBIE.Resource.ConsentMismatch', 'Initiation and Risk must match the consent', 'Data.Initiation');
    }
    const now = state.isoNow();
    const payment: DomesticPayment = {
      paymentId: state.newId(kind === 'domestic' ? 'dp' : 'ip'),
      kind,
      consentId,
      clientId: call.client.clientId,
      status: initialStatus(consent.initiation),
      created: now,
      updated: now,
      initiation: consent.initiation,
      reads: 0,
      idempotencyKey: key,
    };
    state.payments.set(payment.paymentId, payment);
    consent.paymentIds.push(payment.paymentId);
    consent.status = 'Consumed';
    consent.updated = now;
    const answer = { status: 201, body: paymentBody(ctx, payment, consent) };
    state.remember(idem, seen.hash, answer.status, answer.body);
    if (state.faults.paymentAnswerDelayMs > 0) await new Promise((r) => setTimeout(r, state.faults.paymentAnswerDelayMs));
    if (state.faults.lostPaymentAnswers > 0) {
      state.faults.lostPaymentAnswers -= 1;
      throw new ObieError(503, 'UK.OBIE.UnexpectedError', 'Service unavailable (the sandbox lost this answer on purpose)');
    }
    return answer;
  }));

  router.get(`${pisp}/${kind}-payments/:id`, handle(ctx, 'payments', 'client', async (req, call) => {
    const payment = state.payments.get(String(req.params.id));
    if (!payment || payment.kind !== kind || payment.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', `${idField} not found`);
    advance(state, payment);
    return { status: 200, body: paymentBody(ctx, payment, state.paymentConsents.get(payment.consentId)!) };
  }));

  router.get(`${pisp}/${kind}-payments/:id/payment-details`, handle(ctx, 'payments', 'client', async (req, call) => {
    const payment = state.payments.get(String(req.params.id));
    if (!payment || payment.kind !== kind || payment.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', `${idField} not found`);
    return {
      status: 200,
      body: {
        Data: { PaymentStatus: [{ PaymentTransactionId: payment.paymentId, Status: DETAIL_STATUS[payment.status], StatusUpdateDateTime: payment.updated }] },
        Links: { Self: `${ctx.issuer()}${pisp}/${kind}-payments/${payment.paymentId}/payment-details` },
        Meta: {},
      },
    };
  }));
  }

  // ── AISP ──────────────────────────────────────────────────────────────────────────────────
  router.post(`${aisp}/account-access-consents`, handle(ctx, 'accounts', 'client', async (req, call) => {
    const body = parseJson(req);
    const permissions = body?.Data?.Permissions;
    if (!Array.isArray(permissions) || permissions.length === 0 || !permissions.every((p) => ACCOUNT_PERMISSIONS.has(p))) {
      throw new ObieError(400, 'UK.OBIE.Field.Invalid', `Data.Permissions must be a non-empty list of ${[...ACCOUNT_PERMISSIONS].join(', ')}`, 'Data.Permissions');
    }
    if (typeof body.Risk !== 'object' || body.Risk === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Risk is required', 'Risk');
    const expiration = body.Data.ExpirationDateTime;
    if (expiration !== undefined && (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration)) || Date.parse(expiration) <= state.now())) {
      throw new ObieError(400, 'UK.OBIE.Field.InvalidDate', 'Data.ExpirationDateTime must be a future date-time', 'Data.ExpirationDateTime');
    }
    const now = state.isoNow();
    const consent: AccountConsent = {
      consentId: state.newId('aac'),
      clientId: call.client.clientId,
      status: 'AwaitingAuthorisation',
      permissions,
      expiration,
      transactionFrom: body.Data.TransactionFromDateTime,
      transactionTo: body.Data.TransactionToDateTime,
      created: now,
      updated: now,
      accountIds: [],
    };
    state.accountConsents.set(consent.consentId, consent);
    return { status: 201, body: accountConsentBody(ctx, consent) };
  }));

  router.get(`${aisp}/account-access-consents/:id`, handle(ctx, 'accounts', 'client', async (req, call) => {
    const consent = state.accountConsents.get(String(req.params.id));
    if (!consent || consent.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', 'ConsentId not found');
    return { status: 200, body: accountConsentBody(ctx, consent) };
  }));

  router.delete(`${aisp}/account-access-consents/:id`, handle(ctx, 'accounts', 'client', async (req, call) => {
    const consent = state.accountConsents.get(String(req.params.id));
    if (!consent || consent.clientId !== call.client.clientId) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', 'ConsentId not found');
    state.accountConsents.delete(consent.consentId);
    return { status: 204 };
  }));

  const readable = (call: Call, permission: (p: string[]) => boolean): AccountConsent => {
    const consent = state.accountConsents.get(call.token.consentId ?? '');
    if (!consent || consent.status !== 'Authorised') throw new ObieError(403, 'UK.OBIE.Resource.InvalidConsentStatus', `The consent is ${consent?.status ?? 'unknown'}`);
    if (consent.expiration && Date.parse(consent.expiration) <= state.now()) throw new ObieError(403, 'UK.OBIE.Resource.InvalidConsentStatus', 'The consent has expired');
    if (!permission(consent.permissions)) throw new ObieError(403, 'UK.OBIE.Resource.InvalidConsentStatus', 'The consent does not grant this');
    return consent;
  };
  const accountOf = (consent: AccountConsent, id: string) => {
    if (!consent.accountIds.includes(id)) throw new ObieError(400, 'UK.OBIE.Resource.NotFound', 'AccountId not found');
    return state.accountsOf(consent.psu!).find((a) => a.accountId === id)!;
  };
  const hasAccounts = (p: string[]) => p.includes('ReadAccountsBasic') || p.includes('ReadAccountsDetail');

  router.get(`${aisp}/accounts`, handle(ctx, 'accounts', 'psu', async (_req, call) => {
    const consent = readable(call, hasAccounts);
    const accounts = consent.accountIds.map((id) => accountBody(accountOf(consent, id), consent.permissions.includes('ReadAccountsDetail')));
    return { status: 200, body: { Data: { Account: accounts }, Links: { Self: `${ctx.issuer()}${aisp}/accounts` }, Meta: { TotalPages: 1 } } };
  }));

  router.get(`${aisp}/accounts/:id`, handle(ctx, 'accounts', 'psu', async (req, call) => {
    const consent = readable(call, hasAccounts);
    const account = accountOf(consent, String(req.params.id));
    return { status: 200, body: { Data: { Account: [accountBody(account, consent.permissions.includes('ReadAccountsDetail'))] }, Links: { Self: `${ctx.issuer()}${aisp}/accounts/${account.accountId}` }, Meta: { TotalPages: 1 } } };
  }));

  router.get(`${aisp}/accounts/:id/balances`, handle(ctx, 'accounts', 'psu', async (req, call) => {
    const consent = readable(call, (p) => p.includes('ReadBalances'));
    const account = accountOf(consent, String(req.params.id));
    const booked = account.balanceMinor + account.transactions.filter((t) => t.status === 'Booked').reduce((s, t) => s + t.amountMinor, 0n);
    const available = booked + account.transactions.filter((t) => t.status === 'Pending').reduce((s, t) => s + t.amountMinor, 0n);
    const balance = (type: string, minor: bigint) => ({
      AccountId: account.accountId,
      CreditDebitIndicator: minor < 0n ? 'Debit' : 'Credit',
      Type: type,
      DateTime: state.isoNow(),
      Amount: { Amount: pounds(minor < 0n ? -minor : minor), Currency: 'GBP' },
    });
    return {
      status: 200,
      body: { Data: { Balance: [balance('ClosingBooked', booked), balance('InterimAvailable', available)] }, Links: { Self: `${ctx.issuer()}${aisp}/accounts/${account.accountId}/balances` }, Meta: { TotalPages: 1 } },
    };
  }));

  router.get(`${aisp}/accounts/:id/transactions`, handle(ctx, 'accounts', 'psu', async (req, call) => {
    const consent = readable(call, (p) => p.some((x) => x.startsWith('ReadTransactions')));
    const account = accountOf(consent, String(req.params.id));
    const from = dateParam(req, 'fromBookingDateTime');
    const to = dateParam(req, 'toBookingDateTime');
    const page = req.query.page === undefined ? 1 : Number(req.query.page);
    if (!Number.isInteger(page) || page < 1) throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'page must be a positive integer', 'page');
    const credits = consent.permissions.includes('ReadTransactionsCredits');
    const debits = consent.permissions.includes('ReadTransactionsDebits');
    const all = account.transactions.filter((t) => {
      const at = Date.parse(t.bookingDateTime);
      if (from !== undefined && at < from) return false;
      if (to !== undefined && at > to) return false;
      return t.amountMinor >= 0n ? credits : debits;
    });
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const detail = consent.permissions.includes('ReadTransactionsDetail');
    const items = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map((t) => ({
      AccountId: account.accountId,
      TransactionId: t.transactionId,
      Status: t.status,
      BookingDateTime: t.bookingDateTime,
      ValueDateTime: t.bookingDateTime,
      CreditDebitIndicator: t.amountMinor < 0n ? 'Debit' : 'Credit',
      Amount: { Amount: pounds(t.amountMinor < 0n ? -t.amountMinor : t.amountMinor), Currency: 'GBP' },
      ...(detail ? { TransactionInformation: t.reference, ...(t.amountMinor < 0n ? { CreditorAccount: { Name: t.counterparty } } : { DebtorAccount: { Name: t.counterparty } }) } : {}),
    }));
    const link = (p: number) => {
      const u = new URL(`${ctx.issuer()}${aisp}/accounts/${account.accountId}/transactions`);
      for (const name of ['fromBookingDateTime', 'toBookingDateTime']) if (typeof req.query[name] === 'string') u.searchParams.set(name, req.query[name] as string);
      u.searchParams.set('page', String(p));
      return u.toString();
    };
    return {
      status: 200,
      body: {
        Data: { Transaction: items },
        Links: { Self: link(page), First: link(1), Last: link(pages), ...(page < pages ? { Next: link(page + 1) } : {}), ...(page > 1 ? { Prev: link(page - 1) } : {}) },
        Meta: { TotalPages: pages },
      },
    };
  }));

  return router;
}

type Answer = { status: number; body?: unknown };

/**
 * Every resource call: interaction id echoed (or made), bearer token checked (a client-credentials
 * token for `client` calls, a token bought with the PSU's code for `psu` calls), errors in OBIE
 * form, JSON answers signed (`x-jws-signature`, OBIE 3.1.4+ rules).
 */
function handle(ctx: ResourceContext, scope: 'payments' | 'accounts', who: 'client' | 'psu', fn: (req: Request, call: Call) => Promise<Answer>) {
  return async (req: Request, res: Response, _next: NextFunction) => {
    const interactionId = typeof req.header('x-fapi-interaction-id') === 'string' && req.header('x-fapi-interaction-id')!.length <= 64 ? req.header('x-fapi-interaction-id')! : randomUUID();
    res.setHeader('x-fapi-interaction-id', interactionId);
    try {
      const bearer = /^Bearer (\S+)$/.exec(req.header('authorization') ?? '')?.[1];
      const token = bearer ? ctx.state.tokens.get(bearer) : undefined;
      if (!token || token.expiresAt < ctx.state.now()) throw new ObieError(401, 'UK.OBIE.Unauthorized', 'A valid access token is required');
      if (!boundCertificateOk(req, token)) throw new ObieError(401, 'UK.OBIE.Unauthorized', 'The access token is bound to another client certificate (RFC 8705)');
      if (!token.scope.includes(scope)) throw new ObieError(403, 'UK.OBIE.Unauthorized', `The token does not carry the ${scope} scope`);
      if ((who === 'psu') !== Boolean(token.consentId)) {
        throw new ObieError(403, 'UK.OBIE.Unauthorized', who === 'psu' ? 'This call needs a token authorised by the PSU' : 'This call needs a client-credentials token');
      }
      const client = ctx.state.clients.get(token.clientId)!;
      const answer = await fn(req, { token, client, interactionId });
      if (answer.body === undefined) return void res.status(answer.status).end();
      const json = JSON.stringify(answer.body);
      const signature = await signDetached(json, ctx.state.aspspKey.privateKey, { kid: ctx.state.aspspKey.kid, iss: ctx.orgId, tan: TRUST_ANCHOR, profile: '3.1.4+', iat: Math.floor(ctx.state.now() / 1000) });
      res.status(answer.status).setHeader('x-jws-signature', signature).type('application/json; charset=utf-8').send(json);
    } catch (err) {
      if (err instanceof ObieError) return sendObieError(res, err, interactionId);
      sendObieError(res, new ObieError(500, 'UK.OBIE.UnexpectedError', 'Unexpected error'), interactionId);
    }
  };
}

function parseJson(req: Request): any {
  if (!req.is('application/json')) throw new ObieError(415, 'UK.OBIE.Header.Invalid', 'Content-Type must be application/json');
  try {
    return JSON.parse(typeof req.body === 'string' ? req.body : '');
  } catch {
    throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'The body is not JSON');
  }
}

/** The request's `x-jws-signature` must verify with a key of the client's software statement. */
async function signedJson(ctx: ResourceContext, req: Request, call: Call): Promise<any> {
  const body = parseJson(req);
  try {
    await verifyDetached(
      req.header('x-jws-signature'),
      req.body as string,
      async (kid) => {
        const jwk = call.client.jwks.keys.find((k) => k.kid === kid);
        return jwk ? importJWK(jwk, 'PS256') : undefined;
      },
      { profile: '3.1.4+', iss: `${call.client.orgId}/${call.client.softwareId}`, tans: [TRUST_ANCHOR], now: () => ctx.state.now() },
    );
  } catch (err) {
    if (err instanceof JwsSignatureError) throw new ObieError(400, 'UK.OBIE.Signature.Invalid', err.message, 'x-jws-signature');
    throw err;
  }
  return body;
}

function idempotencyKeyOf(req: Request): string {
  const key = req.header('x-idempotency-key');
  if (!key || key.length > 40 || !/^[\x21-\x7e]+$/.test(key)) throw new ObieError(400, 'UK.OBIE.Header.Missing', 'x-idempotency-key (1-40 characters) is required', 'x-idempotency-key');
  return key;
}

function idempotencyScope(req: Request, call: Call, resource: string): string {
  return `${call.client.clientId}|${resource}|${idempotencyKeyOf(req)}`;
}

function replay(previous: { bodyHash: string; status: number; body: unknown }, hash: string): Answer {
  if (previous.bodyHash !== hash) throw new ObieError(400, 'UK.OBIE.Field.Unexpected', 'x-idempotency-key was already used with a different body', 'x-idempotency-key');
  return { status: previous.status, body: previous.body };
}

function validateDomesticInitiation(body: any): Record<string, any> {
  const i = body?.Data?.Initiation;
  if (typeof i !== 'object' || i === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Data.Initiation is required', 'Data.Initiation');
  if (typeof body.Risk !== 'object' || body.Risk === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Risk is required', 'Risk');
  const allowed = new Set(['InstructionIdentification', 'EndToEndIdentification', 'LocalInstrument', 'InstructedAmount', 'DebtorAccount', 'CreditorAccount', 'CreditorPostalAddress', 'RemittanceInformation', 'SupplementaryData']);
  for (const k of Object.keys(i)) if (!allowed.has(k)) throw new ObieError(400, 'UK.OBIE.Field.Unexpected', `Data.Initiation.${k} is not allowed`, `Data.Initiation.${k}`);
  for (const k of ['InstructionIdentification', 'EndToEndIdentification']) {
    if (typeof i[k] !== 'string' || i[k].length < 1 || i[k].length > 35) throw new ObieError(400, 'UK.OBIE.Field.Invalid', `Data.Initiation.${k} must be 1-35 characters`, `Data.Initiation.${k}`);
  }
  const amount = i.InstructedAmount;
  if (typeof amount?.Amount !== 'string' || !/^\d{1,13}$|^\d{1,13}\.\d{1,5}$/.test(amount.Amount) || !/[1-9]/.test(amount.Amount)) {
    throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'Data.Initiation.InstructedAmount.Amount must be a positive decimal string', 'Data.Initiation.InstructedAmount.Amount');
  }
  if (amount.Currency !== 'GBP') throw new ObieError(400, 'UK.OBIE.Unsupported.Currency', 'Domestic payments are in GBP', 'Data.Initiation.InstructedAmount.Currency');
  if (!/^\d+(\.\d{1,2})?$/.test(amount.Amount)) throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'GBP has two decimals', 'Data.Initiation.InstructedAmount.Amount');
  validateAccount(i.CreditorAccount, 'Data.Initiation.CreditorAccount', true);
  if (i.DebtorAccount !== undefined) validateAccount(i.DebtorAccount, 'Data.Initiation.DebtorAccount', false);
  validateReference(i);
  return i;
}

/** Currencies the sandbox bank transfers abroad, with its indicative rate: units of the currency per 1 GBP. */
export const INDICATIVE_RATES: Record<string, string> = { GBP: '1', EUR: '1.1650', USD: '1.2700', CHF: '1.1100', SEK: '13.4500', PLN: '5.0100' };
const INTERNATIONAL_KEYS = new Set(['InstructionIdentification', 'EndToEndIdentification', 'LocalInstrument', 'InstructionPriority', 'Purpose', 'ExtendedPurpose', 'ChargeBearer', 'CurrencyOfTransfer', 'DestinationCountryCode', 'InstructedAmount', 'ExchangeRateInformation', 'DebtorAccount', 'Creditor', 'CreditorAgent', 'CreditorAccount', 'RemittanceInformation', 'SupplementaryData']);
const CHARGE_BEARERS = new Set(['BorneByCreditor', 'BorneByDebtor', 'FollowingServiceLevel', 'Shared']);

/**
 * OBIE 3.1.11 `OBWriteInternationalConsent5`, as strictly as a real bank: the debtor's accounts
 * are in GBP, so the instructed currency is GBP or the currency of transfer; only the currencies
 * the bank transfers are taken; amounts have the currency's decimals; an `Agreed` rate needs its
 * contract and rate; a BBAN creditor needs the creditor agent; the reference rule is the domestic one.
 */
function validateInternationalInitiation(body: any): Record<string, any> {
  const i = body?.Data?.Initiation;
  if (typeof i !== 'object' || i === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Data.Initiation is required', 'Data.Initiation');
  if (typeof body.Risk !== 'object' || body.Risk === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Risk is required', 'Risk');
  for (const k of Object.keys(i)) if (!INTERNATIONAL_KEYS.has(k)) throw new ObieError(400, 'UK.OBIE.Field.Unexpected', `Data.Initiation.${k} is not allowed`, `Data.Initiation.${k}`);
  for (const k of ['InstructionIdentification', 'EndToEndIdentification']) {
    if (typeof i[k] !== 'string' || i[k].length < 1 || i[k].length > 35) throw new ObieError(400, 'UK.OBIE.Field.Invalid', `Data.Initiation.${k} must be 1-35 characters`, `Data.Initiation.${k}`);
  }
  const transfer = i.CurrencyOfTransfer;
  if (typeof transfer !== 'string' || !/^[A-Z]{3}$/.test(transfer)) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Data.Initiation.CurrencyOfTransfer is required (ISO 4217)', 'Data.Initiation.CurrencyOfTransfer');
  if (!INDICATIVE_RATES[transfer]) throw new ObieError(400, 'UK.OBIE.Unsupported.Currency', `The bank transfers ${Object.keys(INDICATIVE_RATES).join(', ')}`, 'Data.Initiation.CurrencyOfTransfer');
  const amount = i.InstructedAmount;
  if (typeof amount?.Amount !== 'string' || !/^\d{1,13}$|^\d{1,13}\.\d{1,5}$/.test(amount.Amount) || !/[1-9]/.test(amount.Amount)) {
    throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'Data.Initiation.InstructedAmount.Amount must be a positive decimal string', 'Data.Initiation.InstructedAmount.Amount');
  }
  if (amount.Currency !== 'GBP' && amount.Currency !== transfer) {
    throw new ObieError(400, 'UK.OBIE.Unsupported.Currency', 'InstructedAmount.Currency must be GBP (the debtor account) or the currency of transfer', 'Data.Initiation.InstructedAmount.Currency');
  }
  const decimals = minorUnits(amount.Currency) ?? 2;
  if ((amount.Amount.split('.')[1]?.length ?? 0) > decimals) throw new ObieError(400, 'UK.OBIE.Field.Invalid', `${amount.Currency} has ${decimals} decimals`, 'Data.Initiation.InstructedAmount.Amount');
  if (i.ChargeBearer !== undefined && !CHARGE_BEARERS.has(i.ChargeBearer)) throw new ObieError(400, 'UK.OBIE.Field.Invalid', `Data.Initiation.ChargeBearer must be one of ${[...CHARGE_BEARERS].join(', ')}`, 'Data.Initiation.ChargeBearer');
  const rate = i.ExchangeRateInformation;
  if (rate !== undefined) {
    if (rate?.UnitCurrency !== 'GBP' && rate?.UnitCurrency !== transfer) throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'ExchangeRateInformation.UnitCurrency must be GBP or the currency of transfer', 'Data.Initiation.ExchangeRateInformation.UnitCurrency');
    if (!['Actual', 'Agreed', 'Indicative'].includes(rate.RateType)) throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'ExchangeRateInformation.RateType must be Actual, Agreed or Indicative', 'Data.Initiation.ExchangeRateInformation.RateType');
    // OBIE: an agreed rate names its contract and the rate; the sandbox has no rate contracts.
    if (rate.RateType === 'Agreed') throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'The bank has no agreed-rate contract with this client', 'Data.Initiation.ExchangeRateInformation.ContractIdentification');
    if (rate.ExchangeRate !== undefined || rate.ContractIdentification !== undefined) throw new ObieError(400, 'UK.OBIE.Field.Unexpected', 'ExchangeRate and ContractIdentification go with an Agreed rate only', 'Data.Initiation.ExchangeRateInformation');
  }
  const creditor = i.CreditorAccount;
  if (typeof creditor !== 'object' || creditor === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Data.Initiation.CreditorAccount is required', 'Data.Initiation.CreditorAccount');
  if (creditor.SchemeName === 'UK.OBIE.IBAN') {
    if (!isValidIban(creditor.Identification)) throw new ObieError(400, 'UK.OBIE.Unsupported.AccountIdentifier', 'Data.Initiation.CreditorAccount.Identification is not a valid IBAN', 'Data.Initiation.CreditorAccount.Identification');
  } else if (creditor.SchemeName === 'UK.OBIE.BBAN') {
    if (typeof creditor.Identification !== 'string' || !/^[A-Z0-9]{1,30}$/.test(creditor.Identification)) throw new ObieError(400, 'UK.OBIE.Unsupported.AccountIdentifier', 'Data.Initiation.CreditorAccount.Identification must be a BBAN (up to 30 letters and digits)', 'Data.Initiation.CreditorAccount.Identification');
    if (i.CreditorAgent?.SchemeName !== 'UK.OBIE.BICFI' || typeof i.CreditorAgent.Identification !== 'string') throw new ObieError(400, 'UK.OBIE.Field.Missing', 'A BBAN creditor account needs Data.Initiation.CreditorAgent (UK.OBIE.BICFI)', 'Data.Initiation.CreditorAgent');
  } else {
    throw new ObieError(400, 'UK.OBIE.Unsupported.AccountSchemeName', 'Data.Initiation.CreditorAccount.SchemeName must be UK.OBIE.IBAN or UK.OBIE.BBAN for an international payment', 'Data.Initiation.CreditorAccount.SchemeName');
  }
  if (typeof creditor.Name !== 'string' || creditor.Name.length < 1 || creditor.Name.length > 350) throw new ObieError(400, 'UK.OBIE.Field.Missing', 'Data.Initiation.CreditorAccount.Name is required', 'Data.Initiation.CreditorAccount.Name');
  if (i.CreditorAgent !== undefined && (i.CreditorAgent.SchemeName !== 'UK.OBIE.BICFI' || !/^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/.test(String(i.CreditorAgent.Identification)))) {
    throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'Data.Initiation.CreditorAgent must be a UK.OBIE.BICFI BIC', 'Data.Initiation.CreditorAgent.Identification');
  }
  if (i.DebtorAccount !== undefined) validateAccount(i.DebtorAccount, 'Data.Initiation.DebtorAccount', false);
  validateReference(i);
  return i;
}

function validateReference(i: any): void {
  const reference = i.RemittanceInformation?.Reference;
  if (typeof reference !== 'string' || !REFERENCE_CHARS.test(reference) || !/[A-Za-z0-9]{6}/.test(reference) || new Set(reference.replace(/[^A-Za-z0-9]/g, '').toUpperCase()).size < 2) {
    throw new ObieError(400, 'UK.OBIE.Field.Invalid', 'Data.Initiation.RemittanceInformation.Reference is required: up to 35 of A-Z a-z 0-9 space & - . /, with 6 alphanumerics in a row, not all the same', 'Data.Initiation.RemittanceInformation.Reference');
  }
}

/** What the bank quotes for a consent in another currency than GBP (OBIE: `ExchangeRateInformation` in the answer). */
function quotedRate(c: { initiation: Record<string, any> }): Record<string, unknown> | undefined {
  const transfer = c.initiation.CurrencyOfTransfer;
  if (typeof transfer !== 'string' || transfer === 'GBP') return undefined;
  return { UnitCurrency: 'GBP', ExchangeRate: Number(INDICATIVE_RATES[transfer]), RateType: 'Indicative' };
}

function validateAccount(a: any, path: string, nameRequired: boolean): void {
  if (typeof a !== 'object' || a === null) throw new ObieError(400, 'UK.OBIE.Field.Missing', `${path} is required`, path);
  if (a.SchemeName === 'UK.OBIE.SortCodeAccountNumber') {
    if (typeof a.Identification !== 'string' || !/^\d{14}$/.test(a.Identification)) throw new ObieError(400, 'UK.OBIE.Unsupported.AccountIdentifier', `${path}.Identification must be a 6-digit sort code and 8-digit account number`, `${path}.Identification`);
  } else if (a.SchemeName === 'UK.OBIE.IBAN') {
    if (!isValidIban(a.Identification)) throw new ObieError(400, 'UK.OBIE.Unsupported.AccountIdentifier', `${path}.Identification is not a valid IBAN`, `${path}.Identification`);
  } else {
    throw new ObieError(400, 'UK.OBIE.Unsupported.AccountSchemeName', `${path}.SchemeName must be UK.OBIE.SortCodeAccountNumber or UK.OBIE.IBAN`, `${path}.SchemeName`);
  }
  if (nameRequired && (typeof a.Name !== 'string' || a.Name.length < 1 || a.Name.length > 350)) throw new ObieError(400, 'UK.OBIE.Field.Missing', `${path}.Name is required`, `${path}.Name`);
}

/**
 * Scenarios by the amount's pence, like the Berlin Group sandbox: `.13` rejected after
 * authorisation; `.42` Pending for three status reads, then AcceptedSettlementCompleted;
 * otherwise AcceptedSettlementInProcess, then AcceptedSettlementCompleted on the next read.
 */
function initialStatus(initiation: Record<string, any>): DomesticPaymentStatus {
  const pence = String(initiation.InstructedAmount.Amount).split('.')[1]?.padEnd(2, '0').slice(0, 2) ?? '00';
  if (pence === '13') return 'Rejected';
  if (pence === '42') return 'Pending';
  return 'AcceptedSettlementInProcess';
}

function advance(state: UkSandboxState, p: DomesticPayment): void {
  p.reads += 1;
  const before = p.status;
  if (p.status === 'Pending' && p.reads > 3) p.status = 'AcceptedSettlementCompleted';
  else if (p.status === 'AcceptedSettlementInProcess') p.status = 'AcceptedSettlementCompleted';
  if (p.status !== before) p.updated = state.isoNow();
}

const DETAIL_STATUS: Record<DomesticPaymentStatus, string> = {
  Pending: 'Pending',
  AcceptedSettlementInProcess: 'AcceptedSettlementInProcess',
  AcceptedSettlementCompleted: 'AcceptedSettlementCompleted',
  AcceptedCreditSettlementCompleted: 'AcceptedCreditSettlementCompleted',
  AcceptedWithoutPosting: 'AcceptedWithoutPosting',
  Rejected: 'Rejected',
};

function paymentConsentBody(ctx: ResourceContext, c: PaymentConsent) {
  const debtor = c.debtorAccountId && c.psu ? ctx.state.accountsOf(c.psu).find((a) => a.accountId === c.debtorAccountId) : undefined;
  return {
    Data: {
      ConsentId: c.consentId,
      CreationDateTime: c.created,
      Status: c.status,
      StatusUpdateDateTime: c.updated,
      Initiation: c.initiation,
      ...(c.kind === 'international' && quotedRate(c) ? { ExchangeRateInformation: quotedRate(c) } : {}),
      ...(debtor ? { Debtor: { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: `${debtor.sortCode}${debtor.accountNumber}`, Name: debtor.nickname } } : {}),
    },
    Risk: c.risk,
    Links: { Self: `${ctx.issuer()}${RS_PREFIX}/pisp/${c.kind}-payment-consents/${c.consentId}` },
    Meta: {},
  };
}

function paymentBody(ctx: ResourceContext, p: DomesticPayment, c: PaymentConsent) {
  return {
    Data: {
      [p.kind === 'domestic' ? 'DomesticPaymentId' : 'InternationalPaymentId']: p.paymentId,
      ConsentId: p.consentId,
      CreationDateTime: p.created,
      Status: p.status,
      StatusUpdateDateTime: p.updated,
      Initiation: p.initiation,
      ...(p.kind === 'international' && quotedRate(p) ? { ExchangeRateInformation: { ...quotedRate(p), RateType: 'Actual' } } : {}),
    },
    Links: { Self: `${ctx.issuer()}${RS_PREFIX}/pisp/${p.kind}-payments/${p.paymentId}` },
    Meta: {},
    ...(c ? {} : {}),
  };
}

function accountConsentBody(ctx: ResourceContext, c: AccountConsent) {
  return {
    Data: {
      ConsentId: c.consentId,
      CreationDateTime: c.created,
      Status: c.status,
      StatusUpdateDateTime: c.updated,
      Permissions: c.permissions,
      ...(c.expiration ? { ExpirationDateTime: c.expiration } : {}),
      ...(c.transactionFrom ? { TransactionFromDateTime: c.transactionFrom } : {}),
      ...(c.transactionTo ? { TransactionToDateTime: c.transactionTo } : {}),
    },
    Risk: {},
    Links: { Self: `${ctx.issuer()}${RS_PREFIX}/aisp/account-access-consents/${c.consentId}` },
    Meta: {},
  };
}

function accountBody(a: { accountId: string; sortCode: string; accountNumber: string; iban: string; nickname: string }, detail: boolean) {
  return {
    AccountId: a.accountId,
    Currency: 'GBP',
    AccountType: 'Personal',
    AccountSubType: 'CurrentAccount',
    Nickname: a.nickname,
    ...(detail
      ? {
          Account: [
            { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: `${a.sortCode}${a.accountNumber}`, Name: a.nickname },
            { SchemeName: 'UK.OBIE.IBAN', Identification: a.iban, Name: a.nickname },
          ],
        }
      : {}),
  };
}

function pounds(minor: bigint): string {
  const s = minor.toString().padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

function dateParam(req: Request, name: string): number | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new ObieError(400, 'UK.OBIE.Field.InvalidDate', `${name} must be an ISO 8601 date-time`, name);
  return t;
}
