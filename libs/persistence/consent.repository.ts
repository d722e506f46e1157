import { type DataSource, type EntityManager } from 'typeorm';
import type { SignedCallbackId } from '../security/callback-state';
import type { BankConsentStatus } from '../domain/consent';
import type { BankScaStatus, ScaApproach } from '../domain/transaction-status';
import {
  AisReadResultEntity,
  ConsentAuthorisationEntity,
  ConsentEntity,
  ConsentEventEntity,
  DomainEventEntity,
} from './entities/consent.entity';
import { appendEvent, changeWithEvent } from './event-outbox';
import { RecentlyRead } from './recently-read';
import { consentStatusEvent, genericEvent, isWebhookEventType } from '../webhooks/events';

export type NewConsent = Pick<
  ConsentEntity,
  | 'id'
  | 'tenantId'
  | 'clientId'
  | 'requestId'
  | 'requestHash'
  | 'bicFi'
  | 'access'
  | 'recurringIndicator'
  | 'requestedValidUntil'
  | 'frequencyPerDay'
  | 'combinedServiceIndicator'
  | 'psuId'
  | 'psuIpAddress'
  | 'clientRedirectUri'
  | 'clientNokRedirectUri'
>;

export interface ConsentStatusChange {
  consentId: string;
  /** From the workflow: a retried write of the same change is a no-op. */
  seq: number;
  kind: 'consent_status' | 'sca_status';
  status: string;
  rawStatus: string | null;
  reason?: string | null;
  authorisationId?: string;
}

/** Consents, their sub-resources and the short-lived rows around AIS reads. Reads are tenant-first. */
export class ConsentRepository {
  /** The tenant of each consent this process read (`recordStatusChange`'s event names it). */
  private readonly tenants = new RecentlyRead<string>();

  constructor(private readonly ds: DataSource) {}

  async insertOrGetExisting(consent: NewConsent): Promise<{ consent: ConsentEntity; created: boolean }> {
    const result = await this.ds
      .createQueryBuilder()
      .insert()
      .into(ConsentEntity)
      .values({ ...consent, consentStatus: 'received' })
      .orIgnore()
      .returning(['id'])
      .execute();
    const stored = await this.ds.getRepository(ConsentEntity).findOneByOrFail({ tenantId: consent.tenantId, requestId: consent.requestId });
    return { consent: stored, created: result.raw.length > 0 };
  }

  findForTenant(tenantId: string, id: string): Promise<ConsentEntity | null> {
    return this.ds.getRepository(ConsentEntity).findOneBy({ tenantId, id });
  }

  /** Worker side: the workflow owns the consent it was started for. Not part of {@link TenantConsentRepository}. */
  async findById(id: string): Promise<ConsentEntity | null> {
    const consent = await this.ds.getRepository(ConsentEntity).findOneBy({ id });
    if (consent) this.tenants.remember(consent.id, consent.tenantId);
    return consent;
  }

  /** The SCA callback: a browser with no token, whose link's signature names the consent. */
  findBySignedCallback(id: SignedCallbackId): Promise<ConsentEntity | null> {
    return this.ds.getRepository(ConsentEntity).findOneBy({ id });
  }

