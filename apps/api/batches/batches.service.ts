import { Inject, Injectable } from '@nestjs/common';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Request, Response } from 'express';
import type { ClearwayConfig } from '../../../libs/config/config';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../../../libs/domain/ids';
import { parseDecimalAmount } from '../../../libs/domain/money';
import { readPain001, writePain002, type Iso20022Status, type Pain001Issue, type Pain001PaymentInformation, type Pain001Transaction, type Pain002StatusCount } from '../../../libs/iso20022';
import type { Logger } from '../../../libs/observability/logger';
import { TENANT_BATCHES, type NewBatchBulk, type NewBatchPaymentInfo, type NewBatchTransaction, type TenantBatchRepository } from '../../../libs/persistence/batch.repository';
import { batchBulkPaymentId, batchSinglePaymentId, emptyProgress, type BatchBulkState, type BatchProgressCounts, type BatchReportRow } from '../../../libs/persistence/batch-progress';
import { DirectoryRepository } from '../../../libs/persistence/directory.repository';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import type { BatchEntity } from '../../../libs/persistence/entities/batch.entity';
import { BatchId, TenantId } from '../../../libs/temporal/search-attributes';
import { FINAL_BATCH_STATUSES } from '../../../libs/persistence/entities/batch.entity';
import { batchWorkflowId, cancelBatchUpdate, type BatchFanOutSettings, type BatchWorkflowInput } from '../../../workflows/batch.api';
import { bulkPaymentWorkflowId, cancelBulkPaymentUpdate } from '../../../workflows/bulk-payment.api';
import { cancelPaymentUpdate, paymentWorkflowId } from '../../../workflows/payment-initiation.api';
import { groupDigits } from '../../../workflows/batch-children';
import type { PaymentTimings } from '../../../workflows/payment-initiation.api';
import type { Principal } from '../auth/token.service';
import { ApiError, ApiErrorCode, type TppMessage } from '../common/api-error';
import type { HttpResult } from '../common/http-result';
import { requiredHeader } from '../common/request-headers';
import { CLEARWAY_CONFIG, LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import { BatchRouter, isRoutingIssue, type PmtInfRoute } from './batch-routing';
import { BATCHES_PATH, toBatchDocument, toListItem, toSinglePayment } from './batch.mapper';
import { taskQueueFor } from '../../../libs/temporal/task-queues';

/** Uploads up to 50 MB on this route only; every other endpoint keeps API_BODY_LIMIT. */
export const MAX_BATCH_BYTES = 50 * 1024 * 1024;
const MAX_ISSUES = 50;

export interface BatchUploadHeaders {
  requestId: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  psuIpAddress: string | undefined;
  psuId: string | undefined;
  redirectUri: string | undefined;
  nokRedirectUri: string | undefined;
}

/**
 * Batch use cases: a pain.001 upload is read as a stream, checked completely (XSD, sums, IBANs,
 * routing) before anything is stored, stored in one transaction, then handed to the batch
 * workflow. Reads come from PostgreSQL.
 */
@Injectable()
export class BatchesService {
  private readonly fanOut: BatchFanOutSettings;

  constructor(
    @Inject(TENANT_BATCHES) private readonly batches: TenantBatchRepository,
    @Inject(DirectoryRepository) private readonly directory: DirectoryRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(CLEARWAY_CONFIG) private readonly config: ClearwayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.fanOut = config.batches;
  }

  async submit(principal: Principal, headers: BatchUploadHeaders, body: Request): Promise<HttpResult<object>> {
    if (!/^(application|text)\/xml\s*(;|$)/i.test(headers.contentType ?? '')) {
      throw new ApiError(ApiErrorCode.UnsupportedMediaType, 'A batch is a pain.001 file: Content-Type application/xml', 'Content-Type');
    }
    if (Number(headers.contentLength ?? 0) > MAX_BATCH_BYTES) throw tooLarge();
    const psuIpAddress = requiredHeader('PSU-IP-Address', headers.psuIpAddress);
    const timing = new StageTimer();

    const pmtInfs: Pain001PaymentInformation[] = [];
    const transactions: Pain001Transaction[] = [];
    // Collected in memory and stored only once the whole file proved valid: nothing partial, ever.
    const result = await readPain001(
      body,
      {
        groupHeader() {},
        paymentInformation: (p) => void pmtInfs.push(p),
        transactions: (chunk) => void transactions.push(...chunk),
      },
      { maxBytes: MAX_BATCH_BYTES, maxIssues: MAX_ISSUES },
    );
    if (!result.ok) {
      if (result.issues.some((i) => i.kind === 'too_large')) throw tooLarge();
      throw fileRefused(result.issues);
    }
    timing.mark('read');
    const header = result.groupHeader!;
    const routes = await this.routeAll(pmtInfs, result.version!);

    const batchId = deriveUuid(CLEARWAY_ID_NAMESPACE, principal.tenantId, 'batch', header.msgId);
    const existing = await this.batches.findForTenant(principal.tenantId, batchId);
    if (existing) return this.resubmitted(existing, result.sha256);

    const infos: NewBatchPaymentInfo[] = result.paymentInformations.map((summary, i) => {
      const p = pmtInfs[i]!;
      const r = routes[i]!;
      return {
        pmtInfIndex: p.index,
        pmtInfId: p.pmtInfId,
        route: r.route,
        bicFi: r.aspsp.bicFi,
        paymentProduct: r.paymentProduct,
        paymentId: r.route === 'bulk' ? batchBulkPaymentId(batchId, p.index) : null,
        debtorIban: p.debtorIban,
        debtorName: p.debtorName ?? null,
        requestedExecutionDate: p.requestedExecutionDate,
        batchBooking: p.batchBooking ?? null,
        numberOfTransactions: summary.numberOfTransactions,
        controlSum: summary.controlSum,
        totals: summary.totals,
      };
    });
    // Single-routed transactions are the batch's own rows; a bulk's live in the bulk's tables.
    const rows: NewBatchTransaction[] = [];
    const bulks = new Map<number, NewBatchBulk>();
    for (const info of infos) {
      if (info.route !== 'bulk') continue;
      const p = pmtInfs[info.pmtInfIndex]!;
      bulks.set(info.pmtInfIndex, {
        bulk: {
          id: info.paymentId!,
          tenantId: principal.tenantId,
          clientId: principal.clientId,
          bicFi: info.bicFi,
          paymentProduct: info.paymentProduct,
          debtorIban: p.debtorIban,
          debtorCurrency: p.debtorAccountCurrency ?? null,
          debtorName: p.debtorName ?? null,
          currency: info.totals[0]?.currency ?? 'EUR',
          numberOfTransactions: info.numberOfTransactions,
          controlSum: info.controlSum,
          requestedExecutionDate: p.requestedExecutionDate,
          batchBookingPreferred: p.batchBooking ?? null,
          batchId,
          pmtInfId: p.pmtInfId,
          psuId: headers.psuId ?? null,
          psuIpAddress,
          clientRedirectUri: headers.redirectUri ?? null,
          clientNokRedirectUri: headers.nokRedirectUri ?? null,
        } as NewBatchBulk['bulk'],
        transactions: [],
      });
    }
    for (const t of transactions) {
      const amount = parseDecimalAmount(t.amount, t.currency);
      if (!amount.ok) throw ApiError.format(`PmtInf[${t.pmtInfIndex}].CdtTrfTxInf[${t.index}].Amt.InstdAmt`, 'not a valid amount');
      const bulk = bulks.get(t.pmtInfIndex);
      if (bulk) {
        bulk.transactions.push({
          index: t.index,
          endToEndId: t.endToEndId,
          instructionId: t.instructionId ?? null,
          amount: t.amount,
          currency: t.currency,
          creditorName: t.creditorName ?? 'Unknown',
          creditorIban: t.creditorIban,
          creditorAgent: t.creditorAgentBic ?? null,
          remittanceInformationUnstructured: t.remittanceInformationUnstructured ?? null,
        });
        continue;
      }
      rows.push({
        pmtInfIndex: t.pmtInfIndex,
        txIndex: t.index,
        endToEndId: t.endToEndId,
        instructionId: t.instructionId ?? null,
        amount: t.amount,
        currency: t.currency,
        amountMinor: amount.minor.toString(),
        creditorName: t.creditorName ?? null,
        creditorIban: t.creditorIban,
        creditorAgentBic: t.creditorAgentBic ?? null,
        remittanceInformation: t.remittanceInformationUnstructured ?? null,
        paymentId: batchSinglePaymentId(batchId, t.pmtInfIndex, t.index),
      });
    }
    transactions.length = 0; // the rows above hold what is stored; let the parsed objects go
    timing.mark('prepare');
    const { batch, created } = await this.batches.insertOrGetExisting(
      {
        id: batchId,
        tenantId: principal.tenantId,
        clientId: principal.clientId,
        msgId: header.msgId,
        fileSha256: result.sha256,
        painVersion: result.version!,
        requestId: headers.requestId,
        numberOfTransactions: result.transactionCount,
        numberOfPaymentInfos: result.paymentInformationCount,
        controlSum: result.controlSum,
        totals: result.totals,
        psuId: headers.psuId ?? null,
        psuIpAddress,
        clientRedirectUri: headers.redirectUri ?? null,
        clientNokRedirectUri: headers.nokRedirectUri ?? null,
      },
      infos,
      rows,
      [...bulks.values()],
    );
    timing.mark('store');
    if (!created) return this.resubmitted(batch, result.sha256);
    await this.startWorkflow(batch, routes);
    timing.mark('start');
    // The answer carries each bulk's SCA link: wait (bounded) until the banks answered the initiations.
    if (bulks.size) await this.bulksInitiated(principal.tenantId, batchId);
    timing.mark('bank');
    const document = await this.document(principal.tenantId, batch);
    timing.mark('answer');
    this.logger.info({ batchId, tenantId: principal.tenantId, transactions: batch.numberOfTransactions, paymentInfos: infos.length, stagesMs: timing.stages }, 'batch accepted');
    // Server-Timing: where the time to this 201 went (read and checked, stored, workflow started, banks' answers).
    return { status: 201, body: document, headers: { Location: `${BATCHES_PATH}/${batchId}`, 'Server-Timing': timing.header() } };
  }

  async get(principal: Principal, batchId: string): Promise<object> {
    const batch = await this.batches.findForTenant(principal.tenantId, batchId);
    if (!batch) throw ApiError.notFound(`Batch ${batchId}`);
    return this.document(principal.tenantId, batch);
  }

  /**
   * Cancels what has not executed: the batch workflow starts no further child and cancels the
   * single payments it never started; each started child still open gets the cancel a DELETE on
   * that payment (or bulk) sends its workflow. A child whose bank wants the cancellation
   * authorised follows its own cancellation flow; one already executing runs to its end. 202 with
   * the batch; the workflow records `cancelled` (or `partially_completed`) once every child closed.
   */
  async cancel(principal: Principal, batchId: string): Promise<HttpResult<object>> {
    const batch = await this.batches.findForTenant(principal.tenantId, batchId);
    if (!batch) throw ApiError.notFound(`Batch ${batchId}`);
    const alreadyFinal = () => new ApiError(ApiErrorCode.StatusInvalid, `The batch is already final (${batch.status}) and cannot be cancelled`);
    if (FINAL_BATCH_STATUSES.has(batch.status)) throw alreadyFinal();
    let unstarted: number;
    try {
      ({ unstarted } = await this.temporal.workflow.getHandle(batchWorkflowId(batch.id)).executeUpdate(cancelBatchUpdate));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw alreadyFinal();
      throw err;
    }
    const outcome = { unstarted, cancelled: 0, awaitingCancellationAuthorisation: [] as string[], notCancelled: [] as string[] };
    let open = await this.batches.openChildrenForTenant(principal.tenantId, batch.id);
    // Two passes: a child started a moment ago is still sending its initiation (cancel refused until
    // the bank answered), so what was refused is asked once more after a short wait.
    for (let pass = 0; pass < 2 && open.length; pass++) {
      if (pass > 0) await new Promise((r) => setTimeout(r, 1000));
      const refused: typeof open = [];
      for (let i = 0; i < open.length; i += CANCEL_CONCURRENCY) {
        await Promise.all(
          open.slice(i, i + CANCEL_CONCURRENCY).map(async (child) => {
            try {
              const result =
                child.kind === 'bulk'
                  ? await this.temporal.workflow.getHandle(bulkPaymentWorkflowId(child.paymentId)).executeUpdate(cancelBulkPaymentUpdate)
                  : await this.temporal.workflow.getHandle(paymentWorkflowId(child.paymentId)).executeUpdate(cancelPaymentUpdate);
              if (result.authorisationRequired) outcome.awaitingCancellationAuthorisation.push(child.paymentId);
              else if (result.transactionStatus === 'CANC') outcome.cancelled += 1;
            } catch (err) {
              refused.push(child);
              this.logger.info({ batchId: batch.id, paymentId: child.paymentId, error: (err as Error).name }, 'batch cancel: a child refused its cancel');
            }
          }),
        );
      }
      open = pass === 0 ? refused : [];
      if (pass > 0) outcome.notCancelled.push(...refused.map((c) => c.paymentId));
    }
    const current = (await this.batches.findForTenant(principal.tenantId, batch.id)) ?? batch;
    return { status: 202, body: { ...(await this.document(principal.tenantId, current)), cancellation: outcome } };
  }

  async list(principal: Principal, query: { limit?: string; after?: string }): Promise<object> {
    const limit = pageLimit(query.limit, 50, 200);
    // The cursor is the last batch id of the previous page (one of the tenant's own).
    let after: { createdAt: Date; id: string } | undefined;
    if (query.after !== undefined) {
      const last = /^[0-9a-f-]{36}$/i.test(query.after) ? await this.batches.findForTenant(principal.tenantId, query.after.toLowerCase()) : null;
      if (!last) throw ApiError.format('after', 'must be a batchId from a next link');
      after = { createdAt: last.createdAt, id: last.id };
    }
    const page = await this.batches.listForTenant(principal.tenantId, { limit: limit + 1, after });
    const shown = page.slice(0, limit);
    const items = await Promise.all(
      shown.map(async (b) => ({ ...toListItem(b), progress: sumProgress(await this.batches.progressForTenant(principal.tenantId, b.id)) })),
    );
    const last = shown[shown.length - 1];
    return {
      batches: items,
      _links: page.length > limit && last ? { next: { href: `${BATCHES_PATH}?limit=${limit}&after=${last.id}` } } : {},
    };
  }

  async singlePayments(principal: Principal, batchId: string, query: { pmtInfId?: string; limit?: string; after?: string }): Promise<object> {
    const batch = await this.batches.findForTenant(principal.tenantId, batchId);
    if (!batch) throw ApiError.notFound(`Batch ${batchId}`);
    const pmtInfId = requiredHeader('pmtInfId', query.pmtInfId);
    const info = (await this.batches.paymentInfosForTenant(principal.tenantId, batchId)).find((i) => i.pmtInfId === pmtInfId);
    if (!info) throw ApiError.notFound(`PmtInf ${pmtInfId} of batch ${batchId}`);
    if (info.route !== 'single') throw new ApiError(ApiErrorCode.StatusInvalid, `PmtInf ${pmtInfId} is one bulk payment (${info.paymentId}), not single payments`, 'pmtInfId');
    const limit = pageLimit(query.limit, 100, 1000);
    const afterTxIndex = query.after === undefined ? undefined : Number(query.after);
    if (afterTxIndex !== undefined && !(Number.isInteger(afterTxIndex) && afterTxIndex >= 0)) throw ApiError.format('after', 'must be a cursor from a next link');
    const rows = await this.batches.singlePaymentsForTenant(principal.tenantId, batchId, info.pmtInfIndex, { limit: limit + 1, afterTxIndex });
    const shown = rows.slice(0, limit);
    const last = shown[shown.length - 1];
    return {
      payments: shown.map(toSinglePayment),
      _links:
        rows.length > limit && last
          ? { next: { href: `${BATCHES_PATH}/${batchId}/payments?pmtInfId=${encodeURIComponent(pmtInfId)}&limit=${limit}&after=${last.txIndex}` } }
          : {},
    };
  }

  /** One pain.002.001.10 for the whole file, streamed: group, PmtInf and transaction level. */
  async report(principal: Principal, batchId: string, res: Response): Promise<void> {
    const batch = await this.batches.findForTenant(principal.tenantId, batchId);
    if (!batch) throw ApiError.notFound(`Batch ${batchId}`);
    const infos = await this.batches.paymentInfosForTenant(principal.tenantId, batchId);
    const progress = await this.batches.progressForTenant(principal.tenantId, batchId);
    const total = sumProgress(progress);
    res.status(200).setHeader('Content-Type', 'application/xml; charset=utf-8');
    const batches = this.batches;
    await writePain002(
      res,
      {
        msgId: `RPT-${batch.id.replace(/-/g, '').slice(0, 31)}`,
        creationDateTime: new Date(),
        initiatingPartyName: 'Clearway',
        originalMsgId: batch.msgId,
        originalMsgNameId: batch.painVersion,
        originalNumberOfTransactions: batch.numberOfTransactions,
        originalControlSum: batch.controlSum,
        groupStatus: groupStatusOf(total),
        groupCountsPerStatus: countsPerStatus(total),
      },
      (async function* () {
        for (const info of infos) {
          const p = progress.get(info.pmtInfIndex) ?? emptyProgress(info.numberOfTransactions);
          yield {
            info: {
              originalPmtInfId: info.pmtInfId,
              status: groupStatusOf(p),
              numberOfTransactions: info.numberOfTransactions,
              controlSum: info.controlSum,
              countsPerStatus: countsPerStatus(p),
            },
            transactions: (async function* () {
              for await (const page of batches.reportRowsForTenant(principal.tenantId, batchId, info.pmtInfIndex)) {
                for (const row of page) yield transactionStatus(row);
              }
            })(),
          };
        }
      })(),
    );
    res.end();
  }

  private async document(tenantId: string, batch: BatchEntity): Promise<object> {
    const [infos, progress, bulks] = await Promise.all([
      this.batches.paymentInfosForTenant(tenantId, batch.id),
      this.batches.progressForTenant(tenantId, batch.id),
      this.batches.bulkStatesForTenant(tenantId, batch.id),
    ]);
    return toBatchDocument(batch, infos, progress, bulks);
  }

  /** Polls the bulks' rows (the bulk workflows write the bank's answer there) until each has one, or the wait is over. */
  private async bulksInitiated(tenantId: string, batchId: string): Promise<void> {
    const deadline = Date.now() + this.config.api.bankAnswerWaitMs;
    // Short intervals: the answer is usually there within a second, and each check is one indexed read.
    for (let interval = 25; Date.now() < deadline; interval = Math.min(interval * 2, 100)) {
      const states: BatchBulkState[] = [...(await this.batches.bulkStatesForTenant(tenantId, batchId)).values()];
      if (states.every((s) => s.initiationSettled)) return;
      await new Promise((r) => setTimeout(r, interval));
    }
    this.logger.warn({ batchId }, 'batch accepted before every bank answered its bulk initiation');
  }

  /** The same file again: the batch it made (200). Another file under a used MsgId: 409. */
  private async resubmitted(batch: BatchEntity, sha256: string): Promise<HttpResult<object>> {
    if (batch.fileSha256 !== sha256) {
      throw new ApiError(ApiErrorCode.ParameterNotConsistent, `MsgId ${batch.msgId} was already used for another file (batch ${batch.id}); give a new file a new MsgId`, 'GrpHdr.MsgId', [], 409);
    }
    // A crash between storing and starting leaves a stored batch without a run: start it now (idempotent).
    await this.startWorkflow(batch, undefined);
    return { status: 200, body: await this.document(batch.tenantId, batch), headers: { Location: `${BATCHES_PATH}/${batch.id}` } };
  }

  private async routeAll(pmtInfs: Pain001PaymentInformation[], version: string): Promise<PmtInfRoute[]> {
    const router = new BatchRouter(this.directory);
    const issues: TppMessage[] = [];
    const routes: PmtInfRoute[] = [];
    const seen = new Map<string, number>();
    for (const p of pmtInfs) {
      const earlier = seen.get(p.pmtInfId);
      if (earlier !== undefined) issues.push(issue(`PmtInf[${p.index}].PmtInfId`, `PmtInfId is already used by PmtInf[${earlier}] of this file`));
      seen.set(p.pmtInfId, p.index);
      const r = await router.route(p, version);
      if (isRoutingIssue(r)) issues.push(issue(r.path, r.text));
      else routes.push(r);
    }
    if (issues.length) throw new ApiError(ApiErrorCode.FormatError, issues[0]!.text!, issues[0]!.path, issues.slice(1, MAX_ISSUES));
    return routes;
  }

  private async startWorkflow(batch: BatchEntity, routes: PmtInfRoute[] | undefined): Promise<void> {
    const aspsps = routes?.map((r) => r.aspsp) ?? (await this.aspspsOf(batch));
    const timings: Record<string, PaymentTimings> = {};
    for (const a of aspsps) timings[a.bicFi] = this.timingsFor(a);
    const summary = summaryOf(batch);
    const input: BatchWorkflowInput = { batchId: batch.id, tenantId: batch.tenantId, summary, settings: this.fanOut, timings };
    await this.temporal.workflow.start('batchWorkflow', {
      workflowId: batchWorkflowId(batch.id),
      taskQueue: taskQueueFor(this.config.temporal, 'batchWorkflow'),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: BatchId, value: batch.id },
        { key: TenantId, value: batch.tenantId },
      ],
      staticSummary: summary,
      staticDetails: `Batch \`${batch.id}\` · ${batch.painVersion} · ${batch.numberOfPaymentInfos} PmtInf`,
    }).catch((err: unknown) => {
      // Finished already (a resubmission long after): nothing to start.
      if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    });
  }

  private async aspspsOf(batch: BatchEntity): Promise<AspspEntity[]> {
    const infos = await this.batches.paymentInfosForTenant(batch.tenantId, batch.id);
    const found = await Promise.all([...new Set(infos.map((i) => i.bicFi))].map((bic) => this.directory.findAspsp(bic)));
    return found.filter((a): a is AspspEntity => a !== null);
  }

  private timingsFor(aspsp: AspspEntity): PaymentTimings {
    const p = this.config.payments;
    return {
      scaTimeoutMs: (aspsp.scaTimeoutSeconds || p.scaTimeoutSeconds) * 1000,
      scaPollInitialMs: 1000,
      scaPollMaxMs: 15_000,
      statusPollInitialMs: p.pollInitialIntervalMs,
      statusPollMaxMs: p.pollMaxIntervalMs,
      statusDeadlineMs: p.statusDeadlineSeconds * 1000,
    };
  }
}

