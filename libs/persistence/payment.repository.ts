import type { DataSource, EntityManager } from 'typeorm';
import type { SignedCallbackId } from '../security/callback-state';
import type { PaymentProduct } from '../domain/payment';
import type { BankScaStatus, BankTransactionStatus, ScaApproach } from '../domain/transaction-status';
import { PaymentAuthorisationEntity } from './entities/payment-authorisation.entity';
import { PaymentEntity } from './entities/payment.entity';
import { PaymentEventEntity, type PaymentEventKind } from './entities/payment-event.entity';
import { runPrepared } from './one-round-trip';
import { changeWithEvent } from './event-outbox';
import { RecentlyRead } from './recently-read';
import { insertOrIgnoreReturning } from './insert-returning';
import { paymentStatusEvent } from '../webhooks/events';

export type NewPayment = Pick<
  PaymentEntity,
  | 'id'
  | 'tenantId'
  | 'clientId'
  | 'requestId'
  | 'requestHash'
  | 'bicFi'
  | 'paymentProduct'
  | 'body'
  | 'currency'
  | 'amountMinor'
  | 'psuId'
  | 'psuIpAddress'
  | 'clientRedirectUri'
  | 'clientNokRedirectUri'
>;

export interface StatusChange {
  paymentId: string;
  /** Sequence number assigned by the workflow: retries of the same change write the same event. */
  seq: number;
  kind: PaymentEventKind;
  status: string;
  rawStatus: string | null;
  reason?: string | null;
}

/** The payment's columns each kind of status change sets (parameters of `recordStatusChange`'s statement). */
const STATUS_COLUMNS: Record<PaymentEventKind, string> = {
  initiation_outcome: 'initiation_outcome = $4::varchar, status_reason = $6::varchar',
  transaction_status: 'transaction_status = $4::varchar, raw_transaction_status = $5::varchar, status_reason = $6::varchar',
  sca_status: 'sca_status = $4::varchar',
};

/**
 * The history row of a status change (from `source`: a VALUES or SELECT of `$1`…`$6`, inserted
 * unless a row holds its sequence number), then the payment and, for an SCA status, its
 * authorisation, moved only when the row was inserted. A data-modifying CTE runs whether or not
 * the statement reads it. Parameters: {@link changeParams}.
 */
function changeCtes(kind: PaymentEventKind, source: string): string {
  return `ev AS (
     INSERT INTO payment_events (payment_id, seq, kind, status, raw_status, reason)
     ${source}
     ON CONFLICT (payment_id, seq) DO NOTHING
     RETURNING payment_id
   ), pay AS (
     UPDATE payments p SET ${STATUS_COLUMNS[kind]}, version = p.version + 1, updated_at = now()
       FROM ev WHERE p.id = ev.payment_id
   ), auth AS (
     UPDATE payment_authorisations a SET sca_status = $4::varchar, raw_sca_status = COALESCE($5::varchar, $4::varchar), updated_at = now()
       FROM ev WHERE $3::varchar = 'sca_status' AND a.payment_id = ev.payment_id AND a.authorisation_id = $7::varchar
   )`;
}

function changeParams(change: StatusChange & { authorisationId?: string }): unknown[] {
  return [change.paymentId, change.seq, change.kind, change.status, change.rawStatus, change.reason ?? null, change.authorisationId ?? null];
}

/** The change of kind `kind` recorded under sequence number `seq` (placeholders) of payment `p`, as JSON (status, raw), or null. */
const changeAtSeq = (seq: string, kind: string) =>
  `(SELECT json_build_object('status', e.status, 'raw', e.raw_status) FROM payment_events e WHERE e.payment_id = p.id AND e.seq = ${seq} AND e.kind = ${kind})`;
/** {@link changeAtSeq} with the sequence number `$2` and the kind `$3`. */
const CHANGE_AT_SEQ = changeAtSeq('$2::int', '$3::varchar');

/**
 * Payments and their sub-resources. Reads the API makes are scoped by tenant first;
 * the worker's writes address a payment by id (the workflow already owns it).
 */
export class PaymentRepository {
  /**
   * {@link PaymentFacts} of the payments this process read (`recordStatusChange` builds its event
   * from them; a status read addresses the bank with them, `recentlyRead`).
   */
  private readonly facts = new RecentlyRead<PaymentFacts>();

  constructor(private readonly ds: DataSource) {}

