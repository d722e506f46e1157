import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { AccountAccess, ConsentStatus } from '../../domain/consent';
import type { ScaApproach, ScaStatus } from '../../domain/transaction-status';

/**
 * An account-information consent. The workflow `consent-{id}` owns its lifecycle; this row is
 * what the API reads. Access lists (IBANs) live here, never in workflow history.
 */
@Entity({ name: 'consents' })
export class ConsentEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'client_id', type: 'varchar' }) clientId!: string;
  @Column({ name: 'request_id', type: 'uuid' }) requestId!: string;
  @Column({ name: 'request_hash', type: 'char', length: 64 }) requestHash!: string;
  @Column({ name: 'bic_fi', type: 'varchar' }) bicFi!: string;
  @Column({ type: 'jsonb' }) access!: AccountAccess;
  @Column({ name: 'recurring_indicator', type: 'boolean' }) recurringIndicator!: boolean;
  /** As asked (9999-12-31 = the bank's maximum); `validUntil` is what the bank granted. */
  @Column({ name: 'requested_valid_until', type: 'date' }) requestedValidUntil!: string;
  @Column({ name: 'valid_until', type: 'date', nullable: true }) validUntil!: string | null;
  @Column({ name: 'frequency_per_day', type: 'integer' }) frequencyPerDay!: number;
  @Column({ name: 'combined_service_indicator', type: 'boolean' }) combinedServiceIndicator!: boolean;
  @Column({ name: 'psu_id', type: 'varchar', nullable: true }) psuId!: string | null;
  @Column({ name: 'psu_ip_address', type: 'varchar', nullable: true }) psuIpAddress!: string | null;
  @Column({ name: 'client_redirect_uri', type: 'varchar', nullable: true }) clientRedirectUri!: string | null;
  @Column({ name: 'client_nok_redirect_uri', type: 'varchar', nullable: true }) clientNokRedirectUri!: string | null;
  @Column({ name: 'bank_consent_id', type: 'varchar', nullable: true }) bankConsentId!: string | null;
  @Column({ name: 'consent_status', type: 'varchar' }) consentStatus!: ConsentStatus;
  @Column({ name: 'raw_consent_status', type: 'varchar', nullable: true }) rawConsentStatus!: string | null;
  @Column({ name: 'status_reason', type: 'varchar', nullable: true }) statusReason!: string | null;
  @Column({ name: 'sca_approach', type: 'varchar', nullable: true }) scaApproach!: ScaApproach | null;
  @Column({ name: 'sca_status', type: 'varchar', nullable: true }) scaStatus!: ScaStatus | null;
  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true }) scaRedirectUrl!: string | null;
  @Column({ name: 'psu_message', type: 'varchar', nullable: true }) psuMessage!: string | null;
  @Column({ name: 'last_action_date', type: 'date', nullable: true }) lastActionDate!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'consent_authorisations' })
export class ConsentAuthorisationEntity {
  @PrimaryColumn({ name: 'consent_id', type: 'uuid' }) consentId!: string;
  @PrimaryColumn({ name: 'authorisation_id', type: 'varchar' }) authorisationId!: string;
  @Column({ name: 'sca_status', type: 'varchar' }) scaStatus!: ScaStatus;
  @Column({ name: 'raw_sca_status', type: 'varchar' }) rawScaStatus!: string;
  @Column({ name: 'sca_approach', type: 'varchar' }) scaApproach!: ScaApproach;
  @Column({ name: 'sca_redirect_url', type: 'varchar', nullable: true }) scaRedirectUrl!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'consent_events' })
export class ConsentEventEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  @Column({ name: 'consent_id', type: 'uuid' }) consentId!: string;
  @Column({ type: 'integer' }) seq!: number;
  @Column({ type: 'varchar' }) kind!: 'consent_status' | 'sca_status';
  @Column({ type: 'varchar' }) status!: string;
  @Column({ name: 'raw_status', type: 'varchar', nullable: true }) rawStatus!: string | null;
  @Column({ type: 'varchar', nullable: true }) reason!: string | null;
  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
}

@Entity({ name: 'domain_events' })
export class DomainEventEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ type: 'varchar' }) type!: string;
  @Column({ name: 'subject_id', type: 'uuid' }) subjectId!: string;
  @Column({ name: 'dedupe_key', type: 'varchar' }) dedupeKey!: string;
  @Column({ type: 'jsonb' }) payload!: Record<string, any>;
  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
  /** Berlin Group notification class (SCA, PROCESS) for TPP-Notification-URI subscribers; see libs/webhooks/events.ts. */
  @Column({ name: 'notification_content', type: 'varchar', nullable: true }) notificationContent!: string | null;
  @Column({ name: 'notification_final', type: 'boolean', default: false }) notificationFinal!: boolean;
}

@Entity({ name: 'ais_read_results' })
export class AisReadResultEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'consent_id', type: 'uuid' }) consentId!: string;
  @Column({ type: 'jsonb' }) body!: Record<string, any>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
}

@Entity({ name: 'sensitive_handoffs' })
export class SensitiveHandoffEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ type: 'varchar' }) purpose!: string;
  @Column({ type: 'text' }) ciphertext!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
}
