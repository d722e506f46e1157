import { exportJWK, generateKeyPair, importPKCS8, type CryptoKey } from 'jose';
import type { DataSource } from 'typeorm';
import type { BankConnection } from '../../libs/adapters/bank-adapter';
import { BankTls } from '../../libs/adapters/bank-tls';
import { UkObieAdapter, type UkTppIdentity } from '../../libs/adapters/uk-obie';
import type { ClearwayConfig } from '../../libs/config/config';
import { BankRegistrationRepository } from '../../libs/persistence/bank-registration.repository';
import { oauthCallbackUrl } from '../../libs/security/callback-state';

/**
 * The UK Open Banking adapter with Clearway's TPP identity: its signing key (configured, or a
 * development key made once per process outside production), the software statement, and the
 * client ids banks issued on registration (PostgreSQL). A sandbox bank without a configured
 * software statement gets one from the sandbox's directory.
 */
export function ukObieAdapter(config: ClearwayConfig, dataSource: DataSource): UkObieAdapter {
  const uk = config.ukObie;
  const registrations = new BankRegistrationRepository(dataSource);
  let identity: Promise<UkTppIdentity> | undefined;
  const loadIdentity = async (): Promise<UkTppIdentity> => {
    let signingKey: CryptoKey;
    if (uk.signingKeyPem) signingKey = await importPKCS8(uk.signingKeyPem, 'PS256', { extractable: true });
    else if (config.env === 'production') throw new Error('UK_OBIE_SIGNING_KEY is required in production');
    else signingKey = (await generateKeyPair('PS256', { extractable: true })).privateKey;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = await exportJWK(signingKey);
    return {
      orgId: uk.orgId,
      softwareId: uk.softwareId,
      signingKey,
      kid: uk.kid,
      publicJwk: { ...publicJwk, kid: uk.kid, alg: 'PS256', use: 'sig' },
      softwareStatement: uk.softwareStatement,
      redirectUri: oauthCallbackUrl(config.api.publicBaseUrl),
      trustAnchor: uk.trustAnchor,
    };
  };
  return new UkObieAdapter({
    // Banks whose directory row names a client certificate: mTLS with it and tls_client_auth.
    tls: new BankTls(config.bankTls),
    identity: () => (identity ??= loadIdentity().catch((err) => ((identity = undefined), Promise.reject(err)))),
    registrations,
    profileFor: (conn: BankConnection) => ({
      orgId: uk.aspspOrgIds[conn.bicFi] ?? conn.bicFi,
      jwsProfile: '3.1.4+',
      trustAnchors: [uk.trustAnchor],
    }),
    softwareStatementFor: async (conn, id) => {
      if (conn.baseUrl !== uk.sandboxUrl) return undefined;
      const res = await fetch(`${conn.baseUrl}/directory/software-statements`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ software_id: id.softwareId, org_id: id.orgId, software_jwks: { keys: [id.publicJwk] }, software_redirect_uris: [id.redirectUri], software_roles: ['PISP', 'AISP'] }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 201) throw new Error(`sandbox directory: HTTP ${res.status}`);
      return ((await res.json()) as { software_statement: string }).software_statement;
    },
  });
}
