import type { DataSource } from 'typeorm';
import type { BankScaStatus, ScaApproach } from '../domain/transaction-status';
import { genericEvent } from '../webhooks/events';
import { PaymentEntity } from './entities/payment.entity';
import {
  CancellationAuthorisationEntity,
  PeriodicExecutionEntity,
  PeriodicPaymentEntity,
  type ExecutionOutcome,
} from './entities/periodic-payment.entity';
import { appendEvent } from './event-outbox';
import type { NewPayment } from './payment.repository';

export interface ObservedExecution {
  paymentId: string;
  executionIndex: number;
  executionDate: string;
  outcome: ExecutionOutcome;
  reason?: string | null;
  bookingDate?: string | null;
  bankTransactionId?: string | null;
}

/**
 * Standing orders beside their `payments` row, their observed executions, and the cancellation
 * authorisations of any payment service. Tenant-first for the API; by id for the worker.
 */
export class PeriodicPaymentRepository {
  constructor(private readonly ds: DataSource) {}

  /** Inserts the order (payments row + its periodic facts) unless this tenant already sent this X-Request-ID. */
  async insertOrGetExisting(payment: NewPayment, observationConsentId: string | null): Promise<{ payment: PaymentEntity; created: boolean }> {
    return this.ds.transaction(async (em) => {
      const result = await em
        .createQueryBuilder()
        .insert()
        .into(PaymentEntity)
        .values({ ...payment, paymentService: 'periodic-payments', transactionStatus: 'RCVD' })
        .orIgnore()
        .returning(['id'])
        .execute();
      const created = result.raw.length > 0;
      if (created) {
        await em.getRepository(PeriodicPaymentEntity).insert({ paymentId: payment.id, tenantId: payment.tenantId, observationConsentId });
      }
      const stored = await em.getRepository(PaymentEntity).findOneByOrFail({ tenantId: payment.tenantId, requestId: payment.requestId });
      return { payment: stored, created };
    });
  }

  findTerms(paymentId: string): Promise<PeriodicPaymentEntity | null> {
    return this.ds.getRepository(PeriodicPaymentEntity).findOneBy({ paymentId });
  }

  async findTermsForTenant(tenantId: string, paymentId: string): Promise<PeriodicPaymentEntity | null> {
    return this.ds.getRepository(PeriodicPaymentEntity).findOneBy({ tenantId, paymentId });
  }

  /**
   * One observed execution and its webhook event, in one transaction (the outbox). Recording the
   * same execution again (an activity retry) changes nothing and emits nothing.
   */
  async recordExecution(e: ObservedExecution): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(PeriodicExecutionEntity)
        .values({
          paymentId: e.paymentId,
          executionIndex: e.executionIndex,
          executionDate: e.executionDate,
          outcome: e.outcome,
          reason: e.reason ?? null,
          bookingDate: e.bookingDate ?? null,
          bankTransactionId: e.bankTransactionId ?? null,
        })
        .orIgnore()
        .returning(['payment_id'])
        .execute();
      if (inserted.raw.length === 0) return false;
      const payment = await em.getRepository(PaymentEntity).findOneByOrFail({ id: e.paymentId });
      const amount = payment.body.instructedAmount;
      await appendEvent(
        em,
        genericEvent({
          type: e.outcome === 'executed' ? 'periodic_payment.executed' : 'periodic_payment.execution_failed',
          tenantId: payment.tenantId,
          subjectId: payment.id,
          dedupeKey: `periodic:${payment.id}:execution:${e.executionIndex}`,
          // Ids, dates and amounts only: no IBANs, names or remittance.
          data: {
            paymentId: payment.id,
            paymentService: payment.paymentService,
            paymentProduct: payment.paymentProduct,
            executionIndex: e.executionIndex,
            executionDate: e.executionDate,
            ...(e.bookingDate ? { bookingDate: e.bookingDate } : {}),
            ...(e.reason ? { reason: e.reason } : {}),
            instructedAmount: { currency: amount.currency, amount: amount.amount },
          },
        }),
      );
      return true;
    });
  }

  async listExecutions(tenantId: string, paymentId: string): Promise<PeriodicExecutionEntity[]> {
    return this.ds
      .getRepository(PeriodicExecutionEntity)
      .createQueryBuilder('e')
      .innerJoin(PaymentEntity, 'p', 'p.id = e.payment_id AND p.tenant_id = :tenantId', { tenantId })
      .where('e.payment_id = :paymentId', { paymentId })
      .orderBy('e.execution_index', 'ASC')
      .getMany();
  }

  // ── cancellation authorisations (any payment service) ──────────────────────

  async upsertCancellation(c: { paymentId: string; cancellationId: string; scaApproach: ScaApproach; scaRedirectUrl: string | null; scaStatus: BankScaStatus }): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(CancellationAuthorisationEntity)
      .values({
        paymentId: c.paymentId,
        cancellationId: c.cancellationId,
        scaApproach: c.scaApproach,
        scaRedirectUrl: c.scaRedirectUrl,
        scaStatus: c.scaStatus.normalised,
        rawScaStatus: c.scaStatus.raw,
      })
      .orUpdate(['sca_status', 'raw_sca_status', 'updated_at'], ['payment_id', 'cancellation_id'])
      .execute();
  }

  async updateCancellationStatus(paymentId: string, cancellationId: string, scaStatus: BankScaStatus): Promise<void> {
    await this.ds.getRepository(CancellationAuthorisationEntity).update({ paymentId, cancellationId }, { scaStatus: scaStatus.normalised, rawScaStatus: scaStatus.raw });
  }

  async listCancellations(tenantId: string, paymentId: string): Promise<CancellationAuthorisationEntity[]> {
    return this.ds
      .getRepository(CancellationAuthorisationEntity)
      .createQueryBuilder('c')
      .innerJoin(PaymentEntity, 'p', 'p.id = c.payment_id AND p.tenant_id = :tenantId', { tenantId })
      .where('c.payment_id = :paymentId', { paymentId })
      .orderBy('c.created_at', 'ASC')
      .getMany();
  }

  async findCancellation(tenantId: string, paymentId: string, cancellationId: string): Promise<CancellationAuthorisationEntity | null> {
    return this.ds
      .getRepository(CancellationAuthorisationEntity)
      .createQueryBuilder('c')
      .innerJoin(PaymentEntity, 'p', 'p.id = c.payment_id AND p.tenant_id = :tenantId', { tenantId })
      .where('c.payment_id = :paymentId AND c.cancellation_id = :cancellationId', { paymentId, cancellationId })
      .getOne();
  }
}

/** What the API may do: tenant-first methods only. */
export type TenantPeriodicPaymentRepository = Pick<
  PeriodicPaymentRepository,
  'insertOrGetExisting' | 'findTermsForTenant' | 'listExecutions' | 'listCancellations' | 'findCancellation'
>;
export const TENANT_PERIODIC_PAYMENTS = Symbol('TENANT_PERIODIC_PAYMENTS');
