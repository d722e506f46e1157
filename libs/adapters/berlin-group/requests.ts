/**
 * Request and authorisation plumbing every Berlin Group payment service (single `index.ts`, bulk
 * `bulk.ts`, periodic `periodic.ts`) and AIS (`ais-client.ts`) shares: redirect headers, the
 * SCA fields of a 201 answer, "start authorisation", the SCA/transaction status reads and the
 * cancel answer. Protocol-neutral outcomes only; stateless.
 */
import type { BankConnection, CancelPaymentResult, InitiatePaymentResult, PsuContext, StartAuthorisationResult } from '../bank-adapter';
import type { BankScaStatus, BankTransactionStatus } from '../../domain/transaction-status';
import type { BerlinGroupClient, BgResponse } from './client';
import {
  authorisationIdFromLink,
  extractLinks,
  mapScaStatus,
  mapTransactionStatus,
  parseCancelResponse,
  parseCreatedResponse,
  parseInitiationResponse,
  parsePaymentStatusResponse,
  parseScaApproach,
  parseScaStatusResponse,
  parseStartScaProcessResponse,
  type BgLinks,
} from './transformers';

export type Redirect = { okUri: string; nokUri: string };

/** What a status read or authorisation call needs of a payment/consent reference. */
export type BgCallRef = { requestId?: string; psu?: PsuContext };

/** `TPP-Redirect-URI`, `TPP-Nok-Redirect-URI` and (when given) `TPP-Redirect-Preferred`. */
export function redirectHeaders(redirect: Redirect, redirectPreferred?: boolean): Record<string, string | undefined> {
  return {
    'TPP-Redirect-URI': redirect.okUri,
    'TPP-Nok-Redirect-URI': redirect.nokUri,
    'TPP-Redirect-Preferred': redirectPreferred === undefined ? undefined : String(redirectPreferred),
  };
}

/**
 * The SCA part of a created resource's answer (payment or consent): approach, authorisation id
 * (from the body or the scaStatus link), redirect URL and PSU message.
 */
export function createdScaFields(
  res: BgResponse,
  conn: BankConnection,
  body: { authorisationId?: string; psuMessage?: string; _links?: BgLinks },
): Omit<StartAuthorisationResult, 'authorisationId' | 'scaStatus'> & { authorisationId?: string } {
  const links = extractLinks(body._links, conn.baseUrl);
  const authorisationId = body.authorisationId ?? authorisationIdFromLink(links.scaStatus);
  return {
    scaApproach: parseScaApproach(res.headers.get('aspsp-sca-approach'), links, body._links),
    ...(authorisationId ? { authorisationId } : {}),
    ...(links.scaRedirect ? { scaRedirectUrl: links.scaRedirect } : links.scaOAuth ? { scaRedirectUrl: links.scaOAuth } : {}),
    ...(body.psuMessage ? { psuMessage: body.psuMessage } : {}),
  };
}

/** A payment initiation's 201 (single, bulk or periodic). */
export function toInitiationResult(res: BgResponse, conn: BankConnection): InitiatePaymentResult {
  const body = parseCreatedResponse(res.body, 'paymentId', parseInitiationResponse);
  return {
    bankPaymentId: body.paymentId,
    status: mapTransactionStatus(body.transactionStatus),
    ...createdScaFields(res, conn, body),
  };
}

/** POST `{path}` (an `authorisations` or `cancellation-authorisations` collection) with the redirect headers. */
export async function startScaProcess(
  client: BerlinGroupClient,
  conn: BankConnection,
  ref: BgCallRef & { redirect: Redirect },
  path: string,
  redirectPreferred?: boolean,
): Promise<StartAuthorisationResult> {
  const res = await client.send(conn, {
    method: 'POST',
    path,
    requestId: ref.requestId,
    psu: ref.psu,
    headers: redirectHeaders(ref.redirect, redirectPreferred),
    body: {},
  });
  const body = parseStartScaProcessResponse(res.body);
  const links = extractLinks(body._links, conn.baseUrl);
  return {
    authorisationId: body.authorisationId,
    scaStatus: mapScaStatus(body.scaStatus),
    scaApproach: parseScaApproach(res.headers.get('aspsp-sca-approach'), links, body._links),
    ...(links.scaRedirect ? { scaRedirectUrl: links.scaRedirect } : links.scaOAuth ? { scaRedirectUrl: links.scaOAuth } : {}),
    ...(body.psuMessage ? { psuMessage: body.psuMessage } : {}),
  };
}

/** GET an authorisation (or cancellation authorisation) resource's `scaStatus`. */
export async function readScaStatus(client: BerlinGroupClient, conn: BankConnection, ref: BgCallRef, path: string): Promise<BankScaStatus> {
  const res = await client.send(conn, { method: 'GET', path, requestId: ref.requestId, psu: ref.psu });
  return mapScaStatus(parseScaStatusResponse(res.body).scaStatus);
}

/** GET a payment's `.../status` as JSON. */
export async function readTransactionStatus(client: BerlinGroupClient, conn: BankConnection, ref: BgCallRef, path: string): Promise<BankTransactionStatus> {
  const res = await client.send(conn, { method: 'GET', path, requestId: ref.requestId, psu: ref.psu });
  return mapTransactionStatus(parsePaymentStatusResponse(res.body).transactionStatus);
}

/** DELETE a payment. 204: cancelled outright. 202: the PSU must authorise the cancellation (cancellation-authorisations). */
export async function cancelPaymentResource(client: BerlinGroupClient, conn: BankConnection, ref: BgCallRef, path: string): Promise<CancelPaymentResult> {
  const res = await client.send(conn, { method: 'DELETE', path, requestId: ref.requestId, psu: ref.psu });
  if (res.status === 204 || res.body === undefined) return { status: mapTransactionStatus('CANC'), authorisationRequired: false };
  return { status: mapTransactionStatus(parseCancelResponse(res.body).transactionStatus), authorisationRequired: res.status === 202 };
}
