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
import { BerlinGroupOAuthSca } from './oauth-adapter';
import type { BankGrant, OAuthAuthorisationResponse, OAuthConsentCompletion, OAuthExchangeRef, OAuthPaymentCompletion } from '../oauth-sca';
import { BerlinGroupPeriodicPayments } from './periodic';
import { BerlinGroupBulkPayments } from './bulk';
import type { BulkPaymentRef, BulkStatusReport, InitiateBulkPaymentCommand } from '../bulk-payment-adapter';
import { toBgPaymentInitiation } from './transformers';
import { cancelPaymentResource, readScaStatus, readTransactionStatus, redirectHeaders, startScaProcess, toInitiationResult, type Redirect } from './requests';

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
  /** The OAuth SCA approach (see oauth-adapter.ts). */
  private readonly oauthSca: BerlinGroupOAuthSca;
  /** Standing orders and cancellation authorisations: `periodic.ts`. */
  readonly periodicPayments: BerlinGroupPeriodicPayments;
  readonly cancellationAuthorisations: BerlinGroupPeriodicPayments;
  private readonly bulk: BerlinGroupBulkPayments;

  constructor(opts: BerlinGroupClientOptions = {}) {
    this.client = new BerlinGroupClient(opts);
    this.ais = new BerlinGroupAisClient(this.client);
    this.oauthSca = new BerlinGroupOAuthSca(this.client, opts);
    this.periodicPayments = this.cancellationAuthorisations = new BerlinGroupPeriodicPayments(this.client);
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
    const result = await this.initiate(conn, cmd);
    return this.oauthSca.withAuthorizationUrl(conn, 'payment', result.bankPaymentId, cmd.oauth, result);
  }

  exchangeAuthorisationCode(conn: BankConnection, ref: OAuthExchangeRef, response: OAuthAuthorisationResponse): Promise<BankGrant> {
    return this.oauthSca.exchangeAuthorisationCode(conn, ref, response);
  }

  completePaymentAuthorisation(conn: BankConnection, ref: AuthorisationRef & { idempotencyKey: string }, grant: BankGrant): Promise<OAuthPaymentCompletion> {
    return this.oauthSca.completePaymentAuthorisation(conn, ref, grant);
  }

  completeConsentAuthorisation(conn: BankConnection, ref: ConsentRef & { authorisationId?: string }, grant: BankGrant): Promise<OAuthConsentCompletion> {
    return this.oauthSca.completeConsentAuthorisation(conn, ref, grant);
  }

  refreshGrant(conn: BankConnection, grant: BankGrant): Promise<BankGrant> {
    return this.oauthSca.refreshGrant(conn, grant);
  }

  private async initiate(conn: BankConnection, cmd: InitiatePaymentCommand): Promise<InitiatePaymentResult> {
    const res = await this.client.send(conn, {
      method: 'POST',
      path: paymentsPath(cmd.paymentProduct),
      // One X-Request-ID per logical initiation. BG banks do not deduplicate on it: a repeat after an
      // ambiguous failure may create a second payment, which the caller must decide about.
      requestId: cmd.idempotencyKey,
      psu: cmd.psu,
      headers: redirectHeaders(cmd.redirect, cmd.redirectPreferred),
      body: toBgPaymentInitiation(cmd.payment),
    });
    return toInitiationResult(res, conn);
  }

  async getPaymentStatus(conn: BankConnection, ref: PaymentRef): Promise<BankTransactionStatus> {
    return readTransactionStatus(this.client, conn, ref, paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'status'));
  }

  async startAuthorisation(conn: BankConnection, ref: PaymentRef & { redirect: Redirect }): Promise<StartAuthorisationResult> {
    return startScaProcess(this.client, conn, ref, paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations'));
  }

  async getScaStatus(conn: BankConnection, ref: AuthorisationRef): Promise<BankScaStatus> {
    return readScaStatus(this.client, conn, ref, paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId));
  }

  async cancelPayment(conn: BankConnection, ref: PaymentRef): Promise<CancelPaymentResult> {
    return cancelPaymentResource(this.client, conn, ref, paymentsPath(ref.paymentProduct, ref.bankPaymentId));
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

  async createConsent(conn: BankConnection, cmd: CreateConsentCommand): Promise<CreateConsentResult> {
    const created = await this.ais.createConsent(conn, cmd);
    return this.oauthSca.withAuthorizationUrl(conn, 'consent', created.bankConsentId, cmd.oauth, created);
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
