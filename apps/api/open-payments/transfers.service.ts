import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../../libs/domain/ids';
import type { Logger } from '../../../libs/observability/logger';
import type { OpTransferEntity } from '../../../libs/persistence/entities/op-transfer.entity';
import { TENANT_TRANSFERS, type TenantTransferRepository } from '../../../libs/persistence/op-transfer.repository';
import { verifyCallbackState } from '../../../libs/security/callback-state';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { isFinalTransferStatus } from '../../../libs/domain/open-payments';
import { TenantId, TransferStatus } from '../../../libs/temporal/search-attributes';
import {
  cancelTransferUpdate,
  grantFinishSignal,
  opTransferWorkflowId,
  transferAuthorisationUpdate,
} from '../../../workflows/op-transfer.api';
import type { openPaymentsTransferWorkflow } from '../../../workflows/op-transfer.workflow';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode } from '../common/api-error';
import type { HttpResult } from '../common/http-result';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { clientReason, clientRedirect, refusalError, replayedEndError } from './refusals';
import { validateTransferRequest } from './transfer-request.validator';
import { transferDetails, transferSummary } from '../../../workflows/shared/ui-metadata';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

const BASE = '/openpayments/v1/transfers';

/** Open Payments transfers: stored, then driven by the `op-transfer-{id}` workflow. */
@Injectable()
export class TransfersService {
  constructor(
    @Inject(TENANT_TRANSFERS) private readonly transfers: TenantTransferRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
  ) {}

