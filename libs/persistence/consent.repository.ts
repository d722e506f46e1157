import { LessThan, type DataSource, type EntityManager } from 'typeorm';
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
import { appendEvent } from './event-outbox';
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
  findById(id: string): Promise<ConsentEntity | null> {
    return this.ds.getRepository(ConsentEntity).findOneBy({ id });
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

  /** One status change plus its history row, atomically; replaying (consentId, seq) changes nothing. */
  async recordStatusChange(change: ConsentStatusChange): Promise<void> {
    await this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(ConsentEventEntity)
        .values({ consentId: change.consentId, seq: change.seq, kind: change.kind, status: change.status, rawStatus: change.rawStatus, reason: change.reason ?? null })
        .orIgnore()
        .returning(['id'])
        .execute();
      if (inserted.raw.length === 0) return;
      if (change.kind === 'consent_status') {
        await em.getRepository(ConsentEntity).update(
          { id: change.consentId },
          { consentStatus: change.status as ConsentEntity['consentStatus'], rawConsentStatus: change.rawStatus, statusReason: change.reason ?? null },
        );
      } else {
        await em.getRepository(ConsentEntity).update({ id: change.consentId }, { scaStatus: change.status as ConsentEntity['scaStatus'] });
        if (change.authorisationId) {
          await em.getRepository(ConsentAuthorisationEntity).update(
            { consentId: change.consentId, authorisationId: change.authorisationId },
            { scaStatus: change.status as ConsentAuthorisationEntity['scaStatus'], rawScaStatus: change.rawStatus ?? change.status },
          );
        }
      }
      // The webhook event commits with the change (transactional outbox).
      await appendEvent(em, consentStatusEvent(await em.getRepository(ConsentEntity).findOneByOrFail({ id: change.consentId }), change));
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

  async storeReadResult(r: { id: string; tenantId: string; consentId: string; body: Record<string, any>; ttlMs: number }): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(AisReadResultEntity)
      .values({ id: r.id, tenantId: r.tenantId, consentId: r.consentId, body: r.body, expiresAt: new Date(Date.now() + r.ttlMs) })
      .orIgnore()
      .execute();
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

  async purgeExpiredReadResults(now = new Date()): Promise<void> {
    await this.ds.getRepository(AisReadResultEntity).delete({ expiresAt: LessThan(now) });
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
