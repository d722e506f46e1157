import { generateIdentityKey } from '../../libs/adapters/open-payments';
import type { TestAse } from '../../apps/sandbox/open-payments/test-helpers';

/**
 * Clearway's own Open Payments client identity: a fresh key, registered as the `clearway` wallet at
 * the sandbox ASE. Returns the OPEN_PAYMENTS_* environment the API and worker need.
 */
export async function registerClearwayWallet(ase: TestAse, keyId = 'clearway-test-key'): Promise<Record<string, string>> {
  const identity = generateIdentityKey(keyId);
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  return {
    OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
    OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
    OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
  };
}
