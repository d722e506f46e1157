import { randomUUID } from 'node:crypto';
import { LessThan, type DataSource } from 'typeorm';
import { SensitiveHandoffEntity } from './entities/consent.entity';

/** Rows of `sensitive_handoffs`: ciphertext only, short-lived. */
export class HandoffRepository {
  constructor(private readonly ds: DataSource) {}

  async store(h: { tenantId: string; purpose: string; ciphertext: string; ttlMs: number }): Promise<string> {
    const id = randomUUID();
    await this.ds.getRepository(SensitiveHandoffEntity).insert({ id, ...h, expiresAt: new Date(Date.now() + h.ttlMs) });
    return id;
  }

  find(id: string): Promise<SensitiveHandoffEntity | null> {
    return this.ds.getRepository(SensitiveHandoffEntity).findOneBy({ id });
  }

  async delete(id: string): Promise<void> {
    await this.ds.getRepository(SensitiveHandoffEntity).delete({ id });
  }

  async purgeExpired(now = new Date()): Promise<void> {
    await this.ds.getRepository(SensitiveHandoffEntity).delete({ expiresAt: LessThan(now) });
  }
}
