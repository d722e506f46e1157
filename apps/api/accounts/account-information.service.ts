import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { FINAL_CONSENT_STATUSES } from '../../../libs/domain/consent';
import { isUuid } from '../../../libs/domain/ids';
import { TENANT_CONSENTS, type TenantConsentRepository } from '../../../libs/persistence/consent.repository';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { HANDOFF_PURPOSES } from '../../../libs/security/handoff-purposes';
import { SensitiveHandoffs } from '../../../libs/security/sensitive-handoffs';
import { consentWorkflowId, readAccountDataUpdate, type AccountReadRequest } from '../../../workflows/consent.api';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { toConsentApiError } from '../consents/consent-refusal';
import { ConsentsService } from '../consents/consents.service';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { parseBoolean, validateTransactionQuery, type TransactionQueryParams } from './account-query.validator';

export interface AisHeaders {
  consentId: string | undefined;
  bicFi: string | undefined;
  psuIpAddress: string | undefined;
  psuUserAgent: string | undefined;
}

const BASE = '/psd2/accountinformation/v1/accounts';

/**
 * Account information. Every read goes through the consent's workflow (which enforces status,
 * scope and frequencyPerDay and calls the bank); the bank's answer comes back through PostgreSQL.
 *
 * Caching: none. Every call is one bank read; nothing is served from an earlier answer. Each
 * answer is held only until this service picks it up (at most 5 minutes, then purged).
 */
