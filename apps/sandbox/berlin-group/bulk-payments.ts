/**
 * Bulk payments at the Berlin Group sandbox bank (`SANDDEB0XXX`), per NextGenPSD2 1.3.12:
 * `POST /v1/bulk-payments/{product}` with a JSON body (`sepa-credit-transfers`,
 * `instant-sepa-credit-transfers`: `bulkPaymentInitiation_json`) or a pain.001 document
 * (`pain.001-sepa-credit-transfers`, `pain.001-instant-sepa-credit-transfers`, `Content-Type:
 * application/xml`, pain.001.001.03 or .09, XSD-validated, exactly one `PmtInf`).
 *
 * ## Scenarios
 * - SCA: one for the whole bulk, as for single payments (`PSU-ID: decoupled` / `decoupled-deny`,
 *   `TPP-Redirect-Preferred: false`, else REDIRECT with a page listing the count and the total).
 * - Transaction status (only `GET .../status` reads advance settlement, JSON or XML alike):
 *   before SCA `RCVD`; SCA failed `RJCT` (every transaction `RJCT`); SCA finalised: the first read
 *   `ACSP`, later ones `ACSC`. A transaction whose cents are `13` is rejected with reason `AM04`
 *   once SCA is finalised; the others settle. Then the bulk is `PATC` (partially accepted) once
 *   settled, or `RJCT` when every transaction was rejected.
 * - `batchBookingPreferred` is kept and echoed (the bank books per transaction when it is false).
 * - `GET .../status` with `Accept: application/xml` answers a pain.002.001.10 report with the
 *   group status and every transaction's status and reason code (original MsgId, PmtInfId and
 *   EndToEndId echoed).
 * - `requestedExecutionDate` after the bank's business today (the AIS clock): once authorised the
 *   bulk is accepted and waiting (`ACCP`, every transaction `ACCP`) and settles from that date on.
 * - `DELETE` before SCA finished: 204 and `CANC`. Authorised and waiting for its date: 202 with
 *   `_links.startAuthorisation` → `POST .../cancellation-authorisations` (redirect page
 *   `/sca/bulk-cancellations/{id}` or the decoupled app, same approach and PSU behaviour as at
 *   initiation): approved → `CANC`, nothing executes; denied → stays `ACCP` and executes on its
 *   date. Executed (or executing) bulks: 405 CANCELLATION_INVALID.
 * - X-Request-ID is not deduplicated (as real banks): a repeated initiation creates a second bulk,
 *   unless deduplication is opted into (sandbox setting or `Sandbox-Deduplicate: true`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Pain001Transaction, Pain001PaymentInformation, Pain001GroupHeader } from '../../../libs/iso20022/pain001';
import { readPain001 } from '../../../libs/iso20022/pain001-reader';
import { writePain002, type Iso20022Status, type Pain002TransactionStatus } from '../../../libs/iso20022/pain002-writer';
import { formatScaled, toScaled } from '../../../libs/iso20022/decimal';
import type { ScaStatus, TransactionStatus } from '../../../libs/domain/transaction-status';
import { sandboxError, SandboxErrorCode, type SandboxError } from './errors';
import { RequestLedger } from './request-ledger';
import { SingleCancellations } from './single-cancellations';
import { centsOf, isCurrencyCode, isPositiveAmount, isValidIban, type FieldProblem } from './validation';

export const SANDBOX_BULK_JSON_PRODUCTS = ['sepa-credit-transfers', 'instant-sepa-credit-transfers'] as const;
export const SANDBOX_BULK_XML_PRODUCTS = ['pain.001-sepa-credit-transfers', 'pain.001-instant-sepa-credit-transfers'] as const;
export type SandboxBulkProduct = (typeof SANDBOX_BULK_JSON_PRODUCTS)[number] | (typeof SANDBOX_BULK_XML_PRODUCTS)[number];

/** The most transactions one bulk may carry here (a real bank's limit; files beyond go to a batch). */
export const MAX_BULK_TRANSACTIONS = 100_000;
/** Reason code of the cents-13 scenario (ISO ExternalStatusReason1Code AM04: insufficient funds). */
export const REJECTED_REASON = 'AM04';

const DECOUPLED_PSU_MESSAGE = 'Please confirm the bulk payment in your Clearway Sandbox Bank app.';

export function isSandboxBulkProduct(value: string): value is SandboxBulkProduct {
  return (SANDBOX_BULK_JSON_PRODUCTS as readonly string[]).includes(value) || (SANDBOX_BULK_XML_PRODUCTS as readonly string[]).includes(value);
}

export function isXmlBulkProduct(value: string): boolean {
  return (SANDBOX_BULK_XML_PRODUCTS as readonly string[]).includes(value);
}