  async deleteUncreated(tenantId: string, id: string): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .delete()
      .from(ConsentEntity)
      .where('tenant_id = :tenantId AND id = :id AND bank_consent_id IS NULL', { tenantId, id })
      .execute();
  }

  async recordCreation(
    id: string,
    c: {
      bankConsentId: string;
      status: BankConsentStatus;
      scaApproach: ScaApproach;
      scaRedirectUrl: string | null;
      psuMessage: string | null;
      /** The authorisation the bank created with the consent, in the same transaction (a crash between two writes would lose it). */
      authorisation?: { authorisationId: string; scaApproach: ScaApproach; scaRedirectUrl: string | null; scaStatus: BankScaStatus };
    },
  ): Promise<void> {
    await this.ds.transaction(async (em) => {
      await em.getRepository(ConsentEntity).update(
        { id },
        {
          bankConsentId: c.bankConsentId,
          consentStatus: c.status.normalised,
          rawConsentStatus: c.status.raw,
          scaApproach: c.scaApproach,
          scaRedirectUrl: c.scaRedirectUrl,
          psuMessage: c.psuMessage,
        },
      );
      if (c.authorisation) await this.upsertAuthorisation({ consentId: id, ...c.authorisation }, em);
    });
  }

  async recordGrant(id: string, grant: { validUntil: string; frequencyPerDay: number; lastActionDate?: string }): Promise<void> {
    await this.ds
      .getRepository(ConsentEntity)
      .update({ id }, { validUntil: grant.validUntil, frequencyPerDay: grant.frequencyPerDay, lastActionDate: grant.lastActionDate ?? null });
  }

  async upsertAuthorisation(a: {
    consentId: string;
    authorisationId: string;
    scaApproach: ScaApproach;
    scaRedirectUrl: string | null;
    scaStatus: BankScaStatus;
  }, em: EntityManager = this.ds.manager): Promise<void> {
    await em
      .createQueryBuilder()
      .insert()
      .into(ConsentAuthorisationEntity)
      .values({
        consentId: a.consentId,
        authorisationId: a.authorisationId,
        scaApproach: a.scaApproach,
        scaRedirectUrl: a.scaRedirectUrl,
        scaStatus: a.scaStatus.normalised,
        rawScaStatus: a.scaStatus.raw,
      })
      .orUpdate(['sca_status', 'raw_sca_status', 'updated_at'], ['consent_id', 'authorisation_id'])
      .execute();
  }

  listAuthorisations(tenantId: string, consentId: string): Promise<ConsentAuthorisationEntity[]> {
    return this.authorisationsOfTenant(tenantId, consentId).orderBy('a.createdAt', 'ASC').getMany();
  }

  findAuthorisation(tenantId: string, consentId: string, authorisationId: string): Promise<ConsentAuthorisationEntity | null> {
    return this.authorisationsOfTenant(tenantId, consentId).andWhere('a.authorisation_id = :authorisationId', { authorisationId }).getOne();
  }

  private authorisationsOfTenant(tenantId: string, consentId: string) {
    return this.ds
      .getRepository(ConsentAuthorisationEntity)
      .createQueryBuilder('a')
      .innerJoin(ConsentEntity, 'c', 'c.id = a.consent_id')
      .where('c.tenant_id = :tenantId AND a.consent_id = :consentId', { tenantId, consentId });
  }

  listEvents(consentId: string): Promise<ConsentEventEntity[]> {
    return this.ds.getRepository(ConsentEventEntity).find({ where: { consentId }, order: { seq: 'ASC' } });
  }

  /**
   * One status change, its history row and its outbox event, atomically and in one round trip (as
   * `PaymentRepository.recordStatusChange`: the outbox's lock, the change, then the event's fan-out,
   * whose snapshot follows the lock). It was seven or eight. Replaying (consentId, seq) changes
   * nothing: the history row exists, and so does the event's dedupe key.
   */
  async recordStatusChange(change: ConsentStatusChange): Promise<void> {
    const tenantId = await this.tenantOf(change.consentId);
    const event = consentStatusEvent({ id: change.consentId, tenantId }, change);
    await changeWithEvent(
      this.ds,
      change.consentId,
      {
        sql: `WITH ev AS (
           INSERT INTO consent_events (consent_id, seq, kind, status, raw_status, reason)
           VALUES ($1::uuid, $2::int, $3::varchar, $4::varchar, $5::varchar, $6::varchar)
           ON CONFLICT (consent_id, seq) DO NOTHING
           RETURNING consent_id
         ), consent AS (
           UPDATE consents c SET
             consent_status = CASE WHEN $3::varchar = 'consent_status' THEN $4::varchar ELSE c.consent_status END,
             raw_consent_status = CASE WHEN $3::varchar = 'consent_status' THEN $5::varchar ELSE c.raw_consent_status END,
             status_reason = CASE WHEN $3::varchar = 'consent_status' THEN $6::varchar ELSE c.status_reason END,
             sca_status = CASE WHEN $3::varchar = 'sca_status' THEN $4::varchar ELSE c.sca_status END,
             updated_at = now()
             FROM ev WHERE c.id = ev.consent_id
         )
         UPDATE consent_authorisations a SET sca_status = $4::varchar, raw_sca_status = COALESCE($5::varchar, $4::varchar), updated_at = now()
           FROM ev WHERE $3::varchar = 'sca_status' AND a.consent_id = ev.consent_id AND a.authorisation_id = $7::varchar`,
        params: [change.consentId, change.seq, change.kind, change.status, change.rawStatus, change.reason ?? null, change.authorisationId ?? null],
      },
      // The webhook event commits with the change (transactional outbox).
      event,
    );
  }

  /** A consent's tenant never changes: from memory when this process has read the consent. */
  private tenantOf(consentId: string): Promise<string> {
    return this.tenants.getOrRead(consentId, 'Consent', async () => {
      const rows: { tenant_id: string }[] = await this.ds.query('SELECT tenant_id FROM consents WHERE id = $1', [consentId]);
      return rows[0]?.tenant_id;
    });
  }

  /** An event for the client with no status change of its own (consent.expiring): into the outbox. Emitting twice stores it once. */
  async emitEvent(e: { tenantId: string; type: string; subjectId: string; dedupeKey: string; payload: Record<string, any> }): Promise<void> {
    const type = e.type;
    if (!isWebhookEventType(type)) throw new Error(`${type} is not in the webhook event catalogue (libs/webhooks/events.ts)`);
    await this.ds.transaction((em) => appendEvent(em, genericEvent({ type, tenantId: e.tenantId, subjectId: e.subjectId, dedupeKey: e.dedupeKey, data: e.payload })));
  }

  listDomainEvents(tenantId: string, subjectId: string): Promise<DomainEventEntity[]> {
    return this.ds.getRepository(DomainEventEntity).find({ where: { tenantId, subjectId }, order: { occurredAt: 'ASC' } });
  }

  /**
   * Hands a bank answer over to the API under `id` (kept if one is already there), and purges the
   * answers nobody took before they expired: one statement, one round trip per read (issue 12).
   */
  async storeReadResult(r: { id: string; tenantId: string; consentId: string; body: Record<string, any>; ttlMs: number }, now = new Date()): Promise<void> {
    await this.ds.query(
      `WITH purged AS (DELETE FROM ais_read_results WHERE expires_at < $6)
       INSERT INTO ais_read_results (id, tenant_id, consent_id, body, expires_at)
       VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (id) DO NOTHING`,
      [r.id, r.tenantId, r.consentId, JSON.stringify(r.body), new Date(now.getTime() + r.ttlMs), now],
    );
  }

  /** Whether a bank answer is waiting under this id (stored by a read, not yet taken by the API). */
  async hasReadResult(id: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query('SELECT 1 FROM ais_read_results WHERE id = $1', [id]);
    return rows.length > 0;
  }

  /** Reads and deletes a bank answer handed over by the worker. */
  async takeReadResult(tenantId: string, id: string): Promise<Record<string, unknown> | null> {
    const result = await this.ds
      .createQueryBuilder()
      .delete()
      .from(AisReadResultEntity)
      .where('id = :id AND tenant_id = :tenantId', { id, tenantId })
      .returning(['body'])
      .execute();
    return (result.raw as { body: Record<string, unknown> }[])[0]?.body ?? null;
  }
}

/**
 * What the API may do with consents and their reads: every method names the tenant first (or, for
 * the SCA callback, a signed id). See {@link TenantPaymentRepository}.
 */
export type TenantConsentRepository = Pick<
  ConsentRepository,
  'insertOrGetExisting' | 'findForTenant' | 'findBySignedCallback' | 'deleteUncreated' | 'listAuthorisations' | 'findAuthorisation' | 'takeReadResult'
>;
/** The API's injection token for {@link TenantConsentRepository}. */
export const TENANT_CONSENTS = Symbol('TenantConsentRepository');
