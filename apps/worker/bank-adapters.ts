import { BankTls } from '../../libs/adapters/bank-tls';
import { BerlinGroupAdapter } from '../../libs/adapters/berlin-group';
import type { ClearwayConfig } from '../../libs/config/config';
import { PkceVerifiers } from '../../libs/security/pkce';


/**
 * Adapters with this deployment's bank TLS (client certificates per ASPSP, extra CAs) and the
 * PKCE verifiers of the OAuth SCA approach (derived from the HMAC key ring).
 */
export function bankAdaptersFor(config: ClearwayConfig) {
  const tls = new BankTls(config.bankTls);
  return { 'berlin-group': new BerlinGroupAdapter({ tls, pkce: new PkceVerifiers(config.keys.hmac) }) };
}
