/**
 * The in-process handle of the Open Payments sandbox ASE: wallet address server, GNAP
 * authorization server and resource server over one PostgreSQL schema. Routes translate HTTP to
 * these services; tests and benchmarks use the handle for controls (clock, faults, balances).
 */
import type { KeyObject } from 'node:crypto';
import { FaultInjector, type SandboxFaults } from '../berlin-group/faults';
import { DEFAULT_FEES, DEFAULT_TENANT_ID, DEFAULT_WALLETS, type KnownClient, type OpenPaymentsSandboxOptions, type SandboxFees, type SandboxWalletSeed } from './config';
import { openSandboxDatabase, type SandboxDatabase } from './database';
import type { Ed25519Jwk } from '../../../libs/security/http-signatures';
import { GrantService } from './grants';
import { PaymentService } from './payments';
import { defaultFetchJwks, normaliseUrl, WalletDirectory, type WalletRow } from './wallets';

export const DEFAULT_SCHEMA = 'sandbox_open_payments';

export class OpenPaymentsSandboxAse {
  readonly wallets: WalletDirectory;
  readonly grants: GrantService;
  readonly payments: PaymentService;
  readonly faults: FaultInjector;
  private baseUrl: string | undefined;
  private clockOverride: Date | undefined;
  private autoApprove: boolean;
  private fees: SandboxFees;
  private quoteTtlMs: number;
  private deduplicateIdempotencyKey: boolean;
  /** Targeted faults on `POST /outgoing-payments` (see {@link failOutgoingPaymentCreates}). */
  private outgoingPaymentFaults = { unavailable: 0, lostResponses: 0 };
  /** Targeted faults on `POST /auth/{tenant}/continue/{id}` (see {@link failGrantContinuations}). */
  private continuationFaults = { lostResponses: 0 };
  /** Signature nonces seen recently (keyid + nonce → expiry ms). */
  private readonly nonces = new Map<string, number>();

  private constructor(
    readonly db: SandboxDatabase,
    readonly options: OpenPaymentsSandboxOptions,
  ) {
    this.baseUrl = options.publicUrl ? normaliseUrl(options.publicUrl) : undefined;
    this.autoApprove = options.autoApprove ?? false;
    this.fees = { ...(options.fees ?? DEFAULT_FEES) };
    this.quoteTtlMs = options.quoteTtlMs ?? 300_000;
    this.deduplicateIdempotencyKey = options.deduplicateIdempotencyKey ?? false;
    const clock = () => this.now();
    const baseUrl = () => this.url;
    this.wallets = new WalletDirectory(db, baseUrl, options.clients ?? [], options.fetchJwks ?? defaultFetchJwks);
    this.grants = new GrantService({
      db,
      wallets: this.wallets,
      clock,
      baseUrl,
      tenantId: options.tenantId ?? DEFAULT_TENANT_ID,
      autoApprove: () => this.autoApprove,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 600,
    });
    this.payments = new PaymentService({
      db,
      wallets: this.wallets,
      clock,
      baseUrl,
      quoteTtlMs: () => this.quoteTtlMs,
      incomingPaymentTtlMs: options.incomingPaymentTtlMs ?? 30 * 24 * 3_600_000,
      settlementDelayMs: options.settlementDelayMs ?? 0,
      authServerUrl: () => this.grants.authServerUrl,
      fees: () => this.fees,
      deduplicateIdempotencyKey: () => this.deduplicateIdempotencyKey,
    });
    this.faults = new FaultInjector(options.faults, options.random);
  }

  /** Migrates the schema and seeds the wallets (opening balances only on first creation). */
  static async open(options: OpenPaymentsSandboxOptions): Promise<OpenPaymentsSandboxAse> {
    const db = await openSandboxDatabase({ url: options.databaseUrl, schema: options.schema ?? DEFAULT_SCHEMA });
    const ase = new OpenPaymentsSandboxAse(db, options);
    try {
      for (const seed of options.wallets ?? DEFAULT_WALLETS) await ase.wallets.upsert(seed);
    } catch (err) {
      await db.close();
      throw err;
    }
    return ase;
  }

  /** Base URL every id is built from (set once listening when no publicUrl was configured). */
  get url(): string {
    if (!this.baseUrl) throw new Error('The Open Payments sandbox has no base URL yet');
    return this.baseUrl;
  }

  setDefaultBaseUrl(url: string): void {
    this.baseUrl ??= normaliseUrl(url);
  }

  walletUrl(name: string): string {
    return this.wallets.urlOf(name);
  }

