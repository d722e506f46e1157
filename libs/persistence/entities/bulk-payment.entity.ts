import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { BulkPaymentProduct } from '../../domain/bulk-payment';
import type { ScaApproach, ScaStatus, TransactionStatus } from '../../domain/transaction-status';
import type { InitiationOutcome } from './payment.entity';

/**
 * A bulk payment: one debtor account, one SCA, many transactions (`bulk_payment_transactions`).
 * The workflow `bulk-{id}` owns its lifecycle; this row and its transactions are the business
 * record. Transactions (IBANs, names) never enter workflow history: activities read them by id.
 * A batch (`batch_id`, `pmt_inf_id`) may own the bulk; otherwise it came through the NextGen API.
 */
@Entity({ name: 'bulk_payments' })
export class BulkPaymentEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'tenant_id', type: 'varchar', length: 100 })
  tenantId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 100 })
  clientId!: string;

  /** X-Request-ID of the creating request (unique per tenant); null for bulks a batch created. */
  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId!: string | null;

  /** SHA-256 of the creating request, to refuse a reused X-Request-ID with a different bulk. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ name: 'bic_fi', type: 'varchar', length: 11 })
  bicFi!: string;

  /** As addressed: `sepa-credit-transfers`, … or `pain.001-sepa-credit-transfers`, … */
  @Column({ name: 'payment_product', type: 'varchar', length: 64 })
  paymentProduct!: BulkPaymentProduct;

  @Column({ name: 'debtor_iban', type: 'varchar', length: 34 })
  debtorIban!: string;

  @Column({ name: 'debtor_currency', type: 'char', length: 3, nullable: true })
  debtorCurrency!: string | null;

  @Column({ name: 'debtor_name', type: 'varchar', length: 140, nullable: true })
  debtorName!: string | null;

  /** YYYY-MM-DD. */
  @Column({ name: 'requested_execution_date', type: 'date', nullable: true })
  requestedExecutionDate!: string | null;

  @Column({ name: 'batch_booking_preferred', type: 'boolean', nullable: true })
  batchBookingPreferred!: boolean | null;

  /** The currency of every transaction (a bulk is single-currency). */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'number_of_transactions', type: 'integer' })
  numberOfTransactions!: number;

  /** Sum of the amounts, decimal string (PostgreSQL numeric, returned as a string). */
  @Column({ name: 'control_sum', type: 'numeric' })
  controlSum!: string;

  @Column({ name: 'transaction_status', type: 'varchar', length: 4 })
  transactionStatus!: TransactionStatus;

  @Column({ name: 'raw_transaction_status', type: 'varchar', nullable: true })
  rawTransactionStatus!: string | null;

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

  @Column({ name: 'bank_payment_id', type: 'varchar', nullable: true })
  bankPaymentId!: string | null;

  @Column({ name: 'initiation_outcome', type: 'varchar', length: 16, nullable: true })
  initiationOutcome!: InitiationOutcome | null;

  @Column({ name: 'batch_id', type: 'uuid', nullable: true })
  batchId!: string | null;

  @Column({ name: 'pmt_inf_id', type: 'varchar', length: 35, nullable: true })
  pmtInfId!: string | null;

  /** The pain.001 MsgId the bulk came in (echoed as OrgnlMsgId in pain.002); null for JSON bulks. */
  @Column({ name: 'msg_id', type: 'varchar', length: 35, nullable: true })
  msgId!: string | null;

  /** The message it came in, e.g. `pain.001.001.09` (echoed as OrgnlMsgNmId); null for JSON bulks. */
  @Column({ name: 'msg_name_id', type: 'varchar', length: 35, nullable: true })
  msgNameId!: string | null;

  @Column({ name: 'psu_id', type: 'varchar', nullable: true })
  psuId!: string | null;

  @Column({ name: 'psu_ip_address', type: 'varchar', nullable: true })
  psuIpAddress!: string | null;

  @Column({ name: 'client_redirect_uri', type: 'varchar', nullable: true })
  clientRedirectUri!: string | null;

  @Column({ name: 'client_nok_redirect_uri', type: 'varchar', nullable: true })
  clientNokRedirectUri!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}

/** An authorisation of a bulk payment, as the bank reported it. */
@Entity({ name: 'bulk_payment_authorisations' })
export class BulkPaymentAuthorisationEntity {
  @PrimaryColumn({ name: 'bulk_payment_id', type: 'uuid' })
  bulkPaymentId!: string;

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

/** A cancellation authorisation of a bulk payment (BG `cancellation-authorisations`), as the bank reported it. */
@Entity({ name: 'bulk_payment_cancellation_authorisations' })
export class BulkPaymentCancellationEntity {
  @PrimaryColumn({ name: 'bulk_payment_id', type: 'uuid' }) bulkPaymentId!: string;
  @PrimaryColumn({ name: 'cancellation_id', type: 'varchar' }) cancellationId!: string;
  @Column({ name: 'sca_status', type: 'varchar', length: 32 }) scaStatus!: ScaStatus;
  @Column({ name: 'raw_sca_status', type: 'varchar' }) rawScaStatus!: string;
  @Column({ name: 'sca_approach', type: 'varchar', length: 16 }) scaApproach!: ScaApproach;
  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true }) scaRedirectUrl!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export type BulkPaymentEventKind = 'transaction_status' | 'sca_status' | 'initiation_outcome';

/** Append-only history of a bulk's status changes; `seq` comes from the workflow (retries write one row). */
@Entity({ name: 'bulk_payment_events' })
export class BulkPaymentEventEntity {
  @PrimaryColumn({ name: 'bulk_payment_id', type: 'uuid' })
  bulkPaymentId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'varchar', length: 32 })
  kind!: BulkPaymentEventKind;

  @Column({ type: 'varchar', length: 32 })
  status!: string;

  @Column({ name: 'raw_status', type: 'varchar', nullable: true })
  rawStatus!: string | null;

  @Column({ type: 'varchar', nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;
}
