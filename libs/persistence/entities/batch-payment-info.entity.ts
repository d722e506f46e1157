import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { BatchCurrencyTotal } from './batch.entity';

/** `bulk`: the PmtInf is one bulk payment at its bank; `single`: one single payment per transaction (the bank offers no bulk). */
export type BatchRoute = 'bulk' | 'single';

/** One PmtInf of a batch: one debtor account at one bank. */
@Entity({ name: 'batch_payment_infos' })
export class BatchPaymentInfoEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' }) batchId!: string;
  /** 0-based position in the file. */
  @PrimaryColumn({ name: 'pmt_inf_index', type: 'integer' }) pmtInfIndex!: number;
  @Column({ name: 'pmt_inf_id', type: 'varchar', length: 35 }) pmtInfId!: string;
  @Column({ type: 'varchar', length: 8 }) route!: BatchRoute;
  @Column({ name: 'bic_fi', type: 'varchar', length: 11 }) bicFi!: string;
  @Column({ name: 'payment_product', type: 'varchar', length: 64 }) paymentProduct!: string;
  /** The bulk payment of a `bulk` PmtInf (derived from the batch id and the PmtInf). */
  @Column({ name: 'payment_id', type: 'uuid', nullable: true }) paymentId!: string | null;
  @Column({ name: 'debtor_iban', type: 'varchar', length: 34 }) debtorIban!: string;
  @Column({ name: 'debtor_name', type: 'varchar', nullable: true }) debtorName!: string | null;
  @Column({ name: 'requested_execution_date', type: 'varchar', length: 10 }) requestedExecutionDate!: string;
  @Column({ name: 'batch_booking', type: 'boolean', nullable: true }) batchBooking!: boolean | null;
  @Column({ name: 'number_of_transactions', type: 'integer' }) numberOfTransactions!: number;
  @Column({ name: 'control_sum', type: 'varchar', length: 40 }) controlSum!: string;
  @Column({ type: 'jsonb' }) totals!: BatchCurrencyTotal[];
}
