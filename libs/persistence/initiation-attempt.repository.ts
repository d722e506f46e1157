import { IsNull, Not, type DataSource } from 'typeorm';
import { UNRESOLVED_ATTEMPT_STATES, type InitiationAttemptState } from '../domain/initiation-safety';
import { InitiationAttemptEntity, type InitiationResourceType } from './entities/initiation-attempt.entity';
import { OperatorDecisionEntity } from './entities/operator-decision.entity';
import { runPrepared } from './one-round-trip';

export interface AttemptResult {
  state: Exclude<InitiationAttemptState, 'sending'>;
  bankResourceId?: string | null;
  httpStatus?: number | null;
  detail?: string | null;
}

/**
 * The write-ahead log of creations at banks (payments, consents, bulk payments): an attempt is
 * recorded before its request leaves and finished with what came back. Written by the worker
 * only; resources are addressed by id (their workflow owns them).
 */
export class InitiationAttemptRepository {
  constructor(private readonly ds: DataSource) {}

  list(resourceType: InitiationResourceType, resourceId: string): Promise<InitiationAttemptEntity[]> {
    return this.ds.getRepository(InitiationAttemptEntity).find({ where: { resourceType, resourceId }, order: { attempt: 'ASC' } });
  }

  /**
   * Records the next attempt as `sending` and returns its number, unless an attempt after
   * `createAgainAfter` is unresolved (it may have reached the bank): then nothing is written and
   * `undefined` comes back. Two concurrent callers cannot both begin (the attempt number is the
   * key). One statement where reading the attempts and then beginning took two round trips
   * (issue 12); the caller reads them only when blocked.
   */
  async beginUnlessBlocked(resourceType: InitiationResourceType, resourceId: string, requestId: string, createAgainAfter: number): Promise<number | undefined> {
    const rows = (await runPrepared(this.ds, {
      sql: `INSERT INTO bank_initiation_attempts (resource_type, resource_id, attempt, request_id, state)
       SELECT $1::varchar, $2::uuid, COALESCE(MAX(attempt), 0) + 1, $3::uuid, 'sending'
         FROM bank_initiation_attempts WHERE resource_type = $1::varchar AND resource_id = $2::uuid
       HAVING bool_or(state = ANY ($4::varchar[]) AND attempt > $5::int) IS NOT TRUE
       RETURNING attempt`,
      // A refusal blocks too: it ends the creation (see createAtMostOnce).
      params: [resourceType, resourceId, requestId, [...UNRESOLVED_ATTEMPT_STATES, 'refused'], createAgainAfter],
    })) as { attempt: number }[];
    return rows[0]?.attempt;
  }

  async finish(resourceType: InitiationResourceType, resourceId: string, attempt: number, result: AttemptResult): Promise<void> {
    await this.ds.getRepository(InitiationAttemptEntity).update(
      { resourceType, resourceId, attempt },
      {
        state: result.state,
        bankResourceId: result.bankResourceId ?? null,
        httpStatus: result.httpStatus ?? null,
        detail: result.detail?.slice(0, 300) ?? null,
        finishedAt: new Date(),
      },
    );
  }

  /** Attempts whose worker died mid-call: the bank may have acted on them. */
  async markInterruptedAsAmbiguous(resourceType: InitiationResourceType, resourceId: string): Promise<void> {
    await this.ds.getRepository(InitiationAttemptEntity).update(
      { resourceType, resourceId, state: 'sending' },
      { state: 'ambiguous', detail: 'interrupted mid-call (worker lost or activity timed out)', finishedAt: new Date() },
    );
  }

  /** What earlier attempts are known to have created besides the resource Clearway kept, not yet cleaned up. */
  async orphans(resourceType: InitiationResourceType, resourceId: string, kept: string | null): Promise<InitiationAttemptEntity[]> {
    const rows = await this.ds
      .getRepository(InitiationAttemptEntity)
      .find({ where: { resourceType, resourceId, bankResourceId: Not(IsNull()), orphanState: IsNull() }, order: { attempt: 'ASC' } });
    return rows.filter((r) => r.bankResourceId !== kept);
  }

  async markOrphan(resourceType: InitiationResourceType, resourceId: string, attempt: number, orphanState: 'cancelled' | 'cancel_failed'): Promise<void> {
    await this.ds.getRepository(InitiationAttemptEntity).update({ resourceType, resourceId, attempt }, { orphanState });
  }
}

export type NewOperatorDecision = Pick<
  OperatorDecisionEntity,
  'tenantId' | 'resourceType' | 'resourceId' | 'updateId' | 'operator' | 'decision' | 'bankResourceId' | 'reason'
>;

/** The audit trail of operators' decisions on unknown outcomes: append-only. */
export class OperatorDecisionRepository {
  constructor(private readonly ds: DataSource) {}

  /** Idempotent per Temporal update: a retried recording adds nothing. */
  async record(decision: NewOperatorDecision): Promise<void> {
    await this.ds.createQueryBuilder().insert().into(OperatorDecisionEntity).values(decision).orIgnore().execute();
  }

  /** Tenant first, like every read the API may make. */
  listForResource(tenantId: string, resourceType: InitiationResourceType, resourceId: string): Promise<OperatorDecisionEntity[]> {
    return this.ds.getRepository(OperatorDecisionEntity).find({ where: { tenantId, resourceType, resourceId }, order: { decidedAt: 'ASC' } });
  }
}
