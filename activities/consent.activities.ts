import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  isBankError,
  supportsAccountInformation,
  type AccountInformationAdapter,
  type AccountReadRef,
  type BankAdapter,
  type BankConnection,
  type BankProtocol,
  type PsuContext,
} from '../libs/adapters/bank-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import type { BankConsentStatus } from '../libs/domain/consent';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import { initiationSafetyFacts, isAmbiguousCreation } from '../libs/domain/initiation-safety';
import type { BankScaStatus } from '../libs/domain/transaction-status';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import type { ConsentRepository, ConsentStatusChange } from '../libs/persistence/consent.repository';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { AspspEntity } from '../libs/persistence/entities/aspsp.entity';
import type { ConsentEntity } from '../libs/persistence/entities/consent.entity';
import type { InitiationAttemptRepository } from '../libs/persistence/initiation-attempt.repository';
import { oauthCallbackUrl, oauthCodeVerifier, oauthState, scaCallbackUrl } from '../libs/security/callback-state';
import type { BankGrants } from '../libs/security/bank-grants';
import type { HmacSigner } from '../libs/security/hmac-signer';
import { HANDOFF_PURPOSES } from '../libs/security/handoff-purposes';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import type {
  AccountReadRequest,
  AccountReadResult,
  ConsentCreationAttempt,
  ConsentCreationSummary,
  PsuDataUpdateRequest,
  PsuDataUpdateSummary,
  StartedConsentAuthorisation,
} from '../workflows/consent.api';
import { toActivityFailure } from './bank-failure';
import { createAtMostOnce } from './initiation-guard';
import { openPsuDataUpdate, toPsuDataSummary } from './psu-data';
import { logicalCallRequestId } from './request-ids';
import { consentGrantForReads } from './oauth-grants';

export interface ConsentActivityDeps {
  consents: ConsentRepository;
  directory: DirectoryRepository;
  initiationAttempts: InitiationAttemptRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  handoffs: SensitiveHandoffs;
  /** Tokens from an OAuth/OIDC SCA of the consent (activities/oauth-authorisation.activities.ts). */
  grants?: BankGrants;
  logger: Logger;
}

/** How long a bank answer waits in ais_read_results for the API to pick it up. */
const READ_RESULT_TTL_MS = 5 * 60_000;

/**
 * Consent and account-information activities: call the adapter, persist what the bank said, and
 * return ids and statuses only. Account data goes to PostgreSQL for the API to pick up; a PSU's
 * secrets arrive sealed (SensitiveHandoffs) and are deleted once used.
 */
