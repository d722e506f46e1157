/**
 * The Berlin Group sandbox ASPSP: in-memory payments, authorisations and the scenario engine.
 * Pure logic, no HTTP: `routes.ts` translates requests into calls on {@link BerlinGroupSandboxBank}.
 *
 * Everything lives in memory: a process restart forgets every payment (ids become 403 RESOURCE_UNKNOWN).
 *
 * ## Scenarios
 * Picked by the `PSU-ID` header and the cents of `instructedAmount.amount` at initiation.
 *
 * SCA approach
 * - `PSU-ID: exempt` → no SCA: the bank exempts the payment (as for a trusted beneficiary or a
 *   low-value payment, PSD2 RTS art. 13/16) and executes it at once. The 201 carries the
 *   transaction status (`ACSP`; `RJCT` for cents `13`), no authorisation and no SCA links;
 *   settlement then follows the cents rules below. It cannot be cancelled (405).
 * - `PSU-ID: decoupled` → DECOUPLED SCA, approved by the "banking app" `decoupledDelayMs` after
 *   the authorisation was created (default 1000 ms): scaStatus `started` → `finalised`.
 * - `PSU-ID: decoupled-deny` → DECOUPLED SCA that the PSU refuses after the delay:
 *   scaStatus `started` → `failed`, payment `RJCT`.
 * - `TPP-Redirect-Preferred: false` (any other PSU) → DECOUPLED SCA, approved as above.
 * - anything else → REDIRECT SCA. `_links.scaRedirect` is an HTML page (`/sca/{authorisationId}`)
 *   with Approve and Deny buttons (a plain form posting `decision=approve|deny`). scaStatus
 *   `received` → `started` (page opened) → `finalised` | `failed`, then 302 to
 *   `TPP-Redirect-URI` (approve) or `TPP-Nok-Redirect-URI` (deny, falling back to TPP-Redirect-URI).
 *   A second decision on the same authorisation is refused (409) and changes nothing.
 *
 * Transaction status (only `GET .../status` reads advance settlement; `GET` of the payment and
 * `stats()` just look)
 * - before SCA: `RCVD`
 * - SCA failed: `RJCT`
 * - SCA finalised: `ACSP`; the first status read after SCA answers `ACSP`, every later one `ACSC`.
 * - SCA finalised, cents `13` (e.g. "10.13"): the bank rejects after SCA, `RJCT`.
 * - SCA finalised, cents `42`: `ACSP` until read; the first `pendingPolls` status reads (default 3)
 *   answer `PDNG`, the next ones `ACSC`.
 * - `DELETE` before SCA finished: 204 and `CANC`; once SCA finished (or already cancelled): 405
 *   CANCELLATION_INVALID.
 *
 * The decoupled outcome is computed from timestamps when read (no timers), so it needs nothing
 * running in the background and tests can drive it with a short delay.
 *
 * ## X-Request-ID: no deduplication (as real banks)
 * BG 1.3.12 makes `X-Request-ID` the id of one request and promises no idempotency, so by default
 * every initiation request creates a payment, a repeated `X-Request-ID` included, and an
 * SCA-exempt one is executed each time. Deduplication is an opt-in scenario (see
 * `request-ledger.ts`): the sandbox option `deduplicateRequestIds` (`SANDBOX_BG_DEDUPLICATE=true`,
 * `PUT /_sandbox/settings`) or the request header `Sandbox-Deduplicate: true`. Then a repeat
 * answers the original 201 (same body and headers, no new payment) and the same id with another
 * product or body is refused with 400 FORMAT_ERROR.
 * `stats()` counts, per payment, the initiation requests that carried its `X-Request-ID` and
 * whether the bank executed it, so tests can prove that each logical payment was created and
 * executed once.
 */