  async create(principal: Principal, requestId: string, rawBody: unknown): Promise<HttpResult<object>> {
    const request = validateTransferRequest(rawBody, { allowHttp: this.config.openPayments.allowHttp });
    const derivedId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'op-transfer', requestId);
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const { transfer, created } = await this.transfers.insertOrGetExisting({
      id: derivedId,
      tenantId: principal.tenantId,
      clientId: principal.clientId,
      requestId,
      requestHash,
      mandateId: null,
      senderWalletAddress: request.senderWalletAddress,
      receiver: request.receiver,
      debitAmount: request.debitAmount ?? null,
      receiveAmount: request.receiveAmount ?? null,
      redirectUri: request.redirectUri ?? null,
      metadata: request.metadata ?? null,
    });
    // The stored row's id: one stored before X-Request-IDs were normalised to lower case was derived from the id as first sent.
    const transferId = transfer.id;
    if (!created && transfer.requestHash !== requestHash) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, 'X-Request-ID was already used for a different transfer', 'X-Request-ID');
    }
    if (!created && transfer.interactRedirect) return { status: 201, body: toTransferCreated(transfer, transfer.interactRedirect) };
    if (!created && isFinalTransferStatus(transfer.status)) return this.replayedEnd(transfer);

    try {
      const authorisation = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () =>
        this.temporal.workflow.executeUpdateWithStart(transferAuthorisationUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof openPaymentsTransferWorkflow>('openPaymentsTransferWorkflow', {
            workflowId: opTransferWorkflowId(transferId),
            taskQueue: taskQueueFor(this.config.temporal, 'openPaymentsTransferWorkflow'),
            args: [{ transferId, tenantId: principal.tenantId, timings: this.config.openPayments.timings }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // What the Temporal UI shows: the amount and the wallet's host, never the wallet addresses.
            staticSummary: transferSummary({
              amount: (request.debitAmount ?? request.receiveAmount)!,
              amountKind: request.debitAmount ? 'debit' : 'receive',
              senderWalletAddress: request.senderWalletAddress,
              tenantId: principal.tenantId,
            }),
            staticDetails: transferDetails({ transferId, tenantId: principal.tenantId, apiBaseUrl: this.config.api.publicBaseUrl, senderWalletAddress: request.senderWalletAddress }),
            typedSearchAttributes: [
              { key: TenantId, value: principal.tenantId },
              { key: TransferStatus, value: 'quoting' },
            ],
          }),
        }),
      );
      this.logger.info({ transferId, tenantId: principal.tenantId }, 'transfer awaiting authorisation');
      return { status: 201, body: toTransferCreated({ id: transferId, status: authorisation.status }, authorisation.interactRedirect) };
    } catch (err) {
      const refused = refusalError(err, 'TransferRefused');
      if (refused) throw refused;
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const current = (await this.transfers.findForTenant(principal.tenantId, transferId))!;
        if (current.interactRedirect) return { status: 201, body: toTransferCreated(current, current.interactRedirect) };
        return this.replayedEnd(current);
      }
      this.logger.warn({ err, transferId }, 'transfer did not reach authorisation in time');
      throw new ApiError(ApiErrorCode.ServiceUnavailable, 'The wallet did not answer in time. Repeat the request with the same X-Request-ID.');
    }
  }

  /** A repeated `POST` for a transfer that ended before the PSU had a link: see {@link replayedEndError}. */
  private async replayedEnd(transfer: OpTransferEntity): Promise<never> {
    let state: Awaited<ReturnType<typeof openPaymentsTransferWorkflow>> | undefined;
    try {
      const handle = this.temporal.workflow.getHandle<typeof openPaymentsTransferWorkflow>(opTransferWorkflowId(transfer.id));
      state = await this.temporal.connection.withDeadline(Date.now() + this.config.api.bankAnswerWaitMs, () => handle.result());
    } catch (err) {
      this.logger.warn({ err, transferId: transfer.id }, 'the ended transfer workflow has no result to replay');
    }
    throw replayedEndError(state?.refusal, transfer.status, 'transfer');
  }

  async get(principal: Principal, transferId: string) {
    return toTransferResponse(await this.find(principal, transferId));
  }

  async list(principal: Principal, limit: number, before?: Date) {
    const page = await this.transfers.listForTenant(principal.tenantId, { limit: limit + 1, before });
    const transfers = page.slice(0, limit).map(toTransferResponse);
    const next = page.length > limit ? page[limit - 1]!.createdAt.toISOString() : undefined;
    return { transfers, _links: { self: { href: BASE }, ...(next ? { next: { href: `${BASE}?limit=${limit}&before=${encodeURIComponent(next)}` } } : {}) } };
  }

  async cancel(principal: Principal, transferId: string) {
    const transfer = await this.find(principal, transferId);
    if (transfer.status === 'cancelled') return { transferId, status: 'cancelled' };
    try {
      const result = await this.temporal.workflow.getHandle(opTransferWorkflowId(transferId)).executeUpdate(cancelTransferUpdate);
      return { transferId, status: result.status };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        const current = await this.find(principal, transferId);
        throw new ApiError(ApiErrorCode.StatusInvalid, `The transfer cannot be cancelled: it is ${current.status}`);
      }
      throw err;
    }
  }

  /** The PSU is back from their wallet's consent page: hand the result to the workflow, send them on. */
  async handleFinish(transferId: string, query: { state?: string; hash?: string; interact_ref?: string; result?: string }): Promise<string | undefined> {
    const signed = verifyCallbackState(this.signer, 'transfers', transferId, query.state);
    const transfer = signed && (await this.transfers.findBySignedCallback(signed));
    if (!transfer) throw ApiError.notFound('Transfer');
    try {
      await this.temporal.workflow
        .getHandle(opTransferWorkflowId(transferId))
        .signal(grantFinishSignal, { hash: query.hash, interactRef: query.interact_ref, result: query.result });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return clientRedirect(transfer.redirectUri, 'transferId', transferId);
  }

  private async find(principal: Principal, transferId: string): Promise<OpTransferEntity> {
    const transfer = await this.transfers.findForTenant(principal.tenantId, transferId);
    if (!transfer) throw ApiError.notFound(`Transfer ${transferId}`);
    return transfer;
  }
}

function toTransferCreated(t: Pick<OpTransferEntity, 'id' | 'status'>, interactRedirect: string) {
  return { transferId: t.id, status: t.status, _links: { scaRedirect: { href: interactRedirect }, self: { href: `${BASE}/${t.id}` } } };
}

/** Explicit response: no tokens, nonces or grant URLs. */
export function toTransferResponse(t: OpTransferEntity) {
  return {
    transferId: t.id,
    status: t.status,
    ...(t.statusReason ? { reason: clientReason(t.statusReason) } : {}),
    senderWalletAddress: t.senderWalletAddress,
    receiver: t.receiver,
    ...(t.debitAmount ? { debitAmount: t.debitAmount } : {}),
    ...(t.receiveAmount ? { receiveAmount: t.receiveAmount } : {}),
    ...(t.quoteDebitAmount ? { quote: { debitAmount: t.quoteDebitAmount, receiveAmount: t.quoteReceiveAmount, expiresAt: t.quoteExpiresAt?.toISOString() } } : {}),
    ...(t.sentAmount ? { sentAmount: t.sentAmount } : {}),
    ...(t.metadata ? { metadata: t.metadata } : {}),
    createdAt: t.createdAt.toISOString(),
    _links: { self: { href: `${BASE}/${t.id}` }, ...(t.status === 'awaiting_authorisation' && t.interactRedirect ? { scaRedirect: { href: t.interactRedirect } } : {}) },
  };
}
