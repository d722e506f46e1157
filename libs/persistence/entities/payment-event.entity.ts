import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** `initiation_outcome`: `unknown` when the bank's answer to the initiation was lost, `resolved` once known. */
export type PaymentEventKind = 'transaction_status' | 'sca_status' | 'initiation_outcome';

/**
 * Append-only history of every status change of a payment. `seq` comes from the workflow, so an
 * activity retry writes the same row again and the unique index turns it into a no-op.
 */
@Entity({ name: 'payment_events' })
@Index('payment_events_payment_seq_uq', ['paymentId', 'seq'], { unique: true })
export class PaymentEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'payment_id', type: 'uuid' })
  paymentId!: string;

  @Column({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: PaymentEventKind;

  @Column({ type: 'varchar', length: 32 })
  status!: string;

  @Column({ name: 'raw_status', type: 'varchar', nullable: true })
  rawStatus!: string | null;

  @Column({ type: 'varchar', nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;
}
