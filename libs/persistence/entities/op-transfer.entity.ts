import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OpAmount } from '../../adapters/open-payments/types';
import type { TransferStatus } from '../../domain/open-payments';


/** An Interledger Open Payments transfer; the workflow `op-transfer-{id}` drives it. */
@Entity({ name: 'op_transfers' })
export class OpTransferEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'client_id', type: 'varchar' }) clientId!: string;
  @Column({ name: 'request_id', type: 'uuid' }) requestId!: string;
  @Column({ name: 'request_hash', type: 'char', length: 64 }) requestHash!: string;
  @Column({ name: 'mandate_id', type: 'uuid', nullable: true }) mandateId!: string | null;
  @Column({ name: 'sender_wallet_address', type: 'varchar' }) senderWalletAddress!: string;
  @Column({ type: 'varchar' }) receiver!: string;
  @Column({ name: 'debit_amount', type: 'jsonb', nullable: true }) debitAmount!: OpAmount | null;
  @Column({ name: 'receive_amount', type: 'jsonb', nullable: true }) receiveAmount!: OpAmount | null;
  @Column({ name: 'redirect_uri', type: 'varchar', nullable: true }) redirectUri!: string | null;
  @Column({ type: 'jsonb', nullable: true }) metadata!: Record<string, any> | null;
  @Column({ type: 'varchar' }) status!: TransferStatus;
  @Column({ name: 'status_reason', type: 'varchar', nullable: true }) statusReason!: string | null;
  @Column({ name: 'incoming_payment_url', type: 'varchar', nullable: true }) incomingPaymentUrl!: string | null;
  @Column({ name: 'quote_url', type: 'varchar', nullable: true }) quoteUrl!: string | null;
  @Column({ name: 'quote_expires_at', type: 'timestamptz', nullable: true }) quoteExpiresAt!: Date | null;
  @Column({ name: 'quote_debit_amount', type: 'jsonb', nullable: true }) quoteDebitAmount!: OpAmount | null;
  @Column({ name: 'quote_receive_amount', type: 'jsonb', nullable: true }) quoteReceiveAmount!: OpAmount | null;
  @Column({ name: 'outgoing_payment_url', type: 'varchar', nullable: true }) outgoingPaymentUrl!: string | null;
  @Column({ name: 'sent_amount', type: 'jsonb', nullable: true }) sentAmount!: OpAmount | null;
  /** Set before the first outgoing-payment request: from then on the wallet may hold the payment. */
  @Column({ name: 'payment_requested_at', type: 'timestamptz', nullable: true }) paymentRequestedAt!: Date | null;
  /** When Clearway completed the incoming payment it had created for this transfer. */
  @Column({ name: 'incoming_payment_closed_at', type: 'timestamptz', nullable: true }) incomingPaymentClosedAt!: Date | null;
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

@Entity({ name: 'op_transfer_events' })
export class OpTransferEventEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  @Column({ name: 'transfer_id', type: 'uuid' }) transferId!: string;
  @Column({ type: 'integer' }) seq!: number;
  @Column({ type: 'varchar' }) status!: string;
  @Column({ type: 'varchar', nullable: true }) reason!: string | null;
  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
}
