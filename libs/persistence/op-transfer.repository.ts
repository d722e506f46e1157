import type { DataSource } from 'typeorm';
import type { TransferStatus } from '../domain/open-payments';
import { OpTransferEntity, OpTransferEventEntity } from './entities/op-transfer.entity';
import { appendEvent } from './event-outbox';
import { transferStatusEvent } from '../webhooks/events';

export type NewTransfer = Pick<
  OpTransferEntity,
  'id' | 'tenantId' | 'clientId' | 'requestId' | 'requestHash' | 'mandateId' | 'senderWalletAddress' | 'receiver' | 'debitAmount' | 'receiveAmount' | 'redirectUri' | 'metadata'
>;

/** Open Payments transfers. API reads are tenant-first; the worker addresses a transfer by id. */
export class OpTransferRepository {
  constructor(private readonly ds: DataSource) {}

  async insertOrGetExisting(t: NewTransfer): Promise<{ transfer: OpTransferEntity; created: boolean }> {
    const result = await this.ds
      .createQueryBuilder()
      .insert()
      .into(OpTransferEntity)
      .values({ ...t, status: 'quoting' })
      .orIgnore()
      .returning(['id'])
      .execute();
    const transfer = await this.ds.getRepository(OpTransferEntity).findOneByOrFail({ tenantId: t.tenantId, requestId: t.requestId });
    return { transfer, created: result.raw.length > 0 };
  }

  findForTenant(tenantId: string, id: string): Promise<OpTransferEntity | null> {
    return this.ds.getRepository(OpTransferEntity).findOneBy({ tenantId, id });
  }

  findById(id: string): Promise<OpTransferEntity | null> {
    return this.ds.getRepository(OpTransferEntity).findOneBy({ id });
  }

  listForTenant(tenantId: string, opts: { limit: number; before?: Date }): Promise<OpTransferEntity[]> {
    const qb = this.ds.getRepository(OpTransferEntity).createQueryBuilder('t').where('t.tenant_id = :tenantId', { tenantId });
    if (opts.before) qb.andWhere('t.created_at < :before', { before: opts.before });
    return qb.orderBy('t.created_at', 'DESC').limit(opts.limit).getMany();
  }

  async deleteUnstarted(tenantId: string, id: string): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .delete()
      .from(OpTransferEntity)
      .where("tenant_id = :tenantId AND id = :id AND status = 'quoting' AND quote_url IS NULL", { tenantId, id })
      .execute();
  }

  async update(id: string, fields: Partial<Omit<OpTransferEntity, 'id' | 'tenantId' | 'createdAt' | 'updatedAt'>>): Promise<void> {
    await this.ds.getRepository(OpTransferEntity).update({ id }, fields);
  }

  /** One status change with its history row and outbox event; replaying (transferId, seq) changes nothing. */
  async recordStatus(change: { transferId: string; seq: number; status: TransferStatus; reason?: string | null }): Promise<void> {
    await this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(OpTransferEventEntity)
        .values({ transferId: change.transferId, seq: change.seq, status: change.status, reason: change.reason ?? null })
        .orIgnore()
        .returning(['id'])
        .execute();
      if (inserted.raw.length === 0) return;
      await em.getRepository(OpTransferEntity).update({ id: change.transferId }, { status: change.status, statusReason: change.reason ?? null });
      // The webhook event commits with the change (transactional outbox).
      await appendEvent(em, transferStatusEvent(await em.getRepository(OpTransferEntity).findOneByOrFail({ id: change.transferId }), change));
    });
  }

  listEvents(transferId: string): Promise<OpTransferEventEntity[]> {
    return this.ds.getRepository(OpTransferEventEntity).find({ where: { transferId }, order: { seq: 'ASC' } });
  }
}