@Injectable()
export class AccountInformationService {
  constructor(
    @Inject(ConsentsService) private readonly consents: ConsentsService,
    @Inject(TENANT_CONSENTS) private readonly repository: TenantConsentRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(SensitiveHandoffs) private readonly handoffs: SensitiveHandoffs,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async listAccounts(principal: Principal, headers: AisHeaders, withBalance: string | undefined) {
    const body = await this.read(principal, headers, { endpoint: 'accounts', withBalance: parseBoolean('withBalance', withBalance) });
    return { ...body, accounts: ((body.accounts as Record<string, unknown>[]) ?? []).map(withOurLinks) };
  }

  async getAccount(principal: Principal, headers: AisHeaders, accountId: string, withBalance: string | undefined) {
    const body = await this.read(principal, headers, { endpoint: 'account', accountId: checkId(accountId), withBalance: parseBoolean('withBalance', withBalance) });
    // OPE 1.3.3 answers with the account details themselves (BG 1.3.12 wraps them in `account`).
    return withOurLinks(body.account as Record<string, unknown>);
  }

  balances(principal: Principal, headers: AisHeaders, accountId: string) {
    return this.read(principal, headers, { endpoint: 'balances', accountId: checkId(accountId) });
  }

  async transactions(principal: Principal, headers: AisHeaders, accountId: string, params: TransactionQueryParams) {
    checkId(accountId);
    const page = params.page ? this.openPageToken(headers.consentId ?? '', accountId, params.page) : undefined;
    const query = validateTransactionQuery(params, page);
    const withBalance = parseBoolean('withBalance', params.withBalance);
    const body = await this.read(principal, headers, { endpoint: 'transactions', accountId, query, withBalance });
    const pages = (body.pages ?? {}) as Record<string, string | undefined>;
    const self = `${BASE}/${encodeURIComponent(accountId)}`;
    const links: Record<string, { href: string }> = { account: { href: self } };
    const firstQuery = new URLSearchParams({ bookingStatus: query.bookingStatus });
    for (const name of ['dateFrom', 'dateTo', 'entryReferenceFrom'] as const) if (query[name]) firstQuery.set(name, query[name]!);
    if (query.deltaList) firstQuery.set('deltaList', 'true');
    // `first` repeats the original request (and counts as a new read); the others continue this listing.
    if (pages.first) links.first = { href: `${self}/transactions?${firstQuery}` };
    for (const rel of ['next', 'previous', 'last'] as const) {
      if (!pages[rel]) continue;
      const token = this.sealPageToken(headers.consentId!, accountId, pages[rel]!);
      links[rel] = { href: `${self}/transactions?${new URLSearchParams({ bookingStatus: query.bookingStatus, page: token })}` };
    }
    return {
      ...(body.account ? { account: body.account } : {}),
      transactions: {
        ...(body.booked ? { booked: body.booked } : {}),
        ...(body.pending ? { pending: body.pending } : {}),
        ...(body.information ? { information: body.information } : {}),
        _links: links,
      },
      ...(body.balances ? { balances: body.balances } : {}),
    };
  }

  async transaction(principal: Principal, headers: AisHeaders, accountId: string, transactionId: string) {
    if (!/^[\w.:-]{1,100}$/.test(transactionId)) throw ApiError.notFound(`Transaction ${transactionId}`);
    const body = await this.read(principal, headers, { endpoint: 'transaction', accountId: checkId(accountId), transactionId });
    // OPE 1.3.3 answers with the transaction itself; BG 1.3.12 banks wrap it (transactionsDetails.transactionDetails).
    const wrapped = body.transactionsDetails as { transactionDetails?: Record<string, unknown> } | undefined;
    return wrapped?.transactionDetails ?? wrapped ?? body;
  }

  private async read(principal: Principal, headers: AisHeaders, req: AccountReadRequest): Promise<Record<string, unknown>> {
    if (!headers.consentId) throw ApiError.format('Consent-ID', 'header is required');
    if (!isUuid(headers.consentId)) throw ApiError.notFound(`Consent ${headers.consentId}`);
    const consent = await this.consents.find(principal, headers.consentId.toLowerCase(), headers.bicFi);
    // An ended consent's workflow is closed: answer from the record without asking Temporal.
    if (consent.consentStatus === 'expired') throw new ApiError(ApiErrorCode.ConsentExpired, 'The consent has expired');
    if (FINAL_CONSENT_STATUSES.has(consent.consentStatus)) throw new ApiError(ApiErrorCode.ConsentInvalid, `The consent is ${consent.consentStatus}`);
    const psuIp = headers.psuIpAddress; // format checked on the way in (common/request-headers.ts)
    if (psuIp) {
      const context = JSON.stringify({ psuIpAddress: psuIp, psuUserAgent: headers.psuUserAgent });
      req.psuContextHandoffId = await this.handoffs.seal(principal.tenantId, HANDOFF_PURPOSES.psuContext, context);
    }
    let resultId: string;
    try {
      ({ resultId } = await this.temporal.workflow.getHandle(consentWorkflowId(consent.id)).executeUpdate(readAccountDataUpdate, { args: [req] }));
    } catch (err) {
      if (req.psuContextHandoffId) await this.handoffs.discard(req.psuContextHandoffId);
      throw toConsentApiError(err);
    }
    const body = await this.repository.takeReadResult(principal.tenantId, resultId);
    if (!body) throw new ApiError(ApiErrorCode.ServiceUnavailable, 'The bank answer expired before it could be delivered; repeat the request');
    return body;
  }

  /**
   * Continuation tokens are bound to the consent and account, so they cannot be forged or moved:
   * `<bank token>.<key id>.<mac>` (key id and mac never contain a dot; the bank's token may).
   */
  private sealPageToken(consentId: string, accountId: string, bankToken: string): string {
    return `${bankToken}.${this.signer.sign(pageInput(consentId, accountId, bankToken))}`;
  }

  private openPageToken(consentId: string, accountId: string, token: string): string {
    const macDot = token.lastIndexOf('.');
    const keyDot = macDot > 0 ? token.lastIndexOf('.', macDot - 1) : -1;
    const bankToken = token.slice(0, Math.max(keyDot, 0));
    if (keyDot < 1 || !this.signer.verify(pageInput(consentId, accountId, bankToken), token.slice(keyDot + 1))) {
      throw ApiError.format('page', 'is not a page link issued for this consent and account');
    }
    return bankToken;
  }
}

function pageInput(consentId: string, accountId: string, bankToken: string): string {
  return `page:${consentId}:${accountId}:${bankToken}`;
}

function checkId(accountId: string): string {
  if (!/^[\w.:-]{1,100}$/.test(accountId)) throw ApiError.notFound(`Account ${accountId}`);
  return accountId;
}

/** Bank links inside account details point at the bank: replace them with ours. */
function withOurLinks(account: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!account) return account;
  const id = account.resourceId as string | undefined;
  const { _links: _bankLinks, ...rest } = account;
  if (!id) return rest;
  return {
    ...rest,
    _links: {
      balances: { href: `${BASE}/${encodeURIComponent(id)}/balances` },
      transactions: { href: `${BASE}/${encodeURIComponent(id)}/transactions` },
    },
  };
}