  // ── Clock (business time: grant intervals, quote/incoming/token expiry) ──

  now(): Date {
    if (this.clockOverride) return new Date(this.clockOverride);
    return this.options.clock ? this.options.clock() : new Date();
  }

  setClock(at: Date): void {
    this.clockOverride = new Date(at);
  }

  advanceClock(ms: number): Date {
    this.clockOverride = new Date(this.now().getTime() + ms);
    return this.now();
  }

  resetClock(): void {
    this.clockOverride = undefined;
  }

  // ── Controls ─────────────────────────────────────────────────────────────

  setAutoApprove(on: boolean): void {
    this.autoApprove = on;
  }

  /** The fee charged on payments created from now on (existing quotes keep their amounts). */
  setFees(fees: SandboxFees): SandboxFees {
    this.fees = { ...fees };
    return this.currentFees();
  }

  currentFees(): SandboxFees {
    return { ...this.fees };
  }

  /** How long quotes created from now on stay payable. */
  setQuoteTtl(ms: number): void {
    this.quoteTtlMs = ms;
  }

  setIdempotencyDeduplication(on: boolean): void {
    this.deduplicateIdempotencyKey = on;
  }

  /**
   * The next `unavailable` outgoing-payment creates answer 503 without doing anything; the ones after
   * them, up to `lostResponses`, create the payment and then answer 503, as if the response was
   * lost on the way back. Other requests are untouched, so a client can look the payment up.
   */
  failOutgoingPaymentCreates(faults: { unavailable?: number; lostResponses?: number }): void {
    this.outgoingPaymentFaults = { unavailable: faults.unavailable ?? 0, lostResponses: faults.lostResponses ?? 0 };
  }

  /** What the next outgoing-payment create meets: consumed by the route. */
  takeOutgoingPaymentFault(): 'unavailable' | 'lostResponse' | undefined {
    if (this.outgoingPaymentFaults.unavailable > 0) {
      this.outgoingPaymentFaults.unavailable -= 1;
      return 'unavailable';
    }
    if (this.outgoingPaymentFaults.lostResponses > 0) {
      this.outgoingPaymentFaults.lostResponses -= 1;
      return 'lostResponse';
    }
    return undefined;
  }

  /**
   * The next `lostResponses` grant continuations are carried out (the grant is finalized and its
   * token issued) and then answered 503, as if the answer was lost on the way back.
   */
  failGrantContinuations(faults: { lostResponses?: number }): void {
    this.continuationFaults = { lostResponses: faults.lostResponses ?? 0 };
  }

  /** Whether the next grant continuation loses its answer: consumed by the route. */
  takeContinuationFault(): 'lostResponse' | undefined {
    if (this.continuationFaults.lostResponses <= 0) return undefined;
    this.continuationFaults.lostResponses -= 1;
    return 'lostResponse';
  }

  setFaults(partial: Partial<SandboxFaults>): SandboxFaults {
    return this.faults.set(partial);
  }

  resetFaults(): SandboxFaults {
    return this.faults.reset();
  }

  registerWallet(seed: SandboxWalletSeed): Promise<WalletRow> {
    return this.wallets.upsert(seed);
  }

  registerClient(client: KnownClient): void {
    this.wallets.registerKnownClient(client);
  }

  async balanceOf(name: string): Promise<bigint | undefined> {
    return (await this.wallets.get(name))?.balance;
  }

  async balances(): Promise<Record<string, bigint>> {
    return Object.fromEntries((await this.wallets.all()).map((w) => [w.name, w.balance]));
  }

  jwksOf(name: string): Promise<Ed25519Jwk[]> {
    return this.wallets.keysOf(name);
  }

  /** The sandbox-generated private key of a hosted wallet (alice, bob), to act as that client. */
  walletKey(name: string): Promise<{ keyId: string; privateKey: KeyObject } | undefined> {
    return this.wallets.privateKeyOf(name);
  }

  settlePending(): Promise<number> {
    return this.payments.settlePending();
  }

  /** False when the nonce was already used by this key in the last 10 minutes. */
  checkNonce(keyId: string, nonce: string): boolean {
    const now = Date.now();
    for (const [key, expiry] of this.nonces) if (expiry < now) this.nonces.delete(key);
    const key = `${keyId}\n${nonce}`;
    if (this.nonces.has(key)) return false;
    this.nonces.set(key, now + 600_000);
    return true;
  }

  async close(): Promise<void> {
    this.payments.close();
    await this.db.close();
  }
}