/** `Batch MSG-2026-11-30-01 · 10,000 tx · 1,234,567.89 EUR`: ids, counts and sums, no PII. */
export function summaryOf(batch: Pick<BatchEntity, 'msgId' | 'numberOfTransactions' | 'totals'>): string {
  const sums = batch.totals.map((t) => `${groupDigits(t.amount)} ${t.currency}`).join(' + ');
  const line = `Batch ${batch.msgId} · ${groupDigits(batch.numberOfTransactions)} tx · ${sums}`;
  return Buffer.byteLength(line) <= 200 ? line : `Batch ${batch.msgId} · ${groupDigits(batch.numberOfTransactions)} tx`.slice(0, 150);
}

/** Durations of an upload's stages, for the log line and the `Server-Timing` header (no payload data). */
class StageTimer {
  readonly stages: Record<string, number> = {};
  private last = performance.now();

  mark(stage: string): void {
    const now = performance.now();
    this.stages[stage] = Math.round(now - this.last);
    this.last = now;
  }

  header(): string {
    return Object.entries(this.stages)
      .map(([stage, ms]) => `${stage};dur=${ms}`)
      .join(', ');
  }
}

/** Children asked to cancel at once (each is one Temporal update and one bank call). */
const CANCEL_CONCURRENCY = 8;

