import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The UK sandbox bank offers OBIE international payments too (`international-payment-consents`). */
export class UkInternationalPayments1732450001150 implements MigrationInterface {
  name = 'UkInternationalPayments1732450001150';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE aspsps SET payment_products = array_append(payment_products, 'international')
        WHERE bic_fi = 'SANDGB2LXXX' AND NOT ('international' = ANY (payment_products))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE aspsps SET payment_products = array_remove(payment_products, 'international') WHERE bic_fi = 'SANDGB2LXXX'`);
  }
}
