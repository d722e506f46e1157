import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type BatchStatus = 'received' | 'awaiting_authorisation' | 'processing' | 'completed' | 'partially_completed' | 'rejected' | 'cancelled';

export const FINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(['completed', 'partially_completed', 'rejected', 'cancelled']);

/** Sum of a batch's (or PmtInf's) transactions in one currency: a decimal string, never a float. */
export interface BatchCurrencyTotal {
  currency: string;
  amount: string;
  numberOfTransactions: number;
}

/**
 * An uploaded pain.001 file. The workflow `batch-{id}` owns its run; the file's content lives in
 * `batch_payment_infos` and `batch_transactions`, never in workflow history.
 */
@Entity({ name: 'batches' })
@Index('batches_tenant_msg_uq', ['tenantId', 'msgId'], { unique: true })
export class BatchEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar', length: 100 }) tenantId!: string;
  @Column({ name: 'client_id', type: 'varchar', length: 100 }) clientId!: string;
  /** GrpHdr/MsgId: unique per tenant; the same file again is the same batch. */
  @Column({ name: 'msg_id', type: 'varchar', length: 35 }) msgId!: string;
  /** SHA-256 of the uploaded bytes: tells the same file from another one under a used MsgId. */
  @Column({ name: 'file_sha256', type: 'char', length: 64 }) fileSha256!: string;
  @Column({ name: 'pain_version', type: 'varchar', length: 20 }) painVersion!: string;
  @Column({ name: 'request_id', type: 'uuid' }) requestId!: string;
  @Column({ name: 'number_of_transactions', type: 'integer' }) numberOfTransactions!: number;
  @Column({ name: 'number_of_payment_infos', type: 'integer' }) numberOfPaymentInfos!: number;
  /** Sum of every amount irrespective of currency, as ISO CtrlSum defines it. */
  @Column({ name: 'control_sum', type: 'varchar', length: 40 }) controlSum!: string;
  @Column({ type: 'jsonb' }) totals!: BatchCurrencyTotal[];
  @Column({ type: 'varchar', length: 24 }) status!: BatchStatus;
  @Column({ name: 'status_reason', type: 'varchar', nullable: true }) statusReason!: string | null;
  @Column({ name: 'psu_id', type: 'varchar', nullable: true }) psuId!: string | null;
  @Column({ name: 'psu_ip_address', type: 'varchar', nullable: true }) psuIpAddress!: string | null;
  @Column({ name: 'client_redirect_uri', type: 'varchar', nullable: true }) clientRedirectUri!: string | null;
  @Column({ name: 'client_nok_redirect_uri', type: 'varchar', nullable: true }) clientNokRedirectUri!: string | null;
  /** The TPP asked to cancel the batch (DELETE): what has not executed is cancelled. */
  @Column({ name: 'cancel_requested_at', type: 'timestamptz', nullable: true }) cancelRequestedAt!: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