  /** Inserts the payment unless this tenant already sent this X-Request-ID; returns the stored row either way. */
  async insertOrGetExisting(payment: NewPayment): Promise<{ payment: PaymentEntity; created: boolean }> {
    const inserted = await insertOrIgnoreReturning(this.ds, PaymentEntity, { ...payment, paymentService: 'payments', transactionStatus: 'RCVD' });
    if (inserted) return { payment: inserted, created: true };
    const stored = await this.ds.getRepository(PaymentEntity).findOneByOrFail({ tenantId: payment.tenantId, requestId: payment.requestId });
    return { payment: stored, created: false };
  }

  findForTenant(tenantId: string, id: string): Promise<PaymentEntity | null> {
    return this.ds.getRepository(PaymentEntity).findOneBy({ tenantId, id });
  }

  /** Worker side: the workflow owns the payment it was started for. Not part of {@link TenantPaymentRepository}. */
  async findById(id: string): Promise<PaymentEntity | null> {
    return this.rememberRow(await this.ds.getRepository(PaymentEntity).findOneBy({ id }));
  }

  /** The SCA callback: a browser with no token, whose link's signature names the payment. */
  findBySignedCallback(id: SignedCallbackId): Promise<PaymentEntity | null> {
    return this.ds.getRepository(PaymentEntity).findOneBy({ id });
  }

