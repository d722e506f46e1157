import type {
  AccountInformationAdapter,
  AccountReadRef,
  AuthorisationRef,
  BankAdapter,
  BankConnection,
  CancelPaymentResult,
  ConsentDetails,
  ConsentRef,
  CreateConsentCommand,
  CreateConsentResult,
  InitiatePaymentCommand,
  InitiatePaymentResult,
  PaymentRef,
  PsuDataUpdate,
  PsuDataUpdateResult,
  StartAuthorisationResult,
  TransactionPage,
  TransactionQuery,
} from '../bank-adapter';
import type { Balance, BankConsentStatus } from '../../domain/consent';
import type { BankScaStatus, BankTransactionStatus } from '../../domain/transaction-status';
import { BerlinGroupAisClient, type StartConsentAuthorisationRef } from './ais-client';
import { parsePsuDataUpdateResponse, toBgPsuDataUpdate } from './ais-transformers';
import { BerlinGroupClient, paymentsPath, type BerlinGroupClientOptions } from './client';
import { BerlinGroupBulkPayments } from './bulk';
import type { BulkPaymentRef, BulkStatusReport, InitiateBulkPaymentCommand } from '../bulk-payment-adapter';
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
  toBgPaymentInitiation,
} from './transformers';

export type { BerlinGroupClientOptions, BgRequestSigner } from './client';
export type { StartConsentAuthorisationRef } from './ais-client';
export { mapScaStatus, mapTransactionStatus } from './transformers';
export { consentGoneCode, mapConsentStatus } from './ais-transformers';

/**
 * Berlin Group NextGenPSD2 1.3.x single payments (`/v1/payments/{product}`) and account
 * information (`/v1/consents`, `/v1/accounts`). Stateless: every call carries its
 * {@link BankConnection}; retries and persistence belong to the caller.
 */
export class BerlinGroupAdapter implements BankAdapter, AccountInformationAdapter {
  readonly protocol = 'berlin-group' as const;
  private readonly client: BerlinGroupClient;
  private readonly ais: BerlinGroupAisClient;
  private readonly bulk: BerlinGroupBulkPayments;

  constructor(opts: BerlinGroupClientOptions = {}) {
    this.client = new BerlinGroupClient(opts);
    this.ais = new BerlinGroupAisClient(this.client);
    this.bulk = new BerlinGroupBulkPayments(this.client);
  }

  // ── Bulk payments: see bulk.ts ──────────────────────────────────────────────────────────────

  initiateBulkPayment(conn: BankConnection, cmd: InitiateBulkPaymentCommand): Promise<InitiatePaymentResult> {
    return this.bulk.initiate(conn, cmd);
  }

  getBulkPaymentStatus(conn: BankConnection, ref: BulkPaymentRef, opts?: { perTransaction?: boolean }): Promise<BulkStatusReport> {
    return this.bulk.status(conn, ref, opts);
  }

  startBulkAuthorisation(conn: BankConnection, ref: BulkPaymentRef & { redirect: { okUri: string; nokUri: string } }): Promise<StartAuthorisationResult> {
    return this.bulk.startAuthorisation(conn, ref);
  }

  getBulkScaStatus(conn: BankConnection, ref: BulkPaymentRef & { authorisationId: string }): Promise<BankScaStatus> {
    return this.bulk.scaStatus(conn, ref);
  }

  cancelBulkPayment(conn: BankConnection, ref: BulkPaymentRef): Promise<CancelPaymentResult> {
    return this.bulk.cancel(conn, ref);
  }

  async initiatePayment(conn: BankConnection, cmd: InitiatePaymentCommand): Promise<InitiatePaymentResult> {
    const res = await this.client.send(conn, {
      method: 'POST',
      path: paymentsPath(cmd.paymentProduct),
      // One X-Request-ID per logical initiation. BG banks do not deduplicate on it: a repeat after an
      // ambiguous failure may create a second payment, which the caller must decide about.
      requestId: cmd.idempotencyKey,
      psu: cmd.psu,
      headers: {
        'TPP-Redirect-URI': cmd.redirect.okUri,
        'TPP-Nok-Redirect-URI': cmd.redirect.nokUri,
        'TPP-Redirect-Preferred': cmd.redirectPreferred === undefined ? undefined : String(cmd.redirectPreferred),
      },
      body: toBgPaymentInitiation(cmd.payment),
    });
    const body = parseCreatedResponse(res.body, 'paymentId', parseInitiationResponse);
    const links = extractLinks(body._links, conn.baseUrl);
    const authorisationId = body.authorisationId ?? authorisationIdFromLink(links.scaStatus);
    return {
      bankPaymentId: body.paymentId,
      status: mapTransactionStatus(body.transactionStatus),
      scaApproach: parseScaApproach(res.headers.get('aspsp-sca-approach'), links, body._links),
      ...(authorisationId ? { authorisationId } : {}),
      ...(links.scaRedirect ? { scaRedirectUrl: links.scaRedirect } : links.scaOAuth ? { scaRedirectUrl: links.scaOAuth } : {}),
      ...(body.psuMessage ? { psuMessage: body.psuMessage } : {}),
    };
  }