interface BulkTransactionRecord {
  endToEndId: string;
  instructionId?: string;
  amount: string;
  currency: string;
  creditorName: string;
  creditorIban: string;
  creditorAgent?: string;
  remittanceInformationUnstructured?: string;
}

interface BulkAuthorisation {
  authorisationId: string;
  bulkId: string;
  approach: 'REDIRECT' | 'DECOUPLED';
  createdAt: number;
  pageOpened: boolean;
  decision?: { outcome: 'approve' | 'deny'; at: number };
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

interface BulkRecord {
  paymentId: string;
  product: SandboxBulkProduct;
  requestId: string;
  fingerprint: string;
  format: 'json' | 'xml';
  /** pain.001 MsgId (XML) or a generated one (JSON): echoed as OrgnlMsgId. */
  msgId: string;
  msgName: string;
  pmtInfId: string;
  debtorIban: string;
  batchBookingPreferred?: boolean;
  requestedExecutionDate?: string;
  transactions: BulkTransactionRecord[];
  /** Total of the amounts, decimal string. */
  controlSum: string;
  currency: string;
  createdAt: number;
  scaApproach: 'REDIRECT' | 'DECOUPLED';
  decoupledDecision: 'approve' | 'deny';
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  authorisationIds: string[];
  cancelledAt?: number;
  settlementReads: number;
  created?: { body: Record<string, unknown>; location: string; scaApproach: string };
}

export interface InitiateBulkRequest {
  requestId: string;
  deduplicate?: boolean;
  product: SandboxBulkProduct;
  /** Parsed JSON (JSON products) or the raw document (XML products). */
  body: unknown;
  psuId?: string;
  tppRedirectPreferred?: boolean;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  baseUrl: string;
}

/** A view for tests and the SCA page. */
export interface SandboxBulkView {
  paymentId: string;
  product: SandboxBulkProduct;
  requestId: string;
  initiationRequests: number;
  numberOfTransactions: number;
  controlSum: string;
  currency: string;
  debtorIban: string;
  batchBookingPreferred?: boolean;
  transactionStatus: TransactionStatus;
  scaStatus: ScaStatus;
  /** SCA approved and not cancelled: the bank executes the bulk's accepted transactions. */
  executed: boolean;
}

export interface BulkStats {
  bulksCreated: number;
  initiationRequests: number;
  bulks: SandboxBulkView[];
}

export class BulkPaymentsSandboxBank {
  private readonly bulks = new Map<string, BulkRecord>();
  private readonly authorisations = new Map<string, BulkAuthorisation>();
  private readonly requestIds = new RequestLedger(false);
  /** Cancellation authorisations of authorised bulks waiting for their execution date. */
  readonly cancellations: SingleCancellations;

  constructor(
    private readonly settings: {
      decoupledDelayMs: number;
      now: () => number;
      /** The sandbox-wide deduplication setting (shared with single payments). */
      deduplicates: () => boolean;
      /** The bank's business clock (execution dates); defaults to `now`. */
      businessNow?: () => number;
    },
  ) {
    this.cancellations = new SingleCancellations({ now: settings.now, decoupledDelayMs: settings.decoupledDelayMs });
  }

  stats(): BulkStats {
    const bulks = [...this.bulks.values()].map((r) => this.viewOf(r));
    return { bulksCreated: bulks.length, initiationRequests: this.requestIds.totalRequests, bulks };
  }

  getBulk(paymentId: string): SandboxBulkView | undefined {
    const r = this.bulks.get(paymentId);
    return r && this.viewOf(r);
  }

  findBulksByRequestId(requestId: string): SandboxBulkView[] {
    return this.requestIds.createdWith(requestId).map((id) => this.getBulk(id)!);
  }

  /**
   * End-to-end ids of the transactions the bank executes: every accepted transaction (not the
   * cents-13 AM04 ones) of every bulk it executes, once per execution, so a caller counting them
   * sees a transaction executed twice (e.g. in two bulks) twice.
   */
  executedEndToEndIds(): string[] {
    const ids: string[] = [];
    for (const r of this.bulks.values()) {
      if (!this.viewOf(r).executed) continue;
      for (const t of r.transactions) if (centsOf(t.amount) !== '13') ids.push(t.endToEndId);
    }
    return ids;
  }

