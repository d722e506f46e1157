import type { DataSource } from 'typeorm';
import { OpOutcomeResolutionEntity } from './entities/op-outcome-resolution.entity';

export type NewOutcomeResolution = Pick<OpOutcomeResolutionEntity, 'resolutionKey' | 'tenantId' | 'decision' | 'outgoingPaymentUrl' | 'operator' | 'note'> &
  ({ transferId: string; mandateId?: null; periodStart?: null } | { transferId?: null; mandateId: string; periodStart: Date });

/** The audit trail of operators' decisions on unknown Open Payments outcomes. Tenant-first for reads. */
export class OpOutcomeResolutionRepository {
  constructor(private readonly ds: DataSource) {}

  /** Records the ruling once per `resolutionKey`; a repeat returns the first one unchanged. */
  async record(resolution: NewOutcomeResolution): Promise<OpOutcomeResolutionEntity> {
    const values = { transferId: null, mandateId: null, periodStart: null, ...resolution };
    await this.ds.createQueryBuilder().insert().into(OpOutcomeResolutionEntity).values(values).orIgnore().execute();
    return this.ds.getRepository(OpOutcomeResolutionEntity).findOneByOrFail({ resolutionKey: values.resolutionKey });
  }

  listForTenant(tenantId: string, of: { transferId: string } | { mandateId: string }): Promise<OpOutcomeResolutionEntity[]> {
    return this.ds.getRepository(OpOutcomeResolutionEntity).find({ where: { tenantId, ...of }, order: { decidedAt: 'ASC' } });
  }
}
