import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isBulkXmlProduct, type BulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { deriveUuid, CLEARWAY_ID_NAMESPACE } from '../../../libs/domain/ids';
import type { TransactionStatus } from '../../../libs/domain/transaction-status';
import type { ClearwayConfig } from '../../../libs/config/config';
import { writePain002, type Iso20022Status } from '../../../libs/iso20022/pain002-writer';
import type { Logger } from '../../../libs/observability/logger';
import { TENANT_BULK_PAYMENTS, type TenantBulkPaymentRepository } from '../../../libs/persistence/bulk-payment.repository';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { BulkPaymentEntity } from '../../../libs/persistence/entities/bulk-payment.entity';
import { verifyCallbackState } from '../../../libs/security/callback-state';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { BicFi, PaymentProduct as PaymentProductAttr, TenantId, TransactionStatus as TransactionStatusAttr } from '../../../libs/temporal/search-attributes';
import {
  bulkInitiationResultUpdate,
  bulkPaymentWorkflowId,
  bulkScaCallbackSignal,
  cancelBulkPaymentUpdate,
  startBulkAuthorisationUpdate,
  type InitiationError,
} from '../../../workflows/bulk-payment.api';
import type { bulkPaymentWorkflow } from '../../../workflows/bulk-payment.workflow';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { bankRefusalError } from '../common/bank-refusal';
import type { HttpResult } from '../common/http-result';
import { requiredHeader } from '../common/request-headers';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import {
  bulkPaymentPath,
  toBulkAuthorisationListResponse,
  toBulkInitiationResponse,
  toBulkPaymentResponse,
  toBulkStartAuthorisationResponse,
  toBulkStatusResponse,
} from './bulk-payment.mapper';
import { validateBulkPaymentInitiation, validatePain001Bulk, type ValidatedBulk } from './bulk-payment-request.validator';
import type { InitiationHeaders } from './payments.service';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

/**
 * Bulk payments (one debtor account, one SCA, many transactions). Validates and stores the bulk
 * with all its transactions in one database transaction, then starts its workflow (`bulk-<id>`)
 * with update-with-start so the 201 carries the bank's SCA link. Never calls a bank itself.
 */
