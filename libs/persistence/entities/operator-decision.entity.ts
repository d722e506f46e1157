import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { InitiationResourceType } from './initiation-attempt.entity';

/**
 * The audit record of an operator's decision on a resource whose outcome at the bank was unknown:
 * who decided, when, what, and why. Written before the decision takes effect.
 */
@Entity({ name: 'operator_decisions' })
export class OperatorDecisionEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 100 })
  tenantId!: string;

  @Column({ name: 'resource_type', type: 'varchar', length: 16 })
  resourceType!: InitiationResourceType;

  @Column({ name: 'resource_id', type: 'uuid' })
  resourceId!: string;

  /** The Temporal update that carried the decision: a retried recording writes nothing twice. */
  @Column({ name: 'update_id', type: 'varchar', length: 200 })
  updateId!: string;

  /** The operator's staff identity (not a customer's). */
  @Column({ type: 'varchar', length: 200 })
  operator!: string;

  @Column({ type: 'varchar', length: 32 })
  decision!: string;

  @Column({ name: 'bank_resource_id', type: 'varchar', nullable: true })
  bankResourceId!: string | null;

  @Column({ type: 'varchar', length: 1000 })
  reason!: string;

  @Column({ name: 'decided_at', type: 'timestamptz', default: () => 'now()' })
  decidedAt!: Date;
}