  async initiate(request: InitiateBulkRequest): Promise<{ body: Record<string, unknown>; location: string; scaApproach: string } | SandboxError> {
    const parsed = isXmlBulkProduct(request.product) ? await parseXmlBulk(request.body) : parseJsonBulk(request.body);
    if ('error' in parsed) return parsed;
    const fingerprint = createHash('sha256').update(`${request.product}\n${parsed.fingerprintSource}`).digest('hex');
    const replayOf = this.requestIds.admit(request.requestId, request.deduplicate ?? this.settings.deduplicates());
    if (replayOf !== undefined) {
      const existing = this.bulks.get(replayOf)!;
      if (existing.fingerprint !== fingerprint) {
        return sandboxError(SandboxErrorCode.IdempotencyConflict, `X-Request-ID ${request.requestId} was already used for bulk payment ${existing.paymentId} with a different body`);
      }
      return existing.created!;
    }
    const decoupled = request.psuId === 'decoupled' || request.psuId === 'decoupled-deny' || request.tppRedirectPreferred === false;
    const paymentId = randomUUID();
    const record: BulkRecord = {
      ...parsed.bulk,
      msgId: parsed.bulk.msgId ?? `BULK-${paymentId.replace(/-/g, '').slice(0, 30)}`,
      paymentId,
      product: request.product,
      requestId: request.requestId,
      fingerprint,
      createdAt: this.settings.now(),
      scaApproach: decoupled ? 'DECOUPLED' : 'REDIRECT',
      decoupledDecision: request.psuId === 'decoupled-deny' ? 'deny' : 'approve',
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
      authorisationIds: [],
      settlementReads: 0,
    };
    const authorisation = this.addAuthorisation(record, {});
    const self = this.selfUrl(request.baseUrl, record);
    record.created = {
      location: self,
      scaApproach: record.scaApproach,
      body: {
        transactionStatus: 'RCVD',
        paymentId,
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(record.scaApproach === 'REDIRECT' ? { scaRedirect: { href: `${request.baseUrl}/sca/bulk-payments/${authorisation.authorisationId}` } } : {}),
          self: { href: self },
          status: { href: `${self}/status` },
          scaStatus: { href: `${self}/authorisations/${authorisation.authorisationId}` },
        },
        ...(record.scaApproach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
    this.bulks.set(paymentId, record);
    this.requestIds.recordCreated(request.requestId, paymentId);
    return record.created;
  }

  /** GET of the bulk: `bulkPaymentInitiationWithStatusResponse` (JSON products) or the status (XML products have no JSON body to echo). */
  read(product: string, paymentId: string): Record<string, unknown> | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    const status = this.transactionStatusOf(r);
    if (r.format === 'xml') return { transactionStatus: status };
    return {
      ...(r.batchBookingPreferred !== undefined ? { batchBookingPreferred: r.batchBookingPreferred } : {}),
      ...(r.requestedExecutionDate ? { requestedExecutionDate: r.requestedExecutionDate } : {}),
      debtorAccount: { iban: r.debtorIban },
      payments: r.transactions.map((t) => ({
        ...(t.endToEndId ? { endToEndIdentification: t.endToEndId } : {}),
        instructedAmount: { currency: t.currency, amount: t.amount },
        creditorAccount: { iban: t.creditorIban },
        ...(t.creditorAgent ? { creditorAgent: t.creditorAgent } : {}),
        creditorName: t.creditorName,
        ...(t.remittanceInformationUnstructured ? { remittanceInformationUnstructured: t.remittanceInformationUnstructured } : {}),
      })),
      transactionStatus: status,
    };
  }

  /** GET .../status (advances settlement after SCA). */
  readStatus(product: string, paymentId: string): { transactionStatus: TransactionStatus } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    if (this.executes(r)) r.settlementReads += 1;
    return { transactionStatus: this.transactionStatusOf(r) };
  }

  /** GET .../status with `Accept: application/xml`: the same read, answered as pain.002.001.10. */
  async readStatusReport(product: string, paymentId: string): Promise<string | SandboxError> {
    const status = this.readStatus(product, paymentId);
    if ('error' in status) return status;
    const r = this.bulks.get(paymentId)!;
    const bulkStatus = this.transactionStatusOf(r);
    const approved = this.scaOutcomeOf(r) === 'approve';
    const txStatus = (t: BulkTransactionRecord) => this.transactionStatusOfTx(r, t, bulkStatus, approved);
    const statuses = r.transactions.map((t) => txStatus(t));
    const counts = new Map<Iso20022Status, number>();
    for (const s of statuses) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const countsPerStatus = [...counts.entries()].map(([s, count]) => ({ status: s, count }));
    const groupStatus = toIso(status.transactionStatus);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writePain002(
      out,
      {
        msgId: `STS-${paymentId.replace(/-/g, '').slice(0, 30)}`,
        creationDateTime: new Date(this.settings.now()),
        initiatingPartyName: 'Clearway Sandbox Bank',
        debtorAgentBic: 'SANDDEB0XXX',
        originalMsgId: r.msgId,
        originalMsgNameId: r.msgName,
        originalNumberOfTransactions: r.transactions.length,
        originalControlSum: r.controlSum,
        groupStatus,
        groupCountsPerStatus: countsPerStatus,
      },
      [
        {
          info: { originalPmtInfId: r.pmtInfId, status: groupStatus, numberOfTransactions: r.transactions.length, controlSum: r.controlSum, countsPerStatus },
          transactions: r.transactions.map(
            (t, i): Pain002TransactionStatus => ({
              ...(t.instructionId ? { originalInstructionId: t.instructionId } : {}),
              originalEndToEndId: t.endToEndId,
              status: statuses[i]!.status,
              ...(statuses[i]!.reason ? { reasonCode: statuses[i]!.reason } : {}),
              amount: t.amount,
              currency: t.currency,
            }),
          ),
        },
      ],
    );
    out.end();
    return Buffer.concat(chunks).toString('utf8');
  }

