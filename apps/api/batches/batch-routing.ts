import type { PaymentProduct } from '../../../libs/domain/payment';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { BatchRoute } from '../../../libs/persistence/entities/batch-payment-info.entity';
import type { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { Pain001PaymentInformation } from '../../../libs/iso20022';

export interface PmtInfRoute {
  aspsp: AspspEntity;
  route: BatchRoute;
  paymentProduct: PaymentProduct;
}

/** A PmtInf that cannot be routed: the element to fix and why. */
export interface RoutingIssue {
  path: string;
  text: string;
}

/** Bulk payment products the bank offers (the `bulk-payments` service); none when the directory says none. */
export function bulkProductsOf(aspsp: AspspEntity): readonly string[] {
  return (aspsp as AspspEntity & { bulkPaymentProducts?: string[] }).bulkPaymentProducts ?? [];
}

/**
 * Routes each PmtInf to its debtor's bank: the BIC in DbtrAgt, else the one bank of the IBAN's
 * country in the ASPSP directory (more than one: the file must name it). One bulk payment where
 * the bank offers bulk payments for the product, else one single payment per transaction.
 */
export class BatchRouter {
  private readonly byBic = new Map<string, Promise<AspspEntity | null>>();
  private readonly byCountry = new Map<string, Promise<AspspEntity[]>>();

  constructor(private readonly directory: DirectoryRepository) {}

  async route(p: Pain001PaymentInformation, version: string): Promise<PmtInfRoute | RoutingIssue> {
    const base = `PmtInf[${p.index}]`;
    const product: PaymentProduct = p.instant ? 'instant-sepa-credit-transfers' : 'sepa-credit-transfers';
    let aspsp: AspspEntity | null;
    if (p.debtorAgentBic) {
      const bic = p.debtorAgentBic.length === 8 ? `${p.debtorAgentBic}XXX` : p.debtorAgentBic;
      aspsp = await this.aspsp(bic);
      const element = version === 'pain.001.001.03' ? 'BIC' : 'BICFI';
      if (!aspsp) return { path: `${base}.DbtrAgt.FinInstnId.${element}`, text: 'Clearway reaches no bank with this BIC; see /psd2/aspspinformation/v1/aspsps' };
    } else {
      const country = p.debtorIban.slice(0, 2).toUpperCase();
      const candidates = await this.country(country);
      if (candidates.length !== 1) {
        return {
          path: `${base}.DbtrAgt`,
          text: candidates.length ? `several banks in ${country} are reachable: name the debtor's bank (DbtrAgt BIC)` : `Clearway reaches no bank in ${country}`,
        };
      }
      aspsp = candidates[0]!;
    }
    if (bulkProductsOf(aspsp).includes(product)) return { aspsp, route: 'bulk', paymentProduct: product };
    if (!aspsp.paymentProducts.includes(product)) {
      return { path: `${base}.PmtTpInf`, text: `${aspsp.bicFi} does not offer ${product}` };
    }
    return { aspsp, route: 'single', paymentProduct: product };
  }

  private aspsp(bic: string): Promise<AspspEntity | null> {
    let found = this.byBic.get(bic);
    if (!found) this.byBic.set(bic, (found = this.directory.findAspsp(bic)));
    return found;
  }

  private country(code: string): Promise<AspspEntity[]> {
    let found = this.byCountry.get(code);
    if (!found) this.byCountry.set(code, (found = this.directory.listAspsps({ isoCountryCodes: [code] })));
    return found;
  }
}

export function isRoutingIssue(r: PmtInfRoute | RoutingIssue): r is RoutingIssue {
  return 'path' in r;
}
