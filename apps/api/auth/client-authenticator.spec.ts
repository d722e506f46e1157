import type { ApiClientEntity } from '../../../libs/persistence/entities/api-client.entity';
import { ClientAuthenticator } from './client-authenticator';
import { hashSecret, verifySecret } from './secret-hash';

describe('ClientAuthenticator', () => {
  const DUMMY = hashSecret('dummy');
  let client: ApiClientEntity;
  const verifications: string[] = [];
  const countingVerify = async (secret: string, stored: string) => {
    verifications.push(stored);
    return verifySecret(secret, stored);
  };
  const sut = new ClientAuthenticator({ find: async (id) => (id === client.clientId ? client : null) }, countingVerify, DUMMY);

  beforeAll(async () => {
    client = { clientId: 'known', tenantId: 't', secretHash: await hashSecret('right'), allowedScopes: ['paymentinitiation'] } as ApiClientEntity;
  });
  beforeEach(() => verifications.splice(0));

  test('the right secret authenticates, after one scrypt verification against the client hash', async () => {
    await expect(sut.authenticate('known', 'right')).resolves.toBe(client);
    expect(verifications).toEqual([client.secretHash]);
  });

  test('a wrong secret is refused after one scrypt verification against the client hash', async () => {
    await expect(sut.authenticate('known', 'wrong')).resolves.toBeUndefined();
    expect(verifications).toEqual([client.secretHash]);
  });

  test('an unknown client id costs the same: one scrypt verification, against the dummy hash', async () => {
    await expect(sut.authenticate('unknown', 'right')).resolves.toBeUndefined();
    expect(verifications).toEqual([await DUMMY]);
    // Same scrypt parameters as a real client's hash, so the work (and the time) is the same.
    expect((await DUMMY).split('$').slice(0, 4)).toEqual(client.secretHash.split('$').slice(0, 4));
  });

  test('the dummy secret itself authenticates nobody', async () => {
    await expect(sut.authenticate('unknown', 'dummy')).resolves.toBeUndefined();
  });
});
