/**
 * Berlin Group NextGenPSD2 1.3.x account information (`/v1/consents`, `/v1/accounts`): requests
 * and their mapping. {@link BerlinGroupAdapter} delegates its AIS half here.
 */
import type {
  AccountInformationAdapter,
  AccountReadRef,
  BankConnection,
  ConsentDetails,
  ConsentRef,
  CreateConsentCommand,
  CreateConsentResult,
  PsuContext,
  PsuDataUpdate,
  PsuDataUpdateResult,
  StartAuthorisationResult,
  TransactionPage,
  TransactionQuery,
} from '../bank-adapter';
import type { Balance, BankConsentStatus } from '../../domain/consent';
import type { BankScaStatus } from '../../domain/transaction-status';
import { accountsPath, consentsPath, type BerlinGroupClient, type BgRequest } from './client';
import {
  decodePageToken,
  mapConsentStatus,
  parseAccountDetailsResponse,
  parseAccountListResponse,
  parseBalancesResponse,
  parseConsentInformationResponse,
  parseConsentStatusResponse,
  parseConsentsResponse,
  parsePsuDataUpdateResponse,
  parseTransactionDetailsResponse,
  parseTransactionsResponse,
  toBgConsentRequest,
  toBgPsuDataUpdate,
  toBgTransactionsQuery,
} from './ais-transformers';
import { parseCreatedResponse } from './transformers';
import { createdScaFields, readScaStatus, redirectHeaders, startScaProcess, type Redirect } from './requests';

/**
 * `AccountInformationAdapter.startConsentAuthorisation`'s ref has no `redirectPreferred`;
 * accepted here as an optional extra so the header can be sent once the contract carries it.
 */
export type StartConsentAuthorisationRef = ConsentRef & { redirect: Redirect; redirectPreferred?: boolean };

export class BerlinGroupAisClient implements AccountInformationAdapter {
  constructor(private readonly client: BerlinGroupClient) {}

  async createConsent(conn: BankConnection, cmd: CreateConsentCommand): Promise<CreateConsentResult> {
    const res = await this.client.send(conn, {
      method: 'POST',
      path: consentsPath(),
      // One X-Request-ID per logical creation; BG banks do not deduplicate on it (see initiatePayment).
      requestId: cmd.idempotencyKey,
      psu: cmd.psu,
      headers: redirectHeaders(cmd.redirect, cmd.redirectPreferred),
      body: toBgConsentRequest(cmd.consent),
    });
    const body = parseCreatedResponse(res.body, 'consentId', parseConsentsResponse);
    return {
      bankConsentId: body.consentId,
      status: mapConsentStatus(body.consentStatus),
      ...createdScaFields(res, conn, body),
    };
  }

  async getConsent(conn: BankConnection, ref: ConsentRef): Promise<ConsentDetails> {
    const res = await this.consentCall(conn, ref, 'GET', consentsPath(ref.bankConsentId));
    const body = parseConsentInformationResponse(res.body);
    return {
      status: mapConsentStatus(body.consentStatus),
      validUntil: body.validUntil,
      frequencyPerDay: body.frequencyPerDay,
      access: body.access,
      ...(body.lastActionDate ? { lastActionDate: body.lastActionDate } : {}),
    };
  }

  async getConsentStatus(conn: BankConnection, ref: ConsentRef): Promise<BankConsentStatus> {
    const res = await this.consentCall(conn, ref, 'GET', consentsPath(ref.bankConsentId, 'status'));
    return mapConsentStatus(parseConsentStatusResponse(res.body).consentStatus);
  }

  async deleteConsent(conn: BankConnection, ref: ConsentRef): Promise<void> {
    await this.consentCall(conn, ref, 'DELETE', consentsPath(ref.bankConsentId));
  }

  async startConsentAuthorisation(conn: BankConnection, ref: StartConsentAuthorisationRef): Promise<StartAuthorisationResult> {
    return startScaProcess(this.client, conn, ref, consentsPath(ref.bankConsentId, 'authorisations'), ref.redirectPreferred);
  }