  /** 204 (`CANC`) before SCA; 202 (`authorisationRequired`, `ACCP`) when authorised and waiting for its date; else 405. */
  cancel(product: string, paymentId: string): { transactionStatus: 'CANC' | 'ACCP'; authorisationRequired?: boolean } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    if (r.cancelledAt !== undefined || this.cancellations.approvedAt(paymentId) !== undefined) {
      return sandboxError(SandboxErrorCode.CancellationInvalid, 'The bulk payment is already cancelled');
    }
    if (this.scaOutcomeOf(r) === 'approve' && this.awaitsExecutionDate(r)) {
      this.cancellations.request(paymentId, r.scaApproach, r.decoupledDecision);
      return { transactionStatus: 'ACCP', authorisationRequired: true };
    }
    if (this.scaOutcomeOf(r)) {
      return sandboxError(SandboxErrorCode.CancellationInvalid, `The bulk payment can no longer be cancelled: SCA already finished (transaction status ${this.transactionStatusOf(r)})`);
    }
    r.cancelledAt = this.settings.now();
    return { transactionStatus: 'CANC' };
  }

  startAuthorisation(
    product: string,
    paymentId: string,
    request: { tppRedirectUri?: string; tppNokRedirectUri?: string; baseUrl: string },
  ): { body: Record<string, unknown>; scaApproach: string } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    if (r.cancelledAt !== undefined || this.scaOutcomeOf(r)) {
      return sandboxError(SandboxErrorCode.StatusInvalid, `No further authorisation possible: transaction status is ${this.transactionStatusOf(r)}`);
    }
    const a = this.addAuthorisation(r, request);
    const self = this.selfUrl(request.baseUrl, r);
    return {
      scaApproach: a.approach,
      body: {
        scaStatus: this.scaStatusOf(a),
        authorisationId: a.authorisationId,
        _links: {
          ...(a.approach === 'REDIRECT' ? { scaRedirect: { href: `${request.baseUrl}/sca/bulk-payments/${a.authorisationId}` } } : {}),
          scaStatus: { href: `${self}/authorisations/${a.authorisationId}` },
        },
        ...(a.approach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
  }

  listAuthorisations(product: string, paymentId: string): { authorisationIds: string[] } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    return { authorisationIds: [...r.authorisationIds] };
  }

  getScaStatus(product: string, paymentId: string, authorisationId: string): { scaStatus: ScaStatus } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    const a = this.authorisations.get(authorisationId);
    if (!a || a.bulkId !== paymentId) {
      return sandboxError(SandboxErrorCode.ResourceUnknown, `Authorisation ${authorisationId} is unknown for bulk payment ${paymentId}`, 'authorisationId');
    }
    return { scaStatus: this.scaStatusOf(a) };
  }

  // ── cancellation authorisations (authorised bulks waiting for their date) ──

