import type { DataSource, EntityManager } from 'typeorm';
import type { SignedCallbackId } from '../security/callback-state';
import type { BankScaStatus, BankTransactionStatus, ScaApproach, TransactionStatus } from '../domain/transaction-status';
import {
  BulkPaymentAuthorisationEntity,
  BulkPaymentCancellationEntity,
  BulkPaymentEntity,
  BulkPaymentEventEntity,
  type BulkPaymentEventKind,
} from './entities/bulk-payment.entity';
import { BulkPaymentTransactionEntity } from './entities/bulk-payment-transaction.entity';
import type { InitiationOutcome } from './entities/payment.entity';
import { appendEvent } from './event-outbox';
import { bulkPaymentStatusEvent } from '../webhooks/bulk-payment-events';

export type NewBulkPayment = Pick<
  BulkPaymentEntity,
  | 'id'
  | 'tenantId'
  | 'clientId'
  | 'bicFi'
  | 'paymentProduct'
  | 'debtorIban'
  | 'currency'
  | 'numberOfTransactions'
  | 'controlSum'
> &
  Partial<
    Pick<
      BulkPaymentEntity,
      | 'requestId'
      | 'requestHash'
      | 'debtorCurrency'
      | 'debtorName'
      | 'requestedExecutionDate'
      | 'batchBookingPreferred'
      | 'batchId'
      | 'pmtInfId'
      | 'msgId'
      | 'msgNameId'
      | 'psuId'
      | 'psuIpAddress'
      | 'clientRedirectUri'
      | 'clientNokRedirectUri'
    >
  >;

/** One transaction to store; `index` is its 0-based position in the bulk. */
export type NewBulkTransaction = Pick<
  BulkPaymentTransactionEntity,
  'index' | 'endToEndId' | 'amount' | 'currency' | 'creditorName' | 'creditorIban'
> &
  Partial<Pick<BulkPaymentTransactionEntity, 'instructionId' | 'creditorAgent' | 'creditorAddress' | 'remittanceInformationUnstructured'>>;

/** A per-transaction status the bank reported (pain.002 TxInfAndSts, or a status for all). */
export interface BulkTransactionStatusUpdate {
  index: number;
  status: TransactionStatus;
  rawStatus: string;
  reasonCode?: string | null;
}

export interface BulkTransactionStatusByEndToEnd {
  endToEndId: string;
  status: TransactionStatus;
  rawStatus: string;
  reasonCode?: string | null;
}

export interface BulkStatusChange {
  bulkPaymentId: string;
  /** Sequence number assigned by the workflow: retries of the same change write the same event. */
  seq: number;
  kind: BulkPaymentEventKind;
  status: string;
  rawStatus: string | null;
  reason?: string | null;
  authorisationId?: string;
}

/** Transactions of one status: how many, and their sum (decimal string). */
export interface StatusCount {
  count: number;
  amount: string;
}

export interface BulkProgress {
  bulkPaymentId: string;
  byStatus: Partial<Record<TransactionStatus, StatusCount>>;
}

/** Rows per multi-row INSERT: 16 parameters (arrays) per statement whatever the size. */
const INSERT_CHUNK = 5_000;

/**
 * Bulk payments and their transactions. The API's reads are scoped by tenant first; the worker
 * (which owns a bulk through its workflow) addresses one by id. Transactions are written and
 * updated in bulk (array parameters through `unnest`), never row by row: 10,000 rows take one
 * or two statements.
 */
