import type { DataSource } from 'typeorm';
import { ApiClientEntity } from './entities/api-client.entity';

export class ClientRepository {
  constructor(private readonly ds: DataSource) {}

  find(clientId: string): Promise<ApiClientEntity | null> {
    return this.ds.getRepository(ApiClientEntity).findOneBy({ clientId });
  }

  /** Creates or replaces a client (used by provisioning and the dev launcher's sandbox client). */
  async upsert(client: Pick<ApiClientEntity, 'clientId' | 'tenantId' | 'secretHash' | 'allowedScopes'>): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(ApiClientEntity)
      .values(client)
      .orUpdate(['tenant_id', 'secret_hash', 'allowed_scopes'], ['client_id'])
      .execute();
  }
}
