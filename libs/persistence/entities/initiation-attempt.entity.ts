import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { InitiationAttemptState } from '../../domain/initiation-safety';

/** What kind of resource an attempt tried to create at the bank. */
export type InitiationResourceType = 'payment' | 'consent' | 'bulk_payment';

/**
 * One attempt to create something at a bank, written before the request is sent and updated with
 * what came back. A row still `sending` means the attempt's worker died mid-call: the bank may
 * have acted on it. No request or response bodies here.
 */
@Entity({ name: 'bank_initiation_attempts' })
export class InitiationAttemptEntity {
  @PrimaryColumn({ name: 'resource_type', type: 'varchar', length: 16 })
  resourceType!: InitiationResourceType;

  @PrimaryColumn({ name: 'resource_id', type: 'uuid' })
  resourceId!: string;

  @PrimaryColumn({ type: 'integer' })
  attempt!: number;

  /** The X-Request-ID sent (the same for every attempt of one logical creation). */
  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: InitiationAttemptState;

  /** What the bank created, when it said so (also for an unreadable answer that named it). */
  @Column({ name: 'bank_resource_id', type: 'varchar', nullable: true })
  bankResourceId!: string | null;

  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus!: number | null;

  /** The failure in words (method, path, status, codes): never bodies. */
  @Column({ type: 'varchar', length: 300, nullable: true })
  detail!: string | null;

  /** A resource this attempt created that is not the one Clearway kept: cleaned up at the bank or not. */
  @Column({ name: 'orphan_state', type: 'varchar', length: 16, nullable: true })
  orphanState!: 'cancelled' | 'cancel_failed' | null;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