@Injectable()
export class BulkPaymentsService {
  constructor(
    @Inject(TENANT_BULK_PAYMENTS) private readonly bulks: TenantBulkPaymentRepository,
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async initiate(principal: Principal, product: BulkPaymentProduct, headers: InitiationHeaders, body: { json?: unknown; xml?: Buffer }): Promise<HttpResult<object>> {
    const aspsp = await this.aspspFor(headers.bicFi, product);
    const psuIpAddress = requiredHeader('PSU-IP-Address', headers.psuIpAddress);
    const id = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'bulk-payment', headers.requestId);
    const xml = isBulkXmlProduct(product);
    if (xml && !body.xml) throw new ApiError(ApiErrorCode.UnsupportedMediaType, `${product} takes a pain.001 document: Content-Type application/xml`, 'Content-Type');
    if (!xml && body.xml) throw new ApiError(ApiErrorCode.UnsupportedMediaType, `${product} takes JSON (bulkPaymentInitiation_json); pain.001 goes to pain.001-${product}`, 'Content-Type');
    const bulk: ValidatedBulk = xml
      ? await validatePain001Bulk(product, body.xml!)
      : validateBulkPaymentInitiation(product, body.json, (i) => `CW-${id.slice(0, 8)}-${i + 1}`);
    const bodyHash = xml ? sha256(body.xml!) : sha256(JSON.stringify(body.json));
    const requestHash = sha256(JSON.stringify([aspsp.bicFi, product, bodyHash, headers.psuId ?? null, headers.redirectUri ?? null, headers.nokRedirectUri ?? null]));

    const { bulk: stored, created } = await this.bulks.create(
      {
        id,
        tenantId: principal.tenantId,
        clientId: principal.clientId,
        requestId: headers.requestId,
        requestHash,
        bicFi: aspsp.bicFi,
        paymentProduct: product,
        debtorIban: bulk.debtorIban,
        debtorCurrency: bulk.debtorCurrency,
        debtorName: bulk.debtorName,
        requestedExecutionDate: bulk.requestedExecutionDate,
        batchBookingPreferred: bulk.batchBookingPreferred,
        currency: bulk.currency,
        numberOfTransactions: bulk.transactions.length,
        controlSum: bulk.controlSum,
        msgId: bulk.msgId,
        msgNameId: bulk.msgNameId,
        pmtInfId: bulk.pmtInfId,
        psuId: headers.psuId ?? null,
        psuIpAddress,
        clientRedirectUri: headers.redirectUri ?? null,
        clientNokRedirectUri: headers.nokRedirectUri ?? null,
      },
      bulk.transactions,
    );
    if (!created && stored.requestHash !== requestHash) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'X-Request-ID was already used for a different bulk payment; use a new X-Request-ID for a new one', 'X-Request-ID');
    }
    if (!created && (stored.bankPaymentId || stored.initiationOutcome === 'unknown')) return this.replayedInitiation(stored);

    const log = this.logger.child({ bulkPaymentId: id, bicFi: aspsp.bicFi, tenantId: principal.tenantId });
    try {
      const summary = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(bulkInitiationResultUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof bulkPaymentWorkflow>('bulkPaymentWorkflow', {
            workflowId: bulkPaymentWorkflowId(id),
            taskQueue: taskQueueFor(this.config.temporal, 'bulkPaymentWorkflow'),
            args: [{ tenantId: principal.tenantId, paymentId: id, timings: this.timings() }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // One line for the Temporal UI: size, total and bank, never names or IBANs.
            staticSummary: `Bulk · ${bulk.transactions.length} tx · ${bulk.controlSum} ${bulk.currency} · ${aspsp.bicFi}`,
            typedSearchAttributes: [
              { key: BicFi, value: aspsp.bicFi },
              { key: TenantId, value: principal.tenantId },
              { key: PaymentProductAttr, value: product },
              { key: TransactionStatusAttr, value: 'RCVD' },
            ],
          }),
        }),
      );
      if ('outcome' in summary) {
        log.warn({ reason: summary.reason }, 'bulk payment initiation outcome unknown');
        return await this.replayedInitiation((await this.bulks.findForTenant(principal.tenantId, id))!);
      }
      log.info({ transactionStatus: summary.transactionStatus, scaApproach: summary.scaApproach, numberOfTransactions: bulk.transactions.length }, 'bulk payment initiated');
      return {
        status: 201,
        body: toBulkInitiationResponse(
          { id, paymentProduct: product, transactionStatus: summary.transactionStatus, initiationOutcome: null },
          { authorisationId: summary.authorisationId, scaRedirectUrl: summary.scaRedirectUrl, psuMessage: summary.psuMessage },
        ),
        headers: { Location: bulkPaymentPath({ id, paymentProduct: product }), 'ASPSP-SCA-Approach': summary.scaApproach },
      };
    } catch (err) {
      const initiationError = initiationErrorOf(err);
      if (initiationError) throw bankRefusalError(initiationError, ApiErrorCode.PaymentFailed);
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = await this.bulks.findForTenant(principal.tenantId, id);
        if (current?.bankPaymentId) return this.replayedInitiation(current);
        throw new ApiError(ApiErrorCode.PaymentFailed, 'The bulk payment requested with this X-Request-ID could not be initiated; send a corrected request with a new X-Request-ID');
      }
      log.warn({ err }, 'bulk initiation did not complete in time');
      if (created && !(await this.workflowExists(id))) await this.bulks.deleteUninitiated(principal.tenantId, id);
      throw new ApiError(
        ApiErrorCode.ServiceUnavailable,
        'The bank did not confirm the bulk payment in time. Repeat the request with the same X-Request-ID to get its outcome; it will not be initiated twice.',
      );
    }
  }

  async get(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined) {
    const bulk = await this.find(principal, product, id, bicFi);
    const transactions = await this.bulks.listTransactionsForTenant(principal.tenantId, bulk.id, { limit: bulk.numberOfTransactions });
    return toBulkPaymentResponse(bulk, transactions);
  }

  async status(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined) {
    return toBulkStatusResponse(await this.find(principal, product, id, bicFi));
  }

  /**
   * The status as a pain.002.001.10 report (`Accept: application/xml`): group and PmtInf status
   * with counts per status, every transaction's status and reason code, the original MsgId,
   * PmtInfId and EndToEndIds echoed. Streamed, a page of transactions at a time.
   */
  async writeStatusReport(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined, out: NodeJS.WritableStream): Promise<void> {
    const bulk = await this.find(principal, product, id, bicFi);
    const compactId = bulk.id.replace(/-/g, '');
    const counts = await this.countsPerStatus(principal, bulk);
    const bulks = this.bulks;
    async function* transactions() {
      let after = -1;
      for (;;) {
        const page = await bulks.listTransactionsForTenant(principal.tenantId, bulk.id, { afterIndex: after, limit: 5_000 });
        for (const t of page) {
          yield {
            ...(t.instructionId ? { originalInstructionId: t.instructionId } : {}),
            originalEndToEndId: t.endToEndId,
            status: iso(t.transactionStatus),
            ...(t.reasonCode ? { reasonCode: t.reasonCode } : {}),
            amount: t.amount,
            currency: t.currency,
          };
        }
        if (page.length < 5_000) return;
        after = page[page.length - 1]!.index;
      }
    }
    await writePain002(
      out,
      {
        msgId: `CWSTS-${compactId.slice(0, 29)}`,
        creationDateTime: new Date(),
        initiatingPartyName: 'Clearway',
        debtorAgentBic: bulk.bicFi,
        originalMsgId: bulk.msgId ?? `CW-${compactId}`,
        originalMsgNameId: bulk.msgNameId ?? 'bulkPaymentInitiation_json',
        originalNumberOfTransactions: bulk.numberOfTransactions,
        originalControlSum: bulk.controlSum,
        groupStatus: iso(bulk.transactionStatus),
        groupCountsPerStatus: counts,
      },
      [
        {
          info: {
            originalPmtInfId: bulk.pmtInfId ?? `CW-${compactId}`,
            status: iso(bulk.transactionStatus),
            numberOfTransactions: bulk.numberOfTransactions,
            controlSum: bulk.controlSum,
            countsPerStatus: counts,
          },
          transactions: transactions(),
        },
      ],
    );
  }

  async cancel(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined): Promise<HttpResult<object>> {
    const bulk = await this.find(principal, product, id, bicFi);
    if (bulk.transactionStatus === 'CANC') return { status: 204 };
    try {
      const result = await this.temporal.workflow.getHandle(bulkPaymentWorkflowId(bulk.id)).executeUpdate(cancelBulkPaymentUpdate);
      if (result.transactionStatus === 'CANC' && !result.authorisationRequired) return { status: 204 };
      // BG/OPE `paymentInitiationCancelResponse-202`: the PSU must authorise the cancellation.
      const self = bulkPaymentPath(bulk);
      return {
        status: 202,
        body: {
          transactionStatus: result.transactionStatus,
          _links: {
            self: { href: self },
            status: { href: `${self}/status` },
            ...(result.authorisationRequired ? { startAuthorisation: { href: `${self}/cancellation-authorisations` } } : {}),
          },
        },
      };
    } catch (err) {
      throw new ApiError(ApiErrorCode.CancellationInvalid, `The bulk payment cannot be cancelled: ${updateRefusal(err, bulk)}`);
    }
  }

  async startAuthorisation(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined) {
    const bulk = await this.find(principal, product, id, bicFi);
    try {
      const started = await this.temporal.workflow.getHandle(bulkPaymentWorkflowId(bulk.id)).executeUpdate(startBulkAuthorisationUpdate);
      return toBulkStartAuthorisationResponse(bulk, started);
    } catch (err) {
      throw new ApiError(ApiErrorCode.StatusInvalid, `An authorisation cannot be started: ${updateRefusal(err, bulk)}`);
    }
  }

  async listAuthorisations(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined) {
    const bulk = await this.find(principal, product, id, bicFi);
    return toBulkAuthorisationListResponse(await this.bulks.listAuthorisations(principal.tenantId, bulk.id));
  }

  async getAuthorisation(principal: Principal, product: BulkPaymentProduct, id: string, authorisationId: string, bicFi: string | undefined) {
    const bulk = await this.find(principal, product, id, bicFi);
    const authorisation = await this.bulks.findAuthorisation(principal.tenantId, bulk.id, authorisationId);
    if (!authorisation) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    return { scaStatus: authorisation.scaStatus };
  }

  /** The PSU is back from the bank's SCA page: wake the workflow (the bank's word decides), send the PSU on. */
  async handleScaCallback(id: string, result: string | undefined, state: string | undefined): Promise<string | undefined> {
    const signed = verifyCallbackState(this.signer, 'bulk-payments', id, state);
    const bulk = signed && (await this.bulks.findBySignedCallback(signed));
    if (!bulk) throw ApiError.notFound('Bulk payment');
    const outcome = result === 'nok' ? 'nok' : 'ok';
    try {
      await this.temporal.workflow.getHandle(bulkPaymentWorkflowId(id)).signal(bulkScaCallbackSignal, { outcome });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return outcome === 'nok' ? (bulk.clientNokRedirectUri ?? bulk.clientRedirectUri ?? undefined) : (bulk.clientRedirectUri ?? undefined);
  }

  private async countsPerStatus(principal: Principal, bulk: BulkPaymentEntity): Promise<{ status: Iso20022Status; count: number; controlSum: string }[]> {
    const counts = new Map<TransactionStatus, { count: number; sum: bigint }>();
    let after = -1;
    for (;;) {
      const page = await this.bulks.listTransactionsForTenant(principal.tenantId, bulk.id, { afterIndex: after, limit: 5_000 });
      for (const t of page) {
        const c = counts.get(t.transactionStatus) ?? { count: 0, sum: 0n };
        c.count += 1;
        c.sum += scaled(t.amount);
        counts.set(t.transactionStatus, c);
      }
      if (page.length < 5_000) break;
      after = page[page.length - 1]!.index;
    }
    return [...counts.entries()].map(([status, c]) => ({ status: iso(status), count: c.count, controlSum: unscaled(c.sum) }));
  }

  private async aspspFor(bicFi: string | undefined, product: BulkPaymentProduct): Promise<AspspEntity> {
    const aspsp = await this.directory.findAspsp(requiredHeader('X-BicFi', bicFi));
    if (!aspsp) throw ApiError.format('X-BicFi', `unknown ASPSP "${bicFi}"; see /psd2/aspspinformation/v1/aspsps`);
    if (!aspsp.bulkPaymentProducts.includes(product)) {
      const offered = aspsp.bulkPaymentProducts.length ? `it offers ${aspsp.bulkPaymentProducts.join(', ')}` : 'it offers no bulk payments (send single payments)';
      throw new ApiError(ApiErrorCode.ProductUnknown, `${aspsp.bicFi} does not support bulk payments of ${product}; ${offered}`, 'payment-product');
    }
    return aspsp;
  }

  /** A bulk of this tenant, product and bank, else 404 (also the cancellation-authorisations lookup). */
  async find(principal: Principal, product: BulkPaymentProduct, id: string, bicFi: string | undefined): Promise<BulkPaymentEntity> {
    requiredHeader('X-BicFi', bicFi);
    const bulk = await this.bulks.findForTenant(principal.tenantId, id);
    if (!bulk || bulk.paymentProduct !== product || bulk.bicFi !== bicFi) throw ApiError.notFound(`Bulk payment ${id}`);
    return bulk;
  }

  /** A repeated POST answers as the first one did, with the authorisation the bank created with the bulk. */
  private async replayedInitiation(bulk: BulkPaymentEntity): Promise<HttpResult<object>> {
    const [authorisation] = await this.bulks.listAuthorisations(bulk.tenantId, bulk.id);
    return {
      status: 201,
      body: toBulkInitiationResponse(bulk, { authorisationId: authorisation?.authorisationId, scaRedirectUrl: bulk.scaRedirectUrl, psuMessage: bulk.psuMessage }),
      headers: { Location: bulkPaymentPath(bulk), ...(bulk.scaApproach ? { 'ASPSP-SCA-Approach': bulk.scaApproach } : {}) },
    };
  }

  /** The deployment's polling settings (as for single payments); the SCA timeout comes from the ASPSP. */
  private timings() {
    const p = this.config.payments;
    return { scaPollInitialMs: 1000, scaPollMaxMs: 15_000, statusPollInitialMs: p.pollInitialIntervalMs, statusPollMaxMs: p.pollMaxIntervalMs, statusDeadlineMs: p.statusDeadlineSeconds * 1000 };
  }

  private async workflowExists(id: string): Promise<boolean> {
    try {
      await this.temporal.connection.withDeadline(Date.now() + 2000, () => this.temporal.workflow.getHandle(bulkPaymentWorkflowId(id)).describe());
      return true;
    } catch (err) {
      return !(err instanceof WorkflowNotFoundError);
    }
  }
}

