import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ScaApproach, ScaStatus } from '../../domain/transaction-status';

/** A standing order's facts beside its `payments` row (its terms live in the row's body). */
@Entity({ name: 'periodic_payments' })
export class PeriodicPaymentEntity {
  @PrimaryColumn({ name: 'payment_id', type: 'uuid' }) paymentId!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  /** The client's AIS consent through which Clearway sees the executions booked on the debtor account. */
  @Column({ name: 'observation_consent_id', type: 'uuid', nullable: true }) observationConsentId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

export type ExecutionOutcome = 'executed' | 'not_booked';

/** One execution of a standing order as Clearway observed it at the bank. */
@Entity({ name: 'periodic_payment_executions' })
export class PeriodicExecutionEntity {
  @PrimaryColumn({ name: 'payment_id', type: 'uuid' }) paymentId!: string;
  @PrimaryColumn({ name: 'execution_index', type: 'integer' }) executionIndex!: number;
  @Column({ name: 'execution_date', type: 'date' }) executionDate!: string;
  @Column({ type: 'varchar' }) outcome!: ExecutionOutcome;
  @Column({ type: 'varchar', nullable: true }) reason!: string | null;
  @Column({ name: 'booking_date', type: 'date', nullable: true }) bookingDate!: string | null;
  @Column({ name: 'bank_transaction_id', type: 'varchar', nullable: true }) bankTransactionId!: string | null;
  @CreateDateColumn({ name: 'observed_at', type: 'timestamptz' }) observedAt!: Date;
}

/** A cancellation authorisation (BG `cancellation-authorisations`) of any payment service. */
@Entity({ name: 'payment_cancellation_authorisations' })
export class CancellationAuthorisationEntity {
  @PrimaryColumn({ name: 'payment_id', type: 'uuid' }) paymentId!: string;
  @PrimaryColumn({ name: 'cancellation_id', type: 'varchar' }) cancellationId!: string;
  @Column({ name: 'sca_status', type: 'varchar' }) scaStatus!: ScaStatus;
  @Column({ name: 'raw_sca_status', type: 'varchar' }) rawScaStatus!: string;
  @Column({ name: 'sca_approach', type: 'varchar' }) scaApproach!: ScaApproach;
  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true }) scaRedirectUrl!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export const PERIODIC_PAYMENT_ENTITIES = [PeriodicPaymentEntity, PeriodicExecutionEntity, CancellationAuthorisationEntity];
