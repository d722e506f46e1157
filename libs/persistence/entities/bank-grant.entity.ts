import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * Tokens a bank issued for one payment or consent through an OAuth/OIDC SCA. Ciphertext only
 * (`libs/security/bank-grants.ts` seals it); never in workflow history, logs or responses.
 */
@Entity({ name: 'bank_grants' })
export class BankGrantEntity {
  @PrimaryColumn({ name: 'resource_type', type: 'varchar' }) resourceType!: 'payment' | 'consent';
  @PrimaryColumn({ name: 'resource_id', type: 'uuid' }) resourceId!: string;
  @Column({ name: 'tenant_id', type: 'varchar' }) tenantId!: string;
  @Column({ type: 'text' }) ciphertext!: string;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
