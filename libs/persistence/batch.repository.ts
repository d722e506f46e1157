import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { batchSinglePaymentRequestId, emptyProgress, type BatchBulkState, type BatchChildPayment, type BatchProgressCounts, type BatchReportRow, type BatchSinglePaymentRow, type ProgressBucket, type SinglePaymentCursor } from './batch-progress';
import { AUTHORISED_TRANSACTION_STATUSES, FINAL_TRANSACTION_STATUSES } from '../domain/transaction-status';
import { batchEvent } from '../webhooks/batch-events';
import { BatchEntity, FINAL_BATCH_STATUSES, type BatchStatus } from './entities/batch.entity';

export * from './batch-progress';
import { BatchPaymentInfoEntity } from './entities/batch-payment-info.entity';
import { BatchTransactionEntity } from './entities/batch-transaction.entity';
import { PaymentEntity } from './entities/payment.entity';
import { BulkPaymentRepository, type NewBulkPayment, type NewBulkTransaction } from './bulk-payment.repository';
import { appendEvent } from './event-outbox';

export type NewBatch = Pick<
  BatchEntity,
  | 'id'
  | 'tenantId'
  | 'clientId'
  | 'msgId'
  | 'fileSha256'
  | 'painVersion'
  | 'requestId'
  | 'numberOfTransactions'
  | 'numberOfPaymentInfos'
  | 'controlSum'
  | 'totals'
  | 'psuId'
  | 'psuIpAddress'
  | 'clientRedirectUri'
  | 'clientNokRedirectUri'
>;
export type NewBatchPaymentInfo = Omit<BatchPaymentInfoEntity, 'batchId'>;
export type NewBatchTransaction = Omit<BatchTransactionEntity, 'batchId' | 'cancelledAt'>;
/** A bulk-routed PmtInf: its bulk payment with its transactions (stored in the bulk's own tables). */
export interface NewBatchBulk {
  bulk: NewBulkPayment;
  transactions: NewBulkTransaction[];
}


/**
 * Rows per multi-row INSERT: PostgreSQL allows 65,535 parameters; `unnest` of arrays needs one
 * parameter per column whatever the row count, so chunks only bound memory per statement.
 */
const INSERT_CHUNK = 5000;

const AUTHORISED = [...AUTHORISED_TRANSACTION_STATUSES].filter((s) => s !== 'ACSC' && s !== 'ACCC');

/** A single payment's bucket, from its row (NULL: not created yet). */
const SINGLE_BUCKET = `CASE
  WHEN p.id IS NULL AND t.cancelled_at IS NOT NULL THEN 'cancelled'
  WHEN p.id IS NULL THEN 'received'
  WHEN p.transaction_status IN ('ACSC', 'ACCC') THEN 'settled'
  WHEN p.transaction_status = 'RJCT' THEN 'rejected'
  WHEN p.transaction_status = 'CANC' THEN 'cancelled'
  WHEN p.transaction_status = ANY ($2::text[]) THEN 'accepted'
  WHEN p.bank_payment_id IS NULL AND p.initiation_outcome IS NULL THEN 'received'
  ELSE 'awaitingSca' END`;

/**
 * Batches (uploaded pain.001 files), their PmtInf blocks and transactions. API reads are tenant
 * first; the worker addresses a batch by id (the workflow `batch-{id}` owns it).
 */
/** A bulk transaction's bucket, from its row and its bulk's. */
const BULK_BUCKET = `CASE
  WHEN t.transaction_status IN ('ACSC', 'ACCC') THEN 'settled'
  WHEN t.transaction_status = 'RJCT' THEN 'rejected'
  WHEN t.transaction_status = 'CANC' THEN 'cancelled'
  WHEN t.transaction_status = ANY ($2::text[]) OR bp.transaction_status = ANY ($2::text[]) OR bp.transaction_status = 'PATC' THEN 'accepted'
  WHEN bp.bank_payment_id IS NULL AND bp.initiation_outcome IS NULL THEN 'received'
  ELSE 'awaitingSca' END`;

export class BatchRepository {
  private readonly bulks: BulkPaymentRepository;

  constructor(private readonly ds: DataSource) {
    this.bulks = new BulkPaymentRepository(ds);
  }