/** Every TransactionStatus Clearway keeps is an ISO 20022 code (the vocabulary is ISO's). */
function iso(status: TransactionStatus): Iso20022Status {
  return status === 'ACFC' ? 'ACTC' : (status as Iso20022Status);
}

const SCALE = 5;
function scaled(amount: string): bigint {
  const [whole, fraction = ''] = amount.split('.');
  return BigInt(whole!) * 10n ** BigInt(SCALE) + BigInt(fraction.padEnd(SCALE, '0'));
}
function unscaled(v: bigint): string {
  const s = v.toString().padStart(SCALE + 1, '0');
  return `${s.slice(0, -SCALE)}.${s.slice(-SCALE).replace(/0+$/, '').padEnd(2, '0')}`;
}

function sha256(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

function initiationErrorOf(err: unknown): InitiationError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'InitiationRejected') return cause.details?.[0] as InitiationError;
  return undefined;
}

function updateRefusal(err: unknown, bulk: BulkPaymentEntity): string {
  if (err instanceof WorkflowUpdateFailedError) {
    let cause: unknown = err.cause;
    while (cause instanceof Error) {
      if (cause instanceof ApplicationFailure && cause.type === 'BankRejected') return bankRefusalError(cause.details?.[0] as InitiationError, ApiErrorCode.PaymentFailed).message;
      cause = (cause as Error & { cause?: unknown }).cause;
    }
    const c = err.cause;
    return c instanceof ApplicationFailure && !(c.cause instanceof Error) ? c.message : 'the bank did not accept the request';
  }
  if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) return `the bulk payment is already final (${bulk.transactionStatus})`;
  throw err;
}