  async deleteUninitiated(tenantId: string, id: string): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .delete()
      .from(PaymentEntity)
      .where('tenant_id = :tenantId AND id = :id AND bank_payment_id IS NULL', { tenantId, id })
      .execute();
  }

  listAuthorisations(tenantId: string, paymentId: string): Promise<PaymentAuthorisationEntity[]> {
    return this.authorisationsOfTenant(tenantId, paymentId).orderBy('a.createdAt', 'ASC').getMany();
  }

  async findAuthorisation(tenantId: string, paymentId: string, authorisationId: string): Promise<PaymentAuthorisationEntity | null> {
    return this.authorisationsOfTenant(tenantId, paymentId).andWhere('a.authorisation_id = :authorisationId', { authorisationId }).getOne();
  }

  private authorisationsOfTenant(tenantId: string, paymentId: string) {
    return this.ds
      .getRepository(PaymentAuthorisationEntity)
      .createQueryBuilder('a')
      .innerJoin(PaymentEntity, 'p', 'p.id = a.payment_id')
      .where('p.tenant_id = :tenantId AND a.payment_id = :paymentId', { tenantId, paymentId });
  }

  listEvents(paymentId: string): Promise<PaymentEventEntity[]> {
    return this.ds.getRepository(PaymentEventEntity).find({ where: { paymentId }, order: { seq: 'ASC' } });
  }

  /** Records what the bank answered to the initiation. Idempotent: a retry writes the same values. */
  async recordInitiation(
    paymentId: string,
    init: {
      bankPaymentId: string;
      status: BankTransactionStatus;
      /** Null when the payment was found after an unknown outcome: the bank did not say. */
      scaApproach: ScaApproach | null;
      scaRedirectUrl: string | null;
      psuMessage: string | null;
      /**
       * The authorisation the bank created with the payment, written in the same transaction: a
       * crash between the two writes would leave a payment whose recorded initiation has no
       * authorisation to follow, and a retried activity would hand the workflow exactly that.
       */
      authorisation?: Pick<PaymentAuthorisationEntity, 'authorisationId' | 'scaApproach' | 'scaRedirectUrl'> & { scaStatus: BankScaStatus };
      /**
       * The initiation attempt (bank_initiation_attempts, resource type `payment`) that created it,
       * marked `created` with the bank's id in the same statement (activities/initiation-guard.ts).
       */
      createdByAttempt?: number;
    },
  ): Promise<void> {
    // One statement, so one round trip and atomic without a transaction of its own (issue 12: it
    // was four, on the POST's critical path): the payment's columns, the attempt that created it,
    // and, when the bank created one, the authorisation (inserted, or its SCA status moved on a
    // retry). A data-modifying CTE runs whether or not the statement reads it.
    const auth = init.authorisation;
    await runPrepared(this.ds, {
      sql: `WITH pay AS (
         UPDATE payments SET bank_payment_id = $2, transaction_status = $3, raw_transaction_status = $4,
                initiation_status = $3, raw_initiation_status = $4,
                sca_approach = $5, sca_redirect_url = $6, psu_message = $7, version = version + 1, updated_at = now()
          WHERE id = $1::uuid
         RETURNING id
       ), attempt AS (
         UPDATE bank_initiation_attempts SET state = 'created', bank_resource_id = $2, http_status = NULL, detail = NULL, finished_at = now()
          WHERE resource_type = 'payment' AND resource_id = $1::uuid AND attempt = $13::int
       )
       INSERT INTO payment_authorisations (payment_id, authorisation_id, sca_approach, sca_redirect_url, sca_status, raw_sca_status)
       SELECT pay.id, $8::varchar, $9::varchar, $10::varchar, $11::varchar, $12::varchar FROM pay WHERE $8::varchar IS NOT NULL
       ON CONFLICT (payment_id, authorisation_id)
         DO UPDATE SET sca_status = EXCLUDED.sca_status, raw_sca_status = EXCLUDED.raw_sca_status, updated_at = now()`,
      params: [
        paymentId,
        init.bankPaymentId,
        init.status.normalised,
        init.status.raw,
        init.scaApproach,
        init.scaRedirectUrl,
        init.psuMessage,
        auth?.authorisationId ?? null,
        auth?.scaApproach ?? null,
        auth?.scaRedirectUrl ?? null,
        auth?.scaStatus.normalised ?? null,
        auth?.scaStatus.raw ?? null,
        init.createdByAttempt ?? null,
      ],
    });
    this.rememberBankPaymentId(paymentId, init.bankPaymentId);
  }

  async upsertAuthorisation(
    a: Pick<PaymentAuthorisationEntity, 'paymentId' | 'authorisationId' | 'scaApproach' | 'scaRedirectUrl'> & {
      scaStatus: BankScaStatus;
    },
  ): Promise<void> {
    await upsertPaymentAuthorisation(this.ds.manager, a);
  }

  /** The bank gave the payment a new id when it was authorised (UK Open Banking: consent → domestic payment). */
  async recordBankPaymentId(paymentId: string, bankPaymentId: string): Promise<void> {
    await this.ds.getRepository(PaymentEntity).update({ id: paymentId }, { bankPaymentId });
    this.rememberBankPaymentId(paymentId, bankPaymentId);
  }

  async updateAuthorisationStatus(paymentId: string, authorisationId: string, scaStatus: BankScaStatus): Promise<void> {
    await this.ds
      .getRepository(PaymentAuthorisationEntity)
      .update({ paymentId, authorisationId }, { scaStatus: scaStatus.normalised, rawScaStatus: scaStatus.raw });
  }

  /**
   * Applies one status change and appends it to the payment's history and the event outbox, in one
   * transaction and one round trip (`runAsOneTransaction`; it was four: issue 12): the outbox's lock
   * on the payment; the history row, the payment and its authorisation in one statement; the event
   * and its fan-out, whose snapshot follows the lock. Replaying the same (paymentId, seq) changes
   * nothing: the history row exists, and the event's dedupe key (`payment:<id>:<seq>`) too.
   */
  async recordStatusChange(change: StatusChange & { authorisationId?: string }): Promise<void> {
    const facts = await this.factsOf(change.paymentId);
    // An unknown initiation outcome has no event type of its own yet: the status change that
    // resolves it is delivered.
    const event = change.kind === 'initiation_outcome' ? undefined : paymentStatusEvent(facts, { ...change, kind: change.kind });
    await changeWithEvent(
      this.ds,
      change.paymentId,
      { sql: `WITH ${changeCtes(change.kind, 'VALUES ($1::uuid, $2::int, $3::varchar, $4::varchar, $5::varchar, $6::varchar)')} SELECT 1`, params: changeParams(change) },
      // The webhook event commits with the change (transactional outbox).
      event,
    );
  }

  /**
   * What a status read found at the bank, recorded in one round trip after the bank answered (the
   * read addressed the bank with what this process remembered, `recentlyRead`), and what it needs
   * to know to trust its answer:
   * - `bankPaymentId`: the payment's bank id now. When it is not the one the read used (another
   *   process gave the payment a new one), nothing was recorded and the read's answer is stale.
   * - `recorded`: the change of this kind a lost run of the read recorded under `seq` before; it
   *   stands, and is what the read hands back.
   * With `change` (the read found a status other than the workflow's), the change is recorded
   * under `seq` when neither applies, with its event (the outbox's lock and fan-out in the same
   * transaction, as `recordStatusChange`). Without, it is a read of the two facts.
   * Null when the payment does not exist (with a change, an error, as `recordStatusChange`).
   */
  async recordReadAt(
    paymentId: string,
    read: { seq: number; kind: 'transaction_status' | 'sca_status'; bankPaymentId: string; change?: StatusChange & { authorisationId?: string } },
  ): Promise<{ bankPaymentId: string | null; recorded?: { raw: string; normalised: string } } | null> {
    const { change } = read;
    let rows: unknown[];
    if (!change) {
      // The commonest read of all (an SCA status polled while the PSU has not acted): prepared once per connection.
      rows = await runPrepared(this.ds, {
        sql: `SELECT p.bank_payment_id, ${CHANGE_AT_SEQ} AS recorded_change FROM payments p WHERE p.id = $1::uuid`,
        params: [paymentId, read.seq, read.kind],
      });
    } else {
      if (change.paymentId !== paymentId || change.seq !== read.seq || change.kind !== read.kind) throw new RangeError('The change must be the read\'s: same payment, sequence number and kind');
      const facts = await this.factsOf(paymentId);
      rows = await changeWithEvent(
        this.ds,
        paymentId,
        {
          // `cur` is read from the statement's snapshot: the change it records is not in it.
          sql: `WITH cur AS (
             SELECT p.bank_payment_id, ${CHANGE_AT_SEQ} AS recorded_change FROM payments p WHERE p.id = $1::uuid
           ), ${changeCtes(change.kind, 'SELECT $1::uuid, $2::int, $3::varchar, $4::varchar, $5::varchar, $6::varchar FROM cur WHERE cur.bank_payment_id = $8::varchar')}
           SELECT bank_payment_id, recorded_change FROM cur`,
          params: [...changeParams(change), read.bankPaymentId],
        },
        paymentStatusEvent(facts, { ...change, kind: change.kind }),
        // No event without its history row: a stale read recorded nothing, and its event must not
        // take the dedupe key (payment:<id>:<seq>) of the change that will be recorded there.
        { eventOnlyIf: { sql: 'EXISTS (SELECT 1 FROM payment_events e WHERE e.payment_id = $1::uuid AND e.seq = $2::int)', params: [paymentId, read.seq] } },
      );
    }
    const row = rows[0] as { bank_payment_id: string | null; recorded_change: { status: string; raw: string | null } | null } | undefined;
    if (!row) return null;
    if (row.bank_payment_id !== null) this.rememberBankPaymentId(paymentId, row.bank_payment_id);
    const c = row.recorded_change;
    return c ? { bankPaymentId: row.bank_payment_id, recorded: { raw: c.raw ?? c.status, normalised: c.status } } : { bankPaymentId: row.bank_payment_id };
  }

  /**
   * What this process remembers of the payment (from memory only, no query): enough to address it at
   * its bank, with the bank id it last saw, which `recordReadAt` checks after the call.
   */
  recentlyRead(paymentId: string): Readonly<PaymentFacts> | undefined {
    return this.facts.get(paymentId);
  }

  /**
   * The payment and, in the same round trip, the change recorded under (paymentId, seq) if it is of
   * this kind: what a status read run as a local activity needs before it calls the bank (the
   * change, if a lost run of it recorded one, is handed back instead of asking the bank again).
   */
  async findWithChangeAt(
    paymentId: string,
    seq: number,
    kind: 'transaction_status' | 'sca_status',
  ): Promise<{ payment: PaymentEntity | null; recorded?: { raw: string; normalised: string } }> {
    const { entities, raw } = await this.ds
      .getRepository(PaymentEntity)
      .createQueryBuilder('p')
      .addSelect(changeAtSeq(':seq', ':kind'), 'recorded_change')
      .where('p.id = :paymentId', { paymentId, seq, kind })
      .getRawAndEntities<{ recorded_change: { status: string; raw: string | null } | null }>();
    const payment = this.rememberRow(entities[0] ?? null);
    const change = raw[0]?.recorded_change;
    return change ? { payment, recorded: { raw: change.raw ?? change.status, normalised: change.status } } : { payment };
  }

  /** What never changes about a payment and its events need: from memory when this process has read it. */
  private factsOf(paymentId: string): Promise<PaymentFacts> {
    return this.facts.getOrRead(paymentId, 'Payment', async () => {
      const rows: Array<{
        tenant_id: string;
        payment_service: string;
        payment_product: PaymentProduct;
        bic_fi: string;
        psu_id: string | null;
        psu_ip_address: string | null;
        bank_payment_id: string | null;
        instructed_amount: PaymentFacts['body']['instructedAmount'] | null;
      }> = await this.ds.query(
        `SELECT tenant_id, payment_service, payment_product, bic_fi, psu_id, psu_ip_address, bank_payment_id, body->'instructedAmount' AS instructed_amount
           FROM payments WHERE id = $1`,
        [paymentId],
      );
      const row = rows[0];
      return (
        row && {
          id: paymentId,
          tenantId: row.tenant_id,
          paymentService: row.payment_service,
          paymentProduct: row.payment_product,
          bicFi: row.bic_fi,
          psuId: row.psu_id,
          psuIpAddress: row.psu_ip_address,
          bankPaymentId: row.bank_payment_id,
          body: { instructedAmount: row.instructed_amount ?? undefined },
        }
      );
    });
  }

  private rememberRow(payment: PaymentEntity | null): PaymentEntity | null {
    if (payment) {
      const amount = payment.body?.instructedAmount;
      this.facts.remember(payment.id, {
        id: payment.id,
        tenantId: payment.tenantId,
        paymentService: payment.paymentService,
        paymentProduct: payment.paymentProduct,
        bicFi: payment.bicFi,
        psuId: payment.psuId,
        psuIpAddress: payment.psuIpAddress,
        bankPaymentId: payment.bankPaymentId,
        body: { instructedAmount: amount ? { currency: amount.currency, amount: amount.amount } : undefined },
      });
    }
    return payment;
  }

  /** The bank id this process last wrote or read, where it remembers the payment (the rest never changes). */
  private rememberBankPaymentId(paymentId: string, bankPaymentId: string): void {
    const known = this.facts.get(paymentId);
    if (known && known.bankPaymentId !== bankPaymentId) this.facts.remember(paymentId, { ...known, bankPaymentId });
  }
}

