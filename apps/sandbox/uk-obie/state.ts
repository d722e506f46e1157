import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { accountsOfPsu, type SandboxUkAccount } from './accounts';
import { newSigningKey, type SigningKeyPair } from './keys';

/** The sandbox bank's whole state, in memory. Times come from `now()` so tests can move the clock. */
export interface RegisteredClient {
  clientId: string;
  softwareId: string;
  orgId: string;
  jwks: { keys: JWK[] };
  redirectUris: string[];
  roles: string[];
  issuedAt: number;
  /**
   * The registration request's claims as last accepted (OBIE DCR 3.3 `OBClientRegistration1`:
   * iss, iat, exp, aud, jti, software_statement and the registered metadata), answered by
   * `GET /register/{ClientId}`.
   */
  metadata: Record<string, unknown>;
  /** How it authenticates at the token endpoint; `tls_client_auth`: by this certificate subject (RFC 8705 §2.1). */
  authMethod: 'private_key_jwt' | 'tls_client_auth';
  subjectDn?: string;
}

export type PaymentConsentStatus = 'AwaitingAuthorisation' | 'Authorised' | 'Consumed' | 'Rejected';
export type AccountConsentStatus = 'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked';
export type DomesticPaymentStatus =
  | 'Pending'
  | 'AcceptedSettlementInProcess'
  | 'AcceptedSettlementCompleted'
  | 'AcceptedCreditSettlementCompleted'
  | 'AcceptedWithoutPosting'
  | 'Rejected';

/** The OBIE payment resources the sandbox offers (3.1.11 `domestic-…` and `international-…`). */
export type UkPaymentKind = 'domestic' | 'international';

export interface PaymentConsent {
  consentId: string;
  kind: UkPaymentKind;
  clientId: string;
  status: PaymentConsentStatus;
  initiation: Record<string, any>;
  risk: Record<string, any>;
  created: string;
  updated: string;
  psu?: string;
  debtorAccountId?: string;
  /** Domestic payments created with this consent (one, unless the sandbox were kind). */
  paymentIds: string[];
}

export interface DomesticPayment {
  paymentId: string;
  kind: UkPaymentKind;
  consentId: string;
  clientId: string;
  status: DomesticPaymentStatus;
  created: string;
  updated: string;
  initiation: Record<string, any>;
  /** Status reads so far (the scenarios advance on reads). */
  reads: number;
  idempotencyKey: string;
}

export interface AccountConsent {
  consentId: string;
  clientId: string;
  status: AccountConsentStatus;
  permissions: string[];
  expiration?: string;
  transactionFrom?: string;
  transactionTo?: string;
  created: string;
  updated: string;
  psu?: string;
  accountIds: string[];
}

export interface IssuedToken {
  clientId: string;
  scope: string[];
  /** Bound to a consent when bought with an authorisation code. */
  consentId?: string;
  expiresAt: number;
  /** RFC 8705 `cnf.x5t#S256`: usable only over mTLS with this certificate (tls_client_auth clients). */
  x5tS256?: string;
}

export interface AuthorisationCode {
  clientId: string;
  consentId: string;
  kind: 'payments' | 'accounts';
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

/** An authorisation request waiting for the PSU's decision on the page. */
export interface PendingAuthorisation {
  clientId: string;
  consentId: string;
  kind: 'payments' | 'accounts';
  redirectUri: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

export interface IdempotentAnswer {
  bodyHash: string;
  status: number;
  body: unknown;
  at: number;
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export class UkSandboxState {
  readonly clients = new Map<string, RegisteredClient>();
  readonly tokens = new Map<string, IssuedToken>();
  readonly codes = new Map<string, AuthorisationCode>();
  readonly pending = new Map<string, PendingAuthorisation>();
  readonly paymentConsents = new Map<string, PaymentConsent>();
  readonly payments = new Map<string, DomesticPayment>();
  readonly accountConsents = new Map<string, AccountConsent>();
  readonly idempotency = new Map<string, IdempotentAnswer>();
  readonly usedJtis = new Map<string, number>();
  private readonly accounts = new Map<string, SandboxUkAccount[]>();
  /**
   * Faults for tests, after the bank created the payment: its answer is delayed (a worker can die
   * waiting for it) or lost (503), as a real bank's answer can be.
   */
  readonly faults = { paymentAnswerDelayMs: 0, lostPaymentAnswers: 0 };
  /** POST /domestic-payments requests received, per x-idempotency-key (for tests: were retries deduplicated?). */
  readonly paymentRequestsByKey = new Map<string, number>();

  private constructor(
    readonly aspspKey: SigningKeyPair,
    readonly directoryKey: SigningKeyPair,
    private clock: () => number,
  ) {}

  static async create(now: () => number = Date.now): Promise<UkSandboxState> {
    const [aspsp, directory] = await Promise.all([newSigningKey('sandbox-aspsp-1'), newSigningKey('sandbox-directory-1')]);
    return new UkSandboxState(aspsp, directory, now);
  }

  now(): number {
    return this.clock();
  }

  setClock(now: () => number): void {
    this.clock = now;
  }

  isoNow(): string {
    return new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  }

  accountsOf(psu: string): SandboxUkAccount[] {
    let accounts = this.accounts.get(psu);
    if (!accounts) this.accounts.set(psu, (accounts = accountsOfPsu(psu)));
    return accounts;
  }

  /** A JWT id may be used once (client assertions, request objects, registration requests). */
  useJti(jti: unknown, expiresAtS: number): boolean {
    if (typeof jti !== 'string' || !jti) return false;
    const now = this.now();
    for (const [k, exp] of this.usedJtis) if (exp < now) this.usedJtis.delete(k);
    if (this.usedJtis.has(jti)) return false;
    this.usedJtis.set(jti, expiresAtS * 1000);
    return true;
  }

  /** Idempotency per client, endpoint and key, for 24 h: a repeat gets the first answer; another body is refused. */
  idempotent(scope: string, body: unknown): { key: string; hash: string; previous?: IdempotentAnswer } {
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
    const previous = this.idempotency.get(scope);
    if (previous && this.now() - previous.at > IDEMPOTENCY_WINDOW_MS) {
      this.idempotency.delete(scope);
      return { key: scope, hash };
    }
    return { key: scope, hash, previous };
  }

  remember(scope: string, hash: string, status: number, body: unknown): void {
    this.idempotency.set(scope, { bodyHash: hash, status, body, at: this.now() });
  }

  newId(prefix: string): string {
    return `${prefix}-${randomUUID()}`;
  }

  newSecret(): string {
    return randomBytes(24).toString('base64url');
  }
}
