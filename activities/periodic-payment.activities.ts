import type { Logger } from 'pino';
import type { AccountInformationAdapter, BankAdapter, BankConnection, BankProtocol, InitiatePaymentResult, PaymentRef } from '../libs/adapters/bank-adapter';
import { isBankError, supportsAccountInformation } from '../libs/adapters/bank-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import type { CancellationAuthorisationsAdapter, PaymentService, PeriodicPaymentsAdapter } from '../libs/adapters/payment-services';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import { initiationSafetyFacts, isAmbiguousCreation } from '../libs/domain/initiation-safety';
import { resolveExecutions, type BookedDebit, type ResolvedExecution } from '../libs/domain/periodic-observation';
import { isoDateOf, type PeriodicSchedule, type ScheduledExecution } from '../libs/domain/target2-calendar';
import type { BankScaStatus, BankTransactionStatus } from '../libs/domain/transaction-status';
import type { ConsentRepository } from '../libs/persistence/consent.repository';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { PaymentEntity } from '../libs/persistence/entities/payment.entity';
import type { InitiationAttemptRepository } from '../libs/persistence/initiation-attempt.repository';
import type { PaymentRepository } from '../libs/persistence/payment.repository';
import type { PeriodicPaymentRepository } from '../libs/persistence/periodic-payment.repository';
import { scaCallbackUrl } from '../libs/security/callback-state';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { CancellationResult, InitiationAttemptResult, InitiationSummary, StartedAuthorisation } from '../workflows/payment-initiation.api';
import type { PeriodicObservation } from '../workflows/periodic-payment.api';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import { toActivityFailure } from './bank-failure';
import { createAtMostOnce } from './initiation-guard';
import { logicalCallRequestId } from './request-ids';

export interface PeriodicPaymentActivityDeps {
  payments: PaymentRepository;
  periodicPayments: PeriodicPaymentRepository;
  consents: ConsentRepository;
  directory: DirectoryRepository;
  initiationAttempts: InitiationAttemptRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  logger: Logger;
}

/** Most booked entries one observation reads (pages of the bank's own size). */
const MAX_PAGES = 20;

/**
 * Standing-order activities: one adapter call each, persist what the bank said, return a summary.
 * Cancellation authorisations are keyed by payment service, so every service's workflow uses them.
 */
