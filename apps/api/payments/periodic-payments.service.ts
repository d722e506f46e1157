import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, isGrpcServiceError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLEARWAY_ID_NAMESPACE, deriveUuid, isUuid } from '../../../libs/domain/ids';
import type { PaymentProduct } from '../../../libs/domain/payment';
import { isoDateOf } from '../../../libs/domain/target2-calendar';
import type { Logger } from '../../../libs/observability/logger';
import { TENANT_CONSENTS, type TenantConsentRepository } from '../../../libs/persistence/consent.repository';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { PaymentEntity } from '../../../libs/persistence/entities/payment.entity';
import { TENANT_PAYMENTS, type TenantPaymentRepository } from '../../../libs/persistence/payment.repository';
import { TENANT_PERIODIC_PAYMENTS, type TenantPeriodicPaymentRepository } from '../../../libs/persistence/periodic-payment.repository';
import { BicFi, PaymentProduct as PaymentProductAttr, TenantId, TransactionStatus } from '../../../libs/temporal/search-attributes';
import { initiationResultUpdate, startAuthorisationUpdate, type InitiationError } from '../../../workflows/payment-initiation.api';
import { cancelPeriodicPaymentUpdate, periodicPaymentWorkflowId, type PeriodicTimings } from '../../../workflows/periodic-payment.api';
import type { periodicPaymentWorkflow } from '../../../workflows/periodic-payment.workflow';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { bankRefusalError } from '../common/bank-refusal';
import type { HttpResult } from '../common/http-result';
import { requiredHeader } from '../common/request-headers';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { validatePeriodicPayment } from './periodic-payment.validator';
import type { InitiationHeaders } from './payments.service';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

const BASE = '/psd2/paymentinitiation/v1/periodic-payments';
const pathOf = (p: Pick<PaymentEntity, 'id' | 'paymentProduct'>) => `${BASE}/${p.paymentProduct}/${p.id}`;

/**
 * Periodic payments (standing orders). Reads come from PostgreSQL; everything that reaches the bank
 * goes through the order's workflow (`periodic-<paymentId>`).
 */
