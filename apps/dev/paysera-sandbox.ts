import type { DevTls, DevTlsFiles } from '../../libs/security/dev-certificates';

/**
 * Environment for the Paysera-profile sandbox bank in `npm run dev`: the bank serves https with
 * the dev CA's server certificate and accepts client certificates from the same CA; Clearway's
 * worker presents the dev QWAC (QWAC_CERT_FILE) and trusts the dev CA for banks. Values already
 * set (a real QWAC, another CA) are kept.
 */
export function payseraDevEnv(tls: DevTls & DevTlsFiles, env: NodeJS.ProcessEnv): Record<string, string> {
  return {
    SANDBOX_PAYSERA_TLS_CERT_FILE: env.SANDBOX_PAYSERA_TLS_CERT_FILE ?? tls.certFile,
    SANDBOX_PAYSERA_TLS_KEY_FILE: env.SANDBOX_PAYSERA_TLS_KEY_FILE ?? tls.keyFile,
    SANDBOX_PAYSERA_CLIENT_CA_FILE: env.SANDBOX_PAYSERA_CLIENT_CA_FILE ?? tls.caFile,
    QWAC_CERT_FILE: env.QWAC_CERT_FILE ?? tls.qwacFile,
    QWAC_KEY_FILE: env.QWAC_KEY_FILE ?? tls.qwacKeyFile,
    BANK_EXTRA_CA_FILE: env.BANK_EXTRA_CA_FILE ?? tls.caFile,
  };
}