import { randomUUID } from 'node:crypto';
import type { PaymentInitiationBody, PaymentProduct } from '../../../libs/domain/payment';
import type { ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';
import { SandboxErrorCode, sandboxError, type SandboxError } from './errors';
import { FaultInjector, type FaultDecision, type SandboxFaults } from './faults';
import { RequestLedger } from './request-ledger';
import { centsOf } from './validation';
import { SingleCancellations } from './single-cancellations';

export interface BerlinGroupSandboxOptions {
  /** Base used in links; defaults to the listening URL. */
  publicUrl?: string;
  /** Delay before the decoupled "banking app" decides; default 1000. */
  decoupledDelayMs?: number;
  /** "cents 42" scenario: status reads that stay pending; default 3. */
  pendingPolls?: number;
  faults?: Partial<SandboxFaults>;
  /** Injectable for deterministic fault tests. */
  random?: () => number;
  /** Opt-in kindness: answer a repeated initiation X-Request-ID with the original payment. Default false. */
  deduplicateRequestIds?: boolean;
  /** The payments side's clock in epoch ms (tests move it instead of sleeping). Default Date.now. */
  now?: () => number;
}

/** The SCA approaches this sandbox offers. */
export type SandboxScaApproach = 'REDIRECT' | 'DECOUPLED';
export type ScaDecision = 'approve' | 'deny';

/** Payment services of BG's `{payment-service}`; bulk and periodic payments come later. */
export type PaymentService = 'payments';

export interface PaymentStats {
  paymentId: string;
  /** X-Request-ID of the initiation request that created this payment. */
  requestId: string;
  /** Initiation POSTs that carried this X-Request-ID (whatever each of them created). */
  initiationRequests: number;
  transactionStatus: TransactionStatus;
  scaStatus: ScaStatus;
  /** The bank executes (or executed) the payment: SCA finalised or exempted, not cancelled or rejected. */
  executed: boolean;
}

export interface SandboxStats {
  totals: {
    paymentsCreated: number;
    /** Initiation POSTs that passed validation: created, replayed or refused as a conflicting replay. */
    initiationRequests: number;
    paymentsExecuted: number;
  };
  payments: PaymentStats[];
}

/** A read-only view of one payment, for tests and the SCA page. */
export interface SandboxPaymentView extends PaymentStats {
  paymentService: PaymentService;
  paymentProduct: PaymentProduct;
  scaApproach: SandboxScaApproach;
  payment: PaymentInitiationBody;
  authorisationIds: string[];
  createdAt: string;
}

export interface InitiatePaymentRequest {
  /** X-Request-ID. */
  requestId: string;
  /** `Sandbox-Deduplicate`: overrides the sandbox's deduplication setting for this request. */
  deduplicate?: boolean;
  paymentProduct: PaymentProduct;
  /** Already validated by the caller. */
  payment: PaymentInitiationBody;
  psuId?: string;
  tppRedirectPreferred?: boolean;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  /** Base for `_links`, e.g. `http://127.0.0.1:3001/berlin-group`. */
  baseUrl: string;
}

/** The 201 exactly as first sent, so a replay can answer byte-for-byte the same. */
export interface InitiationResponse {
  body: Record<string, unknown>;
  location: string;
  /** The `ASPSP-SCA-Approach` header; none when SCA was exempted. */
  scaApproach?: SandboxScaApproach;
}

export type InitiationOutcome = { kind: 'created' | 'replayed'; response: InitiationResponse } | SandboxError;

export interface StartAuthorisationRequest {
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  baseUrl: string;
}

/** What the SCA page needs to render or conclude. */
export type ScaPageState =
  | { kind: 'pending'; payment: SandboxPaymentView; authorisationId: string }
  | { kind: 'done'; payment: SandboxPaymentView; authorisationId: string; scaStatus: ScaStatus; reason: string }
  | { kind: 'unknown' };

export type ScaDecisionOutcome =
  | { kind: 'decided'; scaStatus: ScaStatus; redirectTo?: string }
  | { kind: 'refused'; reason: string }
  | { kind: 'unknown' };

interface AuthorisationRecord {
  authorisationId: string;
  paymentId: string;
  approach: SandboxScaApproach;
  createdAt: number;
  pageOpened: boolean;
  decision?: { outcome: ScaDecision; at: number };
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

interface PaymentRecord {
  paymentId: string;
  paymentService: PaymentService;
  paymentProduct: PaymentProduct;
  requestId: string;
  fingerprint: string;
  payment: PaymentInitiationBody;
  createdAt: number;
  scaApproach: SandboxScaApproach;
  /** No SCA at all (`PSU-ID: exempt`): the payment is authorised from the start. */
  scaExempted: boolean;
  /** What the PSU does in the banking app when SCA is decoupled. */
  decoupledDecision: ScaDecision;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  authorisationIds: string[];
  cancelledAt?: number;
  /** Status reads after SCA finalised; they drive settlement. */
  settlementReads: number;
  created: InitiationResponse;
}

/** A payment's state, before or after its 201 was composed. */
type PaymentState = Omit<PaymentRecord, 'created'>;

type PaymentIdentity = Pick<PaymentRecord, 'paymentId' | 'paymentService' | 'paymentProduct' | 'scaApproach' | 'authorisationIds'>;

/** The scenario that skips SCA (see the file comment). */
export const SCA_EXEMPT_PSU_ID = 'exempt';

export interface BankSettings {
  decoupledDelayMs?: number;
  pendingPolls?: number;
  faults?: Partial<SandboxFaults>;
  random?: () => number;
  /** Clock in epoch milliseconds; injectable for unit tests. */
  now?: () => number;
  deduplicateRequestIds?: boolean;
  /** The business day's clock (the AIS clock): decides when a future-dated payment is due. Default `now`. */
  businessNow?: () => number;
}

export class BerlinGroupSandboxBank {
  /** Cancellation authorisations of future-dated payments (`single-cancellations.ts`). */
  readonly cancellations: SingleCancellations;
  private readonly businessNow: () => number;
  private readonly payments = new Map<string, PaymentRecord>();
  private readonly requestIds: RequestLedger;
  private readonly authorisations = new Map<string, AuthorisationRecord>();
  private readonly faultInjector: FaultInjector;
  private readonly decoupledDelayMs: number;
  private readonly pendingPolls: number;
  private readonly now: () => number;

  constructor(settings: BankSettings = {}) {
    this.requestIds = new RequestLedger(settings.deduplicateRequestIds ?? false);
    this.decoupledDelayMs = settings.decoupledDelayMs ?? 1000;
    this.pendingPolls = settings.pendingPolls ?? 3;
    this.now = settings.now ?? Date.now;
    this.faultInjector = new FaultInjector(settings.faults, settings.random);
    this.businessNow = settings.businessNow ?? this.now;
    this.cancellations = new SingleCancellations({ now: this.now, decoupledDelayMs: this.decoupledDelayMs });
  }

  /** Authorised, dated after the bank's today, and not cancelled: accepted and waiting (`ACCP`). */
  private awaitsExecutionDate(record: PaymentState): boolean {
    const date = record.payment.requestedExecutionDate;
    return date !== undefined && date > new Date(this.businessNow()).toISOString().slice(0, 10);
  }

  // ── faults ────────────────────────────────────────────────────────────────

  /** Merges a partial into the active faults; throws RangeError on bad values. */
  setFaults(partial: Partial<SandboxFaults>): SandboxFaults {
    return this.faultInjector.set(partial);
  }

  /** Back to the faults given at start-up (none by default). */
  resetFaults(): SandboxFaults {
    return this.faultInjector.reset();
  }

  faults(): SandboxFaults {
    return this.faultInjector.current();
  }

  /** @internal used by the routes for every `/v1` request. */
  decideFault(): FaultDecision {
    return this.faultInjector.decide();
  }

  /** @internal */
  faultLatencyMs(): number {
    return this.faultInjector.latencyMs();
  }

  // ── deduplication (opt-in) ───────────────────────────────────────────────

  /** Whether a repeated initiation X-Request-ID answers the original payment (default: no, as real banks). */
  setDeduplication(on: boolean): void {
    this.requestIds.setDeduplication(on);
  }

  deduplicates(): boolean {
    return this.requestIds.deduplicates;
  }

  // ── inspection ────────────────────────────────────────────────────────────

  stats(): SandboxStats {
    const payments = [...this.payments.values()].map((record) => this.statsOf(record));
    return {
      totals: {
        paymentsCreated: payments.length,
        initiationRequests: this.requestIds.totalRequests,
        paymentsExecuted: payments.filter((p) => p.executed).length,
      },
      payments,
    };
  }

  getPayment(paymentId: string): SandboxPaymentView | undefined {
    const record = this.payments.get(paymentId);
    return record && this.viewOf(record);
  }

  /** Every payment created by an initiation request with this X-Request-ID, oldest first. */
  findPaymentsByRequestId(requestId: string): SandboxPaymentView[] {
    return this.requestIds.createdWith(requestId).map((paymentId) => this.getPayment(paymentId)!);
  }

  // ── PIS operations ───────────────────────────────────────────────────────

  initiatePayment(request: InitiatePaymentRequest): InitiationOutcome {
    const fingerprint = stableStringify({ product: request.paymentProduct, payment: request.payment });
    const replayOf = this.requestIds.admit(request.requestId, request.deduplicate);
    if (replayOf !== undefined) {
      const existing = this.payments.get(replayOf)!;
      if (existing.fingerprint !== fingerprint) {
        return sandboxError(
          SandboxErrorCode.IdempotencyConflict,
          `X-Request-ID ${request.requestId} was already used for payment ${existing.paymentId} with a different payment product or body`,
        );
      }
      return { kind: 'replayed', response: existing.created };
    }

    const scaExempted = request.psuId === SCA_EXEMPT_PSU_ID;
    const decoupled = request.psuId === 'decoupled' || request.psuId === 'decoupled-deny' || request.tppRedirectPreferred === false;
    const scaApproach: SandboxScaApproach = decoupled ? 'DECOUPLED' : 'REDIRECT';
    const paymentId = randomUUID();
    const now = this.now();
    const draft: Omit<PaymentRecord, 'created'> = {
      paymentId,
      paymentService: 'payments',
      paymentProduct: request.paymentProduct,
      requestId: request.requestId,
      fingerprint,
      payment: structuredClone(request.payment),
      createdAt: now,
      scaApproach,
      scaExempted,
      decoupledDecision: request.psuId === 'decoupled-deny' ? 'deny' : 'approve',
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
      authorisationIds: [],
      settlementReads: 0,
    };
    const links = this.paymentLinks(request.baseUrl, draft);
    const created = scaExempted ? this.exemptedResponse(draft, links) : this.scaResponse(draft, request, links);
    this.payments.set(paymentId, { ...draft, created });
    this.requestIds.recordCreated(request.requestId, paymentId);
    return { kind: 'created', response: created };
  }

  /** Exempted from SCA: authorised at once, so the 201 already carries the bank's verdict. */
  private exemptedResponse(draft: PaymentState, links: { self: string; status: string }): InitiationResponse {
    return {
      location: links.self,
      body: {
        transactionStatus: this.transactionStatusOf(draft),
        paymentId: draft.paymentId,
        _links: { self: { href: links.self }, status: { href: links.status } },
      },
    };
  }

  private scaResponse(
    draft: PaymentState,
    request: InitiatePaymentRequest,
    links: { self: string; status: string },
  ): InitiationResponse {
    const { paymentId, scaApproach } = draft;
    // The implicit authorisation: BG lets the ASPSP start SCA with the initiation itself.
    const authorisation = this.addAuthorisation(draft, { baseUrl: request.baseUrl });
    return {
      location: links.self,
      scaApproach,
      body: {
        transactionStatus: 'RCVD',
        paymentId,
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(scaApproach === 'REDIRECT' ? { scaRedirect: { href: this.scaRedirectUrl(request.baseUrl, authorisation) } } : {}),
          self: { href: links.self },
          status: { href: links.status },
          scaStatus: { href: this.authorisationUrl(request.baseUrl, draft, authorisation) },
        },
        ...(scaApproach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
  }

  /** GET of the payment resource: the initiation body plus the current status (does not advance settlement). */
  readPayment(product: string, paymentId: string): Record<string, unknown> | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    return { ...structuredClone(record.payment), transactionStatus: this.transactionStatusOf(record) };
  }

  /** GET .../status: the read that advances settlement after SCA. */
  readStatus(product: string, paymentId: string): { transactionStatus: TransactionStatus } | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    if (this.settlementApplies(record)) record.settlementReads += 1;
    return { transactionStatus: this.transactionStatusOf(record) };
  }

  cancelPayment(product: string, paymentId: string): { transactionStatus: 'CANC' | 'ACCP'; authorisationRequired?: boolean } | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    if (record.cancelledAt !== undefined) {
      return sandboxError(SandboxErrorCode.CancellationInvalid, 'The payment is already cancelled');
    }
    if (this.scaOutcomeOf(record) === 'approve' && this.awaitsExecutionDate(record) && this.cancellations.approvedAt(paymentId) === undefined) {
      this.cancellations.request(paymentId, record.scaApproach, record.decoupledDecision);
      return { transactionStatus: 'ACCP', authorisationRequired: true };
    }
    if (this.scaOutcomeOf(record)) {
      return sandboxError(
        SandboxErrorCode.CancellationInvalid,
        `The payment can no longer be cancelled: SCA already finished (transaction status ${this.transactionStatusOf(record)})`,
      );
    }
    record.cancelledAt = this.now();
    return { transactionStatus: 'CANC' };
  }

  startAuthorisation(
    product: string,
    paymentId: string,
    request: StartAuthorisationRequest,
  ): { body: Record<string, unknown>; scaApproach: SandboxScaApproach } | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    if (record.cancelledAt !== undefined || this.scaOutcomeOf(record)) {
      return sandboxError(
        SandboxErrorCode.StatusInvalid,
        `No further authorisation possible: transaction status is ${this.transactionStatusOf(record)}`,
      );
    }
    const authorisation = this.addAuthorisation(record, request);
    const scaStatusHref = this.authorisationUrl(request.baseUrl, record, authorisation);
    return {
      scaApproach: authorisation.approach,
      body: {
        scaStatus: this.scaStatusOf(authorisation),
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(authorisation.approach === 'REDIRECT'
            ? { scaRedirect: { href: this.scaRedirectUrl(request.baseUrl, authorisation) } }
            : {}),
          scaStatus: { href: scaStatusHref },
        },
        ...(authorisation.approach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
  }

  listAuthorisations(product: string, paymentId: string): { authorisationIds: string[] } | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    return { authorisationIds: [...record.authorisationIds] };
  }

  getScaStatus(product: string, paymentId: string, authorisationId: string): { scaStatus: ScaStatus } | SandboxError {
    const found = this.findAuthorisation(product, paymentId, authorisationId);
    if ('error' in found) return found;
    return { scaStatus: this.scaStatusOf(found.authorisation) };
  }

  /**
   * PUT on an authorisation. This sandbox needs no PSU data (the PSU acts on the SCA page or in the
   * "banking app"), so any PSU data is accepted and the current SCA status is answered.
   */
  updatePsuData(
    product: string,
    paymentId: string,
    authorisationId: string,
    baseUrl: string,
  ): { body: Record<string, unknown>; scaApproach: SandboxScaApproach } | SandboxError {
    const found = this.findAuthorisation(product, paymentId, authorisationId);
    if ('error' in found) return found;
    const { record, authorisation } = found;
    return {
      scaApproach: authorisation.approach,
      body: {
        scaStatus: this.scaStatusOf(authorisation),
        _links: { scaStatus: { href: this.authorisationUrl(baseUrl, record, authorisation) } },
        ...(authorisation.approach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
  }

  // ── SCA page ─────────────────────────────────────────────────────────────

  /** The PSU opened the redirect page: SCA is `started` from now on. */
  openScaPage(authorisationId: string): ScaPageState {
    const found = this.redirectAuthorisation(authorisationId);
    if (!found) return { kind: 'unknown' };
    const { record, authorisation } = found;
    const payment = this.viewOf(record);
    const blocked = this.decisionBlockedReason(record, authorisation);
    if (blocked) {
      return { kind: 'done', payment, authorisationId, scaStatus: this.scaStatusOf(authorisation), reason: blocked };
    }
    authorisation.pageOpened = true;
    return { kind: 'pending', payment: this.viewOf(record), authorisationId };
  }

  decideRedirectSca(authorisationId: string, decision: ScaDecision): ScaDecisionOutcome {
    const found = this.redirectAuthorisation(authorisationId);
    if (!found) return { kind: 'unknown' };
    const { record, authorisation } = found;
    const blocked = this.decisionBlockedReason(record, authorisation);
    if (blocked) return { kind: 'refused', reason: blocked };
    authorisation.decision = { outcome: decision, at: this.now() };
    const okUri = authorisation.tppRedirectUri ?? record.tppRedirectUri;
    const nokUri = authorisation.tppNokRedirectUri ?? record.tppNokRedirectUri ?? okUri;
    return {
      kind: 'decided',
      scaStatus: this.scaStatusOf(authorisation),
      redirectTo: decision === 'approve' ? okUri : nokUri,
    };
  }

  // ── internals ────────────────────────────────────────────────────────────

  private addAuthorisation(record: PaymentIdentity, request: Partial<StartAuthorisationRequest>): AuthorisationRecord {
    const authorisation: AuthorisationRecord = {
      authorisationId: randomUUID(),
      paymentId: record.paymentId,
      approach: record.scaApproach,
      createdAt: this.now(),
      pageOpened: false,
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
    };
    this.authorisations.set(authorisation.authorisationId, authorisation);
    record.authorisationIds.push(authorisation.authorisationId);
    return authorisation;
  }

  private find(product: string, paymentId: string): PaymentRecord | SandboxError {
    const record = this.payments.get(paymentId);
    // A payment addressed under another product is as unknown as a made-up id.
    if (!record || record.paymentProduct !== product) {
      return sandboxError(SandboxErrorCode.ResourceUnknown, `Payment ${paymentId} is unknown for ${product}`, 'paymentId');
    }
    return record;
  }

  private findAuthorisation(
    product: string,
    paymentId: string,
    authorisationId: string,
  ): { record: PaymentRecord; authorisation: AuthorisationRecord } | SandboxError {
    const record = this.find(product, paymentId);
    if ('error' in record) return record;
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.paymentId !== paymentId) {
      return sandboxError(
        SandboxErrorCode.ResourceUnknown,
        `Authorisation ${authorisationId} is unknown for payment ${paymentId}`,
        'authorisationId',
      );
    }
    return { record, authorisation };
  }

  private redirectAuthorisation(authorisationId: string): { record: PaymentRecord; authorisation: AuthorisationRecord } | undefined {
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return undefined;
    return { record: this.payments.get(authorisation.paymentId)!, authorisation };
  }

  private decisionBlockedReason(record: PaymentRecord, authorisation: AuthorisationRecord): string | undefined {
    if (authorisation.decision) return `This authorisation was already ${authorisation.decision.outcome === 'approve' ? 'approved' : 'denied'}.`;
    if (record.cancelledAt !== undefined) return 'The payment was cancelled.';
    if (this.scaOutcomeOf(record)) return 'The payment was already decided through another authorisation.';
    return undefined;
  }

  /** When, if ever, an authorisation reached a final SCA result. */
  private decisionOf(record: PaymentState, authorisation: AuthorisationRecord): { outcome: ScaDecision; at: number } | undefined {
    if (authorisation.decision) return authorisation.decision;
    if (authorisation.approach !== 'DECOUPLED') return undefined;
    const at = authorisation.createdAt + this.decoupledDelayMs;
    if (at > this.now()) return undefined;
    if (record.cancelledAt !== undefined && record.cancelledAt <= at) return undefined;
    return { outcome: record.decoupledDecision, at };
  }

  /** The first authorisation to finish decides the payment; an exempted one needs none. */
  private scaOutcomeOf(record: PaymentState): ScaDecision | undefined {
    if (record.scaExempted) return 'approve';
    let first: { outcome: ScaDecision; at: number } | undefined;
    for (const id of record.authorisationIds) {
      const decision = this.decisionOf(record, this.authorisations.get(id)!);
      if (decision && (!first || decision.at < first.at)) first = decision;
    }
    return first?.outcome;
  }

  private scaStatusOf(authorisation: AuthorisationRecord): ScaStatus {
    const record = this.payments.get(authorisation.paymentId)!;
    const decision = this.decisionOf(record, authorisation);
    if (decision) return decision.outcome === 'approve' ? 'finalised' : 'failed';
    if (record.cancelledAt !== undefined) return 'failed';
    if (authorisation.approach === 'DECOUPLED') return 'started';
    return authorisation.pageOpened ? 'started' : 'received';
  }

  private paymentScaStatusOf(record: PaymentRecord): ScaStatus {
    if (record.scaExempted) return 'exempted';
    const outcome = this.scaOutcomeOf(record);
    if (outcome) return outcome === 'approve' ? 'finalised' : 'failed';
    const latest = record.authorisationIds[record.authorisationIds.length - 1];
    return this.scaStatusOf(this.authorisations.get(latest)!);
  }

  private settlementApplies(record: PaymentState): boolean {
    if (this.cancellations.approvedAt(record.paymentId) !== undefined || this.awaitsExecutionDate(record)) return false;
    return record.cancelledAt === undefined && this.scaOutcomeOf(record) === 'approve' && centsOf(record.payment.instructedAmount.amount) !== '13';
  }

  private transactionStatusOf(record: PaymentState): TransactionStatus {
    if (record.cancelledAt !== undefined) return 'CANC';
    const outcome = this.scaOutcomeOf(record);
    if (!outcome) return 'RCVD';
    if (outcome === 'deny') return 'RJCT';
    if (this.cancellations.approvedAt(record.paymentId) !== undefined) return 'CANC';
    if (this.awaitsExecutionDate(record)) return 'ACCP';
    const cents = centsOf(record.payment.instructedAmount.amount);
    if (cents === '13') return 'RJCT';
    if (cents === '42') {
      if (record.settlementReads === 0) return 'ACSP';
      return record.settlementReads <= this.pendingPolls ? 'PDNG' : 'ACSC';
    }
    return record.settlementReads <= 1 ? 'ACSP' : 'ACSC';
  }

  private statsOf(record: PaymentRecord): PaymentStats {
    const transactionStatus = this.transactionStatusOf(record);
    return {
      paymentId: record.paymentId,
      requestId: record.requestId,
      initiationRequests: this.requestIds.requestsWith(record.requestId),
      transactionStatus,
      scaStatus: this.paymentScaStatusOf(record),
      executed: record.cancelledAt === undefined && this.scaOutcomeOf(record) === 'approve' && transactionStatus !== 'RJCT' && transactionStatus !== 'CANC',
    };
  }

  private viewOf(record: PaymentRecord): SandboxPaymentView {
    return {
      ...this.statsOf(record),
      paymentService: record.paymentService,
      paymentProduct: record.paymentProduct,
      scaApproach: record.scaApproach,
      payment: structuredClone(record.payment),
      authorisationIds: [...record.authorisationIds],
      createdAt: new Date(record.createdAt).toISOString(),
    };
  }

  private paymentLinks(baseUrl: string, record: PaymentIdentity): { self: string; status: string } {
    const self = `${baseUrl}/v1/${record.paymentService}/${record.paymentProduct}/${record.paymentId}`;
    return { self, status: `${self}/status` };
  }

  private authorisationUrl(baseUrl: string, record: PaymentIdentity, authorisation: AuthorisationRecord): string {
    return `${this.paymentLinks(baseUrl, record).self}/authorisations/${authorisation.authorisationId}`;
  }

  private scaRedirectUrl(baseUrl: string, authorisation: AuthorisationRecord): string {
    return `${baseUrl}/sca/${authorisation.authorisationId}`;
  }
}

const DECOUPLED_PSU_MESSAGE = 'Please confirm the payment in your Clearway Sandbox Bank app.';

/** JSON with sorted keys, so a replay with reordered properties is still the same request. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