@Injectable()
export class PeriodicPaymentsService {
  constructor(
    @Inject(TENANT_PAYMENTS) private readonly payments: TenantPaymentRepository,
    @Inject(TENANT_PERIODIC_PAYMENTS) private readonly periodic: TenantPeriodicPaymentRepository,
    @Inject(TENANT_CONSENTS) private readonly consents: TenantConsentRepository,
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async initiate(principal: Principal, product: PaymentProduct, headers: InitiationHeaders & { consentId?: string }, rawBody: unknown): Promise<HttpResult<object>> {
    const aspsp = await this.aspspFor(headers.bicFi, product);
    const psuIpAddress = requiredHeader('PSU-IP-Address', headers.psuIpAddress);
    const { body, amountMinor, schedule } = validatePeriodicPayment(product, rawBody, isoDateOf(Math.floor(Date.now() / 86_400_000)));
    const consentId = await this.observationConsent(principal, aspsp, headers.consentId);

    const derivedId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'periodic-payment', headers.requestId);
    const requestHash = sha256(JSON.stringify(['periodic', aspsp.bicFi, product, body, headers.psuId ?? null, headers.redirectUri ?? null, headers.nokRedirectUri ?? null, consentId]));
    const { payment, created } = await this.periodic.insertOrGetExisting(
      {
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
        clientRedirectUri: headers.redirectUri ?? null,
        clientNokRedirectUri: headers.nokRedirectUri ?? null,
      },
      consentId,
    );
    if (!created && (payment.requestHash !== requestHash || payment.paymentService !== 'periodic-payments')) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'X-Request-ID was already used for a different payment; use a new X-Request-ID for a new payment', 'X-Request-ID');
    }
    if (!created && (payment.bankPaymentId || payment.initiationOutcome === 'unknown')) return this.replayed(payment);

    const log = this.logger.child({ paymentId: payment.id, bicFi: aspsp.bicFi, tenantId: principal.tenantId });
    try {
      const summary = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(initiationResultUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof periodicPaymentWorkflow>('periodicPaymentWorkflow', {
            workflowId: periodicPaymentWorkflowId(payment.id),
            taskQueue: taskQueueFor(this.config.temporal, 'periodicPaymentWorkflow'),
            args: [{ paymentId: payment.id, tenantId: principal.tenantId, bicFi: aspsp.bicFi, paymentProduct: product, schedule, timings: this.timingsFor(aspsp) }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            typedSearchAttributes: [
              { key: BicFi, value: aspsp.bicFi },
              { key: TenantId, value: principal.tenantId },
              { key: PaymentProductAttr, value: product },
              { key: TransactionStatus, value: 'RCVD' },
            ],
          }),
        }),
      );
      if ('outcome' in summary) return await this.replayed((await this.payments.findForTenant(principal.tenantId, payment.id))!);
      log.info({ transactionStatus: summary.transactionStatus, scaApproach: summary.scaApproach }, 'periodic payment initiated');
      return {
        status: 201,
        body: initiationBody(payment, summary.transactionStatus, summary),
        headers: { Location: pathOf(payment), 'ASPSP-SCA-Approach': summary.scaApproach },
      };
    } catch (err) {
      const refused = initiationErrorOf(err);
      if (refused) throw bankRefusalError(refused, ApiErrorCode.PaymentFailed);
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = await this.payments.findForTenant(principal.tenantId, payment.id);
        if (current?.bankPaymentId) return this.replayed(current);
        throw new ApiError(ApiErrorCode.PaymentFailed, 'The periodic payment requested with this X-Request-ID could not be initiated; send a corrected request with a new X-Request-ID');
      }
      log.warn({ errType: (err as Error)?.name }, 'periodic initiation did not complete in time');
      throw new ApiError(ApiErrorCode.ServiceUnavailable, 'The bank did not confirm the periodic payment in time. Repeat the request with the same X-Request-ID to get its outcome; it will not be initiated twice.');
    }
  }

  async get(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    return { ...payment.body, transactionStatus: payment.transactionStatus };
  }

  async status(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    return { transactionStatus: payment.transactionStatus };
  }

  /** Clearway's extension: the executions observed so far (ids, dates, outcomes; no account data). */
  async executions(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    const terms = await this.periodic.findTermsForTenant(principal.tenantId, payment.id);
    const list = await this.periodic.listExecutions(principal.tenantId, payment.id);
    return {
      observable: Boolean(terms?.observationConsentId),
      executions: list.map((e) => ({
        executionIndex: e.executionIndex,
        executionDate: e.executionDate,
        outcome: e.outcome,
        ...(e.bookingDate ? { bookingDate: e.bookingDate } : {}),
        ...(e.reason ? { reason: e.reason } : {}),
      })),
    };
  }

  /** 204 when the bank cancelled outright; 202 with `startAuthorisation` when the PSU must authorise the cancellation. */
  async cancel(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined): Promise<HttpResult<object>> {
    const payment = await this.find(principal, product, id, bicFi);
    if (payment.transactionStatus === 'CANC') return { status: 204 };
    try {
      const result = await this.temporal.workflow.getHandle(periodicPaymentWorkflowId(payment.id)).executeUpdate(cancelPeriodicPaymentUpdate);
      if (result.transactionStatus === 'CANC' && !result.authorisationRequired) return { status: 204 };
      return {
        status: 202,
        body: {
          transactionStatus: result.transactionStatus,
          _links: {
            self: { href: pathOf(payment) },
            status: { href: `${pathOf(payment)}/status` },
            ...(result.authorisationRequired ? { startAuthorisation: { href: `${pathOf(payment)}/cancellation-authorisations` } } : {}),
          },
        },
      };
    } catch (err) {
      throw new ApiError(ApiErrorCode.CancellationInvalid, `The periodic payment cannot be cancelled: ${refusalOf(err, payment)}`);
    }
  }

  async startAuthorisation(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    try {
      const started = await this.temporal.workflow.getHandle(periodicPaymentWorkflowId(payment.id)).executeUpdate(startAuthorisationUpdate);
      return {
        scaStatus: started.scaStatus,
        authorisationId: started.authorisationId,
        _links: { scaStatus: { href: `${pathOf(payment)}/authorisations/${started.authorisationId}` }, ...(started.scaRedirectUrl ? { scaRedirect: { href: started.scaRedirectUrl } } : {}) },
        ...(started.psuMessage ? { psuMessage: started.psuMessage } : {}),
      };
    } catch (err) {
      throw new ApiError(ApiErrorCode.StatusInvalid, `An authorisation cannot be started: ${refusalOf(err, payment)}`);
    }
  }

  async listAuthorisations(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    return { authorisationIds: (await this.payments.listAuthorisations(principal.tenantId, payment.id)).map((a) => a.authorisationId) };
  }

  async getAuthorisation(principal: Principal, product: PaymentProduct, id: string, authorisationId: string, bicFi: string | undefined) {
    const payment = await this.find(principal, product, id, bicFi);
    const authorisation = await this.payments.findAuthorisation(principal.tenantId, payment.id, authorisationId);
    if (!authorisation) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    return { scaStatus: authorisation.scaStatus };
  }

  private async observationConsent(principal: Principal, aspsp: AspspEntity, consentId: string | undefined): Promise<string | null> {
    if (consentId === undefined || consentId === '') return null;
    if (!isUuid(consentId)) throw ApiError.format('Consent-ID', 'must be the id of one of your account-information consents');
    const consent = await this.consents.findForTenant(principal.tenantId, consentId.toLowerCase());
    if (!consent || consent.bicFi !== aspsp.bicFi) throw ApiError.format('Consent-ID', `no consent ${consentId} at ${aspsp.bicFi}`);
    return consent.id;
  }

  private async aspspFor(bicFi: string | undefined, product: PaymentProduct): Promise<AspspEntity> {
    const aspsp = await this.directory.findAspsp(requiredHeader('X-BicFi', bicFi));
    if (!aspsp) throw ApiError.format('X-BicFi', `unknown ASPSP "${bicFi}"; see /psd2/aspspinformation/v1/aspsps`);
    if (!aspsp.paymentProducts.includes(product)) {
      throw new ApiError(ApiErrorCode.ProductUnknown, `${aspsp.bicFi} does not support ${product}; it supports ${aspsp.paymentProducts.join(', ')}`, 'payment-product');
    }
    return aspsp;
  }

  /** Tenant-scoped, and only standing orders: another client's or another service's payment is a 404. */
  async find(principal: Principal, product: PaymentProduct, id: string, bicFi: string | undefined): Promise<PaymentEntity> {
    requiredHeader('X-BicFi', bicFi);
    const payment = await this.payments.findForTenant(principal.tenantId, id);
    if (!payment || payment.paymentService !== 'periodic-payments' || payment.paymentProduct !== product || payment.bicFi !== bicFi) throw ApiError.notFound(`Periodic payment ${id}`);
    return payment;
  }

  /** A repeated POST answers as the first one did, with the authorisation the bank created with the standing order. */
  private async replayed(payment: PaymentEntity): Promise<HttpResult<object>> {
    const [authorisation] = await this.payments.listAuthorisations(payment.tenantId, payment.id);
    return {
      status: 201,
      body: initiationBody(payment, payment.transactionStatus, { authorisationId: authorisation?.authorisationId, scaRedirectUrl: payment.scaRedirectUrl, psuMessage: payment.psuMessage }),
      headers: { Location: pathOf(payment), ...(payment.scaApproach ? { 'ASPSP-SCA-Approach': payment.scaApproach } : {}) },
    };
  }

  private timingsFor(aspsp: AspspEntity): PeriodicTimings {
    const p = this.config.payments;
    const periodic = this.config.periodic;
    return {
      scaTimeoutMs: (aspsp.scaTimeoutSeconds || p.scaTimeoutSeconds) * 1000,
      scaPollInitialMs: 1000,
      scaPollMaxMs: 15_000,
      observeEveryMs: periodic.observeEveryMs,
      graceBusinessDays: periodic.graceBusinessDays,
      executionsPerRun: periodic.executionsPerRun,
    };
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function initiationErrorOf(err: unknown): InitiationError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'InitiationRejected') return cause.details?.[0] as InitiationError;
  return undefined;
}

