import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * An operator's decision on an Open Payments outcome that stayed unknown (a transfer, or one period
 * of a mandate): who decided what, when and why. Written before the workflow acts on it.
 */
@Entity({ name: 'op_outcome_resolutions' })
export class OpOutcomeResolutionEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  /** The unknown episode ruled on, e.g. `transfer:{id}:{status seq}`: a retried write records it once. */
  @Column({ name: 'resolution_key', type: 'varchar' }) resolutionKey!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'transfer_id', type: 'uuid', nullable: true }) transferId!: string | null;
  @Column({ name: 'mandate_id', type: 'uuid', nullable: true }) mandateId!: string | null;
  @Column({ name: 'period_start', type: 'timestamptz', nullable: true }) periodStart!: Date | null;
  @Column({ type: 'varchar' }) decision!: 'paid' | 'not_paid';
  @Column({ name: 'outgoing_payment_url', type: 'varchar', nullable: true }) outgoingPaymentUrl!: string | null;
  @Column({ type: 'varchar' }) operator!: string;
  @Column({ type: 'varchar' }) note!: string;
  @CreateDateColumn({ name: 'decided_at', type: 'timestamptz' }) decidedAt!: Date;
}