  startCancellationAuthorisation(
    product: string,
    paymentId: string,
    request: { tppRedirectUri?: string; tppNokRedirectUri?: string; baseUrl: string },
  ): { body: Record<string, unknown>; scaApproach: string } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    const status = this.transactionStatusOf(r);
    if (!this.cancellations.requested(paymentId)) return sandboxError(SandboxErrorCode.StatusInvalid, 'No cancellation was requested: send DELETE on the bulk payment first');
    if (status !== 'ACCP') return sandboxError(SandboxErrorCode.StatusInvalid, `The bulk payment can no longer be cancelled (transaction status ${status})`);
    const started = this.cancellations.start(paymentId, { tppRedirectUri: request.tppRedirectUri, tppNokRedirectUri: request.tppNokRedirectUri })!;
    return {
      scaApproach: started.approach,
      body: {
        scaStatus: this.cancellations.scaStatusOf(started),
        authorisationId: started.id,
        _links: {
          ...(started.approach === 'REDIRECT' ? { scaRedirect: { href: `${request.baseUrl}/sca/bulk-cancellations/${started.id}` } } : {}),
          scaStatus: { href: `${this.selfUrl(request.baseUrl, r)}/cancellation-authorisations/${started.id}` },
        },
        ...(started.approach === 'DECOUPLED' ? { psuMessage: 'Please confirm the cancellation of the bulk payment in your Clearway Sandbox Bank app.' } : {}),
      },
    };
  }

  listCancellationAuthorisations(product: string, paymentId: string): { cancellationIds: string[] } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    return { cancellationIds: this.cancellations.list(paymentId) };
  }

  getCancellationScaStatus(product: string, paymentId: string, cancellationId: string): { scaStatus: ScaStatus } | SandboxError {
    const r = this.find(product, paymentId);
    if ('error' in r) return r;
    const c = this.cancellations.find(paymentId, cancellationId);
    if (!c) return sandboxError(SandboxErrorCode.ResourceUnknown, `Cancellation ${cancellationId} is unknown for bulk payment ${paymentId}`, 'cancellationId');
    return { scaStatus: this.cancellations.scaStatusOf(c) };
  }

  /** The cancellation's redirect page: what the PSU is asked to stop. */
  openCancellationPage(cancellationId: string): { kind: 'unknown' } | { kind: 'done'; reason: string } | { kind: 'pending'; bulk: SandboxBulkView } {
    const state = this.cancellations.open(cancellationId);
    if (state.kind !== 'pending') return state;
    const r = this.bulks.get(state.paymentId)!;
    if (this.transactionStatusOf(r) !== 'ACCP') return { kind: 'done', reason: `The bulk payment can no longer be cancelled (${this.transactionStatusOf(r)}).` };
    return { kind: 'pending', bulk: this.viewOf(r) };
  }

  decideCancellation(cancellationId: string, decision: 'approve' | 'deny') {
    const c = this.cancellations.open(cancellationId);
    if (c.kind === 'pending' && this.transactionStatusOf(this.bulks.get(c.paymentId)!) !== 'ACCP') {
      return { kind: 'refused' as const, reason: 'The bulk payment can no longer be cancelled.' };
    }
    return this.cancellations.decide(cancellationId, decision);
  }

  // ── the redirect page ────────────────────────────────────────────────────

  openScaPage(authorisationId: string): { kind: 'unknown' } | { kind: 'done'; reason: string } | { kind: 'pending'; bulk: SandboxBulkView } {
    const a = this.authorisations.get(authorisationId);
    if (!a || a.approach !== 'REDIRECT') return { kind: 'unknown' };
    const r = this.bulks.get(a.bulkId)!;
    const blocked = this.blocked(r, a);
    if (blocked) return { kind: 'done', reason: blocked };
    a.pageOpened = true;
    return { kind: 'pending', bulk: this.viewOf(r) };
  }

  decide(authorisationId: string, decision: 'approve' | 'deny'): { kind: 'unknown' } | { kind: 'refused'; reason: string } | { kind: 'decided'; scaStatus: ScaStatus; redirectTo?: string } {
    const a = this.authorisations.get(authorisationId);
    if (!a || a.approach !== 'REDIRECT') return { kind: 'unknown' };
    const r = this.bulks.get(a.bulkId)!;
    const blocked = this.blocked(r, a);
    if (blocked) return { kind: 'refused', reason: blocked };
    a.decision = { outcome: decision, at: this.settings.now() };
    const ok = a.tppRedirectUri ?? r.tppRedirectUri;
    const nok = a.tppNokRedirectUri ?? r.tppNokRedirectUri ?? ok;
    return { kind: 'decided', scaStatus: this.scaStatusOf(a), redirectTo: decision === 'approve' ? ok : nok };
  }

  // ── internals ────────────────────────────────────────────────────────────

  private blocked(r: BulkRecord, a: BulkAuthorisation): string | undefined {
    if (a.decision) return `This authorisation was already ${a.decision.outcome === 'approve' ? 'approved' : 'denied'}.`;
    if (r.cancelledAt !== undefined) return 'The bulk payment was cancelled.';
    if (this.scaOutcomeOf(r)) return 'The bulk payment was already decided through another authorisation.';
    return undefined;
  }

  private addAuthorisation(r: BulkRecord, request: { tppRedirectUri?: string; tppNokRedirectUri?: string }): BulkAuthorisation {
    const a: BulkAuthorisation = {
      authorisationId: randomUUID(),
      bulkId: r.paymentId,
      approach: r.scaApproach,
      createdAt: this.settings.now(),
      pageOpened: false,
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
    };
    this.authorisations.set(a.authorisationId, a);
    r.authorisationIds.push(a.authorisationId);
    return a;
  }

  /** Authorised, dated after the bank's business today: accepted and waiting (`ACCP`). */
  private awaitsExecutionDate(r: BulkRecord): boolean {
    const today = new Date((this.settings.businessNow ?? this.settings.now)()).toISOString().slice(0, 10);
    return r.requestedExecutionDate !== undefined && r.requestedExecutionDate > today;
  }

  /** SCA approved, not cancelled (outright or through an approved cancellation authorisation), and due. */
  private executes(r: BulkRecord): boolean {
    return r.cancelledAt === undefined && this.scaOutcomeOf(r) === 'approve' && this.cancellations.approvedAt(r.paymentId) === undefined && !this.awaitsExecutionDate(r);
  }

  private find(product: string, paymentId: string): BulkRecord | SandboxError {
    const r = this.bulks.get(paymentId);
    if (!r || r.product !== product) return sandboxError(SandboxErrorCode.ResourceUnknown, `Bulk payment ${paymentId} is unknown for ${product}`, 'paymentId');
    return r;
  }

  private decisionOf(r: BulkRecord, a: BulkAuthorisation): { outcome: 'approve' | 'deny'; at: number } | undefined {
    if (a.decision) return a.decision;
    if (a.approach !== 'DECOUPLED') return undefined;
    const at = a.createdAt + this.settings.decoupledDelayMs;
    if (at > this.settings.now()) return undefined;
    if (r.cancelledAt !== undefined && r.cancelledAt <= at) return undefined;
    return { outcome: r.decoupledDecision, at };
  }

  private scaOutcomeOf(r: BulkRecord): 'approve' | 'deny' | undefined {
    let first: { outcome: 'approve' | 'deny'; at: number } | undefined;
    for (const id of r.authorisationIds) {
      const d = this.decisionOf(r, this.authorisations.get(id)!);
      if (d && (!first || d.at < first.at)) first = d;
    }
    return first?.outcome;
  }

  private scaStatusOf(a: BulkAuthorisation): ScaStatus {
    const r = this.bulks.get(a.bulkId)!;
    const d = this.decisionOf(r, a);
    if (d) return d.outcome === 'approve' ? 'finalised' : 'failed';
    if (r.cancelledAt !== undefined) return 'failed';
    if (a.approach === 'DECOUPLED') return 'started';
    return a.pageOpened ? 'started' : 'received';
  }

  /** One transaction's status, given the bulk's (computed once per report: a bulk may hold 100,000). */
  private transactionStatusOfTx(r: BulkRecord, t: BulkTransactionRecord, bulk: TransactionStatus, approved: boolean): { status: Iso20022Status; reason?: string } {
    if (bulk === 'RCVD' || bulk === 'CANC' || bulk === 'ACCP') return { status: bulk };
    if (!approved) return { status: 'RJCT' };
    if (centsOf(t.amount) === '13') return { status: 'RJCT', reason: REJECTED_REASON };
    return { status: r.settlementReads <= 1 ? 'ACSP' : 'ACSC' };
  }

  private transactionStatusOf(r: BulkRecord): TransactionStatus {
    if (r.cancelledAt !== undefined) return 'CANC';
    const outcome = this.scaOutcomeOf(r);
    if (!outcome) return 'RCVD';
    if (outcome === 'deny') return 'RJCT';
    if (this.cancellations.approvedAt(r.paymentId) !== undefined) return 'CANC';
    if (this.awaitsExecutionDate(r)) return 'ACCP';
    const rejected = r.transactions.filter((t) => centsOf(t.amount) === '13').length;
    if (rejected === r.transactions.length) return 'RJCT';
    if (r.settlementReads <= 1) return 'ACSP';
    return rejected > 0 ? 'PATC' : 'ACSC';
  }

  private viewOf(r: BulkRecord): SandboxBulkView {
    const transactionStatus = this.transactionStatusOf(r);
    const latest = r.authorisationIds[r.authorisationIds.length - 1]!;
    return {
      paymentId: r.paymentId,
      product: r.product,
      requestId: r.requestId,
      initiationRequests: this.requestIds.requestsWith(r.requestId),
      numberOfTransactions: r.transactions.length,
      controlSum: r.controlSum,
      currency: r.currency,
      debtorIban: r.debtorIban,
      ...(r.batchBookingPreferred !== undefined ? { batchBookingPreferred: r.batchBookingPreferred } : {}),
      transactionStatus,
      scaStatus: this.scaStatusOf(this.authorisations.get(latest)!),
      executed: r.cancelledAt === undefined && this.scaOutcomeOf(r) === 'approve' && transactionStatus !== 'RJCT' && transactionStatus !== 'CANC',
    };
  }

  private selfUrl(baseUrl: string, r: BulkRecord): string {
    return `${baseUrl}/v1/bulk-payments/${r.product}/${r.paymentId}`;
  }
}

