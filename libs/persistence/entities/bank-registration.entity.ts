import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Clearway's OAuth client at a bank, from Dynamic Client Registration (UK Open Banking). */
@Entity({ name: 'bank_registrations' })
export class BankRegistrationEntity {
  @PrimaryColumn({ name: 'bic_fi', type: 'varchar', length: 11 }) bicFi!: string;
  /** The bank's base URL at registration: a registration belongs to that authorisation server. */
  @PrimaryColumn({ name: 'base_url', type: 'varchar' }) baseUrl!: string;
  @Column({ name: 'client_id', type: 'varchar' }) clientId!: string;
  @CreateDateColumn({ name: 'registered_at', type: 'timestamptz' }) registeredAt!: Date;
}
