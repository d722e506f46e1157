import type { Logger } from 'pino';
import { isBankError, type BankAdapter, type BankConnection, type BankProtocol, type InitiatePaymentResult } from '../libs/adapters/bank-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import { deriveUuid, CLEARWAY_ID_NAMESPACE } from '../libs/domain/ids';
import { initiationSafetyFacts, isAmbiguousCreation } from '../libs/domain/initiation-safety';
import type { BankScaStatus, BankTransactionStatus } from '../libs/domain/transaction-status';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { AspspEntity } from '../libs/persistence/entities/aspsp.entity';
import type { PaymentEntity } from '../libs/persistence/entities/payment.entity';
import type { InitiationAttemptRepository, OperatorDecisionRepository } from '../libs/persistence/initiation-attempt.repository';
import type { PaymentRepository, StatusChange } from '../libs/persistence/payment.repository';
import { oauthCallbackUrl, oauthCodeVerifier, oauthState, scaCallbackUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import type { PsuDataUpdateRequest, PsuDataUpdateSummary } from '../workflows/shared/psu-data';
import type {
  CancellationResult,
  InitiationAttemptResult,
  InitiationLookup,
  InitiationSummary,
  OperatorDecision,
  StartedAuthorisation,
} from '../workflows/payment-initiation.api';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import { toActivityFailure } from './bank-failure';
import { createAtMostOnce } from './initiation-guard';
import { openPsuDataUpdate, toPsuDataSummary } from './psu-data';
import { logicalCallRequestId } from './request-ids';

export interface PaymentActivityDeps {
  payments: PaymentRepository;
  directory: DirectoryRepository;
  initiationAttempts: InitiationAttemptRepository;
  operatorDecisions: OperatorDecisionRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  handoffs: SensitiveHandoffs;
  logger: Logger;
  /**
   * Told of each status change once it is stored (the worker counts it: apps/worker/observability.ts).
   * A hook rather than a wrapper around `recordPaymentStatus`, because the reads that record what
   * they found (`readAndRecordPaymentStatus`) store changes too.
   */
  statusRecorded?: (change: RecordedStatusChange) => Promise<void>;
}

/** A status change as the workflow hands it over: `bicFi` and `scaStartedAt` (epoch ms) only label the worker's metrics; nothing stores them. */
export type RecordedStatusChange = StatusChange & { authorisationId?: string; bicFi?: string; scaStartedAt?: number };

/**
 * Where a status read records what it found (`readAndRecord*`, patch `payment-read-records`): the
 * sequence number the change takes, the status the workflow holds now (no change, no record), and
 * the change's labels. `reasons`: the change's reason by the status found (a CANC after a
 * cancellation the PSU authorised says so).
 */
export interface StatusRecordAt {
  seq: number;
  known?: string;
  reasons?: Partial<Record<string, string>>;
  bicFi?: string;
  scaStartedAt?: number;
}

/**
 * Payment activities: each calls one adapter method, persists what the bank said, and returns a
 * small summary for the workflow. No retry loops here: the workflow owns retries and timeouts.
 */
export function createPaymentActivities(deps: PaymentActivityDeps) {
  type Loaded = { payment: PaymentEntity; aspsp: AspspEntity; adapter: BankAdapter; conn: BankConnection };
  /** What a bank read needs of the payment: the stored entity, or the facts this process remembers (`readAndRecord`). */
  type AtBank = { payment: Pick<PaymentEntity, 'id' | 'bankPaymentId' | 'paymentProduct' | 'psuId' | 'psuIpAddress'>; adapter: BankAdapter; conn: BankConnection };

  async function load(paymentId: string): Promise<Loaded> {
    return withBank(paymentId, await deps.payments.findById(paymentId));
  }

  /**
   * What a status read needs, and with `seq` (a local activity's read) the change a lost run of it
   * recorded there, in one round trip: `recorded` when there is one, and then no bank call is made.
   */
  async function loadForRead(paymentId: string, kind: 'transaction_status' | 'sca_status', seq: number | undefined): Promise<{ recorded: { raw: string; normalised: string } } | { loaded: Loaded }> {
    if (seq === undefined) return { loaded: await load(paymentId) };
    const { payment, recorded } = await deps.payments.findWithChangeAt(paymentId, seq, kind);
    return recorded ? { recorded } : { loaded: await withBank(paymentId, payment) };
  }

  async function withBank(paymentId: string, payment: PaymentEntity | null): Promise<Loaded> {
    if (!payment) throw failure(FailureType.PaymentNotFound, `Payment ${paymentId} not found`);
    const aspsp = await bankOf(payment.bicFi);
    return { payment, aspsp, adapter: deps.adapterFor(aspsp.protocol), conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  /** The payment's bank, from the directory (answered from memory: `CachedDirectoryRepository`). */
  async function bankOf(bicFi: string): Promise<AspspEntity> {
    const aspsp = await deps.directory.findAspsp(bicFi);
    if (!aspsp) throw failure(FailureType.PaymentNotFound, `ASPSP ${bicFi} not found`);
    return aspsp;
  }

  const psuOf = (payment: AtBank['payment']) => ({ psuId: payment.psuId ?? undefined, psuIpAddress: payment.psuIpAddress ?? undefined });

  /** The bank's payment, addressed by a request id of its own for this logical call. */
  function bankRef(payment: AtBank['payment'], step: string, bankPaymentId = payment.bankPaymentId) {
    if (!bankPaymentId) throw failure(FailureType.PaymentNotFound, `Payment ${payment.id} was never initiated at the bank`);
    return { bankPaymentId, paymentProduct: payment.paymentProduct, requestId: logicalCallRequestId(payment.id, step), psu: psuOf(payment) };
  }

  function redirectUris(paymentId: string) {
    return {
      okUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, paymentId, 'ok'),
      nokUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, paymentId, 'nok'),
    };
  }

  /** For banks whose SCA is an OAuth/OIDC authorisation: Clearway's one callback, and a state naming this payment. */
  const oauthRedirect = (paymentId: string) => ({
    redirectUri: oauthCallbackUrl(deps.publicBaseUrl),
    state: oauthState(deps.callbackSigner, { resource: 'payments', id: paymentId }),
    codeVerifier: oauthCodeVerifier(deps.callbackSigner, { resource: 'payments', id: paymentId }),
  });

  /**
   * What an earlier attempt of this activity already recorded (it crashed after the bank answered,
   * or its workflow task was lost): the bank's answer to the initiation, not the payment's current
   * status, which the lost task may already have moved on (the workflow must take the path it took).
   */
  async function recordedInitiation(payment: PaymentEntity): Promise<InitiatePaymentResult | undefined> {
    if (!payment.bankPaymentId || !payment.scaApproach) return undefined;
    const [authorisation] = await deps.payments.listAuthorisations(payment.tenantId, payment.id);
    const normalised = payment.initiationStatus ?? payment.transactionStatus;
    return {
      bankPaymentId: payment.bankPaymentId,
      status: { raw: (payment.initiationStatus ? payment.rawInitiationStatus : payment.rawTransactionStatus) ?? normalised, normalised },
      scaApproach: payment.scaApproach,
      ...(authorisation ? { authorisationId: authorisation.authorisationId } : {}),
      ...(payment.scaRedirectUrl ? { scaRedirectUrl: payment.scaRedirectUrl } : {}),
      ...(payment.psuMessage ? { psuMessage: payment.psuMessage } : {}),
    };
  }

  /** Stores one status change (idempotent by payment and sequence number) and tells the hook. */
  async function recordChange(change: RecordedStatusChange): Promise<void> {
    await deps.payments.recordStatusChange(change);
    await changeRecorded(change);
  }

  /** A change is stored: logged, and the hook told. */
  async function changeRecorded(change: RecordedStatusChange): Promise<void> {
    deps.logger.info(
      { paymentId: change.paymentId, kind: change.kind, status: change.status, rawStatus: change.rawStatus, reason: change.reason },
      'payment status changed',
    );
    if (deps.statusRecorded) await deps.statusRecorded(change);
  }

  function readPaymentStatus({ payment, adapter, conn }: AtBank): Promise<BankTransactionStatus> {
    return adapter.getPaymentStatus(conn, bankRef(payment, 'status')).catch(toActivityFailure);
  }

  function readScaStatus({ payment, adapter, conn }: AtBank, authorisationId: string): Promise<BankScaStatus> {
    return adapter.getScaStatus(conn, { ...bankRef(payment, 'sca-status'), authorisationId }).catch(toActivityFailure);
  }

  /**
   * A read that records what it finds (`readAndRecord*`): the change a lost run recorded under
   * `at.seq` if there is one, else the bank's answer, recorded under `at.seq` when it differs from
   * `at.known`. `labels`: what the change carries besides its status (reason, authorisation).
   *
   * Where this process remembers the payment (it initiated it, or read it before: the usual case,
   * since a workflow's local activities run on its worker), the bank is asked first and one
   * statement then records the change and checks the two things a database read beforehand would
   * have told (issue 7: one round trip and one entity fewer per read): that the bank id used is
   * still the payment's, and whether a lost run already recorded a change under `at.seq` (it stands
   * and is handed back, as before; the bank was asked once more, a read, and when that read fails
   * the check is made alone). A stale bank id records nothing, and the read is made again the long way.
   */
  async function readAndRecord<S extends BankTransactionStatus | BankScaStatus>(
    paymentId: string,
    kind: 'transaction_status' | 'sca_status',
    at: StatusRecordAt,
    read: (atBank: AtBank) => Promise<S>,
    labels: (status: S) => Pick<RecordedStatusChange, 'reason' | 'authorisationId' | 'scaStartedAt'>,
  ): Promise<S> {
    const change = (status: S): RecordedStatusChange => ({ paymentId, seq: at.seq, kind, status: status.normalised, rawStatus: status.raw, bicFi: at.bicFi, ...labels(status) });
    const known = deps.payments.recentlyRead(paymentId);
    if (known?.bankPaymentId) {
      const bankPaymentId = known.bankPaymentId;
      const aspsp = await bankOf(known.bicFi);
      let status: S;
      try {
        status = await read({ payment: known, adapter: deps.adapterFor(aspsp.protocol), conn: bankConnectionFor(aspsp, deps.sandboxUrls) });
      } catch (err) {
        // The bank did not answer, but a lost run may have recorded what it found here: that stands
        // (a failed read would let the workflow take another path, whose record would meet it).
        const stored = await deps.payments.recordReadAt(paymentId, { seq: at.seq, kind, bankPaymentId }).catch(() => undefined);
        if (stored?.recorded) return stored.recorded as S;
        throw err;
      }
      const changed = status.normalised !== at.known ? change(status) : undefined;
      const stored = await deps.payments.recordReadAt(paymentId, { seq: at.seq, kind, bankPaymentId, change: changed });
      if (stored?.recorded) return stored.recorded as S;
      if (stored?.bankPaymentId === bankPaymentId) {
        if (changed) await changeRecorded(changed);
        return status;
      }
      deps.logger.info({ paymentId }, 'status read addressed a bank payment id the payment no longer has: read again');
    }
    const found = await loadForRead(paymentId, kind, at.seq);
    if ('recorded' in found) return found.recorded as S;
    const status = await read(found.loaded);
    if (status.normalised !== at.known) await recordChange(change(status));
    return status;
  }

  return {
    /**
     * One attempt to initiate the payment at the bank, at most once per logical initiation
     * (`createAtMostOnce`): an attempt that may have reached the bank stops every later one from
     * sending, unless the workflow passes `createAgainAfterAttempt` after judging it safe.
     */
    async initiatePaymentAtBank(paymentId: string, opts: { createAgainAfterAttempt?: number } = {}): Promise<InitiationAttemptResult> {
      const { payment, aspsp, adapter, conn } = await load(paymentId);
      const log = deps.logger.child({ paymentId, bicFi: payment.bicFi });
      const outcome = await createAtMostOnce(deps.initiationAttempts, {
        resourceType: 'payment',
        resourceId: paymentId,
        // One X-Request-ID for every attempt of this initiation, derived from the payment id.
        requestId: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate'),
        createAgainAfterAttempt: opts.createAgainAfterAttempt,
        recorded: () => recordedInitiation(payment),
        send: (requestId) =>
          adapter.initiatePayment(conn, {
            idempotencyKey: requestId,
            paymentProduct: payment.paymentProduct,
            payment: payment.body,
            psu: psuOf(payment),
            redirect: redirectUris(paymentId),
            oauth: oauthRedirect(paymentId),
          }),
        record: async (result, attempt) => {
          await deps.payments.recordInitiation(paymentId, {
            createdByAttempt: attempt,
            bankPaymentId: result.bankPaymentId,
            status: result.status,
            scaApproach: result.scaApproach,
            scaRedirectUrl: result.scaRedirectUrl ?? null,
            psuMessage: result.psuMessage ?? null,
            // The authorisation in the same transaction: a crash between two writes would leave an initiation without it.
            ...(result.authorisationId
              ? { authorisation: { authorisationId: result.authorisationId, scaApproach: result.scaApproach, scaRedirectUrl: result.scaRedirectUrl ?? null, scaStatus: { raw: 'received', normalised: 'received' } } }
              : {}),
          });
          return 'attempt-created';
        },
        bankIdOf: (result) => result.bankPaymentId,
        facts: initiationSafetyFacts(aspsp, Boolean(payment.psuId)),
      });
      if (isAmbiguousCreation(outcome)) {
        log.warn({ reason: outcome.reason, attempt: outcome.lastAttempt }, 'initiation outcome ambiguous: the bank may hold the payment');
        return outcome;
      }
      const result = outcome;
      log.info({ transactionStatus: result.status.normalised, scaApproach: result.scaApproach }, 'payment initiated at bank');
      return {
        bankPaymentId: result.bankPaymentId,
        transactionStatus: result.status.normalised,
        rawTransactionStatus: result.status.raw,
        scaApproach: result.scaApproach,
        authorisationId: result.authorisationId,
        scaRedirectUrl: result.scaRedirectUrl,
        psuMessage: result.psuMessage,
      } satisfies InitiationSummary;
    },

    /**
     * After an unknown outcome: does the bank hold the payment? The bank's own lookup where its
     * protocol offers one. The next source would be account information (a booked or pending
     * debit on the debtor account, where a valid consent of the same PSU covers it); that seam is
     * not implemented yet, so without a bank lookup the answer is `unsupported` and an operator decides.
     */
    async lookUpInitiationAtBank(paymentId: string): Promise<InitiationLookup> {
      const { payment, adapter, conn } = await load(paymentId);
      if (!adapter.findInitiatedPayment) return { kind: 'unsupported' };
      const found = await adapter
        .findInitiatedPayment(conn, {
          idempotencyKey: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate'),
          paymentProduct: payment.paymentProduct,
          psu: psuOf(payment),
          requestId: logicalCallRequestId(paymentId, 'look-up-initiation'),
        })
        .catch(toActivityFailure);
      if (!found) return { kind: 'absent', reason: 'the bank reports no payment for this initiation' };
      await deps.payments.recordInitiation(paymentId, { bankPaymentId: found.bankPaymentId, status: found.status, scaApproach: null, scaRedirectUrl: null, psuMessage: null });
      return { kind: 'found', bankPaymentId: found.bankPaymentId, transactionStatus: found.status.normalised, rawTransactionStatus: found.status.raw };
    },

    /** An operator named the bank's payment: the bank must know it (a read, nothing recorded yet). */
    async confirmBankPayment(paymentId: string, bankPaymentId: string): Promise<BankTransactionStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      try {
        return await adapter.getPaymentStatus(conn, bankRef(payment, 'confirm-bank-payment', bankPaymentId));
      } catch (err) {
        if (isBankError(err) && err.kind === 'not_found') {
          throw failure(FailureType.DecisionRefused, `The bank does not know payment ${bankPaymentId} under ${payment.paymentProduct}`);
        }
        return toActivityFailure(err);
      }
    },

    /** The bank's payment, found after an unknown outcome, becomes this payment's. */
    async adoptBankPayment(paymentId: string, bankPaymentId: string, status: BankTransactionStatus): Promise<void> {
      await deps.payments.recordInitiation(paymentId, { bankPaymentId, status, scaApproach: null, scaRedirectUrl: null, psuMessage: null });
    },

    /** The audit record of an operator's decision, written before it takes effect. */
    async recordOperatorDecision(paymentId: string, updateId: string, decision: OperatorDecision): Promise<void> {
      const payment = await deps.payments.findById(paymentId);
      if (!payment) throw failure(FailureType.PaymentNotFound, `Payment ${paymentId} not found`);
      await deps.operatorDecisions.record({
        tenantId: payment.tenantId,
        resourceType: 'payment',
        resourceId: paymentId,
        updateId,
        operator: decision.operator,
        decision: decision.decision,
        bankResourceId: decision.decision === 'initiated' ? decision.bankPaymentId : null,
        reason: decision.reason,
      });
      deps.logger.warn({ paymentId, operator: decision.operator, decision: decision.decision }, 'operator decided an unknown initiation outcome');
    },

    /**
     * Payments that earlier attempts created besides the one Clearway kept, where the bank named
     * them: cancelled, so the bank drops them. (Unnamed ones cannot be addressed; they were only
     * created where they cannot execute without an SCA the PSU is never shown.)
     */
    async cancelOrphanedInitiations(paymentId: string): Promise<{ cancelled: number; failed: number }> {
      const { payment, adapter, conn } = await load(paymentId);
      const orphans = await deps.initiationAttempts.orphans('payment', paymentId, payment.bankPaymentId);
      let cancelled = 0;
      let failed = 0;
      for (const orphan of orphans) {
        const ref = { ...bankRef(payment, 'cancel-orphan', orphan.bankResourceId), requestId: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'cancel-orphan', orphan.bankResourceId!) };
        try {
          await adapter.cancelPayment(conn, ref);
          await deps.initiationAttempts.markOrphan('payment', paymentId, orphan.attempt, 'cancelled');
          cancelled += 1;
        } catch (err) {
          if (!isBankError(err) || err.fate === 'ambiguous' || err.fate === 'not_processed') return toActivityFailure(err);
          await deps.initiationAttempts.markOrphan('payment', paymentId, orphan.attempt, 'cancel_failed');
          deps.logger.error({ paymentId, orphan: orphan.bankResourceId, error: err.message }, 'an orphaned initiation could not be cancelled at the bank');
          failed += 1;
        }
      }
      return { cancelled, failed };
    },

    /**
     * The payment's status at the bank. `memo.seq` (a local activity's read, patch
     * `payment-local-bank-calls`): the sequence number a change it finds will be recorded under. A
     * read run again after its workflow task was lost finds the change the lost run recorded there
     * and hands it back, so the workflow takes the path it took then (a new answer from the bank
     * would meet a history row that says otherwise).
     */
    async getBankPaymentStatus(paymentId: string, memo?: { seq: number }): Promise<BankTransactionStatus> {
      const found = await loadForRead(paymentId, 'transaction_status', memo?.seq);
      return 'recorded' in found ? (found.recorded as BankTransactionStatus) : readPaymentStatus(found.loaded);
    },

    /** The authorisation's SCA status at the bank; `memo` as for {@link getBankPaymentStatus}. */
    async getBankScaStatus(paymentId: string, authorisationId: string, memo?: { seq: number }): Promise<BankScaStatus> {
      const found = await loadForRead(paymentId, 'sca_status', memo?.seq);
      return 'recorded' in found ? (found.recorded as BankScaStatus) : readScaStatus(found.loaded, authorisationId);
    },

    /**
     * The payment's status at the bank, and, when it differs from what the workflow holds
     * (`at.known`), the change recorded under `at.seq` in the same activity (patch
     * `payment-read-records`: one local activity where there were two). Run again after its
     * workflow task was lost, it hands back the change the lost run recorded there, as
     * `getBankPaymentStatus` does. The workflow applies what it gets back without recording it again.
     */
    async readAndRecordPaymentStatus(paymentId: string, at: StatusRecordAt): Promise<BankTransactionStatus> {
      return readAndRecord(paymentId, 'transaction_status', at, readPaymentStatus, (status) => ({ reason: at.reasons?.[status.normalised] ?? null }));
    },

    /** The authorisation's SCA status, recorded when it changed: as {@link readAndRecordPaymentStatus}. */
    async readAndRecordScaStatus(paymentId: string, authorisationId: string, at: StatusRecordAt): Promise<BankScaStatus> {
      return readAndRecord(paymentId, 'sca_status', at, (loaded) => readScaStatus(loaded, authorisationId), () => ({ authorisationId, scaStartedAt: at.scaStartedAt }));
    },

    async startAuthorisationAtBank(paymentId: string): Promise<StartedAuthorisation> {
      const { payment, adapter, conn } = await load(paymentId);
      const started = await adapter
        .startAuthorisation(conn, { ...bankRef(payment, 'start-authorisation'), redirect: redirectUris(paymentId), oauth: oauthRedirect(paymentId) })
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

    async recordPaymentStatus(change: RecordedStatusChange): Promise<void> {
      await recordChange(change);
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
