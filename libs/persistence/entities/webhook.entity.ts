import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A tenant's webhook endpoint. Secrets are sealed; the API shows one only when it is created or rotated. */
@Entity({ name: 'webhook_endpoints' })
export class WebhookEndpointEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ type: 'varchar' }) url!: string;
  @Column({ type: 'varchar', nullable: true }) description!: string | null;
  /** null: every event type. */
  @Column({ name: 'event_types', type: 'text', array: true, nullable: true }) eventTypes!: string[] | null;
  @Column({ type: 'boolean' }) enabled!: boolean;
  @Column({ name: 'disabled_reason', type: 'varchar', nullable: true }) disabledReason!: string | null;
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true }) disabledAt!: Date | null;
  @Column({ name: 'failing_since', type: 'timestamptz', nullable: true }) failingSince!: Date | null;
  @Column({ name: 'secret_sealed', type: 'text' }) secretSealed!: string;
  @Column({ name: 'previous_secret_sealed', type: 'text', nullable: true }) previousSecretSealed!: string | null;
  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true }) previousSecretExpiresAt!: Date | null;
  /** Set while the dispatcher streams this endpoint's deliveries: commits need not signal it. */
  @Column({ name: 'streaming_until', type: 'timestamptz', nullable: true }) streamingUntil!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';
/** `event`: the Clearway envelope to the endpoint; `bg_notification`: a Berlin Group status notification to a TPP-Notification-URI. */
export type WebhookDeliveryFormat = 'event' | 'bg_notification';

/** One event on its way to one endpoint (or one TPP-Notification-URI). */
@Entity({ name: 'webhook_deliveries' })
export class WebhookDeliveryEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'endpoint_id', type: 'uuid' }) endpointId!: string;
  @Column({ name: 'event_id', type: 'uuid' }) eventId!: string;
  @Column({ name: 'subject_id', type: 'uuid' }) subjectId!: string;
  @Column({ type: 'varchar' }) format!: WebhookDeliveryFormat;
  @Column({ name: 'target_url', type: 'varchar', nullable: true }) targetUrl!: string | null;
  @Column({ type: 'varchar' }) status!: WebhookDeliveryStatus;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'schedule_step', type: 'integer' }) scheduleStep!: number;
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true }) nextAttemptAt!: Date | null;
  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true }) lastAttemptAt!: Date | null;
  @Column({ name: 'last_status_code', type: 'integer', nullable: true }) lastStatusCode!: number | null;
  @Column({ name: 'last_latency_ms', type: 'integer', nullable: true }) lastLatencyMs!: number | null;
  @Column({ name: 'last_error', type: 'varchar', nullable: true }) lastError!: string | null;
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true }) deliveredAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity({ name: 'webhook_delivery_attempts' })
export class WebhookDeliveryAttemptEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'increment' }) id!: string;
  @Column({ name: 'delivery_id', type: 'bigint' }) deliveryId!: string;
  @Column({ name: 'attempted_at', type: 'timestamptz' }) attemptedAt!: Date;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode!: number | null;
  @Column({ name: 'latency_ms', type: 'integer', nullable: true }) latencyMs!: number | null;
  @Column({ type: 'varchar', nullable: true }) error!: string | null;
}

/** Berlin Group `TPP-Notification-Content-Preferred` constants. */
export type NotificationContent = 'SCA' | 'PROCESS' | 'LAST';

/** A resource whose client sent `TPP-Notification-URI` when creating it. */
@Entity({ name: 'resource_notification_subscriptions' })
export class ResourceNotificationSubscriptionEntity {
  @PrimaryColumn({ name: 'subject_id', type: 'uuid' }) subjectId!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ name: 'endpoint_id', type: 'uuid' }) endpointId!: string;
  @Column({ type: 'varchar' }) uri!: string;
  @Column({ type: 'text', array: true }) content!: NotificationContent[];
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
