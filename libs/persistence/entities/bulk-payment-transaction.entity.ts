import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Address } from '../../domain/payment';
import type { TransactionStatus } from '../../domain/transaction-status';

/**
 * One credit transfer of a bulk payment, addressed by (bulk, 0-based index). Written in bulk
 * (`BulkPaymentRepository.create`), statuses updated in bulk: never one row at a time.
 */
@Entity({ name: 'bulk_payment_transactions' })
export class BulkPaymentTransactionEntity {
  @PrimaryColumn({ name: 'bulk_payment_id', type: 'uuid' })
  bulkPaymentId!: string;

  @PrimaryColumn({ name: 'idx', type: 'integer' })
  index!: number;

  @Column({ name: 'end_to_end_id', type: 'varchar', length: 35 })
  endToEndId!: string;

  @Column({ name: 'instruction_id', type: 'varchar', length: 35, nullable: true })
  instructionId!: string | null;

  /** Decimal string as given (PostgreSQL numeric keeps its scale). */
  @Column({ type: 'numeric' })
  amount!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'creditor_name', type: 'varchar', length: 140 })
  creditorName!: string;

  @Column({ name: 'creditor_iban', type: 'varchar', length: 34 })
  creditorIban!: string;

  @Column({ name: 'creditor_agent', type: 'varchar', length: 11, nullable: true })
  creditorAgent!: string | null;

  @Column({ name: 'creditor_address', type: 'jsonb', nullable: true })
  creditorAddress!: Address | null;

  @Column({ name: 'remittance_information_unstructured', type: 'varchar', length: 140, nullable: true })
  remittanceInformationUnstructured!: string | null;

  @Column({ name: 'transaction_status', type: 'varchar', length: 4 })
  transactionStatus!: TransactionStatus;

  @Column({ name: 'raw_transaction_status', type: 'varchar', nullable: true })
  rawTransactionStatus!: string | null;

  /** ISO 20022 ExternalStatusReason1Code (e.g. AM04) when the bank gave one. */
  @Column({ name: 'reason_code', type: 'varchar', length: 35, nullable: true })
  reasonCode!: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