function tooLarge(): ApiError {
  const err = new ApiError(ApiErrorCode.FormatError, 'The file is larger than 50 MB; split the payment run into several files', 'body', [], 413);
  // The rest of the upload is not read: the connection cannot be reused.
  err.headers.Connection = 'close';
  return err;
}

function issue(path: string, text: string): TppMessage {
  return { category: 'ERROR', code: ApiErrorCode.FormatError, path, text };
}

function fileRefused(issues: Pain001Issue[]): ApiError {
  const messages = issues.slice(0, MAX_ISSUES).map((i) => issue(i.path, i.text));
  return new ApiError(ApiErrorCode.FormatError, messages[0]!.text!, messages[0]!.path, messages.slice(1));
}

function sumProgress(byInfo: Map<number, BatchProgressCounts>): BatchProgressCounts {
  const total = emptyProgress();
  for (const p of byInfo.values()) for (const key of Object.keys(total) as (keyof BatchProgressCounts)[]) total[key] += p[key];
  return total;
}

function pageLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw ApiError.format('limit', `must be an integer from 1 to ${max}`);
  return n;
}

/** The group's (or PmtInf's) ISO status from its transactions' counts. */
function groupStatusOf(p: BatchProgressCounts): Iso20022Status {
  const finished = p.settled + p.rejected + p.cancelled;
  if (p.total > 0 && finished === p.total) {
    if (p.rejected + p.cancelled === 0) return 'ACSC';
    if (p.settled === 0) return p.cancelled === p.total ? 'CANC' : 'RJCT';
    return 'PART';
  }
  if (p.settled + p.accepted > 0) return p.rejected + p.cancelled > 0 ? 'PART' : 'ACSP';
  return p.received === p.total ? 'RCVD' : 'PDNG';
}

