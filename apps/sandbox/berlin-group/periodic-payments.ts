/**
 * Standing orders at the Berlin Group sandbox bank (BG 1.3.12 `periodic-payments`): in memory, pure
 * logic, no HTTP (`periodic-routes.ts` translates requests).
 *
 * ## The bank's clock
 * Executions happen on the bank's business clock, the same clock as account information
 * (`PUT /berlin-group/_sandbox/clock` sets or advances it; see the README). Nothing runs in the
 * background: every request that touches standing orders, and every AIS read, first brings the
 * orders up to the bank's today (`settle`), so advancing the clock by a year and then reading is the
 * same as a year passing.
 *
 * ## Lifecycle
 * - `POST`: transactionStatus `RCVD`, SCA as for single payments (`PSU-ID: decoupled` /
 *   `decoupled-deny` / `TPP-Redirect-Preferred: false` → DECOUPLED; otherwise REDIRECT with the page
 *   `/sca/periodic/{authorisationId}`). `startDate` must not be before the bank's today.
 * - SCA finalised → `ACCP` (accepted, the order is live); SCA failed → `RJCT`.
 * - Each execution date (TARGET2 calendar, `libs/domain/target2-calendar.ts`) on or after the day the
 *   order was authorised is executed when the bank's today reaches it: the debit is booked on the
 *   debtor account (pending that day, booked from the next day on, as every AIS entry), visible
 *   through `/v1/accounts/{id}/transactions` when the debtor IBAN is one of the PSU accounts.
 * - Scenario: an execution whose amount cents are `13` is refused for insufficient funds (ISO
 *   20022 reason `AM04`): nothing is booked and the order carries on with the next date.
 * - Once the last execution before `endDate` is done: `ACSC`.
 * - `DELETE` before SCA finished: 204, `CANC`. Once the order is live: 202 with
 *   `_links.startAuthorisation` → `POST .../cancellation-authorisations`; the PSU approves the
 *   cancellation (redirect page or decoupled app, same approach and PSU behaviour as at initiation) →
 *   `CANC`, no execution from that bank day on. A denied cancellation leaves the order live.
 *   An ended, rejected or cancelled order: 405 CANCELLATION_INVALID.
 *
 * ## What is visible, as at a real bank
 * BG 1.3.12 defines no execution list for a periodic payment: a TPP sees the order's
 * `transactionStatus` and, with an AIS consent, the booked executions on the debtor account. A refused
 * execution is invisible to the TPP (the bank tells the PSU). The sandbox keeps each execution's
 * outcome (with `AM04`) only in its operator view `GET /_sandbox/periodic-payments/{paymentId}`.
 */
