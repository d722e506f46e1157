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
import { deriveUuid, CLEARWAY_ID_NAMESPACE } from '../../../libs/domain/ids';
import { isFinalTransactionStatus } from '../../../libs/domain/transaction-status';
import type { PaymentProduct } from '../../../libs/domain/payment';
import type { ClearwayConfig } from '../../../libs/config/config';
import type { Logger } from '../../../libs/observability/logger';
import { batchSinglePaymentRequestId } from '../../../libs/persistence/batch-progress';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { PaymentEntity } from '../../../libs/persistence/entities/payment.entity';
import { TENANT_PAYMENTS, type TenantPaymentRepository } from '../../../libs/persistence/payment.repository';
import { verifyCallbackState } from '../../../libs/security/callback-state';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { SensitiveHandoffs } from '../../../libs/security/sensitive-handoffs';
import { BicFi, PaymentProduct as PaymentProductAttr, TenantId, TransactionStatus } from '../../../libs/temporal/search-attributes';
import {
  cancelPaymentUpdate,
  initiationResultUpdate,
  newPaymentInput,
  paymentWorkflowId,
  scaCallbackSignal,
  startAuthorisationUpdate,
  updatePaymentPsuDataUpdate,
  type InitiationError,
  type PaymentTimings,
} from '../../../workflows/payment-initiation.api';
import type { paymentInitiationWorkflow } from '../../../workflows/payment-initiation.workflow';
import { paymentDetails, paymentSummary } from '../../../workflows/shared/ui-metadata';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { bankRefusalError } from '../common/bank-refusal';
import type { HttpResult } from '../common/http-result';
import { sealPsuDataUpdate, toPsuDataUpdateResponse } from '../common/psu-data-update';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import {
  authorisationPath,
  toAuthorisationListResponse,
  toInitiationResponse,
  toPaymentResponse,
  toStartAuthorisationResponse,
  toStatusResponse,
} from './payment.mapper';
import { requiredHeader } from '../common/request-headers';
import { validatePaymentInitiation } from './payment-request.validator';
import { workflowIdForPayment } from './payment-workflow-ids';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

export interface InitiationHeaders {
  requestId: string;
  bicFi: string | undefined;
  psuIpAddress: string | undefined;
  psuId: string | undefined;
  redirectUri: string | undefined;
  nokRedirectUri: string | undefined;
}


/**
 * Payment initiation use cases. Reads come from PostgreSQL; everything that talks to a bank goes
 * through the payment's workflow (start, update, signal), never from here directly.
 */
@Injectable()
export class PaymentsService {
  constructor(
    @Inject(TENANT_PAYMENTS) private readonly payments: TenantPaymentRepository,
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SensitiveHandoffs) private readonly handoffs: SensitiveHandoffs,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async initiate(principal: Principal, product: PaymentProduct, headers: InitiationHeaders, rawBody: unknown): Promise<HttpResult<object>> {
    const aspsp = await this.aspspFor(headers.bicFi, product);
    // Header formats were checked on the way in (common/request-headers.ts); here: what this endpoint needs.
    const psuIpAddress = requiredHeader('PSU-IP-Address', headers.psuIpAddress);
    const redirectUri = headers.redirectUri;
    const nokRedirectUri = headers.nokRedirectUri;
    const { body, amountMinor } = validatePaymentInitiation(product, rawBody, { debtorAccountOptional: aspsp.debtorAccountOptional, ukDebtor: aspsp.protocol === 'uk-obie' });

    // The payment id is derived from the client's X-Request-ID: a retried POST finds the same payment.
    const derivedId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'payment', headers.requestId);
    const requestHash = sha256(JSON.stringify([aspsp.bicFi, product, body, headers.psuId ?? null, redirectUri ?? null, nokRedirectUri ?? null]));
    const { payment, created } = await this.payments.insertOrGetExisting({
      id: derivedId,
      tenantId: principal.tenantId,
      clientId: principal.clientId,
      requestId: headers.requestId,
      requestHash,
      bicFi: aspsp.bicFi,
      paymentProduct: product,
      body,
      currency: body.instructedAmount.currency,
      amountMinor: amountMinor.toString(),
      psuId: headers.psuId ?? null,
      psuIpAddress,
      clientRedirectUri: redirectUri ?? null,
      clientNokRedirectUri: nokRedirectUri ?? null,
    });
    // The stored row's id: one stored before X-Request-IDs were normalised to lower case was derived from the id as first sent.
    const paymentId = payment.id;
    if (!created && payment.requestHash !== requestHash) {
      throw new ApiError(
        ApiErrorCode.ParameterNotConsistent,
        'X-Request-ID was already used for a different payment; use a new X-Request-ID for a new payment',
        'X-Request-ID',
      );
    }
    if (!created && (payment.bankPaymentId || payment.initiationOutcome === 'unknown')) return this.replayedInitiation(payment);

