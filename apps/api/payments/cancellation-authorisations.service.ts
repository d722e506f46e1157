import { Inject, Injectable } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import { isBulkPaymentProduct } from '../../../libs/domain/bulk-payment';
import { isPaymentProduct } from '../../../libs/domain/payment';
import type { ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';
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
   * Update PSU data on a cancellation authorisation: the redirect and decoupled approaches need
   * none, and the embedded approach is not offered for cancellations yet.
   */
  async update(principal: Principal, paymentService: string, product: string, id: string, cancellationId: string, bicFi: string | undefined) {
    const current = await this.get(principal, paymentService, product, id, cancellationId, bicFi);
    throw new ApiError(ApiErrorCode.StatusInvalid, `This cancellation authorisation takes no PSU data (scaStatus ${current.scaStatus}): the PSU authorises it at the bank`);
  }
}