  /**
   * Stores a validated file in one transaction: all of it, or (the tenant already used this MsgId)
   * nothing, returning the batch stored under it.
   */
  async insertOrGetExisting(
    batch: NewBatch,
    paymentInfos: NewBatchPaymentInfo[],
    transactions: NewBatchTransaction[],
    bulks: NewBatchBulk[] = [],
  ): Promise<{ batch: BatchEntity; created: boolean }> {
    const created = await this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(BatchEntity)
        .values({ ...batch, status: 'received' })
        .orIgnore()
        .returning(['id'])
        .execute();
      if (inserted.raw.length === 0) return false;
      await insertPaymentInfos(em, batch.id, paymentInfos);
      await insertTransactions(em, batch.id, transactions);
      for (const b of bulks) await this.bulks.createIn(em, b.bulk, b.transactions);
      return true;
    });
    const stored = await this.ds.getRepository(BatchEntity).findOneByOrFail({ tenantId: batch.tenantId, msgId: batch.msgId });
    return { batch: stored, created };
  }

  findForTenant(tenantId: string, id: string): Promise<BatchEntity | null> {
    return this.ds.getRepository(BatchEntity).findOneBy({ tenantId, id });
  }

  /** Newest first; `after` is the last batch of the previous page. */
  async listForTenant(tenantId: string, opts: { limit: number; after?: { createdAt: Date; id: string } }): Promise<BatchEntity[]> {
    const qb = this.ds.getRepository(BatchEntity).createQueryBuilder('b').where('b.tenant_id = :tenantId', { tenantId });
    if (opts.after) qb.andWhere('(b.created_at, b.id) < (:createdAt, :id)', { createdAt: opts.after.createdAt, id: opts.after.id });
    return qb.orderBy('b.created_at', 'DESC').addOrderBy('b.id', 'DESC').limit(opts.limit).getMany();
  }

  async paymentInfosForTenant(tenantId: string, batchId: string): Promise<BatchPaymentInfoEntity[]> {
    return this.ds
      .getRepository(BatchPaymentInfoEntity)
      .createQueryBuilder('i')
      .innerJoin(BatchEntity, 'b', 'b.id = i.batch_id')
      .where('b.tenant_id = :tenantId AND i.batch_id = :batchId', { tenantId, batchId })
      .orderBy('i.pmt_inf_index', 'ASC')
      .getMany();
  }

  /** Progress per PmtInf (by index) of a tenant's batch. */
  async progressForTenant(tenantId: string, batchId: string): Promise<Map<number, BatchProgressCounts>> {
    return this.progress(batchId, tenantId);
  }

  /** The batch's bulk payments (status, SCA links), by PmtInf index. */
  async bulkStatesForTenant(tenantId: string, batchId: string): Promise<Map<number, BatchBulkState>> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT i.pmt_inf_index, bp.transaction_status, bp.status_reason, bp.sca_approach, bp.sca_redirect_url, bp.psu_message,
              (bp.bank_payment_id IS NOT NULL OR bp.initiation_outcome IS NOT NULL OR bp.transaction_status IN ('RJCT', 'CANC')) AS settled
         FROM batch_payment_infos i
         JOIN batches b ON b.id = i.batch_id
         JOIN bulk_payments bp ON bp.id = i.payment_id
        WHERE b.tenant_id = $1 AND i.batch_id = $2 AND i.route = 'bulk'`,
      [tenantId, batchId],
    );
    return new Map(
      rows.map((r) => [
        Number(r.pmt_inf_index),
        {
          pmtInfIndex: Number(r.pmt_inf_index),
          transactionStatus: String(r.transaction_status),
          statusReason: (r.status_reason as string | null) ?? null,
          scaApproach: (r.sca_approach as string | null) ?? null,
          scaRedirectUrl: (r.sca_redirect_url as string | null) ?? null,
          psuMessage: (r.psu_message as string | null) ?? null,
          initiationSettled: Boolean(r.settled),
        },
      ]),
    );
  }

  /** A page of a PmtInf's single payments (route `single`), in file order; `afterTxIndex` from the previous page. */
  async singlePaymentsForTenant(
    tenantId: string,
    batchId: string,
    pmtInfIndex: number,
    opts: { limit: number; afterTxIndex?: number },
  ): Promise<BatchSinglePaymentRow[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT t.tx_index, t.end_to_end_id, t.payment_id, i.payment_product,
              COALESCE(p.transaction_status, CASE WHEN t.cancelled_at IS NOT NULL THEN 'CANC' END) AS transaction_status, p.sca_redirect_url, p.psu_message
         FROM batch_transactions t
         JOIN batches b ON b.id = t.batch_id
         JOIN batch_payment_infos i ON i.batch_id = t.batch_id AND i.pmt_inf_index = t.pmt_inf_index
         LEFT JOIN payments p ON p.id = t.payment_id
        WHERE b.tenant_id = $1 AND t.batch_id = $2 AND t.pmt_inf_index = $3 AND t.tx_index > $4 AND t.payment_id IS NOT NULL
        ORDER BY t.tx_index
        LIMIT $5`,
      [tenantId, batchId, pmtInfIndex, opts.afterTxIndex ?? -1, opts.limit],
    );
    return rows.map((r) => ({
      txIndex: Number(r.tx_index),
      endToEndId: String(r.end_to_end_id),
      paymentId: String(r.payment_id),
      paymentProduct: String(r.payment_product),
      transactionStatus: (r.transaction_status as string | null) ?? null,
      scaRedirectUrl: (r.sca_redirect_url as string | null) ?? null,
      psuMessage: (r.psu_message as string | null) ?? null,
    }));
  }

  /** The report's rows of one PmtInf, in pages (file order), so a 100,000-line report is never held whole. */
  async *reportRowsForTenant(tenantId: string, batchId: string, pmtInfIndex: number, pageSize = 5000): AsyncGenerator<BatchReportRow[]> {
    const [info]: { route: string }[] = await this.ds.query(
      `SELECT i.route FROM batch_payment_infos i JOIN batches b ON b.id = i.batch_id WHERE b.tenant_id = $1 AND i.batch_id = $2 AND i.pmt_inf_index = $3`,
      [tenantId, batchId, pmtInfIndex],
    );
    if (!info) return;
    const sql =
      info.route === 'bulk'
        ? `SELECT t.idx AS tx_index, i.pmt_inf_index, t.end_to_end_id, t.instruction_id, t.amount::text AS amount, t.currency,
                  ${BULK_BUCKET} AS bucket, t.transaction_status, t.reason_code AS status_reason
             FROM batch_payment_infos i
             JOIN batches b ON b.id = i.batch_id
             JOIN bulk_payments bp ON bp.id = i.payment_id
             JOIN bulk_payment_transactions t ON t.bulk_payment_id = bp.id
            WHERE b.tenant_id = $1 AND i.batch_id = $3 AND i.pmt_inf_index = $4 AND t.idx > $5
            ORDER BY t.idx
            LIMIT $6`
        : `SELECT t.tx_index, t.pmt_inf_index, t.end_to_end_id, t.instruction_id, t.amount, t.currency,
                  ${SINGLE_BUCKET} AS bucket, COALESCE(p.transaction_status, CASE WHEN t.cancelled_at IS NOT NULL THEN 'CANC' END) AS transaction_status,
                  COALESCE(p.status_reason, CASE WHEN t.cancelled_at IS NOT NULL THEN 'Batch cancelled by the TPP before this payment was started' END) AS status_reason
             FROM batch_transactions t
             JOIN batches b ON b.id = t.batch_id
             LEFT JOIN payments p ON p.id = t.payment_id
            WHERE b.tenant_id = $1 AND t.batch_id = $3 AND t.pmt_inf_index = $4 AND t.tx_index > $5
            ORDER BY t.tx_index
            LIMIT $6`;
    for (let after = -1; ; ) {
      const rows: Record<string, unknown>[] = await this.ds.query(sql, [tenantId, AUTHORISED, batchId, pmtInfIndex, after, pageSize]);
      if (!rows.length) return;
      yield rows.map((r) => ({
        pmtInfIndex: Number(r.pmt_inf_index),
        endToEndId: String(r.end_to_end_id),
        instructionId: (r.instruction_id as string | null) ?? null,
        amount: String(r.amount),
        currency: String(r.currency),
        bucket: r.bucket as ProgressBucket,
        transactionStatus: (r.transaction_status as string | null) ?? null,
        statusReason: (r.status_reason as string | null) ?? null,
      }));
      after = Number(rows[rows.length - 1].tx_index);
      if (rows.length < pageSize) return;
    }
  }

  // ---- worker side: the batch workflow owns the batch it was started for ----

  findById(id: string): Promise<BatchEntity | null> {
    return this.ds.getRepository(BatchEntity).findOneBy({ id });
  }

  paymentInfos(batchId: string): Promise<BatchPaymentInfoEntity[]> {
    return this.ds.getRepository(BatchPaymentInfoEntity).find({ where: { batchId }, order: { pmtInfIndex: 'ASC' } });
  }

  /** Progress per PmtInf index, from the payments' own rows. */
  async progress(batchId: string, tenantId?: string): Promise<Map<number, BatchProgressCounts>> {
    const rows: { pmt_inf_index: number; bucket: ProgressBucket; n: string }[] = await this.ds.query(
      `SELECT t.pmt_inf_index, ${SINGLE_BUCKET} AS bucket, count(*) AS n
         FROM batch_transactions t
         JOIN batches b ON b.id = t.batch_id
         LEFT JOIN payments p ON p.id = t.payment_id
        WHERE t.batch_id = $1 AND ($3::varchar IS NULL OR b.tenant_id = $3)
        GROUP BY t.pmt_inf_index, bucket`,
      [batchId, AUTHORISED, tenantId ?? null],
    );
    const bulkRows: { pmt_inf_index: number; bucket: ProgressBucket; n: string }[] = await this.ds.query(
      `SELECT i.pmt_inf_index, ${BULK_BUCKET} AS bucket, count(*) AS n
         FROM batch_payment_infos i
         JOIN batches b ON b.id = i.batch_id
         JOIN bulk_payments bp ON bp.id = i.payment_id
         JOIN bulk_payment_transactions t ON t.bulk_payment_id = bp.id
        WHERE i.batch_id = $1 AND i.route = 'bulk' AND ($3::varchar IS NULL OR b.tenant_id = $3)
        GROUP BY i.pmt_inf_index, bucket`,
      [batchId, AUTHORISED, tenantId ?? null],
    );
    rows.push(...bulkRows);
    const byIndex = new Map<number, BatchProgressCounts>();
    for (const r of rows) {
      const p = byIndex.get(Number(r.pmt_inf_index)) ?? emptyProgress();
      p[r.bucket] += Number(r.n);
      p.total += Number(r.n);
      byIndex.set(Number(r.pmt_inf_index), p);
    }
    return byIndex;
  }

  /**
   * Creates the next `limit` single payments (route `single`) after `cursor`, each from its
   * transaction, and returns their ids with the cursor after them. Idempotent: the ids are derived
   * from the position, so a retry finds the rows it made.
   */
  async prepareSinglePayments(batchId: string, cursor: SinglePaymentCursor, limit: number): Promise<{ payments: BatchChildPayment[]; next: SinglePaymentCursor | null }> {
    return this.ds.transaction(async (em) => {
      const rows: Record<string, unknown>[] = await em.query(
        `SELECT t.pmt_inf_index, t.tx_index, t.end_to_end_id, t.amount, t.currency, t.amount_minor, t.creditor_name, t.creditor_iban,
                t.creditor_agent_bic, t.remittance_information, t.payment_id,
                i.bic_fi, i.payment_product, i.debtor_iban, i.requested_execution_date,
                b.tenant_id, b.client_id, b.psu_id, b.psu_ip_address, b.client_redirect_uri, b.client_nok_redirect_uri
           FROM batch_transactions t
           JOIN batch_payment_infos i ON i.batch_id = t.batch_id AND i.pmt_inf_index = t.pmt_inf_index
           JOIN batches b ON b.id = t.batch_id
          WHERE t.batch_id = $1 AND i.route = 'single' AND (t.pmt_inf_index, t.tx_index) >= ($2, $3)
          ORDER BY t.pmt_inf_index, t.tx_index
          LIMIT $4`,
        [batchId, cursor.pmtInfIndex, cursor.txIndex, limit + 1],
      );
      const page = rows.slice(0, limit);
      const values = page.map((r) => {
        const paymentId = String(r.payment_id);
        const body = {
          endToEndIdentification: String(r.end_to_end_id),
          instructedAmount: { currency: String(r.currency), amount: String(r.amount) },
          debtorAccount: { iban: String(r.debtor_iban) },
          creditorName: (r.creditor_name as string | null) ?? 'Unknown',
          creditorAccount: { iban: String(r.creditor_iban) },
          ...(r.creditor_agent_bic ? { creditorAgent: String(r.creditor_agent_bic) } : {}),
          ...(r.remittance_information ? { remittanceInformationUnstructured: String(r.remittance_information) } : {}),
        };
        return {
          id: paymentId,
          tenantId: String(r.tenant_id),
          clientId: String(r.client_id),
          requestId: batchSinglePaymentRequestId(paymentId),
          requestHash: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
          bicFi: String(r.bic_fi),
          paymentService: 'payments',
          paymentProduct: String(r.payment_product) as PaymentEntity['paymentProduct'],
          body,
          currency: String(r.currency),
          amountMinor: String(r.amount_minor),
          psuId: (r.psu_id as string | null) ?? null,
          psuIpAddress: (r.psu_ip_address as string | null) ?? null,
          clientRedirectUri: (r.client_redirect_uri as string | null) ?? null,
          clientNokRedirectUri: (r.client_nok_redirect_uri as string | null) ?? null,
          transactionStatus: 'RCVD' as const,
        };
      });
      if (values.length) await em.createQueryBuilder().insert().into(PaymentEntity).values(values).orIgnore().execute();
      const after = rows[limit];
      return {
        payments: page.map((r) => ({
          paymentId: String(r.payment_id),
          bicFi: String(r.bic_fi),
          paymentProduct: String(r.payment_product),
          at: { pmtInfIndex: Number(r.pmt_inf_index), txIndex: Number(r.tx_index) },
        })),
        next: after ? { pmtInfIndex: Number(after.pmt_inf_index), txIndex: Number(after.tx_index) } : null,
      };
    });
  }

  /**
   * Open children of a tenant's batch (bulks and single payments the batch started, not final yet):
   * what a batch cancel asks each workflow to cancel, as a DELETE on the payment would.
   */
  async openChildrenForTenant(tenantId: string, batchId: string): Promise<{ kind: 'bulk' | 'single'; paymentId: string }[]> {
    const rows: { kind: 'bulk' | 'single'; payment_id: string }[] = await this.ds.query(
      `SELECT 'bulk' AS kind, bp.id AS payment_id
         FROM batch_payment_infos i
         JOIN batches b ON b.id = i.batch_id
         JOIN bulk_payments bp ON bp.id = i.payment_id
        WHERE b.tenant_id = $1 AND i.batch_id = $2 AND i.route = 'bulk' AND bp.transaction_status <> ALL ($3::text[])
       UNION ALL
       SELECT 'single', p.id
         FROM batch_transactions t
         JOIN batches b ON b.id = t.batch_id
         JOIN payments p ON p.id = t.payment_id
        WHERE b.tenant_id = $1 AND t.batch_id = $2 AND p.transaction_status <> ALL ($3::text[])`,
      [tenantId, batchId, [...FINAL_TRANSACTION_STATUSES]],
    );
    return rows.map((r) => ({ kind: r.kind, paymentId: r.payment_id }));
  }

  /**
   * The batch workflow stopped its fan-out for a cancel: records the request and cancels every
   * single payment from `cursor` on (none of them was started: the cursor moves past a payment
   * only once its workflow started). Payments already made for them (a page made as the cancel
   * came) are CANC with no workflow; the others are marked on their transaction row. Idempotent.
   */
  async cancelUnstarted(batchId: string, cursor: SinglePaymentCursor | null): Promise<{ unstarted: number }> {
    return this.ds.transaction(async (em) => {
      await em.query(`UPDATE batches SET cancel_requested_at = COALESCE(cancel_requested_at, now()) WHERE id = $1`, [batchId]);
      if (!cursor) return { unstarted: 0 };
      const params = [batchId, cursor.pmtInfIndex, cursor.txIndex];
      const from = `FROM batch_payment_infos i
        WHERE i.batch_id = t.batch_id AND i.pmt_inf_index = t.pmt_inf_index AND i.route = 'single'
          AND t.batch_id = $1 AND (t.pmt_inf_index, t.tx_index) >= ($2, $3)`;
      await em.query(
        `UPDATE payments p SET transaction_status = 'CANC', status_reason = 'Batch cancelled by the TPP before this payment was started'
           FROM batch_transactions t JOIN batch_payment_infos i ON i.batch_id = t.batch_id AND i.pmt_inf_index = t.pmt_inf_index
          WHERE p.id = t.payment_id AND i.route = 'single' AND t.batch_id = $1 AND (t.pmt_inf_index, t.tx_index) >= ($2, $3)
            AND p.transaction_status = 'RCVD' AND p.bank_payment_id IS NULL AND p.initiation_outcome IS NULL`,
        params,
      );
      await em.query(
        `UPDATE batch_transactions t SET cancelled_at = now() ${from}
            AND t.cancelled_at IS NULL AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = t.payment_id)`,
        params,
      );
      const [{ n }]: { n: string }[] = await em.query(
        `SELECT count(*) AS n FROM batch_transactions t, batch_payment_infos i
          WHERE i.batch_id = t.batch_id AND i.pmt_inf_index = t.pmt_inf_index AND i.route = 'single' AND t.batch_id = $1 AND (t.pmt_inf_index, t.tx_index) >= ($2, $3)`,
        params,
      );
      return { unstarted: Number(n) };
    });
  }

  /**
   * Records the batch's status (and its progress) as the workflow saw it, with the outbox event in
   * the same transaction; a retried write stores one event (keyed by the status).
   */
  async recordStatus(change: { batchId: string; status: BatchStatus; progress: BatchProgressCounts; reason?: string | null }): Promise<void> {
    await this.ds.transaction(async (em) => {
      const batch = await em.getRepository(BatchEntity).findOneByOrFail({ id: change.batchId });
      const final = FINAL_BATCH_STATUSES.has(change.status);
      if (batch.status === change.status) return;
      {
        await em.getRepository(BatchEntity).update(
          { id: change.batchId },
          { status: change.status, statusReason: change.reason ?? null, ...(final ? { completedAt: new Date() } : {}) },
        );
      }
      for (const event of batchEvent(batch, change)) await appendEvent(em, event);
    });
  }
}