export function createPeriodicPaymentActivities(deps: PeriodicPaymentActivityDeps) {
  async function load(paymentId: string) {
    const payment = await deps.payments.findById(paymentId);
    if (!payment) throw failure(FailureType.PaymentNotFound, `Payment ${paymentId} not found`);
    const aspsp = await deps.directory.findAspsp(payment.bicFi);
    if (!aspsp) throw failure(FailureType.PaymentNotFound, `ASPSP ${payment.bicFi} not found`);
    const adapter = deps.adapterFor(aspsp.protocol);
    return { payment, aspsp, adapter, conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  function periodicOf(adapter: BankAdapter): PeriodicPaymentsAdapter {
    if (!adapter.periodicPayments) throw failure(FailureType.BankRejected, `The ${adapter.protocol} adapter offers no periodic payments`);
    return adapter.periodicPayments;
  }

  function cancellationsOf(adapter: BankAdapter): CancellationAuthorisationsAdapter {
    if (!adapter.cancellationAuthorisations) throw failure(FailureType.BankRejected, `The ${adapter.protocol} adapter offers no cancellation authorisations`);
    return adapter.cancellationAuthorisations;
  }

  const psuOf = (payment: PaymentEntity) => ({ psuId: payment.psuId ?? undefined, psuIpAddress: payment.psuIpAddress ?? undefined });

  function bankRef(payment: PaymentEntity, step: string): PaymentRef {
    if (!payment.bankPaymentId) throw failure(FailureType.PaymentNotFound, `Payment ${payment.id} was never initiated at the bank`);
    return { bankPaymentId: payment.bankPaymentId, paymentProduct: payment.paymentProduct, requestId: logicalCallRequestId(payment.id, step), psu: psuOf(payment) };
  }

  function redirectUris(paymentId: string) {
    return {
      okUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, paymentId, 'ok'),
      nokUri: scaCallbackUrl(deps.publicBaseUrl, deps.callbackSigner, paymentId, 'nok'),
    };
  }

  async function recordedInitiation(payment: PaymentEntity): Promise<InitiatePaymentResult | undefined> {
    if (!payment.bankPaymentId || !payment.scaApproach) return undefined;
    const [authorisation] = await deps.payments.listAuthorisations(payment.tenantId, payment.id);
    return {
      bankPaymentId: payment.bankPaymentId,
      status: { raw: payment.rawTransactionStatus ?? payment.transactionStatus, normalised: payment.transactionStatus },
      scaApproach: payment.scaApproach,
      ...(authorisation ? { authorisationId: authorisation.authorisationId } : {}),
      ...(payment.scaRedirectUrl ? { scaRedirectUrl: payment.scaRedirectUrl } : {}),
      ...(payment.psuMessage ? { psuMessage: payment.psuMessage } : {}),
    };
  }

  return {
    /** At most once per standing order, like a single payment's initiation (`createAtMostOnce`). */
    async initiatePeriodicPaymentAtBank(paymentId: string, opts: { createAgainAfterAttempt?: number } = {}): Promise<InitiationAttemptResult> {
      const { payment, aspsp, adapter, conn } = await load(paymentId);
      const periodic = periodicOf(adapter);
      const body = payment.body as PaymentEntity['body'] & PeriodicSchedule;
      const outcome = await createAtMostOnce(deps.initiationAttempts, {
        resourceType: 'payment',
        resourceId: paymentId,
        requestId: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'initiate'),
        createAgainAfterAttempt: opts.createAgainAfterAttempt,
        recorded: () => recordedInitiation(payment),
        send: (requestId) =>
          periodic.initiatePeriodicPayment(conn, {
            idempotencyKey: requestId,
            paymentProduct: payment.paymentProduct,
            payment: body,
            terms: {
              startDate: body.startDate,
              endDate: body.endDate,
              frequency: body.frequency,
              executionRule: body.executionRule,
              dayOfExecution: body.dayOfExecution,
              monthsOfExecution: body.monthsOfExecution,
            },
            psu: psuOf(payment),
            redirect: redirectUris(paymentId),
          }),
        record: async (result) => {
          await deps.payments.recordInitiation(paymentId, {
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
        },
        bankIdOf: (result) => result.bankPaymentId,
        facts: initiationSafetyFacts(aspsp, Boolean(payment.psuId)),
      });
      if (isAmbiguousCreation(outcome)) {
        deps.logger.warn({ paymentId, reason: outcome.reason }, 'periodic payment initiation ambiguous: the bank may hold the order');
        return outcome;
      }
      deps.logger.info({ paymentId, transactionStatus: outcome.status.normalised, scaApproach: outcome.scaApproach }, 'periodic payment initiated at bank');
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

    async getPeriodicStatusAtBank(paymentId: string): Promise<BankTransactionStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      return periodicOf(adapter).getPeriodicPaymentStatus(conn, bankRef(payment, 'periodic-status')).catch(toActivityFailure);
    },

    /**
     * An operator names the bank's id of a standing order whose initiation answer was lost: the
     * bank must know it (its status is read at that id), else the decision is refused. Nothing is
     * initiated.
     */
    async confirmBankPeriodicPayment(paymentId: string, bankPaymentId: string): Promise<BankTransactionStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      const ref = { bankPaymentId, paymentProduct: payment.paymentProduct, requestId: logicalCallRequestId(payment.id, 'confirm-bank-periodic-payment'), psu: psuOf(payment) };
      try {
        return await periodicOf(adapter).getPeriodicPaymentStatus(conn, ref);
      } catch (err) {
        if (isBankError(err) && err.kind === 'not_found') {
          throw failure(FailureType.DecisionRefused, `The bank does not know periodic payment ${bankPaymentId} under ${payment.paymentProduct}`);
        }
        return toActivityFailure(err);
      }
    },

    async getPeriodicScaStatusAtBank(paymentId: string, authorisationId: string): Promise<BankScaStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      const status = await periodicOf(adapter).getPeriodicScaStatus(conn, { ...bankRef(payment, 'periodic-sca-status'), authorisationId }).catch(toActivityFailure);
      await deps.payments.updateAuthorisationStatus(paymentId, authorisationId, status);
      return status;
    },

    async startPeriodicAuthorisationAtBank(paymentId: string): Promise<StartedAuthorisation> {
      const { payment, adapter, conn } = await load(paymentId);
      const started = await periodicOf(adapter)
        .startPeriodicAuthorisation(conn, { ...bankRef(payment, 'periodic-start-authorisation'), redirect: redirectUris(paymentId) })
        .catch(toActivityFailure);
      await deps.payments.upsertAuthorisation({ paymentId, authorisationId: started.authorisationId, scaApproach: started.scaApproach, scaRedirectUrl: started.scaRedirectUrl ?? null, scaStatus: started.scaStatus });
      return { authorisationId: started.authorisationId, scaStatus: started.scaStatus.normalised, scaApproach: started.scaApproach, scaRedirectUrl: started.scaRedirectUrl, psuMessage: started.psuMessage };
    },

    async cancelPeriodicPaymentAtBank(paymentId: string): Promise<CancellationResult> {
      const { payment, adapter, conn } = await load(paymentId);
      const result = await periodicOf(adapter).cancelPeriodicPayment(conn, bankRef(payment, 'periodic-cancel')).catch(toActivityFailure);
      return { transactionStatus: result.status.normalised, authorisationRequired: result.authorisationRequired };
    },

    /** BG cancellation-authorisations of any payment service: the service comes from the payment's row. */
    async startCancellationAuthorisationAtBank(paymentId: string): Promise<StartedAuthorisation> {
      const { payment, adapter, conn } = await load(paymentId);
      const started = await cancellationsOf(adapter)
        .startCancellationAuthorisation(conn, { ...bankRef(payment, 'start-cancellation-authorisation'), paymentService: payment.paymentService as PaymentService, redirect: redirectUris(paymentId) })
        .catch(toActivityFailure);
      await deps.periodicPayments.upsertCancellation({ paymentId, cancellationId: started.authorisationId, scaApproach: started.scaApproach, scaRedirectUrl: started.scaRedirectUrl ?? null, scaStatus: started.scaStatus });
      return { authorisationId: started.authorisationId, scaStatus: started.scaStatus.normalised, scaApproach: started.scaApproach, scaRedirectUrl: started.scaRedirectUrl, psuMessage: started.psuMessage };
    },

    async getCancellationScaStatusAtBank(paymentId: string, cancellationId: string): Promise<BankScaStatus> {
      const { payment, adapter, conn } = await load(paymentId);
      const status = await cancellationsOf(adapter)
        .getCancellationScaStatus(conn, { ...bankRef(payment, 'cancellation-sca-status'), paymentService: payment.paymentService as PaymentService, cancellationId })
        .catch(toActivityFailure);
      await deps.periodicPayments.updateCancellationStatus(paymentId, cancellationId, status);
      return status;
    },

    /**
     * One look at the order: its status at the bank and, when the client gave an AIS consent of the
     * same PSU covering the debtor account, which of the pending executions were booked (or are
     * past their booking window). Account data stays here: only dates, ids and outcomes go back.
     */
    async observePeriodicPayment(
      paymentId: string,
      opts: { pending: ScheduledExecution[]; accountId?: string; taken: string[]; graceBusinessDays: number },
    ): Promise<PeriodicObservation> {
      const { payment, adapter, conn } = await load(paymentId);
      const transactionStatus = await periodicOf(adapter).getPeriodicPaymentStatus(conn, bankRef(payment, 'periodic-observe-status')).catch(toActivityFailure);
      const terms = await deps.periodicPayments.findTerms(paymentId);
      const consent = terms?.observationConsentId ? await deps.consents.findById(terms.observationConsentId) : null;
      if (!consent?.bankConsentId || consent.tenantId !== payment.tenantId || consent.bicFi !== payment.bicFi || consent.consentStatus !== 'valid' || !supportsAccountInformation(adapter) || !opts.pending.length) {
        return { transactionStatus, observable: Boolean(consent && consent.consentStatus === 'valid'), executions: [] };
      }
      // The order's status is news on its own: a failed account read (the consent's daily limit,
      // an outage) must not hide it. The bookings are read again on the next look.
      try {
        const ais: AccountInformationAdapter = adapter;
        const read = { bankConsentId: consent.bankConsentId, psu: { psuId: consent.psuId ?? undefined } };
        let accountId = opts.accountId;
        if (!accountId) {
          const { accounts } = await ais.listAccounts(conn, { ...read, requestId: logicalCallRequestId(paymentId, 'observe-accounts') }, { withBalance: false });
          const debtor = payment.body.debtorAccount?.iban?.replace(/\s+/g, '').toUpperCase();
          accountId = accounts.find((a) => typeof a.iban === 'string' && a.iban.toUpperCase() === debtor)?.resourceId as string | undefined;
          if (!accountId) return { transactionStatus, observable: false, executions: [] };
        }
        const booked = await bookedDebits(ais, conn, { ...read, requestId: logicalCallRequestId(paymentId, 'observe-transactions') }, accountId, opts.pending[0].executionDate);
        const executions: ResolvedExecution[] = resolveExecutions({
          pending: opts.pending,
          instructedAmount: payment.body.instructedAmount,
          creditorIban: payment.body.creditorAccount.iban,
          booked,
          // Our own clock: yesterday's books are closed.
          closedThrough: isoDateOf(Math.floor(Date.now() / 86_400_000) - 1),
          graceBusinessDays: opts.graceBusinessDays,
          taken: new Set(opts.taken),
        });
        return { transactionStatus, observable: true, accountId, executions };
      } catch (err) {
        if (!isBankError(err)) throw err;
        deps.logger.warn({ paymentId, kind: err.kind, httpStatus: err.details.httpStatus }, 'periodic payment: account read failed; executions are looked at again later');
        return { transactionStatus, observable: true, ...(opts.accountId ? { accountId: opts.accountId } : {}), executions: [] };
      }
    },

    /** The execution and its webhook event, in one transaction; a retry records nothing twice. */
    async recordPeriodicExecution(paymentId: string, execution: ResolvedExecution): Promise<void> {
      const recorded = await deps.periodicPayments.recordExecution({
        paymentId,
        executionIndex: execution.index,
        executionDate: execution.executionDate,
        outcome: execution.outcome,
        reason: execution.outcome === 'not_booked' ? execution.reason : null,
        bookingDate: execution.outcome === 'executed' ? execution.bookingDate : null,
        bankTransactionId: execution.outcome === 'executed' ? (execution.transactionId ?? null) : null,
      });
      if (recorded) deps.logger.info({ paymentId, executionIndex: execution.index, outcome: execution.outcome }, 'periodic payment execution observed');
    },
  };
}

/** Booked debits from `dateFrom` on, every page (the bank's own paging links are one report). */
async function bookedDebits(ais: AccountInformationAdapter, conn: BankConnection, ref: { bankConsentId: string; requestId: string; psu: { psuId?: string } }, accountId: string, dateFrom: string): Promise<BookedDebit[]> {
  const out: BookedDebit[] = [];
  let page: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const result = await ais.getTransactions(conn, ref, accountId, { bookingStatus: 'booked', dateFrom, ...(page ? { page } : {}) });
    for (const t of result.booked ?? []) {
      const amount = t.transactionAmount as { currency?: string; amount?: string } | undefined;
      if (typeof t.bookingDate !== 'string' || !amount?.amount || !amount.currency) continue;
      out.push({
        transactionId: typeof t.transactionId === 'string' ? t.transactionId : undefined,
        bookingDate: t.bookingDate,
        amount: amount.amount,
        currency: amount.currency,
        creditorIban: (t.creditorAccount as { iban?: string } | undefined)?.iban,
      });
    }
    page = result.pages.next;
    if (!page) break;
  }
  return out;
}

export type PeriodicPaymentActivities = ReturnType<typeof createPeriodicPaymentActivities>;