  async getConsentScaStatus(conn: BankConnection, ref: ConsentRef & { authorisationId: string }): Promise<BankScaStatus> {
    return readScaStatus(this.client, conn, ref, consentsPath(ref.bankConsentId, 'authorisations', ref.authorisationId));
  }

  async updateConsentPsuData(
    conn: BankConnection,
    ref: ConsentRef & { authorisationId: string },
    update: PsuDataUpdate,
  ): Promise<PsuDataUpdateResult> {
    const psu: PsuContext | undefined =
      (update.kind === 'credentials' || update.kind === 'identification') && update.psuId ? { ...ref.psu, psuId: update.psuId } : ref.psu;
    // 401 PSU_CREDENTIALS_INVALID and 400 SCA_INVALID arrive as `rejected` with the bank's messages.
    const res = await this.client.send(conn, {
      method: 'PUT',
      path: consentsPath(ref.bankConsentId, 'authorisations', ref.authorisationId),
      requestId: ref.requestId,
      psu,
      body: toBgPsuDataUpdate(update),
    });
    return parsePsuDataUpdateResponse(res.body);
  }

  async listAccounts(conn: BankConnection, ref: AccountReadRef, opts: { withBalance: boolean }): Promise<{ accounts: Record<string, unknown>[] }> {
    const res = await this.accountRead(conn, ref, accountsPath(), { withBalance: opts.withBalance ? 'true' : undefined });
    return parseAccountListResponse(res.body);
  }

  async getAccount(
    conn: BankConnection,
    ref: AccountReadRef,
    accountId: string,
    opts: { withBalance: boolean },
  ): Promise<{ account: Record<string, unknown> }> {
    const res = await this.accountRead(conn, ref, accountsPath(accountId), { withBalance: opts.withBalance ? 'true' : undefined });
    return parseAccountDetailsResponse(res.body);
  }

  async getBalances(
    conn: BankConnection,
    ref: AccountReadRef,
    accountId: string,
  ): Promise<{ account?: Record<string, unknown>; balances: Balance[] }> {
    const res = await this.accountRead(conn, ref, accountsPath(accountId, 'balances'));
    return parseBalancesResponse(res.body);
  }

  /**
   * With `query.page` the token alone decides the query (the bank's own paging link); the other
   * fields only shape the first page.
   */
  async getTransactions(conn: BankConnection, ref: AccountReadRef, accountId: string, query: TransactionQuery): Promise<TransactionPage> {
    const bankQuery = query.page !== undefined ? decodePageToken(query.page, conn.baseUrl, accountId) : toBgTransactionsQuery(query);
    const res = await this.accountRead(conn, ref, accountsPath(accountId, 'transactions'), bankQuery);
    return parseTransactionsResponse(res.body, conn.baseUrl, accountId);
  }

  async getTransaction(
    conn: BankConnection,
    ref: AccountReadRef,
    accountId: string,
    transactionId: string,
  ): Promise<{ transactionsDetails: Record<string, unknown> }> {
    const res = await this.accountRead(conn, ref, accountsPath(accountId, 'transactions', transactionId));
    return parseTransactionDetailsResponse(res.body);
  }

  private consentCall(conn: BankConnection, ref: ConsentRef, method: 'GET' | 'DELETE', path: string) {
    return this.client.send(conn, { method, path, requestId: ref.requestId, psu: ref.psu });
  }

  /** PSU-IP-Address only when the caller has one: its presence tells the bank the PSU is present. */
  private accountRead(conn: BankConnection, ref: AccountReadRef, path: string, query?: BgRequest['query']) {
    return this.client.send(conn, {
      method: 'GET',
      path,
      query,
      requestId: ref.requestId,
      psu: ref.psu,
      headers: { 'Consent-ID': ref.bankConsentId },
      // Banks with the OAuth SCA approach want the consent's access token on every read.
      accessToken: ref.grant?.accessToken,
    });
  }
}