function countsPerStatus(p: BatchProgressCounts): Pain002StatusCount[] {
  const counts: [Iso20022Status, number][] = [
    ['ACSC', p.settled],
    ['ACSP', p.accepted],
    ['PDNG', p.awaitingSca],
    ['RCVD', p.received],
    ['RJCT', p.rejected],
    ['CANC', p.cancelled],
  ];
  return counts.filter(([, n]) => n > 0).map(([status, count]) => ({ status, count }));
}

const ISO_REASON = /^[A-Z]{2}[0-9]{2}$/;
const TX_STATUSES = new Set(['ACTC', 'ACCP', 'ACSP', 'ACSC', 'ACCC', 'ACWC', 'ACWP', 'PDNG', 'RJCT', 'CANC']);

function transactionStatus(row: BatchReportRow) {
  const own = row.transactionStatus && TX_STATUSES.has(row.transactionStatus) ? (row.transactionStatus as Iso20022Status) : undefined;
  const status: Iso20022Status =
    row.bucket === 'settled' ? (own ?? 'ACSC') : row.bucket === 'rejected' ? 'RJCT' : row.bucket === 'cancelled' ? 'CANC' : row.bucket === 'accepted' ? (own ?? 'ACSP') : row.bucket === 'awaitingSca' ? 'PDNG' : 'RCVD';
  const reason = row.statusReason?.trim().split(/\s|:/)[0];
  return {
    ...(row.instructionId ? { originalInstructionId: row.instructionId } : {}),
    originalEndToEndId: row.endToEndId,
    status,
    // Only an ISO reason code (AM04…): a bank's free text may name its own ids and paths.
    ...(status === 'RJCT' && reason && ISO_REASON.test(reason) ? { reasonCode: reason } : {}),
    amount: row.amount,
    currency: row.currency,
  };
}