function toIso(status: TransactionStatus): Iso20022Status {
  // Every status this sandbox reports is an ISO 20022 one.
  return status as Iso20022Status;
}

type ParsedBulk = Pick<BulkRecord, 'format' | 'msgName' | 'pmtInfId' | 'debtorIban' | 'batchBookingPreferred' | 'requestedExecutionDate' | 'transactions' | 'controlSum' | 'currency'> & {
  msgId?: string;
};

/** BG `bulkPaymentInitiation_json`, checked as a strict bank would (every problem reported with its path). */
export function parseJsonBulk(body: unknown): { bulk: ParsedBulk; fingerprintSource: string } | SandboxError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return sandboxError(SandboxErrorCode.FormatError, 'The request body must be a JSON object (Content-Type: application/json)');
  }
  const b = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const debtor = b.debtorAccount as Record<string, unknown> | undefined;
  if (typeof debtor !== 'object' || debtor === null) problems.push({ path: 'debtorAccount', text: 'debtorAccount is missing' });
  else if (!isValidIban(debtor.iban)) problems.push({ path: 'debtorAccount.iban', text: 'debtorAccount.iban is missing or not a valid IBAN' });
  if (b.batchBookingPreferred !== undefined && typeof b.batchBookingPreferred !== 'boolean') {
    problems.push({ path: 'batchBookingPreferred', text: 'batchBookingPreferred must be true or false' });
  }
  if (b.requestedExecutionDate !== undefined && (typeof b.requestedExecutionDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(b.requestedExecutionDate))) {
    problems.push({ path: 'requestedExecutionDate', text: 'requestedExecutionDate must be a date (YYYY-MM-DD)' });
  }
  const payments = b.payments;
  if (!Array.isArray(payments) || payments.length === 0) {
    problems.push({ path: 'payments', text: 'payments must be a non-empty array' });
  } else if (payments.length > MAX_BULK_TRANSACTIONS) {
    problems.push({ path: 'payments', text: `payments has more than ${MAX_BULK_TRANSACTIONS} entries` });
  }
  const transactions: BulkTransactionRecord[] = [];
  const seen = new Set<string>();
  let currency: string | undefined;
  for (const [i, p] of (Array.isArray(payments) ? payments : []).entries()) {
    if (problems.length >= 50) break;
    const at = `payments[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      problems.push({ path: at, text: `${at} must be an object` });
      continue;
    }
    const e = p as Record<string, unknown>;
    for (const forbidden of ['debtorAccount', 'requestedExecutionDate', 'requestedExecutionTime']) {
      if (e[forbidden] !== undefined) problems.push({ path: `${at}.${forbidden}`, text: `${forbidden} may not be given per bulk entry` });
    }
    const amount = e.instructedAmount as Record<string, unknown> | undefined;
    if (typeof amount !== 'object' || amount === null || !isCurrencyCode(amount.currency) || !isPositiveAmount(amount.amount) || (amount.amount as string).split('.')[1]?.length === 3) {
      problems.push({ path: `${at}.instructedAmount`, text: `${at}.instructedAmount must hold an ISO 4217 currency and a positive amount with at most 2 decimals` });
    } else if (currency !== undefined && amount.currency !== currency) {
      problems.push({ path: `${at}.instructedAmount.currency`, text: 'every entry of a bulk must have the same currency' });
    } else currency = amount.currency as string;
    const creditor = e.creditorAccount as Record<string, unknown> | undefined;
    if (typeof creditor !== 'object' || creditor === null || !isValidIban(creditor.iban)) {
      problems.push({ path: `${at}.creditorAccount.iban`, text: `${at}.creditorAccount.iban is missing or not a valid IBAN` });
    }
    if (typeof e.creditorName !== 'string' || !e.creditorName.trim() || e.creditorName.length > 70) {
      problems.push({ path: `${at}.creditorName`, text: `${at}.creditorName must be 1-70 characters` });
    }
    for (const [field, max] of [['endToEndIdentification', 35], ['remittanceInformationUnstructured', 140]] as const) {
      if (e[field] !== undefined && (typeof e[field] !== 'string' || (e[field] as string).length > max)) {
        problems.push({ path: `${at}.${field}`, text: `${at}.${field} must be a string of at most ${max} characters` });
      }
    }
    const endToEndId = typeof e.endToEndIdentification === 'string' ? e.endToEndIdentification : 'NOTPROVIDED';
    if (endToEndId !== 'NOTPROVIDED') {
      if (seen.has(endToEndId)) problems.push({ path: `${at}.endToEndIdentification`, text: `${at}.endToEndIdentification repeats an earlier entry's` });
      seen.add(endToEndId);
    }
    if (problems.length) continue;
    transactions.push({
      endToEndId,
      amount: amount!.amount as string,
      currency: amount!.currency as string,
      creditorName: e.creditorName as string,
      creditorIban: creditor!.iban as string,
      ...(typeof e.creditorAgent === 'string' ? { creditorAgent: e.creditorAgent } : {}),
      ...(typeof e.remittanceInformationUnstructured === 'string' ? { remittanceInformationUnstructured: e.remittanceInformationUnstructured } : {}),
    });
  }
  if (problems.length) return { error: SandboxErrorCode.FormatError, messages: problems.slice(0, 50) };
  return {
    bulk: {
      format: 'json',
      msgName: 'bulkPaymentInitiation_json',
      pmtInfId: 'NOTPROVIDED',
      debtorIban: (debtor as Record<string, string>).iban!,
      ...(typeof b.batchBookingPreferred === 'boolean' ? { batchBookingPreferred: b.batchBookingPreferred } : {}),
      ...(typeof b.requestedExecutionDate === 'string' ? { requestedExecutionDate: b.requestedExecutionDate } : {}),
      transactions,
      controlSum: sumOf(transactions),
      currency: currency!,
    },
    fingerprintSource: JSON.stringify(body),
  };
}