/** Why the workflow refused an update, in our words (never the bank call's own message). */
export function refusalOf(err: unknown, payment: Pick<PaymentEntity, 'transactionStatus'>): string {
  let cause: unknown = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type === 'BankRejected') {
      return bankRefusalError(cause.details?.[0] as InitiationError, ApiErrorCode.PaymentFailed).message;
    }
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const c = err.cause;
    return c instanceof ApplicationFailure && !(c.cause instanceof Error) ? c.message : 'the bank did not accept the request';
  }
  if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5)) return `the payment is already final (${payment.transactionStatus})`;
  throw err;
}

/** The 201 of a standing order's initiation: the same body for the first answer and a repeated POST. */
function initiationBody(
  payment: Pick<PaymentEntity, 'id' | 'paymentProduct'>,
  transactionStatus: string,
  sca: { authorisationId?: string; scaRedirectUrl?: string | null; psuMessage?: string | null },
) {
  const links: Record<string, { href: string }> = { self: { href: pathOf(payment) }, status: { href: `${pathOf(payment)}/status` } };
  if (sca.scaRedirectUrl) links.scaRedirect = { href: sca.scaRedirectUrl };
  if (sca.authorisationId) links.scaStatus = { href: `${pathOf(payment)}/authorisations/${sca.authorisationId}` };
  return { transactionStatus, paymentId: payment.id, _links: links, ...(sca.psuMessage ? { psuMessage: sca.psuMessage } : {}) };
}
