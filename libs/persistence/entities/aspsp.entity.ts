import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { BankProtocol } from '../../adapters/bank-adapter';
import type { PaymentProduct } from '../../domain/payment';
import type { ScaApproach } from '../../domain/transaction-status';

/** A bank in the directory, with what it supports and how Clearway reaches it. */
@Entity({ name: 'aspsps' })
export class AspspEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'bic_fi', type: 'varchar', length: 11, unique: true })
  bicFi!: string;

  @Column({ type: 'varchar', length: 140 })
  name!: string;

  @Column({ name: 'city_id', type: 'uuid' })
  cityId!: string;

  @Column({ name: 'iso_country_code', type: 'char', length: 2 })
  isoCountryCode!: string;

  @Column({ name: 'company_number', type: 'varchar', nullable: true })
  companyNumber!: string | null;

  @Column({ name: 'postal_code', type: 'varchar', length: 20, nullable: true })
  postalCode!: string | null;

  @Column({ name: 'street_address', type: 'varchar', length: 140, nullable: true })
  streetAddress!: string | null;

  @Column({ type: 'varchar', nullable: true })
  phone!: string | null;

  @Column({ name: 'website_url', type: 'varchar', nullable: true })
  websiteUrl!: string | null;

  @Column({ name: 'logo_url', type: 'varchar', nullable: true })
  logoUrl!: string | null;

  @Column({ type: 'varchar', length: 32 })
  protocol!: BankProtocol;

  /** The bank's API base URL. Null for sandbox banks, whose URL comes from deployment config. */
  @Column({ name: 'api_base_url', type: 'varchar', nullable: true })
  apiBaseUrl!: string | null;

  @Column({ name: 'is_sandbox', type: 'boolean', default: false })
  isSandbox!: boolean;

  @Column({ name: 'payment_products', type: 'text', array: true })
  paymentProducts!: PaymentProduct[];

  @Column({ name: 'sca_approaches', type: 'text', array: true })
  scaApproaches!: ScaApproach[];

  @Column({ name: 'sca_timeout_seconds', type: 'integer', default: 900 })
  scaTimeoutSeconds!: number;

  /**
   * The bank may execute a payment without the PSU's SCA (PSD2 exemptions). True unless the bank
   * documents that it never exempts: then an ambiguous initiation may be sent again safely.
   */
  @Column({ name: 'sca_exemptions_possible', type: 'boolean', default: true })
  scaExemptionsPossible!: boolean;

  /**
   * Error codes the bank documents as answered before any processing: a failure carrying one is
   * provably not processed, so an initiation may be sent again. Empty unless documented.
   */
  @Column({ name: 'not_processed_error_codes', type: 'text', array: true, default: () => "'{}'" })
  notProcessedErrorCodes!: string[];

  /** Bulk payment products the bank offers (`bulk-payments` service); empty when it offers none. */
  @Column({ name: 'bulk_payment_products', type: 'text', array: true, default: () => "'{}'" })
  bulkPaymentProducts!: string[];

  /** Sandbox banks only: the path below the protocol's sandbox URL where this bank is served (null: at it). */
  @Column({ name: 'sandbox_path', type: 'varchar', nullable: true })
  sandboxPath!: string | null;
}
