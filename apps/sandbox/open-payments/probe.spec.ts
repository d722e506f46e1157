import { createAuthenticatedClient } from '@interledger/open-payments';
import { generateKeyPairSync } from 'node:crypto';
test('probe', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const c = await createAuthenticatedClient({ walletAddressUrl: 'http://127.0.0.1:1/alice', privateKey, keyId: 'k', useHttp: true, validateResponses: true });
  await expect(c.walletAddress.get({ url: 'http://127.0.0.1:1/alice' })).rejects.toThrow();
  console.log(process.env.CLEARWAY_TEST_DATABASE_URL);
});
