import { BankTls } from '../../libs/adapters/bank-tls';
import { BerlinGroupAdapter } from '../../libs/adapters/berlin-group';
import type { ClearwayConfig } from '../../libs/config/config';
import { PkceVerifiers } from '../../libs/security/pkce';

/** The Paysera-profile sandbox bank's BIC: its URL comes from SANDBOX_PAYSERA_URL, not SANDBOX_BG_URL. */
export const PAYSERA_SANDBOX_BIC = 'SANDLT21XXX';

/**
 * Adapters with this deployment's bank TLS (client certificates per ASPSP, extra CAs) and the
 * PKCE verifiers of the OAuth SCA approach (derived from the HMAC key ring).
 */
export function bankAdaptersFor(config: ClearwayConfig) {
  const tls = new BankTls(config.bankTls);
  return { 'berlin-group': new BerlinGroupAdapter({ tls, pkce: new PkceVerifiers(config.keys.hmac) }) };
}