/** A pain.001.001.03/.09 document with exactly one PmtInf, read and XSD-validated as a stream. */
export async function parseXmlBulk(body: unknown): Promise<{ bulk: ParsedBulk; fingerprintSource: string } | SandboxError> {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) {
    return sandboxError(SandboxErrorCode.FormatError, 'A pain.001 product needs a pain.001 document (Content-Type: application/xml)');
  }
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  let header: Pain001GroupHeader | undefined;
  const infos: Pain001PaymentInformation[] = [];
  const transactions: BulkTransactionRecord[] = [];
  const result = await readPain001(bytes, {
    groupHeader: (h) => void (header = h),
    paymentInformation: (p) => void infos.push(p),
    transactions: (chunk: Pain001Transaction[]) => {
      for (const t of chunk) {
        transactions.push({
          endToEndId: t.endToEndId,
          ...(t.instructionId ? { instructionId: t.instructionId } : {}),
          amount: t.amount,
          currency: t.currency,
          creditorName: t.creditorName ?? 'NOTPROVIDED',
          creditorIban: t.creditorIban,
          ...(t.creditorAgentBic ? { creditorAgent: t.creditorAgentBic } : {}),
          ...(t.remittanceInformationUnstructured ? { remittanceInformationUnstructured: t.remittanceInformationUnstructured } : {}),
        });
      }
    },
  });
  if (!result.ok) {
    return { error: SandboxErrorCode.FormatError, messages: result.issues.map((i) => ({ path: i.path, text: i.text })) };
  }
  if (infos.length !== 1) {
    return sandboxError(SandboxErrorCode.FormatError, `A bulk payment carries exactly one PmtInf; this document has ${infos.length}`, 'PmtInf');
  }
  if (transactions.length > MAX_BULK_TRANSACTIONS) {
    return sandboxError(SandboxErrorCode.FormatError, `A bulk payment carries at most ${MAX_BULK_TRANSACTIONS} transactions`, 'PmtInf[0].NbOfTxs');
  }
  const currencies = new Set(transactions.map((t) => t.currency));
  if (currencies.size !== 1) return sandboxError(SandboxErrorCode.FormatError, 'Every transaction of a bulk must have the same currency', 'PmtInf[0]');
  const info = infos[0]!;
  return {
    bulk: {
      format: 'xml',
      msgId: header!.msgId,
      msgName: result.version!,
      pmtInfId: info.pmtInfId,
      debtorIban: info.debtorIban,
      ...(info.batchBooking !== undefined ? { batchBookingPreferred: info.batchBooking } : {}),
      requestedExecutionDate: info.requestedExecutionDate,
      transactions,
      controlSum: sumOf(transactions),
      currency: [...currencies][0]!,
    },
    fingerprintSource: result.sha256,
  };
}

function sumOf(transactions: readonly BulkTransactionRecord[]): string {
  let sum = 0n;
  for (const t of transactions) sum += toScaled(t.amount, 3)!;
  return formatScaled(sum, 3);
}
