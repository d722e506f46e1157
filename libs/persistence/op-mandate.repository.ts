import type { DataSource } from 'typeorm';
import type { MandatePaymentStatus, MandateStatus } from '../domain/mandate';
import { OpMandateEntity, OpMandatePaymentEntity } from './entities/op-mandate.entity';
import { appendEvent } from './event-outbox';
import { mandatePeriodEvent, mandateStatusEvent } from '../webhooks/events';

export type NewMandate = Pick<
  OpMandateEntity,
  'id' | 'tenantId' | 'clientId' | 'requestId' | 'requestHash' | 'senderWalletAddress' | 'receiver' | 'debitAmount' | 'interval' | 'redirectUri' | 'metadata'
>;

type MandateFields = Partial<Omit<OpMandateEntity, 'id' | 'tenantId' | 'createdAt' | 'updatedAt'>>;
type PaymentFields = Partial<Omit<OpMandatePaymentEntity, 'id' | 'mandateId' | 'periodStart' | 'createdAt' | 'updatedAt'>>;

/** Open Payments mandates and their per-period payments. API reads are tenant-first; the worker addresses by id. */
export class OpMandateRepository {
  constructor(private readonly ds: DataSource) {}

  async insertOrGetExisting(m: NewMandate): Promise<{ mandate: OpMandateEntity; created: boolean }> {
    const result = await this.ds
      .createQueryBuilder()
      .insert()
      .into(OpMandateEntity)
      .values({ ...m, status: 'awaiting_authorisation' })
      .orIgnore()
      .returning(['id'])
      .execute();
    const mandate = await this.ds.getRepository(OpMandateEntity).findOneByOrFail({ tenantId: m.tenantId, requestId: m.requestId });
    return { mandate, created: result.raw.length > 0 };
  }

  findForTenant(tenantId: string, id: string): Promise<OpMandateEntity | null> {
    return this.ds.getRepository(OpMandateEntity).findOneBy({ tenantId, id });
  }

  findById(id: string): Promise<OpMandateEntity | null> {
    return this.ds.getRepository(OpMandateEntity).findOneBy({ id });
  }

  async update(id: string, fields: MandateFields): Promise<void> {
    await this.ds.getRepository(OpMandateEntity).update({ id }, fields);
  }

  /** A transition writes its webhook event in the same transaction; setting the status it already has writes none. */
  async setStatus(id: string, status: MandateStatus, reason: string | null): Promise<void> {
    await this.ds.transaction(async (em) => {
      const changed = await em
        .createQueryBuilder()
        .update(OpMandateEntity)
        .set({ status, statusReason: reason })
        .where('id = :id AND status <> :status', { id, status })
        .execute();
      if (!changed.affected) {
        await em.getRepository(OpMandateEntity).update({ id }, { statusReason: reason });
        return;
      }
      await appendEvent(em, mandateStatusEvent(await em.getRepository(OpMandateEntity).findOneByOrFail({ id }), status, reason));
    });
  }

  /** The period's row, created as `status` when missing (with its webhook event); an existing row is returned unchanged. */
  async claimPeriod(mandateId: string, periodStart: Date, status: MandatePaymentStatus, reason: string | null): Promise<OpMandatePaymentEntity> {
    return this.ds.transaction(async (em) => {
      const inserted = await em.createQueryBuilder().insert().into(OpMandatePaymentEntity).values({ mandateId, periodStart, status, reason }).orIgnore().returning(['id']).execute();
      const period = await em.getRepository(OpMandatePaymentEntity).findOneByOrFail({ mandateId, periodStart });
      if (inserted.raw.length > 0) await appendEvent(em, mandatePeriodEvent(await em.getRepository(OpMandateEntity).findOneByOrFail({ id: mandateId }), period));
      return period;
    });
  }

  findPeriod(mandateId: string, periodStart: Date): Promise<OpMandatePaymentEntity | null> {
    return this.ds.getRepository(OpMandatePaymentEntity).findOneBy({ mandateId, periodStart });
  }

  /** A change of the period's status writes its webhook event in the same transaction. */
  async updatePeriod(mandateId: string, periodStart: Date, fields: PaymentFields): Promise<void> {
    if (fields.status === undefined) {
      await this.ds.getRepository(OpMandatePaymentEntity).update({ mandateId, periodStart }, fields);
      return;
    }
    await this.ds.transaction(async (em) => {
      const periods = em.getRepository(OpMandatePaymentEntity);
      const before = await periods.findOne({ where: { mandateId, periodStart }, lock: { mode: 'pessimistic_write' } });
      await periods.update({ mandateId, periodStart }, fields);
      if (!before || before.status === fields.status) return;
      const mandate = await em.getRepository(OpMandateEntity).findOneByOrFail({ id: mandateId });
      await appendEvent(em, mandatePeriodEvent(mandate, await periods.findOneByOrFail({ mandateId, periodStart })));
    });
  }

  listPeriods(mandateId: string): Promise<OpMandatePaymentEntity[]> {
    return this.ds.getRepository(OpMandatePaymentEntity).find({ where: { mandateId }, order: { periodStart: 'ASC' } });
  }

  countPeriods(mandateId: string, status: MandatePaymentStatus): Promise<number> {
    return this.ds.getRepository(OpMandatePaymentEntity).countBy({ mandateId, status });
  }
}
