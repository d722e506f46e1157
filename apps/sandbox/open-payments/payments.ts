/**
 * The resource server's business: incoming payments, quotes and outgoing payments over the
 * PostgreSQL ledger. Invariants, each enforced by the database rather than by hope:
 * - money is neither created nor destroyed: a settlement moves the debit amount out of the sender's
 *   wallet, the receive amount into the receiver's and the difference, the ASE's fee, into the
 *   asset's fee account, in one transaction (same asset);
 * - no balance goes negative (row lock + check, and a CHECK constraint as the last line);
 * - an outgoing payment settles at most once (row lock on the payment + unique ledger key);
 * - a quote pays at most once (unique `quote_id`). `Idempotency-Key` is not part of Open
 *   Payments: a retried create is a new create unless the opt-in deduplication is on.
 * Like Rafiki, `sentAmount` counts what reached the receiver: it excludes the fee, so a completed
 * payment's `sentAmount` is its `receiveAmount`, below its `debitAmount` whenever there is a fee.
 * Cross-ASE payments (receiver hosted elsewhere) are out of scope and refused as invalid receiver.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { feeFor, type SandboxFees } from './config';
import type { SandboxDatabase } from './database';
import { opError, OpenPaymentsErrorCode as E, type OpenPaymentsError } from './errors';
import { isHttpUrl, isUuid, type AccessItem, type Amount, type Grant } from './grants';
import { parseRepeatingInterval, periodAt } from '../../../libs/domain/iso8601-interval';
import { feeAccountName, normaliseUrl, type WalletDirectory, type WalletRow } from './wallets';

export interface PaymentServiceDeps {
  db: SandboxDatabase;
  wallets: WalletDirectory;
  clock: () => Date;
  baseUrl: () => string;
  quoteTtlMs: () => number;
  incomingPaymentTtlMs: number;
  settlementDelayMs: number;
  authServerUrl: () => string;
  fees: () => SandboxFees;
  deduplicateIdempotencyKey: () => boolean;
}

export interface IncomingPaymentView {
  id: string;
  walletAddress: string;
  incomingAmount?: Amount;
  receivedAmount: Amount;
  completed: boolean;
  expiresAt: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
}

export interface Page<T> {
  pagination: { startCursor?: string; endCursor?: string; hasNextPage: boolean; hasPreviousPage: boolean };
  result: T[];
}

export interface PageQuery {
  first?: number;
  last?: number;
  cursor?: string;
}

const UNIQUE_VIOLATION = '23505';

function amount(value: bigint | string, wallet: Pick<WalletRow, 'assetCode' | 'assetScale'>): Amount {
  return { value: String(value), assetCode: wallet.assetCode, assetScale: wallet.assetScale };
}

function sameAsset(a: Amount, wallet: Pick<WalletRow, 'assetCode' | 'assetScale'>): boolean {
  return a.assetCode === wallet.assetCode && a.assetScale === wallet.assetScale;
}

function isAmountInput(value: unknown): value is Amount {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return typeof a.value === 'string' && /^\d{1,19}$/.test(a.value) && typeof a.assetCode === 'string' && Number.isInteger(a.assetScale);
}

export class PaymentService {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: PaymentServiceDeps) {}

  private t(name: string): string {
    return this.deps.db.table(name);
  }

  incomingPaymentUrl(id: string): string {
    return `${this.deps.baseUrl()}/incoming-payments/${id}`;
  }

  /** The local incoming payment id of a receiver URL, or undefined when hosted elsewhere. */
  incomingPaymentId(url: string): string | undefined {
    const prefix = `${this.deps.baseUrl()}/incoming-payments/`;
    const clean = normaliseUrl(url);
    if (!clean.startsWith(prefix)) return undefined;
    const id = clean.slice(prefix.length);
    return isUuid(id) ? id.toLowerCase() : undefined;
  }

  private resourceId(url: string, kind: 'quotes' | 'outgoing-payments'): string | undefined {
    const prefix = `${this.deps.baseUrl()}/${kind}/`;
    const clean = normaliseUrl(url);
    if (!clean.startsWith(prefix)) return undefined;
    const id = clean.slice(prefix.length);
    return isUuid(id) ? id.toLowerCase() : undefined;
  }

  /** The hosted wallet named by a wallet address URL in a request body. */
  async walletFromUrl(url: unknown): Promise<WalletRow | undefined> {
    if (!isHttpUrl(url)) return undefined;
    const name = this.deps.wallets.localName(url);
    return name ? this.deps.wallets.get(name) : undefined;
  }

  // ── Incoming payments ────────────────────────────────────────────────────

  async createIncomingPayment(client: string, wallet: WalletRow, body: Record<string, unknown>): Promise<IncomingPaymentView | OpenPaymentsError> {
    const unknown = Object.keys(body).filter((k) => !['walletAddress', 'incomingAmount', 'expiresAt', 'metadata'].includes(k));
    if (unknown.length) return opError(E.InvalidRequest, `unknown properties: ${unknown.join(', ')}`);
    let incomingAmount: bigint | null = null;
    if (body.incomingAmount !== undefined) {
      if (!isAmountInput(body.incomingAmount) || !sameAsset(body.incomingAmount, wallet)) {
        return opError(E.InvalidAmount, `incomingAmount must be an amount in ${wallet.assetCode} scale ${wallet.assetScale}`);
      }
      incomingAmount = BigInt(body.incomingAmount.value);
      if (incomingAmount <= 0n) return opError(E.InvalidAmount, 'incomingAmount must be positive');
    }
    const now = this.deps.clock();
    let expiresAt = new Date(now.getTime() + this.deps.incomingPaymentTtlMs);
    if (body.expiresAt !== undefined) {
      expiresAt = new Date(String(body.expiresAt));
      if (typeof body.expiresAt !== 'string' || Number.isNaN(expiresAt.getTime())) return opError(E.InvalidRequest, 'expiresAt must be a date-time');
      if (expiresAt.getTime() <= now.getTime()) return opError(E.InvalidRequest, 'expiresAt must be in the future');
    }
    if (body.metadata !== undefined && (typeof body.metadata !== 'object' || body.metadata === null || Array.isArray(body.metadata))) {
      return opError(E.InvalidRequest, 'metadata must be an object');
    }
    const id = randomUUID();
    await this.deps.db.pool.query(
      `INSERT INTO ${this.t('incoming_payments')} (id, wallet_name, client, incoming_amount, expires_at, metadata, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, wallet.name, client, incomingAmount?.toString() ?? null, expiresAt, body.metadata ? JSON.stringify(body.metadata) : null, now],
    );
    return (await this.getIncomingPayment(id))!.view;
  }

  async getIncomingPayment(id: string): Promise<{ view: IncomingPaymentView; client: string | null; walletName: string } | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.deps.db.pool.query(
      `SELECT p.*, w.asset_code, w.asset_scale FROM ${this.t('incoming_payments')} p JOIN ${this.t('wallets')} w ON w.name = p.wallet_name WHERE p.id = $1`,
      [id],
    );
    return rows[0] ? { view: this.incomingView(rows[0]), client: rows[0].client, walletName: rows[0].wallet_name } : undefined;
  }

  /** Like Rafiki: only a pending or processing incoming payment can be completed (409 otherwise). */
  async completeIncomingPayment(id: string): Promise<IncomingPaymentView | OpenPaymentsError> {
    const now = this.deps.clock();
    const result = await this.deps.db.pool.query(
      `UPDATE ${this.t('incoming_payments')} SET completed = true WHERE id = $1 AND NOT completed AND expires_at > $2 RETURNING id`,
      [id, now],
    );
    if (result.rowCount === 0) return opError(E.InvalidState, 'only a pending incoming payment can be completed: this one is completed or expired');
    return (await this.getIncomingPayment(id))!.view;
  }

  async listIncomingPayments(walletName: string, client: string | undefined, page: PageQuery): Promise<Page<IncomingPaymentView> | OpenPaymentsError> {
    return this.list('incoming_payments', walletName, client, page, (row) => this.incomingView(row));
  }

  /** What anyone may see without a token (`public-incoming-payment`). */
  publicIncomingPayment(view: IncomingPaymentView): { receivedAmount: Amount; authServer: string } {
    return { receivedAmount: view.receivedAmount, authServer: this.deps.authServerUrl() };
  }

  /** A synthetic ILP payment method: there is no ILP network behind the sandbox. */
  methodsFor(view: IncomingPaymentView): { type: 'ilp'; ilpAddress: string; sharedSecret: string }[] {
    const id = view.id.split('/').pop()!.replace(/-/g, '');
    return [{ type: 'ilp', ilpAddress: `test.clearway-sandbox.${id}`, sharedSecret: randomBytes(32).toString('base64url') }];
  }

  private incomingView(row: Record<string, unknown>): IncomingPaymentView {
    const wallet = { assetCode: row.asset_code as string, assetScale: Number(row.asset_scale) };
    const view: IncomingPaymentView = {
      id: this.incomingPaymentUrl(row.id as string),
      walletAddress: this.deps.wallets.urlOf(row.wallet_name as string),
      receivedAmount: amount(row.received_amount as string, wallet),
      completed: row.completed as boolean,
      expiresAt: (row.expires_at as Date).toISOString(),
      createdAt: (row.created_at as Date).toISOString(),
    };
    if (row.incoming_amount !== null) view.incomingAmount = amount(row.incoming_amount as string, wallet);
    if (row.metadata) view.metadata = row.metadata as Record<string, unknown>;
    return view;
  }

  // ── Quotes ───────────────────────────────────────────────────────────────

  async createQuote(client: string, wallet: WalletRow, body: Record<string, unknown>): Promise<Record<string, unknown> | OpenPaymentsError> {
    const unknown = Object.keys(body).filter((k) => !['walletAddress', 'receiver', 'method', 'debitAmount', 'receiveAmount'].includes(k));
    if (unknown.length) return opError(E.InvalidRequest, `unknown properties: ${unknown.join(', ')}`);
    if (body.method !== 'ilp') return opError(E.InvalidRequest, 'method must be "ilp"');
    if (body.debitAmount !== undefined && body.receiveAmount !== undefined) return opError(E.InvalidRequest, 'only one of debitAmount or receiveAmount');
    const receiver = await this.openReceiver(body.receiver);
    if ('error' in receiver) return receiver;
    if (receiver.wallet.assetCode !== wallet.assetCode || receiver.wallet.assetScale !== wallet.assetScale) {
      return opError(E.InvalidReceiver, 'cross-currency quotes are not offered by the sandbox');
    }
    const remaining = receiver.incomingAmount === null ? undefined : receiver.incomingAmount - receiver.receivedAmount;
    let amounts: { debit: bigint; receive: bigint } | OpenPaymentsError;
    if (body.debitAmount !== undefined) {
      if (!isAmountInput(body.debitAmount) || !sameAsset(body.debitAmount, wallet)) return opError(E.InvalidAmount, `debitAmount must be in ${wallet.assetCode} scale ${wallet.assetScale}`);
      amounts = this.fixedSend(BigInt(body.debitAmount.value));
    } else if (body.receiveAmount !== undefined) {
      if (!isAmountInput(body.receiveAmount) || !sameAsset(body.receiveAmount, receiver.wallet)) return opError(E.InvalidAmount, 'receiveAmount must be in the receiver\'s asset');
      amounts = this.fixedReceive(BigInt(body.receiveAmount.value));
    } else if (remaining !== undefined) {
      amounts = this.fixedReceive(remaining);
    } else {
      return opError(E.InvalidAmount, 'No amount was provided and no amount could be inferred from the receiver');
    }
    if ('error' in amounts) return amounts;
    if (remaining !== undefined && amounts.receive > remaining) return opError(E.InvalidAmount, 'the amount exceeds what the incoming payment still accepts');
    const now = this.deps.clock();
    const expiresAt = new Date(Math.min(now.getTime() + this.deps.quoteTtlMs(), receiver.expiresAt.getTime()));
    const id = randomUUID();
    await this.deps.db.pool.query(
      `INSERT INTO ${this.t('quotes')} (id, wallet_name, client, receiver, incoming_payment_id, debit_amount, receive_amount, expires_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [id, wallet.name, client, this.incomingPaymentUrl(receiver.id), receiver.id, amounts.debit.toString(), amounts.receive.toString(), expiresAt, now],
    );
    return (await this.getQuote(id))!.view;
  }

  /** A fixed debit: the fee comes out of it, the receiver gets the rest (Rafiki's fixed-send quote). */
  private fixedSend(debit: bigint): { debit: bigint; receive: bigint } | OpenPaymentsError {
    if (debit <= 0n) return opError(E.InvalidAmount, 'the amount must be positive');
    const receive = debit - feeFor(this.deps.fees(), debit);
    if (receive <= 0n) return opError(E.InvalidAmount, 'the debit amount does not cover the fee: nothing would be received');
    return { debit, receive };
  }

  /** A fixed receive amount: the sender pays it plus the fee (Rafiki's fixed-delivery quote). */
  private fixedReceive(receive: bigint): { debit: bigint; receive: bigint } | OpenPaymentsError {
    if (receive <= 0n) return opError(E.InvalidAmount, 'the amount must be positive');
    return { debit: receive + feeFor(this.deps.fees(), receive), receive };
  }

  async getQuote(id: string): Promise<{ view: Record<string, unknown>; client: string | null; walletName: string } | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.deps.db.pool.query(
      `SELECT q.*, w.asset_code, w.asset_scale, rw.asset_code AS r_asset_code, rw.asset_scale AS r_asset_scale
       FROM ${this.t('quotes')} q JOIN ${this.t('wallets')} w ON w.name = q.wallet_name
       JOIN ${this.t('incoming_payments')} ip ON ip.id = q.incoming_payment_id JOIN ${this.t('wallets')} rw ON rw.name = ip.wallet_name
       WHERE q.id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      client: row.client,
      walletName: row.wallet_name,
      view: {
        id: `${this.deps.baseUrl()}/quotes/${row.id}`,
        walletAddress: this.deps.wallets.urlOf(row.wallet_name),
        receiver: row.receiver,
        debitAmount: amount(row.debit_amount, { assetCode: row.asset_code, assetScale: Number(row.asset_scale) }),
        receiveAmount: amount(row.receive_amount, { assetCode: row.r_asset_code, assetScale: Number(row.r_asset_scale) }),
        method: 'ilp',
        expiresAt: (row.expires_at as Date).toISOString(),
        createdAt: (row.created_at as Date).toISOString(),
      },
    };
  }

  private async openReceiver(receiverUrl: unknown): Promise<
    { id: string; wallet: WalletRow; incomingAmount: bigint | null; receivedAmount: bigint; expiresAt: Date } | OpenPaymentsError
  > {
    if (!isHttpUrl(receiverUrl)) return opError(E.InvalidReceiver, 'receiver must be an incoming payment URL');
    const id = this.incomingPaymentId(receiverUrl);
    if (!id) return opError(E.InvalidReceiver, 'the receiver is not an incoming payment of this ASE (cross-ASE payments are not simulated)');
    const { rows } = await this.deps.db.pool.query(`SELECT * FROM ${this.t('incoming_payments')} WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return opError(E.InvalidReceiver, 'unknown incoming payment');
    if (row.completed) return opError(E.InvalidReceiver, 'the incoming payment is completed');
    if ((row.expires_at as Date).getTime() <= this.deps.clock().getTime()) return opError(E.InvalidReceiver, 'the incoming payment expired');
    const wallet = (await this.deps.wallets.get(row.wallet_name))!;
    return {
      id,
      wallet,
      incomingAmount: row.incoming_amount === null ? null : BigInt(row.incoming_amount),
      receivedAmount: BigInt(row.received_amount),
      expiresAt: row.expires_at,
    };
  }

  // ── Outgoing payments ────────────────────────────────────────────────────

  /**
   * Records the payment under the grant's limits (grant row locked, so concurrent creates under one
   * grant see each other's spend), then settles it — before answering, or after
   * `settlementDelayMs`.
   */
  async createOutgoingPayment(
    grant: Grant,
    access: AccessItem,
    wallet: WalletRow,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
  ): Promise<{ status: number; view: Record<string, unknown> } | OpenPaymentsError> {
    if (body.metadata !== undefined && (typeof body.metadata !== 'object' || body.metadata === null || Array.isArray(body.metadata))) {
      return opError(E.InvalidRequest, 'metadata must be an object');
    }
    const now = this.deps.clock();
    let quoteId: string | null = null;
    let incomingPaymentId: string;
    let debit: bigint;
    let receive: bigint;
    if (body.quoteId !== undefined) {
      const unknown = Object.keys(body).filter((k) => !['walletAddress', 'quoteId', 'metadata'].includes(k));
      if (unknown.length) return opError(E.InvalidRequest, `unknown properties: ${unknown.join(', ')}`);
      quoteId = isHttpUrl(body.quoteId) ? this.resourceId(body.quoteId, 'quotes') ?? null : null;
      const { rows } = quoteId ? await this.deps.db.pool.query(`SELECT * FROM ${this.t('quotes')} WHERE id = $1`, [quoteId]) : { rows: [] };
      const quote = rows[0];
      if (!quote) return opError(E.InvalidQuote, 'unknown quote');
      if (quote.wallet_name !== wallet.name) return opError(E.InvalidQuote, 'the quote belongs to another wallet address');
      if ((quote.expires_at as Date).getTime() <= now.getTime()) return opError(E.InvalidQuote, 'the quote expired');
      incomingPaymentId = quote.incoming_payment_id;
      debit = BigInt(quote.debit_amount);
      receive = BigInt(quote.receive_amount);
    } else if (body.incomingPayment !== undefined) {
      const unknown = Object.keys(body).filter((k) => !['walletAddress', 'incomingPayment', 'debitAmount', 'metadata'].includes(k));
      if (unknown.length) return opError(E.InvalidRequest, `unknown properties: ${unknown.join(', ')}`);
      const receiver = await this.openReceiver(body.incomingPayment);
      if ('error' in receiver) return receiver;
      if (!isAmountInput(body.debitAmount) || !sameAsset(body.debitAmount, wallet)) {
        return opError(E.InvalidAmount, `debitAmount must be in ${wallet.assetCode} scale ${wallet.assetScale}`);
      }
      if (!sameAsset(body.debitAmount, receiver.wallet)) return opError(E.InvalidReceiver, 'cross-currency payments are not offered by the sandbox');
      incomingPaymentId = receiver.id;
      const amounts = this.fixedSend(BigInt(body.debitAmount.value));
      if ('error' in amounts) return amounts;
      ({ debit, receive } = amounts);
    } else {
      return opError(E.InvalidRequest, 'either quoteId, or incomingPayment and debitAmount, are required');
    }
    const receiverUrl = this.incomingPaymentUrl(incomingPaymentId);

    const recorded = await this.deps.db.transaction(async (client): Promise<{ id: string; existing: boolean } | OpenPaymentsError> => {
      await client.query(`SELECT id FROM ${this.t('grants')} WHERE id = $1 FOR UPDATE`, [grant.id]);
      if (idempotencyKey && this.deps.deduplicateIdempotencyKey()) {
        // Opt-in scenario: one key, one payment per client (the key's lock spans the client's grants).
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${grant.client}\n${idempotencyKey}`]);
        const { rows } = await client.query(`SELECT id FROM ${this.t('outgoing_payments')} WHERE client = $1 AND idempotency_key = $2`, [grant.client, idempotencyKey]);
        if (rows[0]) return { id: rows[0].id, existing: true };
      }
      const limits = access.limits;
      if (limits?.receiver && normaliseUrl(limits.receiver) !== receiverUrl) return opError(E.LimitExceeded, 'the grant only allows paying its limits.receiver');
      if (limits?.debitAmount || limits?.receiveAmount || limits?.interval) {
        const spent = await this.spentInPeriod(client, grant, access, now);
        if ('error' in spent) return spent;
        if (limits.debitAmount && spent.debit + debit > BigInt(limits.debitAmount.value)) {
          return opError(E.LimitExceeded, 'the payment exceeds the grant\'s debitAmount limit for this period');
        }
        if (limits.receiveAmount && spent.receive + receive > BigInt(limits.receiveAmount.value)) {
          return opError(E.LimitExceeded, 'the payment exceeds the grant\'s receiveAmount limit for this period');
        }
      }
      const id = randomUUID();
      try {
        await client.query('SAVEPOINT create_payment');
        await client.query(
          `INSERT INTO ${this.t('outgoing_payments')}
            (id, wallet_name, client, grant_id, quote_id, receiver, incoming_payment_id, debit_amount, receive_amount, state, metadata, idempotency_key, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12)`,
          [id, wallet.name, grant.client, grant.id, quoteId, receiverUrl, incomingPaymentId, debit.toString(), receive.toString(),
            body.metadata ? JSON.stringify(body.metadata) : null, idempotencyKey ?? null, now],
        );
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        await client.query('ROLLBACK TO SAVEPOINT create_payment');
        return opError(E.InvalidQuote, 'the quote was already used by another outgoing payment');
      }
      return { id, existing: false };
    });
    if ('error' in recorded) return recorded;

    if (!recorded.existing) {
      if (this.deps.settlementDelayMs > 0) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          void this.settle(recorded.id).catch(() => undefined);
        }, this.deps.settlementDelayMs);
        this.timers.add(timer);
      } else {
        await this.settle(recorded.id);
      }
    }
    const payment = (await this.getOutgoingPayment(recorded.id))!;
    const spent = await this.deps.db.transaction((client) => this.spentInPeriod(client, grant, access, now));
    const view: Record<string, unknown> = { ...payment.view };
    if (!('error' in spent)) {
      view.grantSpentDebitAmount = amount(spent.debit, wallet);
      view.grantSpentReceiveAmount = amount(spent.receive, payment.receiveAsset);
    }
    return { status: 201, view };
  }

  /**
   * Moves the money for one pending outgoing payment, exactly once. Lock order (payment, then
   * wallets by name, then the incoming payment) is the same for every settlement, so concurrent
   * payments queue instead of deadlocking. A payment that cannot settle is marked failed.
   */
  async settle(id: string): Promise<void> {
    await this.deps.db.transaction(async (client) => {
      const { rows } = await client.query(`SELECT * FROM ${this.t('outgoing_payments')} WHERE id = $1 FOR UPDATE`, [id]);
      const payment = rows[0];
      if (!payment || payment.state !== 'pending') return;
      const { rows: ipRows } = await client.query(`SELECT wallet_name FROM ${this.t('incoming_payments')} WHERE id = $1`, [payment.incoming_payment_id]);
      const receiverWallet: string = ipRows[0].wallet_name;
      const sender = (await this.deps.wallets.get(payment.wallet_name, client))!;
      const feeAccount = feeAccountName(sender);
      const names = [...new Set([payment.wallet_name as string, receiverWallet, feeAccount])].sort();
      const { rows: walletRows } = await client.query(
        `SELECT name, balance FROM ${this.t('wallets')} WHERE name = ANY($1) ORDER BY name FOR UPDATE`,
        [names],
      );
      const balance = BigInt(walletRows.find((w) => w.name === payment.wallet_name).balance);
      const { rows: locked } = await client.query(`SELECT * FROM ${this.t('incoming_payments')} WHERE id = $1 FOR UPDATE`, [payment.incoming_payment_id]);
      const incoming = locked[0];
      const debit = BigInt(payment.debit_amount);
      const receive = BigInt(payment.receive_amount);
      const fail = async (reason: string) => {
        await client.query(`UPDATE ${this.t('outgoing_payments')} SET state = 'failed', failure = $2 WHERE id = $1`, [id, reason]);
      };
      if (incoming.completed) return fail('incoming_payment_completed');
      if ((incoming.expires_at as Date).getTime() <= this.deps.clock().getTime()) return fail('incoming_payment_expired');
      if (incoming.incoming_amount !== null && BigInt(incoming.received_amount) + receive > BigInt(incoming.incoming_amount)) {
        return fail('incoming_amount_exceeded');
      }
      if (balance < debit) return fail('insufficient_balance');
      // Same asset: what the receiver does not get is the ASE's fee.
      const fee = debit - receive;
      if (fee < 0n) throw new Error('sandbox settlements are same-asset: receive cannot exceed debit');
      await client.query(`UPDATE ${this.t('wallets')} SET balance = balance - $2 WHERE name = $1`, [payment.wallet_name, debit.toString()]);
      await client.query(`UPDATE ${this.t('wallets')} SET balance = balance + $2 WHERE name = $1`, [receiverWallet, receive.toString()]);
      if (fee > 0n) await client.query(`UPDATE ${this.t('wallets')} SET balance = balance + $2 WHERE name = $1`, [feeAccount, fee.toString()]);
      await client.query(
        `UPDATE ${this.t('incoming_payments')} SET received_amount = received_amount + $2,
           completed = (incoming_amount IS NOT NULL AND received_amount + $2 >= incoming_amount) WHERE id = $1`,
        [incoming.id, receive.toString()],
      );
      await client.query(
        `INSERT INTO ${this.t('ledger_entries')} (outgoing_payment_id, kind, debit_wallet, credit_wallet, amount) VALUES ($1, 'transfer', $2, $3, $4)`,
        [id, payment.wallet_name, receiverWallet, receive.toString()],
      );
      if (fee > 0n) {
        await client.query(
          `INSERT INTO ${this.t('ledger_entries')} (outgoing_payment_id, kind, debit_wallet, credit_wallet, amount) VALUES ($1, 'fee', $2, $3, $4)`,
          [id, payment.wallet_name, feeAccount, fee.toString()],
        );
      }
      // Rafiki's sentAmount excludes fees: what was sent towards the receiver.
      await client.query(`UPDATE ${this.t('outgoing_payments')} SET state = 'completed', sent_amount = receive_amount WHERE id = $1`, [id]);
    });
  }

  /** Settles every pending payment now (in-process control for tests and `_sandbox`). */
  async settlePending(): Promise<number> {
    const { rows } = await this.deps.db.pool.query<{ id: string }>(`SELECT id FROM ${this.t('outgoing_payments')} WHERE state = 'pending' ORDER BY seq`);
    for (const row of rows) await this.settle(row.id);
    return rows.length;
  }

  async getOutgoingPayment(id: string): Promise<
    { view: Record<string, unknown>; client: string | null; walletName: string; grantId: string | null; receiveAsset: Pick<WalletRow, 'assetCode' | 'assetScale'> } | undefined
  > {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.deps.db.pool.query(`${this.outgoingSelect()} WHERE p.id = $1`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      view: this.outgoingView(row),
      client: row.client,
      walletName: row.wallet_name,
      grantId: row.grant_id,
      receiveAsset: { assetCode: row.r_asset_code, assetScale: Number(row.r_asset_scale) },
    };
  }

  async listOutgoingPayments(walletName: string, client: string | undefined, page: PageQuery): Promise<Page<Record<string, unknown>> | OpenPaymentsError> {
    return this.list('outgoing_payments', walletName, client, page, (row) => this.outgoingView(row));
  }

  /** `GET /outgoing-payment-grant`: spent amounts in the grant's current period (null when none). */
  async grantSpentAmounts(grant: Grant, access: AccessItem): Promise<{ spentDebitAmount: Amount | null; spentReceiveAmount: Amount | null }> {
    const spent = await this.deps.db.transaction((client) => this.spentInPeriod(client, grant, access, this.deps.clock()));
    if ('error' in spent || (spent.debit === 0n && spent.receive === 0n)) return { spentDebitAmount: null, spentReceiveAmount: null };
    const name = access.identifier ? this.deps.wallets.localName(access.identifier) : undefined;
    const wallet = name ? await this.deps.wallets.get(name) : undefined;
    if (!wallet) return { spentDebitAmount: null, spentReceiveAmount: null };
    return { spentDebitAmount: amount(spent.debit, wallet), spentReceiveAmount: amount(spent.receive, wallet) };
  }

  /** Debit and receive amounts of the grant's non-failed payments in the period containing `at`. */
  private async spentInPeriod(client: PoolClient, grant: Grant, access: AccessItem, at: Date): Promise<{ debit: bigint; receive: bigint } | OpenPaymentsError> {
    let from = new Date(0);
    let to = new Date(8.64e15);
    if (access.limits?.interval) {
      const interval = parseRepeatingInterval(access.limits.interval)!;
      const period = periodAt(interval, at);
      if (!period) return opError(E.LimitExceeded, 'the grant\'s interval has not started or is over');
      from = period.start;
      to = period.end;
    }
    const { rows } = await client.query(
      `SELECT COALESCE(SUM(debit_amount), 0) AS debit, COALESCE(SUM(receive_amount), 0) AS receive FROM ${this.t('outgoing_payments')}
       WHERE grant_id = $1 AND state <> 'failed' AND created_at >= $2 AND created_at < $3`,
      [grant.id, from, to],
    );
    return { debit: BigInt(rows[0].debit), receive: BigInt(rows[0].receive) };
  }

  private outgoingSelect(): string {
    return `SELECT p.*, w.asset_code, w.asset_scale, rw.asset_code AS r_asset_code, rw.asset_scale AS r_asset_scale
      FROM ${this.t('outgoing_payments')} p JOIN ${this.t('wallets')} w ON w.name = p.wallet_name
      JOIN ${this.t('incoming_payments')} ip ON ip.id = p.incoming_payment_id JOIN ${this.t('wallets')} rw ON rw.name = ip.wallet_name`;
  }

  private outgoingView(row: Record<string, unknown>): Record<string, unknown> {
    const sender = { assetCode: row.asset_code as string, assetScale: Number(row.asset_scale) };
    const receiver = { assetCode: row.r_asset_code as string, assetScale: Number(row.r_asset_scale) };
    const view: Record<string, unknown> = {
      id: `${this.deps.baseUrl()}/outgoing-payments/${row.id}`,
      walletAddress: this.deps.wallets.urlOf(row.wallet_name as string),
      failed: row.state === 'failed',
      receiver: row.receiver,
      receiveAmount: amount(row.receive_amount as string, receiver),
      debitAmount: amount(row.debit_amount as string, sender),
      sentAmount: amount(row.sent_amount as string, sender),
      createdAt: (row.created_at as Date).toISOString(),
    };
    if (row.quote_id) view.quoteId = `${this.deps.baseUrl()}/quotes/${row.quote_id}`;
    if (row.metadata) view.metadata = row.metadata;
    return view;
  }

  /** Cursor pagination over `seq` (cursors are resource ids, as in Rafiki): `first`/`last` ≤ 100. */
  private async list<T>(
    table: 'incoming_payments' | 'outgoing_payments',
    walletName: string,
    client: string | undefined,
    page: PageQuery,
    map: (row: Record<string, unknown>) => T,
  ): Promise<Page<T> | OpenPaymentsError> {
    if (page.first !== undefined && page.last !== undefined) return opError(E.InvalidRequest, 'use first or last, not both');
    if (page.last !== undefined && page.cursor === undefined) return opError(E.InvalidRequest, 'last needs a cursor');
    const size = page.first ?? page.last ?? 20;
    if (!Number.isInteger(size) || size < 1 || size > 100) return opError(E.InvalidRequest, 'first and last must be 1..100');
    const backwards = page.last !== undefined;
    const base = table === 'incoming_payments'
      ? `SELECT p.*, w.asset_code, w.asset_scale FROM ${this.t('incoming_payments')} p JOIN ${this.t('wallets')} w ON w.name = p.wallet_name`
      : this.outgoingSelect();
    const params: unknown[] = [walletName];
    let where = 'p.wallet_name = $1';
    if (client !== undefined) {
      params.push(client);
      where += ` AND p.client = $${params.length}`;
    }
    const scoped = where;
    if (page.cursor !== undefined) {
      if (!isUuid(page.cursor)) return opError(E.InvalidRequest, 'unknown cursor');
      params.push(page.cursor);
      where += ` AND p.seq ${backwards ? '<' : '>'} (SELECT seq FROM ${this.t(table)} WHERE id = $${params.length})`;
    }
    const { rows } = await this.deps.db.pool.query(
      `${base} WHERE ${where} ORDER BY p.seq ${backwards ? 'DESC' : 'ASC'} LIMIT ${size + 1}`,
      params,
    );
    const more = rows.length > size;
    const pageRows = rows.slice(0, size);
    if (backwards) pageRows.reverse();
    let hasNextPage: boolean;
    let hasPreviousPage: boolean;
    const exists = async (op: '<' | '>', seq: unknown) =>
      (await this.deps.db.pool.query(`SELECT 1 FROM ${this.t(table)} p WHERE ${scoped} AND p.seq ${op} $${params.length - (page.cursor !== undefined ? 1 : 0) + 1} LIMIT 1`,
        [...params.slice(0, params.length - (page.cursor !== undefined ? 1 : 0)), seq])).rowCount! > 0;
    if (backwards) {
      hasPreviousPage = more;
      hasNextPage = pageRows.length > 0 ? await exists('>', pageRows[pageRows.length - 1].seq) : false;
    } else {
      hasNextPage = more;
      hasPreviousPage = pageRows.length > 0 ? await exists('<', pageRows[0].seq) : false;
    }
    const pagination: Page<T>['pagination'] = { hasNextPage, hasPreviousPage };
    if (pageRows.length) {
      pagination.startCursor = pageRows[0].id as string;
      pagination.endCursor = pageRows[pageRows.length - 1].id as string;
    }
    return { pagination, result: pageRows.map(map) };
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