async function insertPaymentInfos(em: EntityManager, batchId: string, infos: NewBatchPaymentInfo[]): Promise<void> {
  if (!infos.length) return;
  await em.createQueryBuilder().insert().into(BatchPaymentInfoEntity).values(infos.map((i) => ({ ...i, batchId }))).execute();
}

/** Column arrays through `unnest`: one statement per chunk, a few parameters whatever its size. */
async function insertTransactions(em: EntityManager, batchId: string, txs: NewBatchTransaction[]): Promise<void> {
  for (let start = 0; start < txs.length; start += INSERT_CHUNK) {
    const chunk = txs.slice(start, start + INSERT_CHUNK);
    await em.query(
      `INSERT INTO batch_transactions (batch_id, pmt_inf_index, tx_index, end_to_end_id, instruction_id, amount, currency, amount_minor,
                                       creditor_name, creditor_iban, creditor_agent_bic, remittance_information, payment_id)
       SELECT $1, * FROM unnest($2::int[], $3::int[], $4::varchar[], $5::varchar[], $6::varchar[], $7::char(3)[], $8::bigint[],
                                $9::varchar[], $10::varchar[], $11::varchar[], $12::varchar[], $13::uuid[])`,
      [
        batchId,
        chunk.map((t) => t.pmtInfIndex),
        chunk.map((t) => t.txIndex),
        chunk.map((t) => t.endToEndId),
        chunk.map((t) => t.instructionId),
        chunk.map((t) => t.amount),
        chunk.map((t) => t.currency),
        chunk.map((t) => t.amountMinor),
        chunk.map((t) => t.creditorName),
        chunk.map((t) => t.creditorIban),
        chunk.map((t) => t.creditorAgentBic),
        chunk.map((t) => t.remittanceInformation),
        chunk.map((t) => t.paymentId),
      ],
    );
  }
}

/** What the API may call: tenant first, nothing by id alone. */
export type TenantBatchRepository = Pick<
  BatchRepository,
  | 'insertOrGetExisting'
  | 'findForTenant'
  | 'listForTenant'
  | 'paymentInfosForTenant'
  | 'progressForTenant'
  | 'bulkStatesForTenant'
  | 'singlePaymentsForTenant'
  | 'reportRowsForTenant'
  | 'openChildrenForTenant'
>;
/** The API's injection token for {@link TenantBatchRepository}. */
export const TENANT_BATCHES = Symbol('TenantBatchRepository');
