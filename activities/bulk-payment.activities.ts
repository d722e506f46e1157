import type { Logger } from 'pino';
import type { BankAdapter, BankConnection, BankProtocol, InitiatePaymentResult } from '../libs/adapters/bank-adapter';
import type { BulkPaymentAdapter, BulkTransactionForBank } from '../libs/adapters/bulk-payment-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import { deriveUuid, CLEARWAY_ID_NAMESPACE } from '../libs/domain/ids';
import { initiationSafetyFacts, isAmbiguousCreation } from '../libs/domain/initiation-safety';
import { isFinalTransactionStatus, type BankScaStatus, type BankTransactionStatus, type TransactionStatus } from '../libs/domain/transaction-status';
import type { BulkPaymentRepository, BulkStatusChange } from '../libs/persistence/bulk-payment.repository';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { AspspEntity } from '../libs/persistence/entities/aspsp.entity';
import type { BulkPaymentEntity } from '../libs/persistence/entities/bulk-payment.entity';
import type { InitiationAttemptRepository, OperatorDecisionRepository } from '../libs/persistence/initiation-attempt.repository';
import { scaCallbackUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type {
  BulkPaymentSettings,
  BulkStatusSummary,
  BulkTransactionCounts,
  CancellationResult,
  OperatorDecision,
  StartedAuthorisation,
} from '../workflows/bulk-payment.api';
import type { InitiationAttemptResult, InitiationSummary } from '../workflows/payment-initiation.api';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import { toActivityFailure } from './bank-failure';
import { createAtMostOnce } from './initiation-guard';
import { logicalCallRequestId } from './request-ids';

export interface BulkPaymentActivityDeps {
  bulkPayments: BulkPaymentRepository;
  directory: DirectoryRepository;
  initiationAttempts: InitiationAttemptRepository;
  operatorDecisions: OperatorDecisionRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
}

/** The X-Request-ID of every attempt of one bulk's initiation (recognisable in the bank's logs). */
export function bulkInitiationRequestId(bulkPaymentId: string): string {
  return deriveUuid(CLEARWAY_ID_NAMESPACE, bulkPaymentId, 'initiate-bulk');
}

/**
 * Bulk payment activities: each calls one adapter method, persists what the bank said, and returns
 * a small summary (statuses and counts, never transactions) for the workflow.
 */
export function createBulkPaymentActivities(deps: BulkPaymentActivityDeps) {
  async function load(id: string): Promise<{ bulk: BulkPaymentEntity; aspsp: AspspEntity; adapter: BankAdapter & BulkPaymentAdapter; conn: BankConnection }> {
    const bulk = await deps.bulkPayments.findById(id);
    if (!bulk) throw failure(FailureType.PaymentNotFound, `Bulk payment ${id} not found`);
    const aspsp = await deps.directory.findAspsp(bulk.bicFi);
    if (!aspsp) throw failure(FailureType.PaymentNotFound, `ASPSP ${bulk.bicFi} not found`);
    const adapter = deps.adapterFor(aspsp.protocol);
    if (!hasBulkPayments(adapter)) throw failure(FailureType.BankRejected, `The ${aspsp.protocol} adapter has no bulk payments`);
    return { bulk, aspsp, adapter, conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  const psuOf = (bulk: BulkPaymentEntity) => ({ psuId: bulk.psuId ?? undefined, psuIpAddress: bulk.psuIpAddress ?? undefined });

  function bankRef(bulk: BulkPaymentEntity, step: string, bankPaymentId = bulk.bankPaymentId) {
    if (!bankPaymentId) throw failure(FailureType.PaymentNotFound, `Bulk payment ${bulk.id} was never initiated at the bank`);
    return { bankPaymentId, paymentProduct: bulk.paymentProduct, requestId: logicalCallRequestId(bulk.id, step), psu: psuOf(bulk) };
  }

  function redirectUris(id: string) {
    return {
      okUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, id, 'ok', 'bulk-payments'),
      nokUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, id, 'nok', 'bulk-payments'),
    };
  }

  async function recordedInitiation(bulk: BulkPaymentEntity): Promise<InitiatePaymentResult | undefined> {
    if (!bulk.bankPaymentId || !bulk.scaApproach) return undefined;
    const [authorisation] = await deps.bulkPayments.listAuthorisations(bulk.tenantId, bulk.id);
    return {
      bankPaymentId: bulk.bankPaymentId,
      status: { raw: bulk.rawTransactionStatus ?? bulk.transactionStatus, normalised: bulk.transactionStatus },
      scaApproach: bulk.scaApproach,
      ...(authorisation ? { authorisationId: authorisation.authorisationId } : {}),
      ...(bulk.scaRedirectUrl ? { scaRedirectUrl: bulk.scaRedirectUrl } : {}),
      ...(bulk.psuMessage ? { psuMessage: bulk.psuMessage } : {}),
    };
  }

  async function* transactionsForBank(bulk: BulkPaymentEntity): AsyncGenerator<BulkTransactionForBank> {
    for await (const t of deps.bulkPayments.streamTransactions(bulk.id)) {
      yield {
        endToEndId: t.endToEndId,
        amount: t.amount,
        currency: t.currency,
        creditorName: t.creditorName,
        creditorIban: t.creditorIban,
        ...(t.creditorAgent ? { creditorAgent: t.creditorAgent } : {}),
        ...(t.creditorAddress ? { creditorAddress: t.creditorAddress } : {}),
        ...(t.remittanceInformationUnstructured ? { remittanceInformationUnstructured: t.remittanceInformationUnstructured } : {}),
      };
    }
  }

  async function countsOf(id: string): Promise<{ counts: BulkTransactionCounts; allFinal: boolean }> {
    const progress = await deps.bulkPayments.progress(id);
    const counts: BulkTransactionCounts = {};
    let allFinal = true;
    for (const [status, c] of Object.entries(progress.byStatus)) {
      counts[status as TransactionStatus] = c!.count;
      if (!isFinalTransactionStatus(status as TransactionStatus)) allFinal = false;
    }
    return { counts, allFinal };
  }

  return {
    /** What the workflow needs before it starts: the bank, the size, the SCA timeout (no PII). */
    async loadBulkPaymentSettings(id: string): Promise<BulkPaymentSettings> {
      const bulk = await deps.bulkPayments.findById(id);
      if (!bulk) throw failure(FailureType.PaymentNotFound, `Bulk payment ${id} not found`);
      const aspsp = await deps.directory.findAspsp(bulk.bicFi);
      if (!aspsp) throw failure(FailureType.PaymentNotFound, `ASPSP ${bulk.bicFi} not found`);
      return { bicFi: bulk.bicFi, paymentProduct: bulk.paymentProduct, numberOfTransactions: bulk.numberOfTransactions, scaTimeoutMs: aspsp.scaTimeoutSeconds * 1000 };
    },

    /**
     * One attempt to initiate the bulk at the bank, at most once per logical initiation
     * (`createAtMostOnce`, the same write-ahead log as single payments): a lost 201 leaves the
     * attempt ambiguous and no later attempt sends again unless the workflow judged it safe.
     */
    async initiateBulkPaymentAtBank(id: string, opts: { createAgainAfterAttempt?: number } = {}): Promise<InitiationAttemptResult> {
      const { bulk, aspsp, adapter, conn } = await load(id);
      const log = deps.logger.child({ bulkPaymentId: id, bicFi: bulk.bicFi });
      const outcome = await createAtMostOnce(deps.initiationAttempts, {
        resourceType: 'bulk_payment',
        resourceId: id,
        requestId: bulkInitiationRequestId(id),
        createAgainAfterAttempt: opts.createAgainAfterAttempt,
        recorded: () => recordedInitiation(bulk),
        send: (requestId) =>
          adapter.initiateBulkPayment(conn, {
            idempotencyKey: requestId,
            paymentProduct: bulk.paymentProduct,
            bulk: {
              messageId: `CW-${id.replace(/-/g, '').slice(0, 32)}`,
              pmtInfId: bulk.pmtInfId ?? `CW-${id.replace(/-/g, '').slice(0, 32)}`,
              debtorIban: bulk.debtorIban,
              ...(bulk.debtorCurrency ? { debtorCurrency: bulk.debtorCurrency } : {}),
              ...(bulk.debtorName ? { debtorName: bulk.debtorName } : {}),
              ...(bulk.requestedExecutionDate ? { requestedExecutionDate: bulk.requestedExecutionDate } : {}),
              ...(bulk.batchBookingPreferred !== null ? { batchBookingPreferred: bulk.batchBookingPreferred } : {}),
              currency: bulk.currency,
              numberOfTransactions: bulk.numberOfTransactions,
              controlSum: bulk.controlSum,
            },
            transactions: transactionsForBank(bulk),
            psu: psuOf(bulk),
            redirect: redirectUris(id),
          }),
        record: async (result) => {
          await deps.bulkPayments.recordInitiation(id, {
            bankPaymentId: result.bankPaymentId,
            status: result.status,
            scaApproach: result.scaApproach,
            scaRedirectUrl: result.scaRedirectUrl ?? null,
            psuMessage: result.psuMessage ?? null,
            // The authorisation in the same transaction: a crash between two writes would leave a creation without it.
            ...(result.authorisationId
              ? { authorisation: { authorisationId: result.authorisationId, scaApproach: result.scaApproach, scaRedirectUrl: result.scaRedirectUrl ?? null, scaStatus: { raw: 'received', normalised: 'received' } } }
              : {}),
          });
        },
        bankIdOf: (result) => result.bankPaymentId,
        facts: initiationSafetyFacts(aspsp, Boolean(bulk.psuId)),
      });
      if (isAmbiguousCreation(outcome)) {
        log.warn({ reason: outcome.reason, attempt: outcome.lastAttempt }, 'bulk initiation outcome ambiguous: the bank may hold the bulk');
        return outcome;
      }
      log.info({ transactionStatus: outcome.status.normalised, scaApproach: outcome.scaApproach, numberOfTransactions: bulk.numberOfTransactions }, 'bulk payment initiated at bank');
      return {
        bankPaymentId: outcome.bankPaymentId,
        transactionStatus: outcome.status.normalised,
        rawTransactionStatus: outcome.status.raw,
        scaApproach: outcome.scaApproach,
        authorisationId: outcome.authorisationId,
        scaRedirectUrl: outcome.scaRedirectUrl,
        psuMessage: outcome.psuMessage,
      } satisfies InitiationSummary;
    },

    /** An operator named the bank's bulk: the bank must know it (a read only). */
    async confirmBankBulkPayment(id: string, bankPaymentId: string): Promise<BankTransactionStatus> {
      const { bulk, adapter, conn } = await load(id);
      const report = await adapter.getBulkPaymentStatus(conn, bankRef(bulk, 'confirm-bank-payment', bankPaymentId)).catch((err: unknown) => {
        if ((err as { kind?: string }).kind === 'not_found') {
          throw failure(FailureType.DecisionRefused, `The bank does not know bulk payment ${bankPaymentId} under ${bulk.paymentProduct}`);
        }
        return toActivityFailure(err);
      });
      return report.status;
    },

    async adoptBankBulkPayment(id: string, bankPaymentId: string, status: BankTransactionStatus): Promise<void> {
      await deps.bulkPayments.recordInitiation(id, { bankPaymentId, status, scaApproach: null, scaRedirectUrl: null, psuMessage: null });
    },

    async recordBulkOperatorDecision(id: string, updateId: string, decision: OperatorDecision): Promise<void> {
      const bulk = await deps.bulkPayments.findById(id);
      if (!bulk) throw failure(FailureType.PaymentNotFound, `Bulk payment ${id} not found`);
      await deps.operatorDecisions.record({
        tenantId: bulk.tenantId,
        resourceType: 'bulk_payment',
        resourceId: id,
        updateId,
        operator: decision.operator,
        decision: decision.decision,
        bankResourceId: decision.decision === 'initiated' ? decision.bankPaymentId : null,
        reason: decision.reason,
      });
      deps.logger.warn({ bulkPaymentId: id, operator: decision.operator, decision: decision.decision }, 'operator decided an unknown bulk initiation outcome');
    },

    /**
     * Reads the bulk's status at the bank, with per-transaction statuses where the bank reports
     * them (stored here, straight into PostgreSQL); the workflow gets the bulk status and counts.
     */
    async pollBulkPaymentStatusAtBank(id: string): Promise<BulkStatusSummary> {
      const { bulk, adapter, conn } = await load(id);
      const report = await adapter.getBulkPaymentStatus(conn, bankRef(bulk, 'status'), { perTransaction: true }).catch(toActivityFailure);
      let perTransaction = false;
      if (report.transactions?.length) {
        // Matched by EndToEndId in the database: a 10,000-line report no longer reads the bulk's rows first.
        await deps.bulkPayments.setTransactionStatusesByEndToEndId(
          id,
          report.transactions.map((t) => ({ endToEndId: t.endToEndId, status: t.status.normalised, rawStatus: t.status.raw, reasonCode: t.reasonCode ?? null })),
        );
        perTransaction = true;
      }
      const { counts, allFinal } = await countsOf(id);
      return { transactionStatus: report.status.normalised, rawTransactionStatus: report.status.raw, counts, allTransactionsFinal: allFinal, perTransaction };
    },

    async getBankBulkScaStatus(id: string, authorisationId: string): Promise<BankScaStatus> {
      const { bulk, adapter, conn } = await load(id);
      return adapter.getBulkScaStatus(conn, { ...bankRef(bulk, 'sca-status'), authorisationId }).catch(toActivityFailure);
    },

    async startBulkAuthorisationAtBank(id: string): Promise<StartedAuthorisation> {
      const { bulk, adapter, conn } = await load(id);
      const started = await adapter.startBulkAuthorisation(conn, { ...bankRef(bulk, 'start-authorisation'), redirect: redirectUris(id) }).catch(toActivityFailure);
      await deps.bulkPayments.upsertAuthorisation({
        bulkPaymentId: id,
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

    async cancelBulkPaymentAtBank(id: string): Promise<CancellationResult> {
      const { bulk, adapter, conn } = await load(id);
      const result = await adapter.cancelBulkPayment(conn, bankRef(bulk, 'cancel')).catch(toActivityFailure);
      return { transactionStatus: result.status.normalised, authorisationRequired: result.authorisationRequired };
    },

    /** BG `POST .../bulk-payments/{product}/{id}/cancellation-authorisations` (after DELETE answered 202); stored for the API. */
    async startBulkCancellationAuthorisationAtBank(id: string): Promise<StartedAuthorisation> {
      const { bulk, adapter, conn } = await load(id);
      if (!adapter.cancellationAuthorisations) throw failure(FailureType.BankRejected, `The ${adapter.protocol} adapter offers no cancellation authorisations`);
      const started = await adapter.cancellationAuthorisations
        .startCancellationAuthorisation(conn, { ...bankRef(bulk, 'start-cancellation-authorisation'), paymentService: 'bulk-payments', redirect: redirectUris(id) })
        .catch(toActivityFailure);
      await deps.bulkPayments.upsertCancellation({
        bulkPaymentId: id,
        cancellationId: started.authorisationId,
        scaApproach: started.scaApproach,
        scaRedirectUrl: started.scaRedirectUrl ?? null,
        scaStatus: started.scaStatus,
      });
      return { authorisationId: started.authorisationId, scaStatus: started.scaStatus.normalised, scaApproach: started.scaApproach, scaRedirectUrl: started.scaRedirectUrl, psuMessage: started.psuMessage };
    },

    /** The bank's word on a cancellation authorisation's SCA, stored for the API. */
    async getBulkCancellationScaStatusAtBank(id: string, cancellationId: string): Promise<BankScaStatus> {
      const { bulk, adapter, conn } = await load(id);
      if (!adapter.cancellationAuthorisations) throw failure(FailureType.BankRejected, `The ${adapter.protocol} adapter offers no cancellation authorisations`);
      const status = await adapter.cancellationAuthorisations
        .getCancellationScaStatus(conn, { ...bankRef(bulk, 'cancellation-sca-status'), paymentService: 'bulk-payments', cancellationId })
        .catch(toActivityFailure);
      await deps.bulkPayments.updateCancellationStatus(id, cancellationId, status);
      return status;
    },

    /**
     * Records a change of the bulk (history + outbox event in one transaction). With
     * `applyToOpenTransactions`, every transaction not yet final takes the bulk's status (the
     * bank spoke for the bulk as a whole), with `reasonCode` for rejections. Returns the counts.
     */
    async recordBulkPaymentStatus(
      change: BulkStatusChange & { applyToOpenTransactions?: boolean; reasonCode?: string },
    ): Promise<{ counts: BulkTransactionCounts; allTransactionsFinal: boolean }> {
      const { applyToOpenTransactions, reasonCode, ...rest } = change;
      await deps.bulkPayments.recordStatusChange(
        rest,
        applyToOpenTransactions && rest.kind === 'transaction_status'
          ? { open: { raw: rest.rawStatus ?? rest.status, normalised: rest.status as TransactionStatus }, openReason: reasonCode ?? null }
          : undefined,
      );
      deps.logger.info({ bulkPaymentId: change.bulkPaymentId, kind: change.kind, status: change.status, rawStatus: change.rawStatus }, 'bulk payment status changed');
      const { counts, allFinal } = await countsOf(change.bulkPaymentId);
      return { counts, allTransactionsFinal: allFinal };
    },
  };
}

function hasBulkPayments(adapter: BankAdapter): adapter is BankAdapter & BulkPaymentAdapter {
  return Boolean(
    adapter.initiateBulkPayment && adapter.getBulkPaymentStatus && adapter.startBulkAuthorisation && adapter.getBulkScaStatus && adapter.cancelBulkPayment,
  );
}

export type BulkPaymentActivities = ReturnType<typeof createBulkPaymentActivities>;
