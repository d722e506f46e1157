import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { isBulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { isPaymentProduct } from '../../../libs/domain/payment';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';
import { TENANT_BULK_PAYMENTS, type TenantBulkPaymentRepository } from '../../../libs/persistence/bulk-payment.repository';
import { TENANT_PERIODIC_PAYMENTS, type TenantPeriodicPaymentRepository } from '../../../libs/persistence/periodic-payment.repository';
import { bulkPaymentWorkflowId } from '../../../workflows/bulk-payment.api';
import { periodicPaymentWorkflowId } from '../../../workflows/periodic-payment.api';
import { paymentWorkflowId } from '../../../workflows/payment-initiation.api';
import { TENANT_PAYMENTS, type TenantPaymentRepository } from '../../../libs/persistence/payment.repository';
import { requiredHeader } from '../common/request-headers';
import { startCancellationAuthorisationUpdate } from '../../../workflows/shared/cancellation-authorisation';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { BulkPaymentsService } from './bulk-payments.service';
import { PeriodicPaymentsService, refusalOf } from './periodic-payments.service';

/** What the endpoints read of a payment of any service (single and periodic: `payments`; bulk: `bulk_payments`). */
export interface CancellablePayment {
  id: string;
  paymentProduct: string;
  transactionStatus: TransactionStatus;
}

export interface CancellationRecord {
  cancellationId: string;
  scaStatus: ScaStatus;
  scaApproach: ScaApproach;
}

/** What the generic cancellation-authorisation endpoints need from one payment service. */
export interface CancellableService {
  /** Tenant-scoped lookup of a payment of this service and product (404 otherwise, also for another service's product). */
  find(principal: Principal, product: string, id: string, bicFi: string | undefined): Promise<CancellablePayment>;
  /** The workflow that handles `startCancellationAuthorisationUpdate` for this payment. */
  workflowId(paymentId: string): string;
  /** The payment's cancellation authorisations, as the worker last stored them (tenant-scoped). */
  listCancellations(tenantId: string, paymentId: string): Promise<CancellationRecord[]>;
  findCancellation(tenantId: string, paymentId: string, cancellationId: string): Promise<CancellationRecord | null>;
}

/** Repositories and services the registered payment services' lookups use. */
export interface CancellableServiceDeps {
  periodic: PeriodicPaymentsService;
  payments: TenantPaymentRepository;
  cancellations: TenantPeriodicPaymentRepository;
  bulks: BulkPaymentsService;
  bulkRepository: TenantBulkPaymentRepository;
}

export const CANCELLABLE_SERVICES = Symbol('CANCELLABLE_SERVICES');

/**
 * BG `cancellation-authorisations` for every payment service that registers itself in
 * {@link cancellableServices}: one line per service (bulk payments add theirs the same way).
 */
export function cancellableServices(deps: CancellableServiceDeps): Record<string, CancellableService> {
  const { periodic, payments, cancellations, bulks, bulkRepository } = deps;
  // Single and periodic payments are rows of `payments`: their cancellations share one table.
  const paymentCancellations = {
    listCancellations: (tenantId: string, paymentId: string) => cancellations.listCancellations(tenantId, paymentId),
    findCancellation: (tenantId: string, paymentId: string, cancellationId: string) => cancellations.findCancellation(tenantId, paymentId, cancellationId),
  };
  return {
    payments: { find: singlePaymentLookup(payments), workflowId: paymentWorkflowId, ...paymentCancellations },
    'periodic-payments': {
      find: (p, product, id, bic) => (isPaymentProduct(product) ? periodic.find(p, product, id, bic) : Promise.reject(ApiError.notFound(`Payment ${id}`))),
      workflowId: periodicPaymentWorkflowId,
      ...paymentCancellations,
    },
    'bulk-payments': {
      find: (p, product, id, bic) => (isBulkPaymentProduct(product) ? bulks.find(p, product, id, bic) : Promise.reject(ApiError.notFound(`Bulk payment ${id}`))),
      workflowId: bulkPaymentWorkflowId,
      listCancellations: (tenantId, bulkId) => bulkRepository.listCancellations(tenantId, bulkId),
      findCancellation: (tenantId, bulkId, cancellationId) => bulkRepository.findCancellation(tenantId, bulkId, cancellationId),
    },
  };
}

/** A single payment of this tenant, product and bank, else 404 (the same rule as the payments endpoints). */
function singlePaymentLookup(payments: TenantPaymentRepository): CancellableService['find'] {
  return async (principal, product, id, bicFi) => {
    requiredHeader('X-BicFi', bicFi);
    const payment = await payments.findForTenant(principal.tenantId, id);
    if (!payment || payment.paymentService !== 'payments' || payment.paymentProduct !== product || payment.bicFi !== bicFi) throw ApiError.notFound(`Payment ${id}`);
    return payment;
  };
}

@Injectable()
export class CancellationAuthorisationsService {
  private readonly services: Record<string, CancellableService>;

  constructor(
    @Inject(PeriodicPaymentsService) periodic: PeriodicPaymentsService,
    @Inject(TENANT_PERIODIC_PAYMENTS) cancellations: TenantPeriodicPaymentRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(TENANT_PAYMENTS) payments: TenantPaymentRepository,
    @Inject(BulkPaymentsService) bulks: BulkPaymentsService,
    @Inject(TENANT_BULK_PAYMENTS) bulkRepository: TenantBulkPaymentRepository,
  ) {
    this.services = cancellableServices({ periodic, payments, cancellations, bulks, bulkRepository });
  }

  private serviceOf(paymentService: string): CancellableService {
    const service = Object.hasOwn(this.services, paymentService) ? this.services[paymentService] : undefined;
    if (!service) throw new ApiError(ApiErrorCode.ServiceInvalid, `Cancellation authorisation is not offered for ${paymentService}`, 'payment-service');
    return service;
  }

  private path(paymentService: string, payment: CancellablePayment, cancellationId?: string): string {
    const base = `/psd2/paymentinitiation/v1/${paymentService}/${payment.paymentProduct}/${payment.id}/cancellation-authorisations`;
    return cancellationId ? `${base}/${cancellationId}` : base;
  }

  async start(principal: Principal, paymentService: string, product: string, id: string, bicFi: string | undefined) {
    const service = this.serviceOf(paymentService);
    const payment = await service.find(principal, product, id, bicFi);
    try {
      const started = await this.temporal.workflow.getHandle(service.workflowId(payment.id)).executeUpdate(startCancellationAuthorisationUpdate);
      return {
        scaStatus: started.scaStatus,
        authorisationId: started.authorisationId,
        _links: { scaStatus: { href: this.path(paymentService, payment, started.authorisationId) }, ...(started.scaRedirectUrl ? { scaRedirect: { href: started.scaRedirectUrl } } : {}) },
        ...(started.psuMessage ? { psuMessage: started.psuMessage } : {}),
      };
    } catch (err) {
      throw new ApiError(ApiErrorCode.StatusInvalid, `A cancellation authorisation cannot be started: ${refusalOf(err, payment)}`);
    }
  }

  async list(principal: Principal, paymentService: string, product: string, id: string, bicFi: string | undefined) {
    const service = this.serviceOf(paymentService);
    const payment = await service.find(principal, product, id, bicFi);
    // OPE 1.3.3 `cancellationList` is a bare array (BG 1.3.12 wraps it in `cancellationIds`).
    return (await service.listCancellations(principal.tenantId, payment.id)).map((c) => c.cancellationId);
  }

  async get(principal: Principal, paymentService: string, product: string, id: string, cancellationId: string, bicFi: string | undefined) {
    const service = this.serviceOf(paymentService);
    const payment = await service.find(principal, product, id, bicFi);
    const cancellation = await service.findCancellation(principal.tenantId, payment.id, cancellationId);
    if (!cancellation) throw ApiError.notFound(`Cancellation authorisation ${cancellationId}`);
    return { scaStatus: cancellation.scaStatus };
  }

  /**
   * OPE 1.3.3 `updatePaymentCancellationPsuData` (PUT). The body is one of the spec's four: `{}`
   * (update PSU identification), `updatePsuAuthentication` (`psuData`), `selectPsuAuthenticationMethod`
   * (`authenticationMethodId`) or `transactionAuthorisation` (`scaAuthenticationData`); anything else
   * is 400 naming the field. The banks Clearway reaches authorise cancellations by redirect or
   * decoupled SCA, offer no SCA methods to choose from and no embedded approach, so each valid
   * request is answered with the spec's error for it (tppMessages naming the field): nothing is sent
   * to the bank, nothing is stored, and the body is never logged.
   */
  async update(principal: Principal, paymentService: string, product: string, id: string, cancellationId: string, bicFi: string | undefined, body: unknown) {
    const service = this.serviceOf(paymentService);
    const payment = await service.find(principal, product, id, bicFi);
    const cancellation = await service.findCancellation(principal.tenantId, payment.id, cancellationId);
    if (!cancellation) throw ApiError.notFound(`Cancellation authorisation ${cancellationId}`);
    const request = updatePsuDataRequest(body);
    if (cancellation.scaStatus === 'finalised' || cancellation.scaStatus === 'failed' || cancellation.scaStatus === 'exempted') {
      throw new ApiError(ApiErrorCode.StatusInvalid, `The cancellation authorisation is already ${cancellation.scaStatus}: it takes no PSU data`);
    }
    const approach = cancellation.scaApproach.toLowerCase();
    switch (request.kind) {
      case 'selectPsuAuthenticationMethod':
        throw new ApiError(
          ApiErrorCode.ScaMethodUnknown,
          `The bank offered no SCA methods to choose from for this cancellation (${approach} approach): authenticationMethodId "${request.authenticationMethodId}" is unknown`,
          'authenticationMethodId',
        );
      case 'updatePsuAuthentication':
      case 'transactionAuthorisation':
        throw new ApiError(
          ApiErrorCode.StatusInvalid,
          `This cancellation uses the ${approach} approach: the PSU authenticates at the bank${cancellation.scaApproach === 'REDIRECT' ? ' (the scaRedirect link)' : ' (in the bank app)'}, the embedded approach is not offered`,
          request.kind === 'updatePsuAuthentication' ? 'psuData' : 'scaAuthenticationData',
        );
      case 'updatePsuIdentification':
        throw new ApiError(
          ApiErrorCode.StatusInvalid,
          `No PSU data is needed (scaStatus ${cancellation.scaStatus}, ${approach} approach): the PSU identified with the payment and authorises the cancellation at the bank`,
        );
    }
  }
}

type UpdatePsuDataRequest =
  | { kind: 'updatePsuIdentification' }
  | { kind: 'updatePsuAuthentication' }
  | { kind: 'selectPsuAuthenticationMethod'; authenticationMethodId: string }
  | { kind: 'transactionAuthorisation' };

const PSU_DATA_FIELDS = new Set(['password', 'encryptedPassword', 'additionalPassword', 'additionalEncryptedPassword']);

/** The PUT body, checked against the OPE 1.3.3 schemas (400 FORMAT_ERROR naming the field). Values are never echoed, except a method id. */
function updatePsuDataRequest(body: unknown): UpdatePsuDataRequest {
  if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) return { kind: 'updatePsuIdentification' };
  if (typeof body !== 'object' || Array.isArray(body)) throw ApiError.format('body', 'must be a JSON object: {}, { "psuData": ... }, { "authenticationMethodId": ... } or { "scaAuthenticationData": ... }');
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  const unknown = keys.find((k) => k !== 'psuData' && k !== 'authenticationMethodId' && k !== 'scaAuthenticationData');
  if (unknown) throw ApiError.format(unknown, 'is not a field of an Update PSU Data request');
  if (keys.length > 1) throw ApiError.format(keys[1]!, `cannot be sent together with ${keys[0]}: one Update PSU Data request at a time`);
  if ('psuData' in b) {
    const psuData = b.psuData;
    if (typeof psuData !== 'object' || psuData === null || Array.isArray(psuData)) throw ApiError.format('psuData', 'must be an object');
    const fields = Object.keys(psuData);
    const bad = fields.find((f) => !PSU_DATA_FIELDS.has(f));
    if (bad) throw ApiError.format(`psuData.${bad}`, 'is not a field of psuData');
    const notString = fields.find((f) => typeof (psuData as Record<string, unknown>)[f] !== 'string');
    if (notString) throw ApiError.format(`psuData.${notString}`, 'must be a string');
    if (fields.length === 0) throw ApiError.format('psuData', 'must hold password or encryptedPassword');
    return { kind: 'updatePsuAuthentication' };
  }
  if ('authenticationMethodId' in b) {
    const id = b.authenticationMethodId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 35) throw ApiError.format('authenticationMethodId', 'must be a string of 1-35 characters');
    return { kind: 'selectPsuAuthenticationMethod', authenticationMethodId: id };
  }
  if (typeof b.scaAuthenticationData !== 'string' || b.scaAuthenticationData.length === 0) throw ApiError.format('scaAuthenticationData', 'must be a non-empty string');
  return { kind: 'transactionAuthorisation' };
}
