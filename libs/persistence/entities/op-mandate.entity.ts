import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OpAmount } from '../../adapters/open-payments/types';
import type { MandatePaymentStatus, MandateStatus } from '../../domain/mandate';

/** An Open Payments recurring-payment mandate; `mandate-{id}` (workflow and Schedule) drive it. */
@Entity({ name: 'op_mandates' })
export class OpMandateEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'client_id', type: 'varchar' }) clientId!: string;
  @Column({ name: 'request_id', type: 'uuid' }) requestId!: string;
  @Column({ name: 'request_hash', type: 'char', length: 64 }) requestHash!: string;
  @Column({ name: 'sender_wallet_address', type: 'varchar' }) senderWalletAddress!: string;
  @Column({ type: 'varchar' }) receiver!: string;
  @Column({ name: 'debit_amount', type: 'jsonb' }) debitAmount!: OpAmount;
  @Column({ type: 'varchar' }) interval!: string;
  @Column({ name: 'redirect_uri', type: 'varchar', nullable: true }) redirectUri!: string | null;
  @Column({ type: 'jsonb', nullable: true }) metadata!: Record<string, any> | null;
  @Column({ type: 'varchar' }) status!: MandateStatus;
  @Column({ name: 'status_reason', type: 'varchar', nullable: true }) statusReason!: string | null;
  @Column({ name: 'schedule_id', type: 'varchar', nullable: true }) scheduleId!: string | null;
  @Column({ name: 'interact_redirect', type: 'varchar', nullable: true }) interactRedirect!: string | null;
  @Column({ name: 'client_nonce', type: 'varchar', nullable: true }) clientNonce!: string | null;
  @Column({ name: 'finish_nonce', type: 'varchar', nullable: true }) finishNonce!: string | null;
  @Column({ name: 'grant_endpoint', type: 'varchar', nullable: true }) grantEndpoint!: string | null;
  @Column({ name: 'continue_uri', type: 'varchar', nullable: true }) continueUri!: string | null;
  @Column({ name: 'continue_token_sealed', type: 'text', nullable: true }) continueTokenSealed!: string | null;
  @Column({ name: 'access_token_sealed', type: 'text', nullable: true }) accessTokenSealed!: string | null;
  @Column({ name: 'access_token_manage_url', type: 'varchar', nullable: true }) accessTokenManageUrl!: string | null;
  @Column({ name: 'access_token_expires_at', type: 'timestamptz', nullable: true }) accessTokenExpiresAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One period's payment under a mandate; `period_start` is the Schedule action's nominal time. */
@Entity({ name: 'op_mandate_payments' })
export class OpMandatePaymentEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  @Column({ name: 'mandate_id', type: 'uuid' }) mandateId!: string;
  @Column({ name: 'period_start', type: 'timestamptz' }) periodStart!: Date;
  @Column({ type: 'varchar' }) status!: MandatePaymentStatus;
  @Column({ type: 'varchar', nullable: true }) reason!: string | null;
  @Column({ name: 'incoming_payment_url', type: 'varchar', nullable: true }) incomingPaymentUrl!: string | null;
  @Column({ name: 'quote_url', type: 'varchar', nullable: true }) quoteUrl!: string | null;
  @Column({ name: 'quote_expires_at', type: 'timestamptz', nullable: true }) quoteExpiresAt!: Date | null;
  @Column({ name: 'outgoing_payment_url', type: 'varchar', nullable: true }) outgoingPaymentUrl!: string | null;
  @Column({ name: 'sent_amount', type: 'jsonb', nullable: true }) sentAmount!: OpAmount | null;
  /** Set before the first outgoing-payment request: from then on the wallet may hold the payment. */
  @Column({ name: 'payment_requested_at', type: 'timestamptz', nullable: true }) paymentRequestedAt!: Date | null;
  @Column({ name: 'incoming_payment_closed_at', type: 'timestamptz', nullable: true }) incomingPaymentClosedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
