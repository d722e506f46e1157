import { startPayseraTestKit, type PayseraTestKit } from '../../apps/sandbox/paysera/test-helpers';
import type { ClearwayConfig } from '../../libs/config/config';

export { startPayseraTestKit, type PayseraTestKit };
export type { PayseraSandboxOptions } from '../../apps/sandbox/paysera/routes';
export const PAYSERA_BIC = 'SANDLT21XXX';

/** The stack's config for the Paysera-profile bank: where it runs, Clearway's QWAC, the bank's CA. */
export function payseraStackConfig(config: ClearwayConfig, kit: PayseraTestKit): Pick<ClearwayConfig, 'sandbox' | 'bankTls'> {
  return {
    sandbox: { ...config.sandbox, payseraUrl: kit.sandbox.url, payseraPublicUrl: kit.sandbox.url },
    bankTls: { clientCertificates: { ...config.bankTls.clientCertificates, qwac: kit.qwac }, extraCaPem: kit.caPem },
  };
}