export class BulkPaymentRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Stores a bulk with all its transactions in one database transaction, unless this tenant
   * already sent this X-Request-ID: then the stored bulk comes back (`created: false`) and
   * nothing is written. Bulks without a request id (a batch's) are always created.
   */
  async create(bulk: NewBulkPayment, transactions: readonly NewBulkTransaction[]): Promise<{ bulk: BulkPaymentEntity; created: boolean }> {
    return this.ds.transaction((em) => this.createIn(em, bulk, transactions));
  }

  /** {@link create} inside a caller's transaction (a batch storing several bulks at once). */
  async createIn(em: EntityManager, bulk: NewBulkPayment, transactions: readonly NewBulkTransaction[]): Promise<{ bulk: BulkPaymentEntity; created: boolean }> {
    if (transactions.length !== bulk.numberOfTransactions) {
      throw new RangeError(`numberOfTransactions ${bulk.numberOfTransactions} but ${transactions.length} transactions`);
    }
    const inserted = await em
      .createQueryBuilder()
      .insert()
      .into(BulkPaymentEntity)
      .values({ ...bulk, transactionStatus: 'RCVD' })
      .orIgnore()
      .returning(['id'])
      .execute();
    if (inserted.raw.length === 0) {
      // Stored before: under this id (a batch creating its bulks again) or this tenant's X-Request-ID.
      const repo = em.getRepository(BulkPaymentEntity);
      const existing =
        (await repo.findOneBy({ id: bulk.id, tenantId: bulk.tenantId })) ??
        (bulk.requestId ? await repo.findOneBy({ tenantId: bulk.tenantId, requestId: bulk.requestId }) : null);
      if (!existing) throw new Error(`Bulk payment ${bulk.id} conflicts with a row of another tenant`);
      return { bulk: existing, created: false };
    }
    await insertTransactions(em, bulk.id, transactions);
    return { bulk: await em.getRepository(BulkPaymentEntity).findOneByOrFail({ id: bulk.id }), created: true };
  }

  findForTenant(tenantId: string, id: string): Promise<BulkPaymentEntity | null> {
    return this.ds.getRepository(BulkPaymentEntity).findOneBy({ tenantId, id });
  }

  /** Worker side: the workflow owns the bulk it was started for. Not part of {@link TenantBulkPaymentRepository}. */
  findById(id: string): Promise<BulkPaymentEntity | null> {
    return this.ds.getRepository(BulkPaymentEntity).findOneBy({ id });
  }

  /** The SCA callback: a browser with no token, whose link's signature names the bulk. */
  findBySignedCallback(id: SignedCallbackId): Promise<BulkPaymentEntity | null> {
    return this.ds.getRepository(BulkPaymentEntity).findOneBy({ id });
  }

  /** The bulks a batch owns, in PmtInf order of creation. */
  listByBatch(batchId: string): Promise<BulkPaymentEntity[]> {
    return this.ds.getRepository(BulkPaymentEntity).find({ where: { batchId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Transactions in index order, a page at a time (worker: building the bank request; API: the tenant's own bulk). */
  async listTransactions(bulkPaymentId: string, page: { afterIndex?: number; limit?: number } = {}): Promise<BulkPaymentTransactionEntity[]> {
    // Plain SQL and a plain mapping: a 10,000-row bulk is read for every initiation and status
    // poll, and TypeORM's entity hydration was most of that read's CPU (docs/benchmarks.md).
    const rows: RawTransactionRow[] = await this.ds.query(
      `SELECT bulk_payment_id, idx, end_to_end_id, instruction_id, amount::text AS amount, currency, creditor_name, creditor_iban,
              creditor_agent, creditor_address, remittance_information_unstructured, transaction_status, raw_transaction_status,
              reason_code, updated_at
         FROM bulk_payment_transactions
        WHERE bulk_payment_id = $1 AND idx > $2
        ORDER BY idx
        LIMIT $3`,
      [bulkPaymentId, page.afterIndex ?? -1, page.limit ?? 5_000],
    );
    return rows.map(toTransactionEntity);
  }

  /** Every transaction in index order, read in pages (a 100,000-row bulk never sits in memory at once). */
  async *streamTransactions(bulkPaymentId: string, pageSize = 5_000): AsyncGenerator<BulkPaymentTransactionEntity> {
    let after = -1;
    for (;;) {
      const page = await this.listTransactions(bulkPaymentId, { afterIndex: after, limit: pageSize });
      for (const row of page) yield row;
      if (page.length < pageSize) return;
      after = page[page.length - 1]!.index;
    }
  }

  /** The tenant's own bulk's transactions (API). Empty when the bulk is not the tenant's. */
  async listTransactionsForTenant(tenantId: string, bulkPaymentId: string, page: { afterIndex?: number; limit?: number } = {}): Promise<BulkPaymentTransactionEntity[]> {
    if (!(await this.findForTenant(tenantId, bulkPaymentId))) return [];
    return this.listTransactions(bulkPaymentId, page);
  }

  async deleteUninitiated(tenantId: string, id: string): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .delete()
      .from(BulkPaymentEntity)
      .where('tenant_id = :tenantId AND id = :id AND bank_payment_id IS NULL', { tenantId, id })
      .execute();
  }

  listAuthorisations(tenantId: string, bulkPaymentId: string): Promise<BulkPaymentAuthorisationEntity[]> {
    return this.authorisationsOfTenant(tenantId, bulkPaymentId).orderBy('a.createdAt', 'ASC').getMany();
  }

  findAuthorisation(tenantId: string, bulkPaymentId: string, authorisationId: string): Promise<BulkPaymentAuthorisationEntity | null> {
    return this.authorisationsOfTenant(tenantId, bulkPaymentId).andWhere('a.authorisation_id = :authorisationId', { authorisationId }).getOne();
  }

  private authorisationsOfTenant(tenantId: string, bulkPaymentId: string) {
    return this.ds
      .getRepository(BulkPaymentAuthorisationEntity)
      .createQueryBuilder('a')
      .innerJoin(BulkPaymentEntity, 'b', 'b.id = a.bulk_payment_id')
      .where('b.tenant_id = :tenantId AND a.bulk_payment_id = :bulkPaymentId', { tenantId, bulkPaymentId });
  }

  // ── cancellation authorisations ─────────────────────────────────────────

  async upsertCancellation(c: { bulkPaymentId: string; cancellationId: string; scaApproach: ScaApproach; scaRedirectUrl: string | null; scaStatus: BankScaStatus }): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .insert()
      .into(BulkPaymentCancellationEntity)
      .values({
        bulkPaymentId: c.bulkPaymentId,
        cancellationId: c.cancellationId,
        scaApproach: c.scaApproach,
        scaRedirectUrl: c.scaRedirectUrl,
        scaStatus: c.scaStatus.normalised,
        rawScaStatus: c.scaStatus.raw,
      })
      .orUpdate(['sca_status', 'raw_sca_status', 'updated_at'], ['bulk_payment_id', 'cancellation_id'])
      .execute();
  }

  async updateCancellationStatus(bulkPaymentId: string, cancellationId: string, scaStatus: BankScaStatus): Promise<void> {
    await this.ds.getRepository(BulkPaymentCancellationEntity).update({ bulkPaymentId, cancellationId }, { scaStatus: scaStatus.normalised, rawScaStatus: scaStatus.raw });
  }

  listCancellations(tenantId: string, bulkPaymentId: string): Promise<BulkPaymentCancellationEntity[]> {
    return this.cancellationsOfTenant(tenantId, bulkPaymentId).orderBy('c.createdAt', 'ASC').getMany();
  }

  findCancellation(tenantId: string, bulkPaymentId: string, cancellationId: string): Promise<BulkPaymentCancellationEntity | null> {
    return this.cancellationsOfTenant(tenantId, bulkPaymentId).andWhere('c.cancellation_id = :cancellationId', { cancellationId }).getOne();
  }

  private cancellationsOfTenant(tenantId: string, bulkPaymentId: string) {
    return this.ds
      .getRepository(BulkPaymentCancellationEntity)
      .createQueryBuilder('c')
      .innerJoin(BulkPaymentEntity, 'b', 'b.id = c.bulk_payment_id')
      .where('b.tenant_id = :tenantId AND c.bulk_payment_id = :bulkPaymentId', { tenantId, bulkPaymentId });
  }

  listEvents(bulkPaymentId: string): Promise<BulkPaymentEventEntity[]> {
    return this.ds.getRepository(BulkPaymentEventEntity).find({ where: { bulkPaymentId }, order: { seq: 'ASC' } });
  }

  /** What the bank answered to the initiation. Idempotent: a retry writes the same values. */
  async recordInitiation(
    bulkPaymentId: string,
    init: {
      bankPaymentId: string;
      status: BankTransactionStatus;
      scaApproach: ScaApproach | null;
      scaRedirectUrl: string | null;
      psuMessage: string | null;
      /** The authorisation the bank created with the bulk, in the same transaction (a crash between two writes would lose it). */
      authorisation?: Pick<BulkPaymentAuthorisationEntity, 'authorisationId' | 'scaApproach' | 'scaRedirectUrl'> & { scaStatus: BankScaStatus };
    },
  ): Promise<void> {
    await this.ds.transaction(async (em) => {
      await em.getRepository(BulkPaymentEntity).update(
        { id: bulkPaymentId },
        {
          bankPaymentId: init.bankPaymentId,
          transactionStatus: init.status.normalised,
          rawTransactionStatus: init.status.raw,
          scaApproach: init.scaApproach,
          scaRedirectUrl: init.scaRedirectUrl,
          psuMessage: init.psuMessage,
        },
      );
      if (init.authorisation) await this.upsertAuthorisation({ bulkPaymentId, ...init.authorisation }, em);
    });
  }

  async upsertAuthorisation(
    a: Pick<BulkPaymentAuthorisationEntity, 'bulkPaymentId' | 'authorisationId' | 'scaApproach' | 'scaRedirectUrl'> & { scaStatus: BankScaStatus },
    em: EntityManager = this.ds.manager,
  ): Promise<void> {
    await em
      .createQueryBuilder()
      .insert()
      .into(BulkPaymentAuthorisationEntity)
      .values({
        bulkPaymentId: a.bulkPaymentId,
        authorisationId: a.authorisationId,
        scaApproach: a.scaApproach,
        scaRedirectUrl: a.scaRedirectUrl,
        scaStatus: a.scaStatus.normalised,
        rawScaStatus: a.scaStatus.raw,
      })
      .orUpdate(['sca_status', 'raw_sca_status', 'updated_at'], ['bulk_payment_id', 'authorisation_id'])
      .execute();
  }

  /**
   * Per-transaction statuses, in one statement whatever their number. Idempotent. A transaction
   * already final keeps its status unless `overrideFinal` (a bank that corrects itself).
   */
  async setTransactionStatuses(bulkPaymentId: string, updates: readonly BulkTransactionStatusUpdate[], em: EntityManager = this.ds.manager): Promise<number> {
    let changed = 0;
    for (let i = 0; i < updates.length; i += INSERT_CHUNK) {
      const chunk = updates.slice(i, i + INSERT_CHUNK);
      const [, count] = (await em.query(
        `UPDATE bulk_payment_transactions t
            SET transaction_status = u.status, raw_transaction_status = u.raw, reason_code = u.reason, updated_at = now()
           FROM unnest($2::int[], $3::varchar[], $4::varchar[], $5::varchar[]) AS u(idx, status, raw, reason)
          WHERE t.bulk_payment_id = $1 AND t.idx = u.idx
            AND (t.transaction_status, t.raw_transaction_status, t.reason_code) IS DISTINCT FROM (u.status, u.raw, u.reason)`,
        [bulkPaymentId, chunk.map((u) => u.index), chunk.map((u) => u.status), chunk.map((u) => u.rawStatus), chunk.map((u) => u.reasonCode ?? null)],
      )) as [unknown, number];
      changed += count;
    }
    return changed;
  }

  /**
   * Statuses from a bank's per-transaction report, matched by EndToEndId inside the bulk (what a
   * pain.002 echoes), in one statement per chunk: no read of the bulk's rows first. A report that
   * names an EndToEndId twice counts with its last entry. Returns how many rows changed.
   */
  async setTransactionStatusesByEndToEndId(bulkPaymentId: string, reports: readonly BulkTransactionStatusByEndToEnd[]): Promise<number> {
    const updates = [...new Map(reports.map((r) => [r.endToEndId, r])).values()];
    let changed = 0;
    for (let i = 0; i < updates.length; i += INSERT_CHUNK) {
      const chunk = updates.slice(i, i + INSERT_CHUNK);
      const [, count] = (await this.ds.query(
        `UPDATE bulk_payment_transactions t
            SET transaction_status = u.status, raw_transaction_status = u.raw, reason_code = u.reason, updated_at = now()
           FROM unnest($2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[]) AS u(e2e, status, raw, reason)
          WHERE t.bulk_payment_id = $1 AND t.end_to_end_id = u.e2e
            AND (t.transaction_status, t.raw_transaction_status, t.reason_code) IS DISTINCT FROM (u.status, u.raw, u.reason)`,
        [bulkPaymentId, chunk.map((u) => u.endToEndId), chunk.map((u) => u.status), chunk.map((u) => u.rawStatus), chunk.map((u) => u.reasonCode ?? null)],
      )) as [unknown, number];
      changed += count;
    }
    return changed;
  }

  /**
   * One status for every transaction not yet final (ACSC, ACCC, RJCT, CANC): the bank reported
   * the bulk as a whole (e.g. ACSP after SCA, RJCT when SCA failed, ACSC when all settled).
   */
  async setOpenTransactionStatuses(bulkPaymentId: string, status: BankTransactionStatus, reasonCode: string | null = null, em: EntityManager = this.ds.manager): Promise<number> {
    const [, count] = (await em.query(
      `UPDATE bulk_payment_transactions
          SET transaction_status = $2, raw_transaction_status = $3, reason_code = $4, updated_at = now()
        WHERE bulk_payment_id = $1 AND transaction_status NOT IN ('ACSC', 'ACCC', 'RJCT', 'CANC') AND transaction_status <> $2`,
      [bulkPaymentId, status.normalised, status.raw, reasonCode],
    )) as [unknown, number];
    return count;
  }

  /** How many transactions (and how much) per status, for one bulk. */
  async progress(bulkPaymentId: string): Promise<BulkProgress> {
    const [p] = await this.progressOf(`t.bulk_payment_id = $1`, [bulkPaymentId]);
    return p ?? { bulkPaymentId, byStatus: {} };
  }

  /** {@link progress} for every bulk a batch owns. */
  progressByBatch(batchId: string): Promise<BulkProgress[]> {
    return this.progressOf(`t.bulk_payment_id IN (SELECT id FROM bulk_payments WHERE batch_id = $1)`, [batchId]);
  }

  private async progressOf(where: string, params: unknown[]): Promise<BulkProgress[]> {
    const rows: { bulk_payment_id: string; status: TransactionStatus; count: string; amount: string }[] = await this.ds.query(
      `SELECT t.bulk_payment_id, t.transaction_status AS status, count(*) AS count, sum(t.amount)::text AS amount
         FROM bulk_payment_transactions t WHERE ${where}
        GROUP BY t.bulk_payment_id, t.transaction_status ORDER BY t.bulk_payment_id, t.transaction_status`,
      params,
    );
    const byBulk = new Map<string, BulkProgress>();
    for (const r of rows) {
      const p = byBulk.get(r.bulk_payment_id) ?? { bulkPaymentId: r.bulk_payment_id, byStatus: {} };
      p.byStatus[r.status] = { count: Number(r.count), amount: r.amount };
      byBulk.set(r.bulk_payment_id, p);
    }
    return [...byBulk.values()];
  }

  /**
   * Applies one status change of the bulk, appends it to its history and the event outbox, in one
   * transaction; `transactions` (per-transaction statuses learnt with it) commit with it.
   * Replaying the same (bulk, seq) changes nothing.
   */
  async recordStatusChange(change: BulkStatusChange, transactions?: { perTransaction?: readonly BulkTransactionStatusUpdate[]; open?: BankTransactionStatus; openReason?: string | null }): Promise<void> {
    await this.ds.transaction(async (em) => {
      const inserted = await em
        .createQueryBuilder()
        .insert()
        .into(BulkPaymentEventEntity)
        .values({
          bulkPaymentId: change.bulkPaymentId,
          seq: change.seq,
          kind: change.kind,
          status: change.status,
          rawStatus: change.rawStatus,
          reason: change.reason ?? null,
        })
        .orIgnore()
        .returning(['seq'])
        .execute();
      if (inserted.raw.length === 0) return;
      const bulks = em.getRepository(BulkPaymentEntity);
      if (change.kind === 'initiation_outcome') {
        await bulks.update({ id: change.bulkPaymentId }, { initiationOutcome: change.status as InitiationOutcome, statusReason: change.reason ?? null });
        return;
      }
      if (change.kind === 'transaction_status') {
        await bulks.update(
          { id: change.bulkPaymentId },
          { transactionStatus: change.status as TransactionStatus, rawTransactionStatus: change.rawStatus, statusReason: change.reason ?? null },
        );
        if (transactions?.perTransaction?.length) await this.setTransactionStatuses(change.bulkPaymentId, transactions.perTransaction, em);
        if (transactions?.open) await this.setOpenTransactionStatuses(change.bulkPaymentId, transactions.open, transactions.openReason ?? null, em);
      } else {
        await bulks.update({ id: change.bulkPaymentId }, { scaStatus: change.status as BulkPaymentEntity['scaStatus'] });
        if (change.authorisationId) {
          await em
            .getRepository(BulkPaymentAuthorisationEntity)
            .update(
              { bulkPaymentId: change.bulkPaymentId, authorisationId: change.authorisationId },
              { scaStatus: change.status as BulkPaymentAuthorisationEntity['scaStatus'], rawScaStatus: change.rawStatus ?? change.status },
            );
        }
      }
      const bulk = await bulks.findOneByOrFail({ id: change.bulkPaymentId });
      const counts = change.kind === 'transaction_status' ? await countsIn(em, change.bulkPaymentId) : undefined;
      await appendEvent(em, bulkPaymentStatusEvent(bulk, { ...change, kind: change.kind }, counts));
    });
  }
}

async function countsIn(em: EntityManager, bulkPaymentId: string): Promise<Record<string, number>> {
  const rows: { status: string; count: string }[] = await em.query(
    `SELECT transaction_status AS status, count(*) AS count FROM bulk_payment_transactions WHERE bulk_payment_id = $1 GROUP BY 1 ORDER BY 1`,
    [bulkPaymentId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
}

interface RawTransactionRow {
  bulk_payment_id: string;
  idx: number;
  end_to_end_id: string;
  instruction_id: string | null;
  amount: string;
  currency: string;
  creditor_name: string;
  creditor_iban: string;
  creditor_agent: string | null;
  creditor_address: BulkPaymentTransactionEntity['creditorAddress'];
  remittance_information_unstructured: string | null;
  transaction_status: BulkPaymentTransactionEntity['transactionStatus'];
  raw_transaction_status: string | null;
  reason_code: string | null;
  updated_at: Date;
}

function toTransactionEntity(r: RawTransactionRow): BulkPaymentTransactionEntity {
  return Object.assign(new BulkPaymentTransactionEntity(), {
    bulkPaymentId: r.bulk_payment_id,
    index: r.idx,
    endToEndId: r.end_to_end_id,
    instructionId: r.instruction_id,
    amount: r.amount,
    currency: r.currency,
    creditorName: r.creditor_name,
    creditorIban: r.creditor_iban,
    creditorAgent: r.creditor_agent,
    creditorAddress: r.creditor_address,
    remittanceInformationUnstructured: r.remittance_information_unstructured,
    transactionStatus: r.transaction_status,
    rawTransactionStatus: r.raw_transaction_status,
    reasonCode: r.reason_code,
    updatedAt: r.updated_at,
  });
}

async function insertTransactions(em: EntityManager, bulkPaymentId: string, rows: readonly NewBulkTransaction[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const col = <T>(f: (r: NewBulkTransaction) => T) => chunk.map(f);
    await em.query(
      `INSERT INTO bulk_payment_transactions
         (bulk_payment_id, idx, end_to_end_id, instruction_id, amount, currency, creditor_name, creditor_iban,
          creditor_agent, creditor_address, remittance_information_unstructured, transaction_status)
       SELECT $1, u.idx, u.e2e, u.instr, u.amount, u.currency, u.name, u.iban, u.agent, u.address, u.remittance, 'RCVD'
         FROM unnest($2::int[], $3::varchar[], $4::varchar[], $5::numeric[], $6::char(3)[], $7::varchar[], $8::varchar[],
                     $9::varchar[], $10::jsonb[], $11::varchar[])
           AS u(idx, e2e, instr, amount, currency, name, iban, agent, address, remittance)`,
      [
        bulkPaymentId,
        col((r) => r.index),
        col((r) => r.endToEndId),
        col((r) => r.instructionId ?? null),
        col((r) => r.amount),
        col((r) => r.currency),
        col((r) => r.creditorName),
        col((r) => r.creditorIban),
        col((r) => r.creditorAgent ?? null),
        col((r) => (r.creditorAddress ? JSON.stringify(r.creditorAddress) : null)),
        col((r) => r.remittanceInformationUnstructured ?? null),
      ],
    );
  }
}

/**
 * What the API may do with bulk payments: every method names the tenant first (or, for the SCA
 * callback, a signed id). The worker's by-id methods are not here.
 */
export type TenantBulkPaymentRepository = Pick<
  BulkPaymentRepository,
  | 'create'
  | 'findForTenant'
  | 'findBySignedCallback'
  | 'deleteUninitiated'
  | 'listAuthorisations'
  | 'findAuthorisation'
  | 'listCancellations'
  | 'findCancellation'
  | 'listTransactionsForTenant'
>;
/** The API's injection token for {@link TenantBulkPaymentRepository}. */
export const TENANT_BULK_PAYMENTS = Symbol('TenantBulkPaymentRepository');