/**
 * A payment's facts that never change (tenant, service, product, amount, bank, PSU): what its status
 * events carry besides the change, and what a status read needs to address it at its bank, with
 * `bankPaymentId`, which can change (UK Open Banking: consent → payment; a payment found after an
 * unknown outcome): the last this process saw, never trusted without a check (`recordReadAt`).
 */
export interface PaymentFacts {
  id: string;
  tenantId: string;
  paymentService: string;
  paymentProduct: PaymentProduct;
  bicFi: string;
  psuId: string | null;
  psuIpAddress: string | null;
  bankPaymentId: string | null;
  body: { instructedAmount?: { currency: string; amount: string } };
}

/**
 * What the API may do with payments: every method names the tenant first (or, for the SCA
 * callback, a signed id). The worker's by-id methods are not here, so a controller cannot reach
 * another tenant's payment; `apps/api/tenant-scoping.spec.ts` keeps the API on this type.
 */
export type TenantPaymentRepository = Pick<
  PaymentRepository,
  'insertOrGetExisting' | 'findForTenant' | 'findBySignedCallback' | 'deleteUninitiated' | 'listAuthorisations' | 'findAuthorisation'
>;
/** The API's injection token for {@link TenantPaymentRepository}. */
export const TENANT_PAYMENTS = Symbol('TenantPaymentRepository');

/** Insert an authorisation, or move an existing one's SCA status: with the caller's manager, so it can share a transaction. */
async function upsertPaymentAuthorisation(
  em: EntityManager,
  a: Pick<PaymentAuthorisationEntity, 'paymentId' | 'authorisationId' | 'scaApproach' | 'scaRedirectUrl'> & { scaStatus: BankScaStatus },
): Promise<void> {
  await em
    .createQueryBuilder()
    .insert()
    .into(PaymentAuthorisationEntity)
    .values({
      paymentId: a.paymentId,
      authorisationId: a.authorisationId,
      scaApproach: a.scaApproach,
      scaRedirectUrl: a.scaRedirectUrl,
      scaStatus: a.scaStatus.normalised,
      rawScaStatus: a.scaStatus.raw,
    })
    .orUpdate(['sca_status', 'raw_sca_status', 'updated_at'], ['payment_id', 'authorisation_id'])
    .execute();
}