import { randomUUID } from 'node:crypto';
import { parseDecimalAmount } from '../../../libs/domain/money';
import type { PaymentInitiationBody, PaymentProduct } from '../../../libs/domain/payment';
import {
  dayNumberOf,
  executionsThrough,
  isoDateOf,
  nextExecutions,
  scheduleProblems,
  type IsoDate,
  type PeriodicSchedule,
} from '../../../libs/domain/target2-calendar';
import type { ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';
import type { ExternalBooking, ExternalBookings } from './ais/transactions';
import { SandboxErrorCode, sandboxError, type SandboxError } from './errors';
import { centsOf, type FieldProblem } from './validation';

export type PeriodicPaymentBody = PaymentInitiationBody & PeriodicSchedule;
type Approach = 'REDIRECT' | 'DECOUPLED';
type Decision = 'approve' | 'deny';

export interface PeriodicSandboxSettings {
  /** The SCA clock (decoupled delays), epoch ms. */
  now: () => number;
  /** The bank's business clock, epoch ms (the AIS clock). */
  businessNow: () => number;
  decoupledDelayMs: number;
}

export interface PeriodicExecutionView {
  index: number;
  nominalDate: IsoDate;
  executionDate: IsoDate;
  status: 'ACSC' | 'RJCT';
  reasonCode?: 'AM04';
}

export interface PeriodicPaymentView {
  paymentId: string;
  paymentProduct: PaymentProduct;
  transactionStatus: TransactionStatus;
  scaStatus: ScaStatus;
  authorisedOn?: IsoDate;
  cancelledOn?: IsoDate;
  executions: PeriodicExecutionView[];
  authorisationIds: string[];
  cancellationIds: string[];
}

interface Authorisation {
  authorisationId: string;
  paymentId: string;
  purpose: 'initiation' | 'cancellation';
  approach: Approach;
  createdAt: number;
  pageOpened: boolean;
  decision?: { outcome: Decision; at: number };
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

interface Order {
  paymentId: string;
  product: PaymentProduct;
  body: PeriodicPaymentBody;
  amountMinor: bigint;
  approach: Approach;
  decoupledDecision: Decision;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  authorisationIds: string[];
  cancellationIds: string[];
  /** Bank day the initiation SCA was first seen finalised: executions from then on. */
  authorisedDay?: number;
  /** DELETE answered 202: a cancellation authorisation may be started. */
  cancellationRequested: boolean;
  /** Bank day the order was cancelled (DELETE before SCA, or an approved cancellation). */
  cancelledDay?: number;
  executions: PeriodicExecutionView[];
  lastIndex: number;
  /** The schedule has no date left. */
  ended: boolean;
}

export interface PeriodicInitiation {
  paymentProduct: PaymentProduct;
  body: PeriodicPaymentBody;
  psuId?: string;
  tppRedirectPreferred?: boolean;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  baseUrl: string;
}

export interface StartSca {
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  baseUrl: string;
}

const SERVICE = 'periodic-payments';
const PSU_MESSAGE = 'Please confirm in your Clearway Sandbox Bank app.';

/** The extra checks a periodic body needs beyond the single-payment ones. */
export function checkPeriodicTerms(body: Record<string, unknown>, today: IsoDate): FieldProblem[] {
  const problems: FieldProblem[] = scheduleProblems(body as Partial<PeriodicSchedule>).map((p) => ({ path: p.path, text: `${p.path} ${p.text}` }));
  if (typeof body.startDate === 'string' && dayNumberOf(body.startDate) !== undefined && body.startDate < today) {
    problems.push({ path: 'startDate', text: `startDate must not be before the bank's today (${today})` });
  }
  return problems;
}

export class PeriodicPaymentsSandbox {
  private readonly orders = new Map<string, Order>();
  private readonly authorisations = new Map<string, Authorisation>();
  /** External bookings per debtor IBAN, with a version for the AIS ledger cache. */
  private readonly bookings = new Map<string, { version: number; bookings: ExternalBooking[] }>();

  constructor(private readonly settings: PeriodicSandboxSettings) {}

  today(): number {
    return Math.floor(this.settings.businessNow() / 86_400_000);
  }

  /** For the AIS side: this IBAN's executions, settled up to `today`. */
  bookingsOf(iban: string, _today: number): ExternalBookings | undefined {
    this.settle();
    return this.bookings.get(iban);
  }

  initiate(request: PeriodicInitiation): { body: Record<string, unknown>; location: string; scaApproach: Approach } {
    const paymentId = randomUUID();
    const decoupled = request.psuId === 'decoupled' || request.psuId === 'decoupled-deny' || request.tppRedirectPreferred === false;
    const parsed = parseDecimalAmount(request.body.instructedAmount.amount, request.body.instructedAmount.currency);
    const order: Order = {
      paymentId,
      product: request.paymentProduct,
      body: structuredClone(request.body),
      amountMinor: parsed.ok ? parsed.minor : 0n,
      approach: decoupled ? 'DECOUPLED' : 'REDIRECT',
      decoupledDecision: request.psuId === 'decoupled-deny' ? 'deny' : 'approve',
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
      authorisationIds: [],
      cancellationIds: [],
      cancellationRequested: false,
      executions: [],
      lastIndex: 0,
      ended: false,
    };
    this.orders.set(paymentId, order);
    const authorisation = this.addAuthorisation(order, 'initiation', request);
    const self = this.selfUrl(request.baseUrl, order);
    return {
      location: self,
      scaApproach: order.approach,
      body: {
        transactionStatus: 'RCVD',
        paymentId,
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(order.approach === 'REDIRECT' ? { scaRedirect: { href: `${request.baseUrl}/sca/periodic/${authorisation.authorisationId}` } } : {}),
          self: { href: self },
          status: { href: `${self}/status` },
          scaStatus: { href: `${self}/authorisations/${authorisation.authorisationId}` },
        },
        ...(order.approach === 'DECOUPLED' ? { psuMessage: PSU_MESSAGE } : {}),
      },
    };
  }

  read(product: string, paymentId: string): Record<string, unknown> | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    return { ...structuredClone(order.body), transactionStatus: this.statusOf(order) };
  }

  status(product: string, paymentId: string): { transactionStatus: TransactionStatus } | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    return { transactionStatus: this.statusOf(order) };
  }

  /** 204 (`cancelled`) before SCA; 202 (`authorisationRequired`) once live; else 405. */
  cancel(product: string, paymentId: string, baseUrl: string): { kind: 'cancelled' } | { kind: 'authorisationRequired'; body: Record<string, unknown> } | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    const status = this.statusOf(order);
    if (status === 'RCVD') {
      order.cancelledDay = this.today();
      return { kind: 'cancelled' };
    }
    if (status !== 'ACCP') {
      return sandboxError(SandboxErrorCode.CancellationInvalid, `The standing order can no longer be cancelled (transaction status ${status})`);
    }
    order.cancellationRequested = true;
    return {
      kind: 'authorisationRequired',
      body: { transactionStatus: status, _links: { self: { href: this.selfUrl(baseUrl, order) }, startAuthorisation: { href: `${this.selfUrl(baseUrl, order)}/cancellation-authorisations` } } },
    };
  }

  startAuthorisation(product: string, paymentId: string, purpose: Authorisation['purpose'], request: StartSca): { body: Record<string, unknown>; scaApproach: Approach } | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    const status = this.statusOf(order);
    if (purpose === 'initiation' && status !== 'RCVD') {
      return sandboxError(SandboxErrorCode.StatusInvalid, `No further authorisation possible: transaction status is ${status}`);
    }
    if (purpose === 'cancellation') {
      if (!order.cancellationRequested) {
        return sandboxError(SandboxErrorCode.StatusInvalid, 'No cancellation was requested: send DELETE on the periodic payment first');
      }
      if (status !== 'ACCP') return sandboxError(SandboxErrorCode.StatusInvalid, `The standing order can no longer be cancelled (transaction status ${status})`);
    }
    const authorisation = this.addAuthorisation(order, purpose, request);
    const href = `${this.selfUrl(request.baseUrl, order)}/${purpose === 'initiation' ? 'authorisations' : 'cancellation-authorisations'}/${authorisation.authorisationId}`;
    return {
      scaApproach: authorisation.approach,
      body: {
        scaStatus: this.scaStatusOf(authorisation),
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(authorisation.approach === 'REDIRECT' ? { scaRedirect: { href: `${request.baseUrl}/sca/periodic/${authorisation.authorisationId}` } } : {}),
          scaStatus: { href },
        },
        ...(authorisation.approach === 'DECOUPLED' ? { psuMessage: PSU_MESSAGE } : {}),
      },
    };
  }

  listAuthorisations(product: string, paymentId: string, purpose: Authorisation['purpose']): Record<string, unknown> | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    return purpose === 'initiation' ? { authorisationIds: [...order.authorisationIds] } : { cancellationIds: [...order.cancellationIds] };
  }

  scaStatus(product: string, paymentId: string, authorisationId: string, purpose: Authorisation['purpose']): { scaStatus: ScaStatus } | SandboxError {
    const found = this.findAuthorisation(product, paymentId, authorisationId, purpose);
    if ('error' in found) return found;
    this.settle();
    return { scaStatus: this.scaStatusOf(found) };
  }

  /** PUT on an authorisation: no PSU data is needed here (the PSU acts on the page or in the app). */
  updatePsuData(product: string, paymentId: string, authorisationId: string, purpose: Authorisation['purpose']): { body: Record<string, unknown>; scaApproach: Approach } | SandboxError {
    const found = this.findAuthorisation(product, paymentId, authorisationId, purpose);
    if ('error' in found) return found;
    return { scaApproach: found.approach, body: { scaStatus: this.scaStatusOf(found), ...(found.approach === 'DECOUPLED' ? { psuMessage: PSU_MESSAGE } : {}) } };
  }

  // ── the redirect page ─────────────────────────────────────────────────────

  pageState(authorisationId: string): { kind: 'unknown' } | { kind: 'done'; reason: string } | { kind: 'pending'; body: PeriodicPaymentBody; purpose: Authorisation['purpose'] } {
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return { kind: 'unknown' };
    const order = this.orders.get(authorisation.paymentId)!;
    const blocked = this.blockedReason(order, authorisation);
    if (blocked) return { kind: 'done', reason: blocked };
    authorisation.pageOpened = true;
    return { kind: 'pending', body: order.body, purpose: authorisation.purpose };
  }

  decide(authorisationId: string, decision: Decision): { kind: 'unknown' } | { kind: 'refused'; reason: string } | { kind: 'decided'; scaStatus: ScaStatus; redirectTo?: string } {
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return { kind: 'unknown' };
    const order = this.orders.get(authorisation.paymentId)!;
    const blocked = this.blockedReason(order, authorisation);
    if (blocked) return { kind: 'refused', reason: blocked };
    authorisation.decision = { outcome: decision, at: this.settings.now() };
    this.settle();
    const ok = authorisation.tppRedirectUri ?? order.tppRedirectUri;
    const nok = authorisation.tppNokRedirectUri ?? order.tppNokRedirectUri ?? ok;
    return { kind: 'decided', scaStatus: this.scaStatusOf(authorisation), redirectTo: decision === 'approve' ? ok : nok };
  }

  // ── inspection (operator view) ────────────────────────────────────────────

  view(paymentId: string): PeriodicPaymentView | undefined {
    const order = this.orders.get(paymentId);
    if (!order) return undefined;
    this.settle();
    return {
      paymentId,
      paymentProduct: order.product,
      transactionStatus: this.statusOf(order),
      scaStatus: this.orderScaStatus(order),
      ...(order.authorisedDay !== undefined ? { authorisedOn: isoDateOf(order.authorisedDay) } : {}),
      ...(order.cancelledDay !== undefined ? { cancelledOn: isoDateOf(order.cancelledDay) } : {}),
      executions: order.executions.map((e) => ({ ...e })),
      authorisationIds: [...order.authorisationIds],
      cancellationIds: [...order.cancellationIds],
    };
  }

  // ── the clock: executions ──────────────────────────────────────────────────

  /** Brings every live order up to the bank's today: the executions due by then are made. */
  settle(): void {
    const today = this.today();
    for (const order of this.orders.values()) {
      if (order.ended || order.cancelledDay !== undefined) continue;
      const initiation = this.decisionOf(order, 'initiation');
      if (!initiation || initiation.outcome === 'deny') continue;
      order.authorisedDay ??= today;
      const cancellation = this.decisionOf(order, 'cancellation');
      if (cancellation?.outcome === 'approve') {
        order.cancelledDay = today;
        continue;
      }
      for (const execution of executionsThrough(order.body, isoDateOf(today), order.lastIndex)) {
        order.lastIndex = execution.index;
        const day = dayNumberOf(execution.executionDate)!;
        if (day < order.authorisedDay) continue; // due before the PSU authorised the order
        this.execute(order, execution.index, execution.nominalDate, execution.executionDate, day);
      }
      if (nextExecutions(order.body, { after: isoDateOf(today), limit: 1 }).length === 0) order.ended = true;
    }
  }

  private execute(order: Order, index: number, nominalDate: IsoDate, executionDate: IsoDate, day: number): void {
    if (centsOf(order.body.instructedAmount.amount) === '13') {
      order.executions.push({ index, nominalDate, executionDate, status: 'RJCT', reasonCode: 'AM04' });
      return;
    }
    order.executions.push({ index, nominalDate, executionDate, status: 'ACSC' });
    const iban = order.body.debtorAccount?.iban;
    if (!iban) return;
    const account = this.bookings.get(iban) ?? { version: 0, bookings: [] };
    account.bookings.push({
      day,
      amountMinor: -Number(order.amountMinor),
      creditorName: order.body.creditorName,
      creditorIban: order.body.creditorAccount.iban ?? '',
      remittance: order.body.remittanceInformationUnstructured,
      endToEndId: order.body.endToEndIdentification,
    });
    account.version = nextVersion();
    this.bookings.set(iban, account);
  }

  // ── internals ────────────────────────────────────────────────────────────

  private statusOf(order: Order): TransactionStatus {
    this.settle();
    if (order.cancelledDay !== undefined) return 'CANC';
    const initiation = this.decisionOf(order, 'initiation');
    if (!initiation) return 'RCVD';
    if (initiation.outcome === 'deny') return 'RJCT';
    return order.ended ? 'ACSC' : 'ACCP';
  }

  private orderScaStatus(order: Order): ScaStatus {
    const initiation = this.decisionOf(order, 'initiation');
    if (initiation) return initiation.outcome === 'approve' ? 'finalised' : 'failed';
    const latest = this.authorisations.get(order.authorisationIds[order.authorisationIds.length - 1])!;
    return this.scaStatusOf(latest);
  }

  /** The first authorisation of this purpose to finish decides. */
  private decisionOf(order: Order, purpose: Authorisation['purpose']): { outcome: Decision; at: number } | undefined {
    let first: { outcome: Decision; at: number } | undefined;
    for (const id of purpose === 'initiation' ? order.authorisationIds : order.cancellationIds) {
      const d = this.authorisationDecision(this.authorisations.get(id)!);
      if (d && (!first || d.at < first.at)) first = d;
    }
    return first;
  }

  private authorisationDecision(authorisation: Authorisation): { outcome: Decision; at: number } | undefined {
    if (authorisation.decision) return authorisation.decision;
    if (authorisation.approach !== 'DECOUPLED') return undefined;
    const at = authorisation.createdAt + this.settings.decoupledDelayMs;
    if (at > this.settings.now()) return undefined;
    const order = this.orders.get(authorisation.paymentId)!;
    // Cancelled before the app decided (initiation), or the order ended meanwhile: nothing to decide.
    if (authorisation.purpose === 'initiation' && order.cancelledDay !== undefined && order.authorisedDay === undefined) return undefined;
    return { outcome: order.decoupledDecision, at };
  }

  private scaStatusOf(authorisation: Authorisation): ScaStatus {
    const decision = this.authorisationDecision(authorisation);
    if (decision) return decision.outcome === 'approve' ? 'finalised' : 'failed';
    const order = this.orders.get(authorisation.paymentId)!;
    if (authorisation.purpose === 'initiation' && order.cancelledDay !== undefined) return 'failed';
    if (authorisation.approach === 'DECOUPLED') return 'started';
    return authorisation.pageOpened ? 'started' : 'received';
  }

  private blockedReason(order: Order, authorisation: Authorisation): string | undefined {
    if (authorisation.decision) return `This authorisation was already ${authorisation.decision.outcome === 'approve' ? 'approved' : 'denied'}.`;
    const status = this.statusOf(order);
    if (authorisation.purpose === 'initiation' && status !== 'RCVD') return `The standing order is no longer awaiting authorisation (${status}).`;
    if (authorisation.purpose === 'cancellation' && status !== 'ACCP') return `The standing order can no longer be cancelled (${status}).`;
    if (this.decisionOf(order, authorisation.purpose)) return 'Already decided through another authorisation.';
    return undefined;
  }

  private addAuthorisation(order: Order, purpose: Authorisation['purpose'], request: Partial<StartSca>): Authorisation {
    const authorisation: Authorisation = {
      authorisationId: randomUUID(),
      paymentId: order.paymentId,
      purpose,
      approach: order.approach,
      createdAt: this.settings.now(),
      pageOpened: false,
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
    };
    this.authorisations.set(authorisation.authorisationId, authorisation);
    (purpose === 'initiation' ? order.authorisationIds : order.cancellationIds).push(authorisation.authorisationId);
    return authorisation;
  }

  private find(product: string, paymentId: string): Order | SandboxError {
    const order = this.orders.get(paymentId);
    if (!order || order.product !== product) {
      return sandboxError(SandboxErrorCode.ResourceUnknown, `Periodic payment ${paymentId} is unknown for ${product}`, 'paymentId');
    }
    return order;
  }

  private findAuthorisation(product: string, paymentId: string, authorisationId: string, purpose: Authorisation['purpose']): Authorisation | SandboxError {
    const order = this.find(product, paymentId);
    if ('error' in order) return order;
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.paymentId !== paymentId || authorisation.purpose !== purpose) {
      return sandboxError(SandboxErrorCode.ResourceUnknown, `${purpose === 'initiation' ? 'Authorisation' : 'Cancellation'} ${authorisationId} is unknown for payment ${paymentId}`, 'authorisationId');
    }
    return authorisation;
  }

  private selfUrl(baseUrl: string, order: Order): string {
    return `${baseUrl}/v1/${SERVICE}/${order.product}/${order.paymentId}`;
  }
}

let versionCounter = 0;
/** Versions are unique process-wide: the AIS ledger cache is process-wide too. */
function nextVersion(): number {
  versionCounter += 1;
  return versionCounter;
}
