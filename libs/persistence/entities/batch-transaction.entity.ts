import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One CdtTrfTxInf of a batch, as the file says it (the record the pain.002 report echoes). */
@Entity({ name: 'batch_transactions' })
export class BatchTransactionEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' }) batchId!: string;
  @PrimaryColumn({ name: 'pmt_inf_index', type: 'integer' }) pmtInfIndex!: number;
  /** 0-based within its PmtInf. */
  @PrimaryColumn({ name: 'tx_index', type: 'integer' }) txIndex!: number;
  @Column({ name: 'end_to_end_id', type: 'varchar', length: 35 }) endToEndId!: string;
  @Column({ name: 'instruction_id', type: 'varchar', length: 35, nullable: true }) instructionId!: string | null;
  @Column({ type: 'varchar', length: 20 }) amount!: string;
  @Column({ type: 'char', length: 3 }) currency!: string;
  @Column({ name: 'amount_minor', type: 'bigint' }) amountMinor!: string;
  @Column({ name: 'creditor_name', type: 'varchar', nullable: true }) creditorName!: string | null;
  @Column({ name: 'creditor_iban', type: 'varchar', length: 34 }) creditorIban!: string;
  @Column({ name: 'creditor_agent_bic', type: 'varchar', length: 11, nullable: true }) creditorAgentBic!: string | null;
  @Column({ name: 'remittance_information', type: 'varchar', nullable: true }) remittanceInformation!: string | null;
  /** The single payment made of it (route `single`); derived from the batch id and the position. */
  @Column({ name: 'payment_id', type: 'uuid', nullable: true }) paymentId!: string | null;
  /** The batch was cancelled before its single payment was started: never made, never sent. */
  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true }) cancelledAt!: Date | null;
}
