import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  ScheduleNotFoundError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../../libs/domain/ids';
import { isFinalMandateStatus } from '../../../libs/domain/mandate';
import type { Logger } from '../../../libs/observability/logger';
import type { OpMandateEntity, OpMandatePaymentEntity } from '../../../libs/persistence/entities/op-mandate.entity';
import { TENANT_MANDATES, type TenantMandateRepository } from '../../../libs/persistence/op-mandate.repository';
import { verifyCallbackState } from '../../../libs/security/callback-state';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { TenantId } from '../../../libs/temporal/search-attributes';
import {
  cancelMandateUpdate,
  grantFinishSignal,
  mandateAuthorisationUpdate,
  mandateScheduleId,
  mandateWorkflowId,
  pauseMandateUpdate,
  resumeMandateUpdate,
} from '../../../workflows/mandate.api';
import type { mandateWorkflow } from '../../../workflows/mandate.workflow';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import type { HttpResult } from '../common/http-result';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { clientReason, clientRedirect, refusalError, replayedEndError } from './refusals';
import { validateMandateRequest } from './mandate-request.validator';
import { mandateDetails, mandateSummary } from '../../../workflows/shared/ui-metadata';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

const BASE = '/openpayments/v1/mandates';

/** Recurring Open Payments: stored, approved through `mandate-{id}`, paid by the `mandate-{id}` Schedule. */
@Injectable()
export class MandatesService {
  constructor(
    @Inject(TENANT_MANDATES) private readonly mandates: TenantMandateRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async create(principal: Principal, requestId: string, rawBody: unknown): Promise<HttpResult<object>> {
    const request = validateMandateRequest(rawBody, { allowHttp: this.config.openPayments.allowHttp });
    const derivedId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'op-mandate', requestId);
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const { mandate, created } = await this.mandates.insertOrGetExisting({
      id: derivedId,
      tenantId: principal.tenantId,
      clientId: principal.clientId,
      requestId,
      requestHash,
      senderWalletAddress: request.senderWalletAddress,
      receiver: request.receiver,
      debitAmount: request.debitAmount,
      interval: request.interval,
      redirectUri: request.redirectUri ?? null,
      metadata: request.metadata ?? null,
    });
    // The stored row's id: one stored before X-Request-IDs were normalised to lower case was derived from the id as first sent.
    const mandateId = mandate.id;
    if (!created && mandate.requestHash !== requestHash) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'X-Request-ID was already used for a different mandate', 'X-Request-ID');
    }
    if (!created && mandate.interactRedirect) return { status: 201, body: toMandateCreated(mandate, mandate.interactRedirect) };
    if (!created && isFinalMandateStatus(mandate.status)) return this.replayedEnd(mandate);

    try {
      const authorisation = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(mandateAuthorisationUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof mandateWorkflow>('mandateWorkflow', {
            workflowId: mandateWorkflowId(mandateId),
            taskQueue: taskQueueFor(this.config.temporal, 'mandateWorkflow'),
            args: [{ mandateId, tenantId: principal.tenantId, interval: request.interval, timings: this.config.openPayments.timings }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // What the Temporal UI shows: amount, interval and the wallet's host, never the wallet addresses.
            staticSummary: mandateSummary({ amount: request.debitAmount, interval: request.interval, senderWalletAddress: request.senderWalletAddress, tenantId: principal.tenantId }),
            staticDetails: mandateDetails({ mandateId, tenantId: principal.tenantId, apiBaseUrl: this.config.api.publicBaseUrl, interval: request.interval, senderWalletAddress: request.senderWalletAddress }),
            typedSearchAttributes: [{ key: TenantId, value: principal.tenantId }],
          }),
        }),
      );
      this.logger.info({ mandateId, tenantId: principal.tenantId }, 'mandate awaiting authorisation');
      return { status: 201, body: toMandateCreated({ id: mandateId, status: authorisation.status }, authorisation.interactRedirect) };
    } catch (err) {
      const refused = refusalError(err, 'MandateRefused');
      if (refused) throw refused;
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = (await this.mandates.findForTenant(principal.tenantId, mandateId))!;
        if (current.interactRedirect) return { status: 201, body: toMandateCreated(current, current.interactRedirect) };
        return this.replayedEnd(current);
      }
      this.logger.warn({ err, mandateId }, 'mandate did not reach authorisation in time');
      throw new ApiError(ApiErrorCode.ServiceUnavailable, 'The wallet did not answer in time. Repeat the request with the same X-Request-ID.');
    }
  }

  /** A repeated `POST` for a mandate that ended before the PSU had a link: see {@link replayedEndError}. */
  private async replayedEnd(mandate: OpMandateEntity): Promise<never> {
    let state: Awaited<ReturnType<typeof mandateWorkflow>> | undefined;
    try {
      const handle = this.temporal.workflow.getHandle<typeof mandateWorkflow>(mandateWorkflowId(mandate.id));
      state = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () => handle.result());
    } catch (err) {
      this.logger.warn({ err, mandateId: mandate.id }, 'the ended mandate workflow has no result to replay');
    }
    throw replayedEndError(state?.refusal, mandate.status, 'mandate');
  }

  async get(principal: Principal, mandateId: string) {
    const mandate = await this.find(principal, mandateId);
    const periods = await this.mandates.listPeriodsForTenant(principal.tenantId, mandateId);
    return toMandateResponse(mandate, periods, await this.scheduleInfo(mandate));
  }

  pause(principal: Principal, mandateId: string) {
    return this.command(principal, mandateId, pauseMandateUpdate, 'paused');
  }

  resume(principal: Principal, mandateId: string) {
    return this.command(principal, mandateId, resumeMandateUpdate, 'resumed');
  }

  /** Revokes the grant at the wallet and deletes the Schedule (done by the mandate's workflow). */
  async cancel(principal: Principal, mandateId: string) {
    const mandate = await this.find(principal, mandateId);
    if (mandate.status === 'cancelled') return { mandateId, status: 'cancelled' };
    return this.command(principal, mandateId, cancelMandateUpdate, 'cancelled');
  }

  /** The PSU is back from their wallet's consent page: hand the result to the workflow, send them on. */
  async handleFinish(mandateId: string, query: { state?: string; hash?: string; interact_ref?: string; result?: string }): Promise<string | undefined> {
    const signed = verifyCallbackState(this.signer, 'mandates', mandateId, query.state);
    const mandate = signed && (await this.mandates.findBySignedCallback(signed));
    if (!mandate) throw ApiError.notFound('Mandate');
    try {
      await this.temporal.workflow.getHandle(mandateWorkflowId(mandateId)).signal(grantFinishSignal, { hash: query.hash, interactRef: query.interact_ref, result: query.result });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return clientRedirect(mandate.redirectUri, 'mandateId', mandateId);
  }

  private async command(principal: Principal, mandateId: string, update: typeof pauseMandateUpdate, verb: string) {
    await this.find(principal, mandateId);
    try {
      const result = await this.temporal.workflow.getHandle(mandateWorkflowId(mandateId)).executeUpdate(update);
      return { mandateId, status: result.status };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        const current = await this.find(principal, mandateId);
        throw new ApiError(ApiErrorCode.StatusInvalid, `The mandate cannot be ${verb}: it is ${current.status}`);
      }
      throw err;
    }
  }

  private async scheduleInfo(mandate: OpMandateEntity) {
    if (!mandate.scheduleId) return undefined;
    try {
      const d = await this.temporal.schedule.getHandle(mandateScheduleId(mandate.id)).describe();
      return {
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        nextRunTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
        ...(d.state.remainingActions !== undefined ? { remainingRuns: d.state.remainingActions } : {}),
      };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return { scheduleId: mandate.scheduleId, deleted: true };
      throw err;
    }
  }

  private async find(principal: Principal, mandateId: string): Promise<OpMandateEntity> {
    const mandate = await this.mandates.findForTenant(principal.tenantId, mandateId);
    if (!mandate) throw ApiError.notFound(`Mandate ${mandateId}`);
    return mandate;
  }
}

