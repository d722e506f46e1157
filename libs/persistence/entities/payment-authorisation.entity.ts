import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ScaApproach, ScaStatus } from '../../domain/transaction-status';

/** An authorisation sub-resource of a payment, as the bank reported it. */
@Entity({ name: 'payment_authorisations' })
export class PaymentAuthorisationEntity {
  @PrimaryColumn({ name: 'payment_id', type: 'uuid' })
  paymentId!: string;

  /** The bank's authorisation id; authorisations are only addressed under their payment. */
  @PrimaryColumn({ name: 'authorisation_id', type: 'varchar' })
  authorisationId!: string;

  @Column({ name: 'sca_status', type: 'varchar', length: 32 })
  scaStatus!: ScaStatus;

  @Column({ name: 'raw_sca_status', type: 'varchar' })
  rawScaStatus!: string;

  @Column({ name: 'sca_approach', type: 'varchar', length: 16 })
  scaApproach!: ScaApproach;

  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true })
  scaRedirectUrl!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
