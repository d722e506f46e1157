import type { ApiClientEntity } from '../../../libs/persistence/entities/api-client.entity';
import { hashSecret, verifySecret } from './secret-hash';

export interface ClientLookup {
  find(clientId: string): Promise<ApiClientEntity | null>;
}

/**
 * Checks OAuth2 client credentials. An unknown client id is checked against a dummy scrypt hash
 * (same parameters as real ones), so it costs the same scrypt run as a wrong secret: the time of a
 * 401 does not tell whether a client id exists. Tests count the verifications through `verify`,
 * since comparing timings in a test would be flaky.
 */
export class ClientAuthenticator {
  /** Made once, eagerly, so the first unknown id does not pay for two scrypt runs. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly clients: ClientLookup,
    private readonly verify: (secret: string, stored: string) => Promise<boolean> = verifySecret,
    dummyHash?: Promise<string>,
  ) {
    this.dummyHash = dummyHash ?? hashSecret('clearway-dummy-secret-for-unknown-clients');
  }

  /** The client when the id exists and the secret matches; undefined otherwise, after one scrypt run either way. */
  async authenticate(clientId: string, clientSecret: string): Promise<ApiClientEntity | undefined> {
    const client = await this.clients.find(clientId);
    const matches = await this.verify(clientSecret, client?.secretHash ?? (await this.dummyHash));
    return client && matches ? client : undefined;
  }
}