function toMandateCreated(m: Pick<OpMandateEntity, 'id' | 'status'>, interactRedirect: string) {
  return { mandateId: m.id, status: m.status, _links: { scaRedirect: { href: interactRedirect }, self: { href: `${BASE}/${m.id}` } } };
}

function toMandateResponse(m: OpMandateEntity, periods: OpMandatePaymentEntity[], schedule: object | undefined) {
  return {
    mandateId: m.id,
    status: m.status,
    ...(m.statusReason ? { reason: clientReason(m.statusReason) } : {}),
    senderWalletAddress: m.senderWalletAddress,
    receiver: m.receiver,
    debitAmount: m.debitAmount,
    interval: m.interval,
    ...(m.metadata ? { metadata: m.metadata } : {}),
    ...(schedule ? { schedule } : {}),
    periods: periods.map((p) => ({
      periodStart: p.periodStart.toISOString(),
      status: p.status,
      ...(p.reason ? { reason: clientReason(p.reason) } : {}),
      ...(p.outgoingPaymentUrl ? { outgoingPayment: p.outgoingPaymentUrl } : {}),
      ...(p.sentAmount ? { sentAmount: p.sentAmount } : {}),
    })),
    createdAt: m.createdAt.toISOString(),
    _links: { self: { href: `${BASE}/${m.id}` }, ...(m.status === 'awaiting_authorisation' && m.interactRedirect ? { scaRedirect: { href: m.interactRedirect } } : {}) },
  };
}
