import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An OAuth2 client (an ERP, a shop, a subscription service). Secrets are stored as scrypt hashes only. */
@Entity({ name: 'api_clients' })
export class ApiClientEntity {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 100 })
  clientId!: string;

  /** Every business record is scoped by tenant. One tenant may own several clients. */
  @Column({ name: 'tenant_id', type: 'varchar', length: 100 })
  tenantId!: string;

  @Column({ name: 'secret_hash', type: 'varchar' })
  secretHash!: string;

  @Column({ name: 'allowed_scopes', type: 'text', array: true })
  allowedScopes!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
