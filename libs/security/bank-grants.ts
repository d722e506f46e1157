import type { BankGrant } from '../adapters/oauth-sca';
import type { BankGrantRepository } from '../persistence/bank-grant.repository';
import type { SecretBox } from './secret-box';

type GrantOwner = 'payment' | 'consent';

/**
 * Tokens from an OAuth/OIDC SCA, sealed at rest (AES-GCM, the owner bound as associated data so a
 * payment's tokens never open as a consent's). Only activities use them, to call the bank.
 */
export class BankGrants {
  constructor(
    private readonly repository: BankGrantRepository,
    private readonly box: SecretBox,
  ) {}

  async save(owner: GrantOwner, resourceId: string, tenantId: string, grant: BankGrant): Promise<void> {
    await this.repository.put({ resourceType: owner, resourceId, tenantId, ciphertext: this.box.seal(JSON.stringify(grant), purpose(owner, resourceId)) });
  }

  async load(owner: GrantOwner, resourceId: string): Promise<BankGrant | undefined> {
    const row = await this.repository.find(owner, resourceId);
    return row ? (JSON.parse(this.box.open(row.ciphertext, purpose(owner, resourceId))) as BankGrant) : undefined;
  }

  discard(owner: GrantOwner, resourceId: string): Promise<void> {
    return this.repository.delete(owner, resourceId);
  }
}

const purpose = (owner: GrantOwner, id: string) => `bank-grant:${owner}:${id}`;
