import type { DataSource } from 'typeorm';
import { BankGrantEntity } from './entities/bank-grant.entity';

/** Rows of `bank_grants`: sealed tokens per payment or consent, one row each. */
export class BankGrantRepository {
  constructor(private readonly ds: DataSource) {}

  async put(g: Pick<BankGrantEntity, 'resourceType' | 'resourceId' | 'tenantId' | 'ciphertext'>): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(BankGrantEntity)
      .values(g)
      .orUpdate(['ciphertext', 'tenant_id', 'updated_at'], ['resource_type', 'resource_id'])
      .execute();
  }

  find(resourceType: BankGrantEntity['resourceType'], resourceId: string): Promise<BankGrantEntity | null> {
    return this.ds.getRepository(BankGrantEntity).findOneBy({ resourceType, resourceId });
  }

  async delete(resourceType: BankGrantEntity['resourceType'], resourceId: string): Promise<void> {
    await this.ds.getRepository(BankGrantEntity).delete({ resourceType, resourceId });
  }
}
