import type { Logger } from 'pino';
import type { BankAdapter, BankConnection, BankProtocol } from '../libs/adapters/bank-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import { deriveUuid, CLEARWAY_ID_NAMESPACE } from '../libs/domain/ids';
import type { BankScaStatus, BankTransactionStatus } from '../libs/domain/transaction-status';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { PaymentEntity } from '../libs/persistence/entities/payment.entity';
import type { PaymentRepository, StatusChange } from '../libs/persistence/payment.repository';
import { scaCallbackUrl } from '../libs/security/callback-state';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from '../workflows/shared/psu-data';
import type { CancellationResult, InitiationSummary, StartedAuthorisation } from '../workflows/payment-initiation.api';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import { toActivityFailure } from './bank-failure';
import { openPsuDataUpdate, toPsuDataSummary } from './psu-data';
import { logicalCallRequestId } from './request-ids';

export interface PaymentActivityDeps {
  payments: PaymentRepository;
  directory: DirectoryRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSecret: string;
  handoffs: SensitiveHandoffs;
  logger: Logger;
}

/**
 * Payment activities: each calls one adapter method, persists what the bank said, and returns a
 * small summary for the workflow. No retry loops here: the workflow owns retries and timeouts.
 */
export function createPaymentActivities(deps: PaymentActivityDeps) {
  async function load(paymentId: string): Promise<{ payment: PaymentEntity; adapter: BankAdapter; conn: BankConnection }> {
    const payment = await deps.payments.findById(paymentId);
    if (!payment) throw failure(FailureType.PaymentNotFound, `Payment ${paymentId} not found`);
    const aspsp = await deps.directory.findAspsp(payment.bicFi);
    if (!aspsp) throw failure(FailureType.PaymentNotFound, `ASPSP ${payment.bicFi} not found`);
    return { payment, adapter: deps.adapterFor(aspsp.protocol), conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  function bankRef(payment: PaymentEntity, step: string) {
    if (!payment.bankPaymentId) {
      throw failure(FailureType.PaymentNotFound, `Payment ${payment.id} was never initiated at the bank`);
    }
    return {
      bankPaymentId: payment.bankPaymentId,
      paymentProduct: payment.paymentProduct,
      requestId: logicalCallRequestId(payment.id, step),
      psu: { psuId: payment.psuId ?? undefined, psuIpAddress: payment.psuIpAddress ?? undefined },
    };
  }

  function redirectUris(paymentId: string) {
    return {
      okUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSecret, paymentId, 'ok'),
      nokUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSecret, paymentId, 'nok'),
    };
  }

  return {
    async initiatePaymentAtBank(paymentId: string): Promise<InitiationSummary> {
      const { payment, adapter, conn } = await load(paymentId);
      const log = deps.logger.child({ paymentId, bicFi: payment.bicFi });
      const result = await adapter
        .initiatePayment(conn, {
          // Same key on every attempt and after a worker crash: the bank creates the payment once.
          idempotencyKey: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate'),
          paymentProduct: payment.paymentProduct,
          payment: payment.body,
          psu: { psuId: payment.psuId ?? undefined, psuIpAddress: payment.psuIpAddress ?? undefined },
          redirect: redirectUris(paymentId),
        })
        .catch(toActivityFailure);
      await deps.payments.recordInitiation(paymentId, {
        bankPaymentId: result.bankPaymentId,
        status: result.status,
        scaApproach: result.scaApproach,
        scaRedirectUrl: result.scaRedirectUrl ?? null,
        psuMessage: result.psuMessage ?? null,
      });
      if (result.authorisationId) {
        await deps.payments.upsertAuthorisation({
          paymentId,
          authorisationId: result.authorisationId,
          scaApproach: result.scaApproach,
          scaRedirectUrl: result.scaRedirectUrl ?? null,
          scaStatus: { raw: 'received', normalised: 'received' },
        });
      }
      log.info({ transactionStatus: result.status.normalised, scaApproach: result.scaApproach }, 'payment initiated at bank');
      return {
        bankPaymentId: result.bankPaymentId,
        transactionStatus: result.status.normalised,
        rawTransactionStatus: result.status.raw,
        scaApproach: result.scaApproach,
        authorisationId: result.authorisationId,
        scaRedirectUrl: result.scaRedirectUrl,
        psuMessage: result.psuMessage,
      };
    },

    async getBankPaymentStatus(paymentId: string): Promise<BankTransactionStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      return adapter.getPaymentStatus(conn, bankRef(payment, 'status')).catch(toActivityFailure);
    },

    async getBankScaStatus(paymentId: string, authorisationId: string): Promise<BankScaStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      return adapter.getScaStatus(conn, { ...bankRef(payment, 'sca-status'), authorisationId }).catch(toActivityFailure);
    },

    async startAuthorisationAtBank(paymentId: string): Promise<StartedAuthorisation> {
      const { payment, adapter, conn } = await load(paymentId);
      const started = await adapter
        .startAuthorisation(conn, { ...bankRef(payment, 'start-authorisation'), redirect: redirectUris(paymentId) })
        .catch(toActivityFailure);
      await deps.payments.upsertAuthorisation({
        paymentId,
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

    async cancelPaymentAtBank(paymentId: string): Promise<CancellationResult> {
      const { payment, adapter, conn } = await load(paymentId);
      const result = await adapter.cancelPayment(conn, bankRef(payment, 'cancel')).catch(toActivityFailure);
      return { transactionStatus: result.status.normalised, authorisationRequired: result.authorisationRequired };
    },

    async updatePaymentPsuDataAtBank(paymentId: string, req: PsuDataUpdateRequest): Promise<PsuDataUpdateSummary> {
      const { payment, adapter, conn } = await load(paymentId);
      const update = await openPsuDataUpdate(deps.handoffs, payment.tenantId, req, payment.psuId ?? undefined);
      const result = await adapter
        .updatePaymentPsuData(conn, { ...bankRef(payment, 'update-psu-data'), authorisationId: req.authorisationId }, update)
        .catch(toActivityFailure);
      if (req.handoffId) await deps.handoffs.discard(req.handoffId);
      await deps.payments.updateAuthorisationStatus(paymentId, req.authorisationId, result.scaStatus);
      return toPsuDataSummary(result);
    },

    async recordPaymentStatus(change: StatusChange & { authorisationId?: string }): Promise<void> {
      await deps.payments.recordStatusChange(change);
      deps.logger.info(
        { paymentId: change.paymentId, kind: change.kind, status: change.status, rawStatus: change.rawStatus, reason: change.reason },
        'payment status changed',
      );
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
