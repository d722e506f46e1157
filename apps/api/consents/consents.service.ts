import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { consentDetails, consentSummary } from '../../../workflows/shared/ui-metadata';
import { WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../../libs/domain/ids';
import type { Logger } from '../../../libs/observability/logger';
import { TENANT_CONSENTS, type TenantConsentRepository } from '../../../libs/persistence/consent.repository';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { ConsentEntity } from '../../../libs/persistence/entities/consent.entity';
import { verifyCallbackState } from '../../../libs/security/callback-state';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { SensitiveHandoffs } from '../../../libs/security/sensitive-handoffs';
import { BicFi, ConsentStatus, TenantId } from '../../../libs/temporal/search-attributes';
import {
  consentCreationUpdate,
  consentScaCallbackSignal,
  consentWorkflowId,
  startConsentAuthorisationUpdate,
  terminateConsentUpdate,
  updateConsentPsuDataUpdate,
  type ConsentTimings,
} from '../../../workflows/consent.api';
import type { consentWorkflow } from '../../../workflows/consent.workflow';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import type { HttpResult } from '../common/http-result';
import { sealPsuDataUpdate, toPsuDataUpdateResponse } from '../common/psu-data-update';
import { requiredHeader } from '../common/request-headers';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { isConsentRefusal, toConsentApiError } from './consent-refusal';
import { consentAuthorisationPath, toConsentCreatedResponse, toConsentResponse } from './consent.mapper';
import { grantsOf, validateConsentRequest } from './consent-request.validator';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

export interface ConsentHeaders {
  requestId: string;
  bicFi: string | undefined;
  psuId: string | undefined;
  /** The PSU's address, or the caller's where the client gave none (BG's fallback; the bank requires one). */
  psuIpAddress: string;
  redirectUri: string | undefined;
  nokRedirectUri: string | undefined;
}


/**
 * Consent use cases. The consent's workflow does everything that reaches the bank; this service
 * validates, stores the request, and talks to the workflow.
 */
@Injectable()
export class ConsentsService {
  constructor(
    @Inject(TENANT_CONSENTS) private readonly consents: TenantConsentRepository,
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SensitiveHandoffs) private readonly handoffs: SensitiveHandoffs,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async create(principal: Principal, headers: ConsentHeaders, rawBody: unknown): Promise<HttpResult<object>> {
    const aspsp = await this.aspspFor(headers.bicFi);
    const redirectUri = headers.redirectUri;
    const nokRedirectUri = headers.nokRedirectUri;
    const request = validateConsentRequest(rawBody, new Date().toISOString().slice(0, 10));

    const derivedId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'consent', headers.requestId);
    const requestHash = createHash('sha256')
      .update(JSON.stringify([aspsp.bicFi, request, headers.psuId ?? null, redirectUri ?? null, nokRedirectUri ?? null]))
      .digest('hex');
    const { consent, created } = await this.consents.insertOrGetExisting({
      id: derivedId,
      tenantId: principal.tenantId,
      clientId: principal.clientId,
      requestId: headers.requestId,
      requestHash,
      bicFi: aspsp.bicFi,
      access: request.access,
      recurringIndicator: request.recurringIndicator,
      requestedValidUntil: request.validUntil,
      frequencyPerDay: request.frequencyPerDay,
      combinedServiceIndicator: request.combinedServiceIndicator,
      psuId: headers.psuId ?? null,
      psuIpAddress: headers.psuIpAddress,
      clientRedirectUri: redirectUri ?? null,
      clientNokRedirectUri: nokRedirectUri ?? null,
    });
    // The stored row's id: one stored before X-Request-IDs were normalised to lower case was derived from the id as first sent.
    const consentId = consent.id;
    if (!created && consent.requestHash !== requestHash) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'X-Request-ID was already used for a different consent', 'X-Request-ID');
    }
    if (!created && consent.bankConsentId) return this.createdResponse(consent);

    try {
      const summary = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(consentCreationUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof consentWorkflow>('consentWorkflow', {
            workflowId: consentWorkflowId(consentId),
            taskQueue: taskQueueFor(this.config.temporal, 'consentWorkflow'),
            args: [
              {
                consentId,
                tenantId: principal.tenantId,
                bicFi: aspsp.bicFi,
                frequencyPerDay: request.frequencyPerDay,
                grants: grantsOf(request.access),
                timings: this.timingsFor(aspsp),
              },
            ],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // What the Temporal UI shows (no PII: no account lists, only what is granted).
            staticSummary: consentSummary({ bicFi: aspsp.bicFi, tenantId: principal.tenantId, frequencyPerDay: request.frequencyPerDay, grants: grantsOf(request.access) }),
            staticDetails: consentDetails({
              consentId,
              bicFi: aspsp.bicFi,
              bankName: aspsp.name,
              tenantId: principal.tenantId,
              apiBaseUrl: this.config.api.publicBaseUrl,
              recurring: request.recurringIndicator,
              requestedValidUntil: request.validUntil,
              scaApproaches: aspsp.scaApproaches,
            }),
            typedSearchAttributes: [
              { key: BicFi, value: aspsp.bicFi },
              { key: TenantId, value: principal.tenantId },
              { key: ConsentStatus, value: 'received' },
            ],
          }),
        }),
      );
      this.logger.info({ consentId, bicFi: aspsp.bicFi, scaApproach: summary.scaApproach }, 'consent created');
      return {
        status: 201,
        body: toConsentCreatedResponse(consentId, summary),
        headers: { Location: `/psd2/consent/v1/consents/${consentId}`, 'ASPSP-SCA-Approach': summary.scaApproach },
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = await this.consents.findForTenant(principal.tenantId, consentId);
        if (current?.bankConsentId) return this.createdResponse(current);
        // The bank refused this consent before (it is `rejected`): the same request gets the same kind of answer, in our words.
        throw new ApiError(ApiErrorCode.FormatError, 'The consent requested with this X-Request-ID could not be created at the bank; send a corrected request with a new X-Request-ID', 'X-Request-ID');
      }
      if (isConsentRefusal(err)) throw toConsentApiError(err);
      this.logger.warn({ err, consentId }, 'consent creation did not complete in time');
      if (created && !(await this.workflowExists(consentId))) await this.consents.deleteUncreated(principal.tenantId, consentId);
      throw new ApiError(ApiErrorCode.ServiceUnavailable, 'The bank did not confirm the consent in time. Repeat the request with the same X-Request-ID.');
    }
  }

  async get(principal: Principal, consentId: string, bicFi: string | undefined) {
    return toConsentResponse(await this.find(principal, consentId, bicFi));
  }

  async status(principal: Principal, consentId: string, bicFi: string | undefined) {
    return { consentStatus: (await this.find(principal, consentId, bicFi)).consentStatus };
  }

  async terminate(principal: Principal, consentId: string, bicFi: string | undefined): Promise<void> {
    const consent = await this.find(principal, consentId, bicFi);
    if (consent.consentStatus === 'terminatedByTpp') return;
    try {
      await this.temporal.workflow.getHandle(consentWorkflowId(consent.id)).executeUpdate(terminateConsentUpdate);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError(ApiErrorCode.StatusInvalid, `The consent is already ${consent.consentStatus}`);
      throw toConsentApiError(err);
    }
  }

  async startAuthorisation(principal: Principal, consentId: string, bicFi: string | undefined, rawBody: unknown) {
    const consent = await this.find(principal, consentId, bicFi);
    const handle = this.temporal.workflow.getHandle(consentWorkflowId(consent.id));
    try {
      const started = await handle.executeUpdate(startConsentAuthorisationUpdate);
      const links: Record<string, { href: string }> = { scaStatus: { href: consentAuthorisationPath(consent.id, started.authorisationId) } };
      if (started.scaRedirectUrl) links.scaRedirect = { href: started.scaRedirectUrl };
      if (started.scaApproach === 'EMBEDDED') links.updatePsuAuthentication = { href: consentAuthorisationPath(consent.id, started.authorisationId) };
      const response = {
        scaStatus: started.scaStatus,
        authorisationId: started.authorisationId,
        _links: links,
        ...(started.psuMessage ? { psuMessage: started.psuMessage } : {}),
      };
      // BG lets the first PSU credentials ride along with the start of the authorisation.
      if (isObject(rawBody) && rawBody.psuData !== undefined) {
        const update = await this.updatePsuData(principal, consentId, started.authorisationId, bicFi, rawBody);
        return { ...response, ...update, authorisationId: started.authorisationId };
      }
      return response;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw toConsentApiError(err);
    }
  }

  async listAuthorisations(principal: Principal, consentId: string, bicFi: string | undefined) {
    const consent = await this.find(principal, consentId, bicFi);
    return { authorisationIds: (await this.consents.listAuthorisations(principal.tenantId, consent.id)).map((a) => a.authorisationId) };
  }

  async getAuthorisation(principal: Principal, consentId: string, authorisationId: string, bicFi: string | undefined) {
    const consent = await this.find(principal, consentId, bicFi);
    const authorisation = await this.consents.findAuthorisation(principal.tenantId, consent.id, authorisationId);
    if (!authorisation) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    return { scaStatus: authorisation.scaStatus };
  }

  /**
   * Embedded SCA, one step per call: `{ psuData: { password } }`, then `{ authenticationMethodId }`,
   * then `{ scaAuthenticationData }`. The secret is sealed into PostgreSQL for the worker; only its
   * hand-off id travels through Temporal.
   */
  async updatePsuData(principal: Principal, consentId: string, authorisationId: string, bicFi: string | undefined, rawBody: unknown) {
    const consent = await this.find(principal, consentId, bicFi);
    if (!(await this.consents.findAuthorisation(principal.tenantId, consent.id, authorisationId))) throw ApiError.notFound(`Authorisation ${authorisationId}`);
    const request = await sealPsuDataUpdate(this.handoffs, principal.tenantId, authorisationId, rawBody);
    try {
      const result = await this.temporal.workflow.getHandle(consentWorkflowId(consent.id)).executeUpdate(updateConsentPsuDataUpdate, { args: [request] });
      return toPsuDataUpdateResponse(result, consentAuthorisationPath(consent.id, authorisationId));
    } catch (err) {
      if (request.handoffId) await this.handoffs.discard(request.handoffId);
      throw toConsentApiError(err);
    }
  }

  /** The PSU is back from the bank's consent page: hint the workflow, forward the PSU. */
  async handleScaCallback(consentId: string, result: string | undefined, state: string | undefined): Promise<string | undefined> {
    const signed = verifyCallbackState(this.signer, 'consents', consentId, state);
    const consent = signed && (await this.consents.findBySignedCallback(signed));
    if (!consent) throw ApiError.notFound('Consent');
    const outcome = result === 'nok' ? 'nok' : 'ok';
    try {
      await this.temporal.workflow.getHandle(consentWorkflowId(consentId)).signal(consentScaCallbackSignal, { outcome });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return outcome === 'nok' ? (consent.clientNokRedirectUri ?? consent.clientRedirectUri ?? undefined) : (consent.clientRedirectUri ?? undefined);
  }

  /** Tenant-scoped lookup shared with account information: someone else's consent is unknown. */
  async find(principal: Principal, consentId: string, bicFi: string | undefined): Promise<ConsentEntity> {
    requiredHeader('X-BicFi', bicFi);
    const consent = await this.consents.findForTenant(principal.tenantId, consentId);
    if (!consent || consent.bicFi !== bicFi) throw ApiError.notFound(`Consent ${consentId}`);
    return consent;
  }

  private async aspspFor(bicFi: string | undefined): Promise<AspspEntity> {
    const aspsp = await this.directory.findAspsp(requiredHeader('X-BicFi', bicFi));
    if (!aspsp) throw ApiError.format('X-BicFi', `unknown ASPSP "${bicFi}"; see /psd2/aspspinformation/v1/aspsps`);
    return aspsp;
  }

  private createdResponse(consent: ConsentEntity): HttpResult<object> {
    return {
      status: 201,
      body: toConsentCreatedResponse(consent.id, { consentStatus: consent.consentStatus, scaApproach: consent.scaApproach ?? 'REDIRECT', scaRedirectUrl: consent.scaRedirectUrl, psuMessage: consent.psuMessage }),
      headers: { Location: `/psd2/consent/v1/consents/${consent.id}`, ...(consent.scaApproach ? { 'ASPSP-SCA-Approach': consent.scaApproach } : {}) },
    };
  }

  private timingsFor(aspsp: AspspEntity): ConsentTimings {
    const c = this.config.consents;
    return {
      scaTimeoutMs: (aspsp.scaTimeoutSeconds || this.config.payments.scaTimeoutSeconds) * 1000,
      scaPollInitialMs: 1000,
      scaPollMaxMs: 15_000,
      statusCheckIntervalMs: c.statusCheckIntervalSeconds * 1000,
      expiringNoticeMs: 7 * 24 * 3600_000,
      maxHistoryEvents: c.maxHistoryEvents,
    };
  }

  private async workflowExists(consentId: string): Promise<boolean> {
    try {
      await this.temporal.connection.withDeadline(Date.now() + 2000, () => this.temporal.workflow.getHandle(consentWorkflowId(consentId)).describe());
      return true;
    } catch (err) {
      return !(err instanceof WorkflowNotFoundError);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