export function createConsentActivities(deps: ConsentActivityDeps) {
  async function load(consentId: string): Promise<{ consent: ConsentEntity; aspsp: AspspEntity; ais: AccountInformationAdapter; conn: BankConnection }> {
    const consent = await deps.consents.findById(consentId);
    if (!consent) throw failure(FailureType.ConsentNotFound, `Consent ${consentId} not found`);
    const aspsp = await deps.directory.findAspsp(consent.bicFi);
    if (!aspsp) throw failure(FailureType.ConsentNotFound, `ASPSP ${consent.bicFi} not found`);
    const adapter = deps.adapterFor(aspsp.protocol);
    if (!supportsAccountInformation(adapter)) {
      throw failure(FailureType.BankRejected, `${aspsp.bicFi} (${aspsp.protocol}) offers no account information`);
    }
    return { consent, aspsp, ais: adapter, conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  /** The bank's consent plus the request id of this logical call (`step` names it). */
  function consentRef(consent: ConsentEntity, step: string, psu?: PsuContext) {
    if (!consent.bankConsentId) {
      throw failure(FailureType.ConsentNotFound, `Consent ${consent.id} was never created at the bank`);
    }
    return { bankConsentId: consent.bankConsentId, requestId: logicalCallRequestId(consent.id, step), psu: psu ?? { psuId: consent.psuId ?? undefined } };
  }

  function redirectUris(consentId: string) {
    return {
      okUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, consentId, 'ok', 'consents'),
      nokUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, consentId, 'nok', 'consents'),
    };
  }

  /** For banks whose SCA is an OAuth/OIDC authorisation: Clearway's one callback, and a state naming this consent. */
  const oauthRedirect = (consentId: string) => ({
    redirectUri: oauthCallbackUrl(deps.publicBaseUrl),
    state: oauthState(deps.callbackSigner, { resource: 'consents', id: consentId }),
    codeVerifier: oauthCodeVerifier(deps.callbackSigner, { resource: 'consents', id: consentId }),
  });


  return {
    /**
     * Creates the consent at the bank at most once per logical creation (`createAtMostOnce`): an
     * attempt that may have reached the bank stops every later one from sending, unless the
     * workflow passes `createAgainAfterAttempt` after judging a duplicate harmless.
     */
    async createConsentAtBank(consentId: string, opts: { createAgainAfterAttempt?: number } = {}): Promise<ConsentCreationAttempt> {
      const { consent, aspsp, ais, conn } = await load(consentId);
      const outcome = await createAtMostOnce(deps.initiationAttempts, {
        resourceType: 'consent',
        resourceId: consentId,
        requestId: deriveUuid(CLEARWAY_ID_NAMESPACE, consentId, 'create-consent'),
        createAgainAfterAttempt: opts.createAgainAfterAttempt,
        recorded: async () => {
          if (!consent.bankConsentId || !consent.scaApproach) return undefined;
          const [authorisation] = await deps.consents.listAuthorisations(consent.tenantId, consentId);
          return {
            bankConsentId: consent.bankConsentId,
            status: { raw: consent.rawConsentStatus ?? consent.consentStatus, normalised: consent.consentStatus },
            scaApproach: consent.scaApproach,
            ...(authorisation ? { authorisationId: authorisation.authorisationId } : {}),
            ...(consent.scaRedirectUrl ? { scaRedirectUrl: consent.scaRedirectUrl } : {}),
            ...(consent.psuMessage ? { psuMessage: consent.psuMessage } : {}),
          };
        },
        send: (requestId) =>
          ais.createConsent(conn, {
            idempotencyKey: requestId,
            consent: {
              access: consent.access,
              recurringIndicator: consent.recurringIndicator,
              validUntil: consent.requestedValidUntil,
              frequencyPerDay: consent.frequencyPerDay,
              combinedServiceIndicator: consent.combinedServiceIndicator,
            },
            psu: { psuId: consent.psuId ?? undefined, psuIpAddress: consent.psuIpAddress ?? undefined },
            redirect: redirectUris(consentId),
            oauth: oauthRedirect(consentId),
          }),
        record: async (created) => {
          await deps.consents.recordCreation(consentId, {
            bankConsentId: created.bankConsentId,
            status: created.status,
            scaApproach: created.scaApproach,
            scaRedirectUrl: created.scaRedirectUrl ?? null,
            psuMessage: created.psuMessage ?? null,
            // The authorisation in the same transaction: a crash between two writes would leave a creation without it.
            ...(created.authorisationId
              ? { authorisation: { authorisationId: created.authorisationId, scaApproach: created.scaApproach, scaRedirectUrl: created.scaRedirectUrl ?? null, scaStatus: { raw: 'received', normalised: 'received' } } }
              : {}),
          });
        },
        bankIdOf: (created) => created.bankConsentId,
        facts: initiationSafetyFacts(aspsp, Boolean(consent.psuId), 'consent'),
      });
      if (isAmbiguousCreation(outcome)) {
        deps.logger.warn({ consentId, bicFi: consent.bicFi, reason: outcome.reason }, 'consent creation ambiguous: the bank may hold a consent');
        return outcome;
      }
      const created = outcome;
      deps.logger.info({ consentId, bicFi: consent.bicFi, scaApproach: created.scaApproach }, 'consent created at bank');
      return {
        bankConsentId: created.bankConsentId,
        consentStatus: created.status.normalised,
        scaApproach: created.scaApproach,
        authorisationId: created.authorisationId,
        scaRedirectUrl: created.scaRedirectUrl,
        psuMessage: created.psuMessage,
      } satisfies ConsentCreationSummary;
    },

    /** Consents that earlier creation attempts made besides the one kept, where the bank named them: deleted. */
    async deleteOrphanedConsents(consentId: string): Promise<{ deleted: number; failed: number }> {
      const { consent, ais, conn } = await load(consentId);
      let deleted = 0;
      let failed = 0;
      for (const orphan of await deps.initiationAttempts.orphans('consent', consentId, consent.bankConsentId)) {
        const ref = {
          bankConsentId: orphan.bankResourceId!,
          requestId: deriveUuid(CLEARWAY_ID_NAMESPACE, consentId, 'delete-orphan', orphan.bankResourceId!),
          psu: { psuId: consent.psuId ?? undefined },
        };
        try {
          await ais.deleteConsent(conn, ref);
          await deps.initiationAttempts.markOrphan('consent', consentId, orphan.attempt, 'cancelled');
          deleted += 1;
        } catch (err) {
          if (!isBankError(err) || err.fate !== 'refused') return toActivityFailure(err);
          await deps.initiationAttempts.markOrphan('consent', consentId, orphan.attempt, 'cancel_failed');
          failed += 1;
        }
      }
      return { deleted, failed };
    },

    /** What the bank granted; the real validUntil and frequencyPerDay are persisted. */
    async getBankConsent(consentId: string): Promise<{ status: BankConsentStatus; validUntil: string; frequencyPerDay: number }> {
      const { consent, ais, conn } = await load(consentId);
      const details = await ais.getConsent(conn, consentRef(consent, 'get-consent')).catch(toActivityFailure);
      await deps.consents.recordGrant(consentId, { validUntil: details.validUntil, frequencyPerDay: details.frequencyPerDay, lastActionDate: details.lastActionDate });
      return { status: details.status, validUntil: details.validUntil, frequencyPerDay: details.frequencyPerDay };
    },

    async getBankConsentStatus(consentId: string): Promise<BankConsentStatus> {
      const { consent, ais, conn } = await load(consentId);
      return ais.getConsentStatus(conn, consentRef(consent, 'consent-status')).catch(toActivityFailure);
    },

    async getBankConsentScaStatus(consentId: string, authorisationId: string): Promise<BankScaStatus> {
      const { consent, ais, conn } = await load(consentId);
      return ais.getConsentScaStatus(conn, { ...consentRef(consent, 'consent-sca-status'), authorisationId }).catch(toActivityFailure);
    },

    async startConsentAuthorisationAtBank(consentId: string): Promise<StartedConsentAuthorisation> {
      const { consent, ais, conn } = await load(consentId);
      const started = await ais.startConsentAuthorisation(conn, { ...consentRef(consent, 'start-consent-authorisation'), redirect: redirectUris(consentId), oauth: oauthRedirect(consentId) }).catch(toActivityFailure);
      await deps.consents.upsertAuthorisation({
        consentId,
        authorisationId: started.authorisationId,
        scaApproach: started.scaApproach,
        scaRedirectUrl: started.scaRedirectUrl ?? null,
        scaStatus: started.scaStatus,
      });
      return {
        authorisationId: started.authorisationId,
        scaStatus: started.scaStatus.normalised,
        scaApproach: started.scaApproach,
        scaRedirectUrl: started.scaRedirectUrl,
        psuMessage: started.psuMessage,
      };
    },

    async updateConsentPsuDataAtBank(consentId: string, req: PsuDataUpdateRequest): Promise<PsuDataUpdateSummary> {
      const { consent, ais, conn } = await load(consentId);
      const update = await openPsuDataUpdate(deps.handoffs, consent.tenantId, req, consent.psuId ?? undefined);
      const result = await ais.updateConsentPsuData(conn, { ...consentRef(consent, 'update-consent-psu-data'), authorisationId: req.authorisationId }, update).catch(toActivityFailure);
      if (req.handoffId) await deps.handoffs.discard(req.handoffId);
      await deps.consents.upsertAuthorisation({
        consentId,
        authorisationId: req.authorisationId,
        scaApproach: 'EMBEDDED',
        scaRedirectUrl: null,
        scaStatus: result.scaStatus,
      });
      return toPsuDataSummary(result);
    },

    async deleteConsentAtBank(consentId: string): Promise<void> {
      const { consent, ais, conn } = await load(consentId);
      if (!consent.bankConsentId) return;
      await ais.deleteConsent(conn, consentRef(consent, 'delete-consent')).catch(toActivityFailure);
      await deps.grants?.discard('consent', consentId);
    },

    /** One AIS read at the bank; the answer goes to ais_read_results, only its id to the workflow. */
    async readAccountData(consentId: string, req: AccountReadRequest): Promise<AccountReadResult> {
      // A read run again for the same update (a lost workflow task) finds the answer of its first run.
      const resultId = req.readId ? deriveUuid(CLEARWAY_ID_NAMESPACE, consentId, 'ais-read', req.readId) : randomUUID();
      if (req.readId && (await deps.consents.hasReadResult(resultId))) return { resultId };
      const { consent, ais, conn } = await load(consentId);
      let psu: PsuContext = { psuId: consent.psuId ?? undefined };
      if (req.psuContextHandoffId) {
        const context = await deps.handoffs.open(consent.tenantId, req.psuContextHandoffId, HANDOFF_PURPOSES.psuContext);
        if (context === undefined) throw failure(FailureType.HandoffExpired, 'The PSU context expired; repeat the request');
        psu = { ...psu, ...(JSON.parse(context) as PsuContext) };
      }
      const grant = await consentGrantForReads(deps.grants, ais, conn, consent).catch(toActivityFailure);
      const ref: AccountReadRef = { ...consentRef(consent, `read-${req.endpoint}`, psu), ...(grant ? { grant } : {}) };
      const body = await readAtBank(ais, conn, ref, req).catch(toActivityFailure);
      await deps.consents.storeReadResult({ id: resultId, tenantId: consent.tenantId, consentId, body, ttlMs: READ_RESULT_TTL_MS });
      if (req.psuContextHandoffId) await deps.handoffs.discard(req.psuContextHandoffId);
      return { resultId };
    },

    async recordConsentStatus(change: ConsentStatusChange): Promise<void> {
      await deps.consents.recordStatusChange(change);
      deps.logger.info({ consentId: change.consentId, kind: change.kind, status: change.status, reason: change.reason }, 'consent status changed');
    },

    async emitConsentEvent(e: { consentId: string; type: string; dedupeKey: string; payload: Record<string, unknown> }): Promise<void> {
      const consent = await deps.consents.findById(e.consentId);
      if (!consent) return;
      await deps.consents.emitEvent({ tenantId: consent.tenantId, type: e.type, subjectId: e.consentId, dedupeKey: e.dedupeKey, payload: e.payload });
    },
  };
}

async function readAtBank(ais: AccountInformationAdapter, conn: BankConnection, ref: AccountReadRef, req: AccountReadRequest): Promise<Record<string, unknown>> {
  switch (req.endpoint) {
    case 'accounts':
      return ais.listAccounts(conn, ref, { withBalance: req.withBalance ?? false });
    case 'account':
      return ais.getAccount(conn, ref, req.accountId!, { withBalance: req.withBalance ?? false });
    case 'balances':
      return ais.getBalances(conn, ref, req.accountId!);
    case 'transactions':
      return { ...(await ais.getTransactions(conn, ref, req.accountId!, { ...req.query!, withBalance: req.withBalance })) };
    case 'transaction':
      return ais.getTransaction(conn, ref, req.accountId!, req.transactionId!);
  }
}

export type ConsentActivities = ReturnType<typeof createConsentActivities>;
