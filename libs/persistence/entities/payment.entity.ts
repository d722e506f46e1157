import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { PaymentInitiationBody, PaymentProduct } from '../../domain/payment';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../../domain/transaction-status';

export type InitiationOutcome = 'unknown' | 'resolved';

/**
 * A payment initiation. The workflow `payment-{id}` owns its lifecycle; this row is the business
 * record the API reads. The initiation body (with IBANs and names) lives here, never in workflow history.
 */
@Entity({ name: 'payments' })
@Index('payments_tenant_request_uq', ['tenantId', 'requestId'], { unique: true })
export class PaymentEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 100 })
  tenantId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 100 })
  clientId!: string;

  /** X-Request-ID of the creating request: a client retrying it gets the same payment back. */
  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  /** SHA-256 of the creating request, to refuse a reused X-Request-ID with a different payment. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ name: 'bic_fi', type: 'varchar', length: 11 })
  bicFi!: string;

  @Column({ name: 'payment_service', type: 'varchar', length: 32, default: 'payments' })
  paymentService!: string;

  @Column({ name: 'payment_product', type: 'varchar', length: 64 })
  paymentProduct!: PaymentProduct;

  @Column({ type: 'jsonb' })
  body!: PaymentInitiationBody;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  /** Minor units; bigint is returned by pg as a string, which is exactly what we want. */
  @Column({ name: 'amount_minor', type: 'bigint' })
  amountMinor!: string;

  @Column({ name: 'psu_id', type: 'varchar', nullable: true })
  psuId!: string | null;

  @Column({ name: 'psu_ip_address', type: 'varchar', nullable: true })
  psuIpAddress!: string | null;

  @Column({ name: 'client_redirect_uri', type: 'varchar', nullable: true })
  clientRedirectUri!: string | null;

  @Column({ name: 'client_nok_redirect_uri', type: 'varchar', nullable: true })
  clientNokRedirectUri!: string | null;

  @Column({ name: 'bank_payment_id', type: 'varchar', nullable: true })
  bankPaymentId!: string | null;

  @Column({ name: 'transaction_status', type: 'varchar', length: 4 })
  transactionStatus!: TransactionStatus;

  @Column({ name: 'raw_transaction_status', type: 'varchar', nullable: true })
  rawTransactionStatus!: string | null;

  /** The status the bank answered the initiation with (the recorded answer an initiation run again hands back); null before it was kept. */
  @Column({ name: 'initiation_status', type: 'varchar', length: 4, nullable: true })
  initiationStatus!: TransactionStatus | null;

  @Column({ name: 'raw_initiation_status', type: 'varchar', nullable: true })
  rawInitiationStatus!: string | null;

  @Column({ name: 'status_reason', type: 'varchar', nullable: true })
  statusReason!: string | null;

  @Column({ name: 'sca_approach', type: 'varchar', length: 16, nullable: true })
  scaApproach!: ScaApproach | null;

  @Column({ name: 'sca_status', type: 'varchar', length: 32, nullable: true })
  scaStatus!: ScaStatus | null;

  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true })
  scaRedirectUrl!: string | null;

  @Column({ name: 'psu_message', type: 'varchar', nullable: true })
  psuMessage!: string | null;

  /**
   * `unknown` while Clearway cannot tell whether the bank holds the payment (an ambiguous
   * initiation it must not repeat), `resolved` once it learnt the answer; null when never in doubt.
   */
  @Column({ name: 'initiation_outcome', type: 'varchar', length: 16, nullable: true })
  initiationOutcome!: InitiationOutcome | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}