    const log = this.logger.child({ paymentId, bicFi: aspsp.bicFi, tenantId: principal.tenantId });
    try {
      const summary = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(initiationResultUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof paymentInitiationWorkflow>('paymentInitiationWorkflow', {
            workflowId: paymentWorkflowId(paymentId),
            taskQueue: taskQueueFor(this.config.temporal, 'paymentInitiationWorkflow'),
            args: [newPaymentInput({ paymentId, tenantId: principal.tenantId, bicFi: aspsp.bicFi, paymentProduct: product, timings: this.timingsFor(aspsp) })],
            workflowIdConflictPolicy: 'USE_EXISTING',
            // A finished payment workflow is never run again for the same payment.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // What the Temporal UI shows (no PII: amount, bank, product, tenant, links).
            staticSummary: paymentSummary({ product, amount: body.instructedAmount, bicFi: aspsp.bicFi, tenantId: principal.tenantId }),
            staticDetails: paymentDetails({
              paymentId,
              product,
              bicFi: aspsp.bicFi,
              bankName: aspsp.name,
              tenantId: principal.tenantId,
              apiBaseUrl: this.config.api.publicBaseUrl,
              scaApproaches: aspsp.scaApproaches,
              scaTimeoutMs: this.timingsFor(aspsp).scaTimeoutMs,
            }),
            typedSearchAttributes: [
              { key: BicFi, value: aspsp.bicFi },
              { key: TenantId, value: principal.tenantId },
              { key: PaymentProductAttr, value: product },
              { key: TransactionStatus, value: 'RCVD' },
            ],
          }),
        }),
      );
      if ('outcome' in summary) {
        // The bank's answer is missing: report the payment as it stands (unknown, or resolved since).
        log.warn({ reason: summary.reason }, 'payment initiation outcome unknown');
        return await this.replayedInitiation((await this.payments.findForTenant(principal.tenantId, paymentId))!);
      }
      log.info({ transactionStatus: summary.transactionStatus, scaApproach: summary.scaApproach }, 'payment initiated');
      return {
        status: 201,
        body: toInitiationResponse(
          { id: paymentId, paymentProduct: product, transactionStatus: summary.transactionStatus, initiationOutcome: null },
          { authorisationId: summary.authorisationId, scaRedirectUrl: summary.scaRedirectUrl, psuMessage: summary.psuMessage },
        ),
        headers: { Location: `/psd2/paymentinitiation/v1/payments/${product}/${paymentId}`, 'ASPSP-SCA-Approach': summary.scaApproach },
      };
    } catch (err) {
      const initiationError = initiationErrorOf(err);
      if (initiationError) throw bankRejection(initiationError);
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = await this.payments.findForTenant(principal.tenantId, paymentId);
        if (current?.bankPaymentId) return this.replayedInitiation(current);
        // Its statusReason may quote the bank call: say it in our words.
        throw new ApiError(ApiErrorCode.PaymentFailed, 'The payment requested with this X-Request-ID could not be initiated; send a corrected request with a new X-Request-ID');
      }
      log.warn({ err }, 'initiation did not complete in time');
      if (created && !(await this.workflowExists(paymentId))) await this.payments.deleteUninitiated(principal.tenantId, paymentId);
      throw new ApiError(
        ApiErrorCode.ServiceUnavailable,
        'The bank did not confirm the payment in time. Repeat the request with the same X-Request-ID to get its outcome; it will not be initiated twice.',
      );
    }
  }

  async get(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined) {
    return toPaymentResponse(await this.find(principal, product, paymentId, bicFi));
  }

  async status(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined) {
    return toStatusResponse(await this.find(principal, product, paymentId, bicFi));
  }

  async cancel(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined): Promise<HttpResult<object>> {
    const payment = await this.find(principal, product, paymentId, bicFi);
    if (payment.transactionStatus === 'CANC') return { status: 204 };
    try {
      const result = await this.temporal.workflow.getHandle(paymentWorkflowId(payment.id)).executeUpdate(cancelPaymentUpdate);
      if (result.transactionStatus === 'CANC' && !result.authorisationRequired) return { status: 204 };
      return {
        status: 202,
        body: {
          transactionStatus: result.transactionStatus,
          _links: {
            status: { href: `/psd2/paymentinitiation/v1/payments/${product}/${paymentId}/status` },
            ...(result.authorisationRequired ? { startAuthorisation: { href: `/psd2/paymentinitiation/v1/payments/${product}/${paymentId}/cancellation-authorisations` } } : {}),
          },
        },
      };
    } catch (err) {
      throw new ApiError(ApiErrorCode.CancellationInvalid, `The payment cannot be cancelled: ${updateRefusal(err, payment)}`);
    }
  }

  async startAuthorisation(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, paymentId, bicFi);
    try {
      const started = await this.temporal.workflow.getHandle(paymentWorkflowId(payment.id)).executeUpdate(startAuthorisationUpdate);
      return toStartAuthorisationResponse(payment, started);
    } catch (err) {
      throw new ApiError(ApiErrorCode.StatusInvalid, `An authorisation cannot be started: ${updateRefusal(err, payment)}`);
    }
  }

  /** BG Update PSU Data: `{}` identifies the PSU (PSU-ID header); embedded steps carry their secret, sealed. */
  async updatePsuData(principal: Principal, product: PaymentProduct, paymentId: string, authorisationId: string, bicFi: string | undefined, rawBody: unknown) {
    const payment = await this.find(principal, product, paymentId, bicFi);
    if (!(await this.payments.findAuthorisation(principal.tenantId, payment.id, authorisationId))) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    const request = await sealPsuDataUpdate(this.handoffs, principal.tenantId, authorisationId, rawBody);
    try {
      const result = await this.temporal.workflow.getHandle(paymentWorkflowId(payment.id)).executeUpdate(updatePaymentPsuDataUpdate, { args: [request] });
      return toPsuDataUpdateResponse(result, authorisationPath(payment, authorisationId));
    } catch (err) {
      if (request.handoffId) await this.handoffs.discard(request.handoffId);
      const bank = bankRefusalOf(err);
      if (bank) throw bankRejection(bank);
      throw new ApiError(ApiErrorCode.StatusInvalid, `PSU data cannot be updated: ${updateRefusal(err, payment)}`);
    }
  }

  async listAuthorisations(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, paymentId, bicFi);
    return toAuthorisationListResponse(await this.payments.listAuthorisations(principal.tenantId, payment.id));
  }

  async getAuthorisation(principal: Principal, product: PaymentProduct, paymentId: string, authorisationId: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, paymentId, bicFi);
    const authorisation = await this.payments.findAuthorisation(principal.tenantId, payment.id, authorisationId);
    if (!authorisation) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    return { scaStatus: authorisation.scaStatus };
  }

  /**
   * The PSU is back from the bank's SCA page. Tell the workflow (it asks the bank for the verdict),
   * then send the PSU on to the client's own redirect URI.
   */
  async handleScaCallback(paymentId: string, result: string | undefined, state: string | undefined): Promise<string | undefined> {
    const signed = verifyCallbackState(this.signer, 'payments', paymentId, state);
    const payment = signed && (await this.payments.findBySignedCallback(signed));
    if (!payment) throw ApiError.notFound('Payment');
    const outcome = result === 'nok' ? 'nok' : 'ok';
    try {
      await this.temporal.workflow.getHandle(workflowIdForPayment(payment.paymentService, paymentId)).signal(scaCallbackSignal, { outcome });
    } catch (err) {
      // A finished workflow needs no hint; the PSU must still get back to the client.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return outcome === 'nok' ? (payment.clientNokRedirectUri ?? payment.clientRedirectUri ?? undefined) : (payment.clientRedirectUri ?? undefined);
  }

  private async aspspFor(bicFi: string | undefined, product: PaymentProduct): Promise<AspspEntity> {
    const aspsp = await this.directory.findAspsp(requiredHeader('X-BicFi', bicFi));
    if (!aspsp) throw ApiError.format('X-BicFi', `unknown ASPSP "${bicFi}"; see /psd2/aspspinformation/v1/aspsps`);
    if (!aspsp.paymentProducts.includes(product)) {
      throw new ApiError(ApiErrorCode.ProductUnknown, `${aspsp.bicFi} does not support ${product}; it supports ${aspsp.paymentProducts.join(', ')}`, 'payment-product');
    }
    return aspsp;
  }

  /** Tenant-scoped lookup: another client's payment is indistinguishable from a missing one. */
  private async find(principal: Principal, product: PaymentProduct, paymentId: string, bicFi: string | undefined): Promise<PaymentEntity> {
    requiredHeader('X-BicFi', bicFi);
    const payment = await this.payments.findForTenant(principal.tenantId, paymentId);
    if (!payment || payment.paymentService !== 'payments' || payment.paymentProduct !== product || payment.bicFi !== bicFi) throw ApiError.notFound(`Payment ${paymentId}`);
    return payment;
  }

  /** A repeated POST answers as the first one did, with the authorisation the bank created with the payment. */
  private async replayedInitiation(payment: PaymentEntity): Promise<HttpResult<object>> {
    const [authorisation] = await this.payments.listAuthorisations(payment.tenantId, payment.id);
    return {
      status: 201,
      body: toInitiationResponse(payment, { authorisationId: authorisation?.authorisationId, scaRedirectUrl: payment.scaRedirectUrl, psuMessage: payment.psuMessage }),
      headers: { Location: `/psd2/paymentinitiation/v1/payments/${payment.paymentProduct}/${payment.id}`, ...(payment.scaApproach ? { 'ASPSP-SCA-Approach': payment.scaApproach } : {}) },
    };
  }

  private timingsFor(aspsp: AspspEntity): PaymentTimings {
    const p = this.config.payments;
    return {
      scaTimeoutMs: (aspsp.scaTimeoutSeconds || p.scaTimeoutSeconds) * 1000,
      scaPollInitialMs: 1000,
      scaPollMaxMs: 15_000,
      statusPollInitialMs: p.pollInitialIntervalMs,
      statusPollMaxMs: p.pollMaxIntervalMs,
      statusDeadlineMs: p.statusDeadlineSeconds * 1000,
    };
  }

  private async workflowExists(paymentId: string): Promise<boolean> {
    try {
      await this.temporal.connection.withDeadline(Date.now() + 2000, () => this.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).describe());
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      return true; // cannot tell: keep the row, a repeated request will find the workflow
    }
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The bank's refusal behind a failed update (its activity failed with BankRejected). */
function bankRefusalOf(err: unknown): InitiationError | undefined {
  let cause: unknown = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type === 'BankRejected') return cause.details?.[0] as InitiationError;
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

function initiationErrorOf(err: unknown): InitiationError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'InitiationRejected') return cause.details?.[0] as InitiationError;
  return undefined;
}

function bankRejection(error: InitiationError): ApiError {
  return bankRefusalError(error, ApiErrorCode.PaymentFailed);
}

/**
 * Why the workflow refused an update, in words for the client: its validator's reason (ours), or,
 * when a bank call failed, our words for the bank's code; never the call's own message, which
 * names the bank's paths and ids.
 */
function updateRefusal(err: unknown, payment: PaymentEntity): string {
  const bank = bankRefusalOf(err);
  if (bank) return bankRefusalError(bank, ApiErrorCode.PaymentFailed).message;
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    return cause instanceof ApplicationFailure && !(cause.cause instanceof Error) ? cause.message : 'the bank did not accept the request';
  }
  if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) {
    // No workflow and not final: a batch's single payment made ahead, waiting for room to start.
    if (payment.requestId === batchSinglePaymentRequestId(payment.id) && !isFinalTransactionStatus(payment.transactionStatus)) {
      return 'the payment has not been started yet: its batch starts it when there is room (to stop it, cancel the batch: DELETE /batches/v1/batches/{batchId})';
    }
    return `the payment is already final (${payment.transactionStatus})`;
  }
  throw err;
}