  async getPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus> {
    const res = await this.client.send(conn, {
      method: 'GET',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'status'),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    return mapTransactionStatus(parsePaymentStatusResponse(res.body).transactionStatus);
  }

  async startAuthorisation(
    conn: BankConnection,
    ref: PaymentRef & { redirect: { okUri: string; nokUri: string } },
  ): Promise<StartAuthorisationResult> {
    const res = await this.client.send(conn, {
      method: 'POST',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations'),
      requestId: ref.requestId,
      psu: ref.psu,
      headers: { 'TPP-Redirect-URI': ref.redirect.okUri, 'TPP-Nok-Redirect-URI': ref.redirect.nokUri },
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

  async getScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus> {
    const res = await this.client.send(conn, {
      method: 'GET',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    return mapScaStatus(parseScaStatusResponse(res.body).scaStatus);
  }

  async cancelPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult> {
    const res = await this.client.send(conn, {
      method: 'DELETE',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    // 204: cancelled outright. 202: the PSU must authorise the cancellation (cancellation-authorisations).
    if (res.status === 204 || res.body === undefined) return { status: mapTransactionStatus('CANC'), authorisationRequired: false };
    return {
      status: mapTransactionStatus(parseCancelResponse(res.body).transactionStatus),
      authorisationRequired: res.status === 202,
    };
  }

  /** BG "Update PSU Data" on a payment authorisation: identification, or an embedded SCA step. */
  async updatePaymentPsuData(conn: BankConnection, ref: AuthorisationRef, update: PsuDataUpdate): Promise<PsuDataUpdateResult> {
    const psuId = update.kind === 'identification' || update.kind === 'credentials' ? update.psuId : undefined;
    const res = await this.client.send(conn, {
      method: 'PUT',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId),
      requestId: ref.requestId,
      psu: psuId ? { ...ref.psu, psuId } : ref.psu,
      body: toBgPsuDataUpdate(update),
    });
    return parsePsuDataUpdateResponse(res.body);
  }

  // ── Account information: see ais-client.ts ──────────────────────────────────────────────────

  createConsent(conn: BankConnection, cmd: CreateConsentCommand): Promise<CreateConsentResult> {
    return this.ais.createConsent(conn, cmd);
  }

  getConsent(conn: BankConnection, ref: ConsentRef): Promise<ConsentDetails> {
    return this.ais.getConsent(conn, ref);
  }

  getConsentStatus(conn: BankConnection, ref: ConsentRef): Promise<BankConsentStatus> {
    return this.ais.getConsentStatus(conn, ref);
  }

  deleteConsent(conn: BankConnection, ref: ConsentRef): Promise<void> {
    return this.ais.deleteConsent(conn, ref);
  }

  startConsentAuthorisation(conn: BankConnection, ref: StartConsentAuthorisationRef): Promise<StartAuthorisationResult> {
    return this.ais.startConsentAuthorisation(conn, ref);
  }

  getConsentScaStatus(conn: BankConnection, ref: ConsentRef & { authorisationId: string }): Promise<BankScaStatus> {
    return this.ais.getConsentScaStatus(conn, ref);
  }

  updateConsentPsuData(
    conn: BankConnection,
    ref: ConsentRef & { authorisationId: string },
    update: PsuDataUpdate,
  ): Promise<PsuDataUpdateResult> {
    return this.ais.updateConsentPsuData(conn, ref, update);
  }

  listAccounts(conn: BankConnection, ref: AccountReadRef, opts: { withBalance: boolean }): Promise<{ accounts: Record<string, unknown>[] }> {
    return this.ais.listAccounts(conn, ref, opts);
  }

  getAccount(conn: BankConnection, ref: AccountReadRef, accountId: string, opts: { withBalance: boolean }): Promise<{ account: Record<string, unknown> }> {
    return this.ais.getAccount(conn, ref, accountId, opts);
  }

  getBalances(conn: BankConnection, ref: AccountReadRef, accountId: string): Promise<{ account?: Record<string, unknown>; balances: Balance[] }> {
    return this.ais.getBalances(conn, ref, accountId);
  }

  getTransactions(conn: BankConnection, ref: AccountReadRef, accountId: string, query: TransactionQuery): Promise<TransactionPage> {
    return this.ais.getTransactions(conn, ref, accountId, query);
  }

  getTransaction(
    conn: BankConnection,
    ref: AccountReadRef,
    accountId: string,
    transactionId: string,
  ): Promise<{ transactionsDetails: Record<string, unknown> }> {
    return this.ais.getTransaction(conn, ref, accountId, transactionId);
  }
}
