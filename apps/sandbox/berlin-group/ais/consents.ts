/**
 * The account-information (AIS) half of the Berlin Group sandbox ASPSP: consents, their SCA, and
 * the account, balance and transaction reads they grant. Pure logic, no HTTP: `routes.ts` beside
 * this file translates requests into calls on {@link AisSandboxBank}. In memory, like the PIS side.
 *
 * ## Endpoints (under `/berlin-group`)
 * `POST /v1/consents`, `GET|DELETE /v1/consents/{consentId}`, `GET /v1/consents/{consentId}/status`,
 * `POST|GET /v1/consents/{consentId}/authorisations`, `GET|PUT .../authorisations/{authorisationId}`,
 * `GET /v1/accounts[?withBalance]`, `GET /v1/accounts/{account-id}[?withBalance]`,
 * `GET /v1/accounts/{account-id}/balances`,
 * `GET /v1/accounts/{account-id}/transactions?bookingStatus&dateFrom&dateTo&entryReferenceFrom&deltaList&withBalance`,
 * `GET /v1/accounts/{account-id}/transactions/{transactionId}`.
 * Reads need `Consent-ID`; `PSU-IP-Address` on a read means the PSU is present.
 *
 * ## Consent scenarios (by `PSU-ID` at `POST /v1/consents`, same conventions as payments)
 * - `PSU-ID: decoupled` → DECOUPLED SCA, approved `decoupledDelayMs` after the authorisation was
 *   created: scaStatus `started` → `finalised`, consent `received` → `valid`.
 * - `PSU-ID: decoupled-deny` → DECOUPLED, refused after the delay: `failed`, consent `rejected`.
 * - `TPP-Redirect-Preferred: false` (any other PSU) → DECOUPLED, approved.
 * - `PSU-ID: embedded` → EMBEDDED SCA. No implicit authorisation: the 201 carries
 *   `_links.startAuthorisationWithPsuAuthentication`. Then
 *   1. `POST .../authorisations` with `{ psuData: { password } }` (or `{}` first, then `PUT` the
 *      psuData) → scaStatus `psuAuthenticated`, `scaMethods` [SMS_OTP, PUSH_OTP] (their
 *      `authenticationMethodId`s are `SMS_OTP` and `PUSH_OTP`), `_links.selectAuthenticationMethod`.
 *      Password: any non-empty string except `wrong`; `wrong` (or empty) → 401 PSU_CREDENTIALS_INVALID,
 *      the authorisation stays where it was so the TPP may retry.
 *   2. `PUT { authenticationMethodId }` → `scaMethodSelected`, `chosenScaMethod`, `challengeData`
 *      (otpMaxLength 6, otpFormat integer), `_links.authoriseTransaction`. Unknown id → 400 SCA_METHOD_UNKNOWN.
 *   3. `PUT { scaAuthenticationData }`: the test OTP is {@link SANDBOX_OTP} (`123456`) → `finalised`,
 *      consent `valid`; any other OTP → `failed`, consent `rejected`.
 *   A step out of order, or any step after `finalised`/`failed`, → 409 STATUS_INVALID.
 * - anything else → REDIRECT SCA: `_links.scaRedirect` is an HTML page (`/sca/consents/{authorisationId}`)
 *   showing the requested access with Approve/Deny (a form posting `decision=approve|deny`), then 302
 *   to `TPP-Redirect-URI` (approve, consent `valid`) or `TPP-Nok-Redirect-URI` (deny, consent `rejected`).
 * The PSU owning the accounts is the `PSU-ID` (or {@link DEFAULT_PSU_ID} without one); see `accounts.ts`.
 * Dedicated access lists must name that PSU's IBANs (`GET /_sandbox/psus/{psuId}/accounts` lists them);
 * an empty list means "all my accounts" for that service (BG's bank-offered consent).
 *
 * ## Consent lifecycle
 * `received` → `valid` | `rejected` (SCA). `DELETE` → 204 and `terminatedByTpp` (a consent already
 * over keeps its status). The PSU revokes with `POST /_sandbox/consents/{id}/revoke` or
 * `revokeConsent(id)` → `revokedByPsu`. Once the bank day is after `validUntil` the consent reads
 * `expired` (computed lazily from the clock). `validUntil: 9999-12-31` (or anything later than
 * today + {@link MAX_CONSENT_DAYS} days) is granted as today + 180 days; a past date → 400 FORMAT_ERROR.
 * `frequencyPerDay` is granted as requested (≥ 1), and 1 for a one-off (`recurringIndicator: false`).
 * `POST /v1/consents` does not deduplicate on X-Request-ID (as real banks): a repeat creates a second
 * consent. Deduplication is the same opt-in scenario as for payments (`../request-ledger.ts`).
 *
 * ## Reads
 * Refusals, in the order checked: missing Consent-ID → 400 FORMAT_ERROR; unknown consent → 403
 * CONSENT_UNKNOWN; expired → 401 CONSENT_EXPIRED; any other status than `valid` → 401 CONSENT_INVALID;
 * account not the PSU's → 403 RESOURCE_UNKNOWN; the PSU's account but not in the consent → 401
 * CONSENT_INVALID; account in the consent but the service not granted (e.g. balances of an
 * `accounts`-only account, details of an `availableAccounts` consent) → 400 SERVICE_INVALID;
 * the daily limit → 429 ACCESS_EXCEEDED.
 *
 * ## The daily limit (frequencyPerDay)
 * Counted per consent, endpoint (`accounts` list, `account`, `balances`, `transactions` list,
 * `transaction`) and account, per bank day (UTC), only for reads WITHOUT `PSU-IP-Address`.
 * A read counts when it is served: refused reads never count, and of a transaction listing only the
 * first page counts (a request carrying the bank's `page` parameter, i.e. following `first`/`next`/
 * `previous`/`last`, does not). Read number frequencyPerDay + 1 of a day → 429 ACCESS_EXCEEDED.
 *
 * ## Transactions and paging
 * See `transactions.ts`: per account 7–9 booked entries per day over the last 730 days up to
 * yesterday (≥ 5,110), 3 pending dated today; oldest first. `dateFrom` is required unless
 * `entryReferenceFrom` or `deltaList=true` is given (those ignore the dates) or bookingStatus is
 * `pending`; `dateTo` defaults to today. `bookingStatus`
 * booked | pending | both (`all` = both); `information` → 400 PARAMETER_NOT_SUPPORTED.
 * `deltaList=true` returns booked entries after the last booked entry that was reported on the
 * previous transaction listing of this consent and account (everything on the first one).
 * Pages of {@link AisSandboxOptions.transactionPageSize} (default 100) booked entries; pending
 * entries come on page 1. `transactions._links` has `account`, `first`, `last` and, where they
 * exist, `previous`/`next`: ABSOLUTE URLs on the bank's public base, e.g.
 * `http://127.0.0.1:3001/berlin-group/v1/accounts/{id}/transactions?bookingStatus=booked&dateFrom=2024-01-01&dateTo=2025-12-31&page=3`,
 * carrying the query as resolved on the first page (dates made explicit, `deltaList` turned into
 * the bank's `deltaAfter`) so every page sees the same selection. Treat them as opaque.
 *
 * ## Controls for tests
 * `revokeConsent(id)`, `setClock(epochMs | Date)`, `advanceClock(ms)`, `resetClock()`, `now()`,
 * `stats()` (consents with status, PSU and today's read counts), `accountsOf(psuId)`.
 */
import { randomUUID } from 'node:crypto';
import type { AisEndpoint, ConsentStatus } from '../../../../libs/domain/consent';
import type { ScaStatus } from '../../../../libs/domain/transaction-status';
import { stableStringify } from '../bank';
import { SandboxErrorCode } from '../errors';
import { RequestLedger } from '../request-ledger';
import type { FieldProblem } from '../validation';
import { accountsOf, DEFAULT_PSU_ID, findAccount, SANDBOX_BIC, type SandboxAccount } from './accounts';
import { AisErrorCode, aisError, type AisError } from './errors';
import {
  balancesOf,
  dayOf,
  entryReferenceOf,
  findEntry,
  isoDate,
  ledgerOf,
  parseIsoDate,
  selectBooked,
  selectPending,
  transactionJson,
  type ExternalBookings,
  type ResolvedTransactionQuery,
} from './transactions';

export const SANDBOX_OTP = '123456';
export const WRONG_PASSWORD = 'wrong';
export const MAX_CONSENT_DAYS = 180;
const FAR_FUTURE = '9999-12-31';

export type AisScaApproach = 'REDIRECT' | 'DECOUPLED' | 'EMBEDDED';
export type ConsentDecision = 'approve' | 'deny';
type AllAccounts = 'allAccounts' | 'allAccountsWithOwnerName';
type Service = 'accounts' | 'balances' | 'transactions';

export interface AisSandboxOptions {
  /** Clock in epoch ms; the bank day is its UTC date. Default Date.now. */
  now?: () => number;
  /** Booked entries per transaction page; default 100. */
  transactionPageSize?: number;
  /** Opt-in kindness: answer a repeated creation X-Request-ID with the original consent. Default false. */
  deduplicateRequestIds?: boolean;
}

export interface AisBankSettings extends AisSandboxOptions {
  decoupledDelayMs?: number;
}

export const SCA_METHODS = [
  { authenticationType: 'SMS_OTP', authenticationMethodId: 'SMS_OTP', name: 'SMS OTP on phone +49160 xxxxx 28' },
  { authenticationType: 'PUSH_OTP', authenticationMethodId: 'PUSH_OTP', name: 'Push notification in the Clearway Sandbox Bank app' },
] as const;

interface EmbeddedProgress {
  step: 'received' | 'psuAuthenticated' | 'scaMethodSelected';
  chosenMethodId?: string;
}

interface ConsentAuthorisation {
  authorisationId: string;
  consentId: string;
  approach: AisScaApproach;
  createdAt: number;
  pageOpened: boolean;
  embedded?: EmbeddedProgress;
  decision?: { outcome: ConsentDecision; at: number };
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
}

/** What the consent grants, resolved to resource ids at creation. */
interface ConsentScope {
  kind: 'dedicated' | 'allPsd2' | 'availableAccounts' | 'availableAccountsWithBalance';
  accounts: Set<string>;
  balances: Set<string>;
  transactions: Set<string>;
  withOwnerName: boolean;
}

interface ConsentRecord {
  consentId: string;
  requestId: string;
  fingerprint: string;
  psuId: string;
  scope: ConsentScope;
  recurringIndicator: boolean;
  validUntilDay: number;
  frequencyPerDay: number;
  combinedServiceIndicator: boolean;
  createdAt: number;
  scaApproach: AisScaApproach;
  decoupledDecision: ConsentDecision;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  authorisationIds: string[];
  ended?: { status: 'revokedByPsu' | 'terminatedByTpp'; at: number };
  lastActionDay: number;
  /** `${day}|${endpoint}|${accountId}` → reads counted against frequencyPerDay. */
  reads: Map<string, number>;
  /** Per account: the last booked entry reported by a transaction listing (for deltaList). */
  deltaMarkers: Map<string, string>;
  created: ConsentCreationResponse;
}

/** What the bank grants from a valid consent request. */
type GrantedTerms = Pick<ConsentRecord, 'scope' | 'recurringIndicator' | 'validUntilDay' | 'frequencyPerDay' | 'combinedServiceIndicator'>;

export interface ConsentCreationResponse {
  body: Record<string, unknown>;
  location: string;
  scaApproach: AisScaApproach;
}

export interface CreateConsentRequest {
  /** X-Request-ID. */
  requestId: string;
  /** `Sandbox-Deduplicate`: overrides the sandbox's deduplication setting for this request. */
  deduplicate?: boolean;
  body: unknown;
  psuId?: string;
  tppRedirectPreferred?: boolean;
  tppRedirectUri?: string;
  tppNokRedirectUri?: string;
  baseUrl: string;
}

export type CreateConsentOutcome = { kind: 'created' | 'replayed'; response: ConsentCreationResponse } | AisError;

export interface ConsentStats {
  consentId: string;
  psuId: string;
  consentStatus: ConsentStatus;
  scaApproach: AisScaApproach;
  frequencyPerDay: number;
  /** X-Request-ID of the creating request. */
  requestId: string;
  /** Creation requests that carried this X-Request-ID (whatever each of them created). */
  creationRequests: number;
  /** Today's counted reads, keyed `${endpoint}:${accountId}` (`accounts:*` for the list). */
  readsToday: Record<string, number>;
  readsTotal: number;
}

export interface AisStats {
  totals: { consentsCreated: number; creationRequests: number };
  consents: ConsentStats[];
}

/** A read-only view of one consent, for tests and the SCA page. */
export interface SandboxConsentView {
  consentId: string;
  psuId: string;
  consentStatus: ConsentStatus;
  scaApproach: AisScaApproach;
  validUntil: string;
  frequencyPerDay: number;
  access: Record<string, unknown>;
  accounts: { iban: string; currency: string; name: string; services: Service[] }[];
  allAccounts?: { form: ConsentScope['kind']; ownerName: boolean };
  authorisationIds: string[];
}

export type ConsentPageState =
  | { kind: 'pending'; consent: SandboxConsentView; authorisationId: string }
  | { kind: 'done'; reason: string }
  | { kind: 'unknown' };

export type ConsentDecisionOutcome =
  | { kind: 'decided'; scaStatus: ScaStatus; redirectTo?: string }
  | { kind: 'refused'; reason: string }
  | { kind: 'unknown' };

/** Who is reading and how: the PSU is present when the TPP forwarded PSU-IP-Address. */
export interface ReadContext {
  consentId: string | undefined;
  psuPresent: boolean;
  baseUrl: string;
}

export interface TransactionListQuery {
  bookingStatus: 'booked' | 'pending' | 'both';
  dateFrom?: number;
  dateTo?: number;
  entryReferenceFrom?: string;
  deltaList: boolean;
  /** The bank's own paging state, present only on links it handed out. */
  deltaAfter?: string;
  page?: number;
  withBalance: boolean;
}

export type PsuDataStep =
  | { kind: 'none' }
  | { kind: 'credentials'; password: unknown }
  | { kind: 'selectMethod'; authenticationMethodId: unknown }
  | { kind: 'otp'; scaAuthenticationData: unknown };

export class AisSandboxBank {
  private readonly consents = new Map<string, ConsentRecord>();
  private readonly authorisations = new Map<string, ConsentAuthorisation>();
  private readonly decoupledDelayMs: number;
  private readonly pageSize: number;
  private readonly baseNow: () => number;
  private clockOverride?: number;
  private clockOffsetMs = 0;
  private readonly requestIds: RequestLedger;

  constructor(settings: AisBankSettings = {}) {
    this.requestIds = new RequestLedger(settings.deduplicateRequestIds ?? false);
    this.decoupledDelayMs = settings.decoupledDelayMs ?? 1000;
    this.pageSize = settings.transactionPageSize ?? 100;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new RangeError('transactionPageSize must be a positive integer');
    this.baseNow = settings.now ?? Date.now;
  }

  // ── bookings from the payment side ────────────────────────────────────────

  private bookingSource?: (iban: string, today: number) => ExternalBookings | undefined;

  /** The payment side books its executions (standing orders) on accounts through this. */
  setBookingSource(source: (iban: string, today: number) => ExternalBookings | undefined): void {
    this.bookingSource = source;
  }

  private ledger(account: SandboxAccount, today: number) {
    return ledgerOf(account, today, this.bookingSource?.(account.iban, today));
  }

  // ── clock ────────────────────────────────────────────────────────────────

  now(): number {
    return (this.clockOverride ?? this.baseNow()) + this.clockOffsetMs;
  }

  /** Freezes the bank clock at this instant (until advanced or reset). */
  setClock(at: number | Date): void {
    this.clockOverride = typeof at === 'number' ? at : at.getTime();
    this.clockOffsetMs = 0;
  }

  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  resetClock(): void {
    this.clockOverride = undefined;
    this.clockOffsetMs = 0;
  }

  private today(): number {
    return dayOf(this.now());
  }

  // ── inspection and PSU controls ─────────────────────────────────────────

  accountsOf(psuId: string = DEFAULT_PSU_ID): readonly SandboxAccount[] {
    return accountsOf(psuId);
  }

  stats(): AisStats {
    const today = this.today();
    const consents = [...this.consents.values()].map((record): ConsentStats => {
      const readsToday: Record<string, number> = {};
      let readsTotal = 0;
      for (const [key, count] of record.reads) {
        readsTotal += count;
        const [day, endpoint, accountId] = key.split('|');
        if (Number(day) === today) readsToday[`${endpoint}:${accountId}`] = count;
      }
      return {
        consentId: record.consentId,
        psuId: record.psuId,
        consentStatus: this.statusOf(record),
        scaApproach: record.scaApproach,
        frequencyPerDay: record.frequencyPerDay,
        requestId: record.requestId,
        creationRequests: this.requestIds.requestsWith(record.requestId),
        readsToday,
        readsTotal,
      };
    });
    return { totals: { consentsCreated: consents.length, creationRequests: this.requestIds.totalRequests }, consents };
  }

  /** Whether a repeated creation X-Request-ID answers the original consent (default: no, as real banks). */
  setDeduplication(on: boolean): void {
    this.requestIds.setDeduplication(on);
  }

  getConsentView(consentId: string): SandboxConsentView | undefined {
    const record = this.consents.get(consentId);
    return record && this.viewOf(record);
  }

  /** The PSU withdraws the consent in online banking. */
  revokeConsent(consentId: string): { consentStatus: ConsentStatus } | AisError {
    const record = this.consents.get(consentId);
    if (!record) return aisError(AisErrorCode.ConsentUnknown, `Consent ${consentId} is unknown`);
    const status = this.statusOf(record);
    if (status !== 'valid' && status !== 'received') {
      return aisError(SandboxErrorCode.StatusInvalid, `A ${status} consent cannot be revoked`);
    }
    record.ended = { status: 'revokedByPsu', at: this.now() };
    return { consentStatus: this.statusOf(record) };
  }

  // ── consents ─────────────────────────────────────────────────────────────

  createConsent(request: CreateConsentRequest): CreateConsentOutcome {
    const psuId = request.psuId ?? DEFAULT_PSU_ID;
    const fingerprint = stableStringify({ body: request.body, psuId });
    const replayOf = this.requestIds.admit(request.requestId, request.deduplicate);
    if (replayOf !== undefined) {
      const existing = this.consents.get(replayOf)!;
      if (existing.fingerprint !== fingerprint) {
        return aisError(
          SandboxErrorCode.IdempotencyConflict,
          `X-Request-ID ${request.requestId} was already used for consent ${existing.consentId} with a different body or PSU`,
        );
      }
      return { kind: 'replayed', response: existing.created };
    }

    const checked = this.checkConsentBody(request.body, psuId);
    if ('problems' in checked) return { error: SandboxErrorCode.FormatError, messages: checked.problems };

    const scaApproach: AisScaApproach =
      psuId === 'embedded'
        ? 'EMBEDDED'
        : psuId === 'decoupled' || psuId === 'decoupled-deny' || request.tppRedirectPreferred === false
          ? 'DECOUPLED'
          : 'REDIRECT';
    const consentId = randomUUID();
    const now = this.now();
    const draft: Omit<ConsentRecord, 'created'> = {
      consentId,
      requestId: request.requestId,
      fingerprint,
      psuId,
      ...checked,
      createdAt: now,
      scaApproach,
      decoupledDecision: psuId === 'decoupled-deny' ? 'deny' : 'approve',
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
      authorisationIds: [],
      lastActionDay: dayOf(now),
      reads: new Map(),
      deltaMarkers: new Map(),
    };
    const self = this.consentUrl(request.baseUrl, consentId);
    const links: Record<string, { href: string }> = { self: { href: self }, status: { href: `${self}/status` } };
    let authorisationId: string | undefined;
    if (scaApproach === 'EMBEDDED') {
      // BG embedded: the TPP starts the authorisation itself, with the PSU's password.
      links.startAuthorisationWithPsuAuthentication = { href: `${self}/authorisations` };
    } else {
      const authorisation = this.addAuthorisation(draft, { tppRedirectUri: request.tppRedirectUri, tppNokRedirectUri: request.tppNokRedirectUri });
      authorisationId = authorisation.authorisationId;
      if (scaApproach === 'REDIRECT') links.scaRedirect = { href: this.scaRedirectUrl(request.baseUrl, authorisationId) };
      links.scaStatus = { href: `${self}/authorisations/${authorisationId}` };
    }
    const created: ConsentCreationResponse = {
      location: self,
      scaApproach,
      body: {
        consentStatus: 'received',
        consentId,
        ...(authorisationId ? { authorisationId } : {}),
        _links: links,
        ...(scaApproach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
    this.consents.set(consentId, { ...draft, created });
    this.requestIds.recordCreated(request.requestId, consentId);
    return { kind: 'created', response: created };
  }

  /** BG consentInformationResponse: the access as granted, never what was asked for. */
  getConsent(consentId: string, baseUrl: string): Record<string, unknown> | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    const status = this.statusOf(record);
    return {
      access: this.grantedAccessOf(record),
      recurringIndicator: record.recurringIndicator,
      validUntil: isoDate(record.validUntilDay),
      frequencyPerDay: record.frequencyPerDay,
      lastActionDate: isoDate(record.lastActionDay),
      consentStatus: status,
      ...(status === 'valid' && record.scope.kind !== 'availableAccounts' && record.scope.kind !== 'availableAccountsWithBalance'
        ? { _links: { account: { href: `${baseUrl}/v1/accounts` } } }
        : {}),
    };
  }

  getConsentStatus(consentId: string): { consentStatus: ConsentStatus } | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    return { consentStatus: this.statusOf(record) };
  }

  deleteConsent(consentId: string): { consentStatus: ConsentStatus } | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    const status = this.statusOf(record);
    if (status === 'received' || status === 'valid') record.ended = { status: 'terminatedByTpp', at: this.now() };
    return { consentStatus: this.statusOf(record) };
  }

  // ── consent authorisations ──────────────────────────────────────────────

  startAuthorisation(
    consentId: string,
    step: PsuDataStep,
    request: { tppRedirectUri?: string; tppNokRedirectUri?: string; baseUrl: string },
  ): { body: Record<string, unknown>; scaApproach: AisScaApproach } | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    const status = this.statusOf(record);
    if (status !== 'received') return aisError(SandboxErrorCode.StatusInvalid, `No further authorisation possible: consent status is ${status}`);
    if (record.scaApproach !== 'EMBEDDED' && step.kind !== 'none' && step.kind !== 'credentials') {
      return aisError(SandboxErrorCode.FormatError, 'This consent is not authorised with the embedded approach');
    }
    if (record.scaApproach === 'EMBEDDED' && step.kind !== 'none' && step.kind !== 'credentials') {
      return aisError(SandboxErrorCode.StatusInvalid, 'Start the embedded authorisation with the PSU password (psuData) or an empty body');
    }
    // Check the password before creating anything: a refused start leaves no authorisation behind.
    if (record.scaApproach === 'EMBEDDED' && step.kind === 'credentials' && !passwordAccepted(step.password)) {
      return aisError(AisErrorCode.PsuCredentialsInvalid, 'PSU credentials are invalid (sandbox: any password except "wrong")', 'psuData.password');
    }
    const authorisation = this.addAuthorisation(record, request);
    const self = this.authorisationUrl(request.baseUrl, record.consentId, authorisation.authorisationId);
    if (record.scaApproach === 'EMBEDDED') {
      if (step.kind === 'credentials') authorisation.embedded = { step: 'psuAuthenticated' };
      return { scaApproach: 'EMBEDDED', body: { authorisationId: authorisation.authorisationId, ...this.embeddedBody(authorisation, self) } };
    }
    return {
      scaApproach: record.scaApproach,
      body: {
        scaStatus: this.scaStatusOf(authorisation),
        authorisationId: authorisation.authorisationId,
        _links: {
          ...(record.scaApproach === 'REDIRECT' ? { scaRedirect: { href: this.scaRedirectUrl(request.baseUrl, authorisation.authorisationId) } } : {}),
          scaStatus: { href: self },
        },
        ...(record.scaApproach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
      },
    };
  }

  listAuthorisations(consentId: string): { authorisationIds: string[] } | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    return { authorisationIds: [...record.authorisationIds] };
  }

  getScaStatus(consentId: string, authorisationId: string): { scaStatus: ScaStatus } | AisError {
    const found = this.findAuthorisation(consentId, authorisationId);
    if ('error' in found) return found;
    return { scaStatus: this.scaStatusOf(found.authorisation) };
  }

  /** PUT on an authorisation: one embedded step, or (redirect/decoupled) just the current status. */
  updatePsuData(
    consentId: string,
    authorisationId: string,
    step: PsuDataStep,
    baseUrl: string,
  ): { body: Record<string, unknown>; scaApproach: AisScaApproach } | AisError {
    const found = this.findAuthorisation(consentId, authorisationId);
    if ('error' in found) return found;
    const { record, authorisation } = found;
    const self = this.authorisationUrl(baseUrl, consentId, authorisationId);
    if (authorisation.approach !== 'EMBEDDED') {
      return {
        scaApproach: authorisation.approach,
        body: {
          scaStatus: this.scaStatusOf(authorisation),
          _links: { scaStatus: { href: self } },
          ...(authorisation.approach === 'DECOUPLED' ? { psuMessage: DECOUPLED_PSU_MESSAGE } : {}),
        },
      };
    }
    const progress = authorisation.embedded!;
    const scaStatus = this.scaStatusOf(authorisation);
    const outOfOrder = (expected: string) =>
      aisError(SandboxErrorCode.StatusInvalid, `scaStatus is ${scaStatus}: expected ${expected}`);
    if (scaStatus === 'finalised' || scaStatus === 'failed') return outOfOrder('nothing more (the authorisation is over)');
    if (this.statusOf(record) !== 'received') return outOfOrder('nothing more (the consent is no longer received)');

    switch (step.kind) {
      case 'credentials':
        if (progress.step !== 'received') return outOfOrder('authenticationMethodId or scaAuthenticationData');
        if (!passwordAccepted(step.password)) {
          return aisError(AisErrorCode.PsuCredentialsInvalid, 'PSU credentials are invalid (sandbox: any password except "wrong")', 'psuData.password');
        }
        progress.step = 'psuAuthenticated';
        break;
      case 'selectMethod': {
        if (progress.step !== 'psuAuthenticated') return outOfOrder(progress.step === 'received' ? 'psuData' : 'scaAuthenticationData');
        const method = SCA_METHODS.find((m) => m.authenticationMethodId === step.authenticationMethodId);
        if (!method) {
          return aisError(AisErrorCode.ScaMethodUnknown, `Unknown authenticationMethodId (offered: ${SCA_METHODS.map((m) => m.authenticationMethodId).join(', ')})`, 'authenticationMethodId');
        }
        progress.step = 'scaMethodSelected';
        progress.chosenMethodId = method.authenticationMethodId;
        break;
      }
      case 'otp':
        if (progress.step !== 'scaMethodSelected') return outOfOrder(progress.step === 'received' ? 'psuData' : 'authenticationMethodId');
        authorisation.decision = { outcome: step.scaAuthenticationData === SANDBOX_OTP ? 'approve' : 'deny', at: this.now() };
        break;
      case 'none':
        break;
    }
    return { scaApproach: 'EMBEDDED', body: this.embeddedBody(authorisation, self) };
  }

  // ── redirect SCA page ────────────────────────────────────────────────────

  openConsentPage(authorisationId: string): ConsentPageState {
    const found = this.redirectAuthorisation(authorisationId);
    if (!found) return { kind: 'unknown' };
    const blocked = this.decisionBlockedReason(found.record, found.authorisation);
    if (blocked) return { kind: 'done', reason: blocked };
    found.authorisation.pageOpened = true;
    return { kind: 'pending', consent: this.viewOf(found.record), authorisationId };
  }

  decideConsent(authorisationId: string, decision: ConsentDecision): ConsentDecisionOutcome {
    const found = this.redirectAuthorisation(authorisationId);
    if (!found) return { kind: 'unknown' };
    const { record, authorisation } = found;
    const blocked = this.decisionBlockedReason(record, authorisation);
    if (blocked) return { kind: 'refused', reason: blocked };
    authorisation.decision = { outcome: decision, at: this.now() };
    const okUri = authorisation.tppRedirectUri ?? record.tppRedirectUri;
    const nokUri = authorisation.tppNokRedirectUri ?? record.tppNokRedirectUri ?? okUri;
    return { kind: 'decided', scaStatus: this.scaStatusOf(authorisation), redirectTo: decision === 'approve' ? okUri : nokUri };
  }

  // ── reads ────────────────────────────────────────────────────────────────

  listAccounts(ctx: ReadContext, opts: { withBalance: boolean }): { accounts: Record<string, unknown>[] } | AisError {
    const consent = this.usableConsent(ctx.consentId);
    if ('error' in consent) return consent;
    const { scope } = consent;
    const listable = accountsOf(consent.psuId).filter((account) =>
      scope.kind === 'availableAccounts' || scope.kind === 'availableAccountsWithBalance' ? true : scope.accounts.has(account.resourceId),
    );
    if (opts.withBalance && !listable.some((account) => this.mayReadBalances(scope, account))) {
      return aisError(SandboxErrorCode.ServiceInvalid, 'The consent does not grant balances (withBalance)', 'withBalance');
    }
    const limited = this.countRead(consent, ctx, 'accounts', '*');
    if (limited) return limited;
    const today = this.today();
    return {
      accounts: listable.map((account) =>
        this.accountJson(account, scope, ctx.baseUrl, opts.withBalance && this.mayReadBalances(scope, account), today),
      ),
    };
  }

  getAccount(ctx: ReadContext, accountId: string, opts: { withBalance: boolean }): { account: Record<string, unknown> } | AisError {
    const found = this.accountFor(ctx, accountId, 'accounts');
    if ('error' in found) return found;
    const { consent, account } = found;
    if (opts.withBalance && !this.mayReadBalances(consent.scope, account)) {
      return aisError(SandboxErrorCode.ServiceInvalid, 'The consent does not grant balances of this account (withBalance)', 'withBalance');
    }
    const limited = this.countRead(consent, ctx, 'account', accountId);
    if (limited) return limited;
    return { account: this.accountJson(account, consent.scope, ctx.baseUrl, opts.withBalance, this.today()) };
  }

  getBalances(ctx: ReadContext, accountId: string): Record<string, unknown> | AisError {
    const found = this.accountFor(ctx, accountId, 'balances');
    if ('error' in found) return found;
    const limited = this.countRead(found.consent, ctx, 'balances', accountId);
    if (limited) return limited;
    const { account } = found;
    return { account: { iban: account.iban, currency: account.currency }, balances: balancesOf(this.ledger(account, this.today())) };
  }

  getTransactions(ctx: ReadContext, accountId: string, query: TransactionListQuery): Record<string, unknown> | AisError {
    const found = this.accountFor(ctx, accountId, 'transactions');
    if ('error' in found) return found;
    const { consent, account } = found;
    if (query.withBalance && !this.mayReadBalances(consent.scope, account)) {
      return aisError(SandboxErrorCode.ServiceInvalid, 'The consent does not grant balances of this account (withBalance)', 'withBalance');
    }
    const firstPage = query.page === undefined;
    // Following the bank's own page links is one report, not a new access.
    if (firstPage) {
      const limited = this.countRead(consent, ctx, 'transactions', accountId);
      if (limited) return limited;
    }
    const today = this.today();
    const ledger = this.ledger(account, today);

    const resolved: ResolvedTransactionQuery = { bookingStatus: query.bookingStatus };
    let deltaAfter = query.deltaAfter;
    if (query.deltaList && deltaAfter === undefined) deltaAfter = consent.deltaMarkers.get(accountId) ?? '';
    if (deltaAfter !== undefined) resolved.afterReference = deltaAfter;
    else if (query.entryReferenceFrom !== undefined) resolved.afterReference = query.entryReferenceFrom;
    else {
      resolved.dateFrom = query.dateFrom;
      resolved.dateTo = query.dateTo ?? today;
    }

    const booked = selectBooked(ledger, resolved);
    const pages = Math.max(1, Math.ceil(booked.length / this.pageSize));
    const page = query.page ?? 1;
    if (page > pages) return aisError(SandboxErrorCode.FormatError, `page ${page} is out of range (last page is ${pages})`, 'page');
    if (firstPage && ledger.booked.length > 0 && query.bookingStatus !== 'pending') {
      consent.deltaMarkers.set(accountId, entryReferenceOf(ledger.booked[ledger.booked.length - 1]));
    }

    const self = `${ctx.baseUrl}/v1/accounts/${encodeURIComponent(accountId)}`;
    const params = new URLSearchParams({ bookingStatus: query.bookingStatus });
    if (deltaAfter !== undefined) params.set('deltaAfter', deltaAfter);
    else if (query.entryReferenceFrom !== undefined) params.set('entryReferenceFrom', query.entryReferenceFrom);
    else {
      if (resolved.dateFrom !== undefined) params.set('dateFrom', isoDate(resolved.dateFrom));
      params.set('dateTo', isoDate(resolved.dateTo!));
    }
    if (query.withBalance) params.set('withBalance', 'true');
    const pageHref = (n: number) => ({ href: `${self}/transactions?${params.toString()}&page=${n}` });

    const report: Record<string, unknown> = {};
    if (query.bookingStatus !== 'pending') {
      report.booked = booked.slice((page - 1) * this.pageSize, page * this.pageSize).map((entry) => transactionJson(ledger, entry));
    }
    if (query.bookingStatus !== 'booked') {
      report.pending = page === 1 ? selectPending(ledger, resolved).map((entry) => transactionJson(ledger, entry)) : [];
    }
    report._links = {
      account: { href: self },
      first: pageHref(1),
      ...(page > 1 ? { previous: pageHref(page - 1) } : {}),
      ...(page < pages ? { next: pageHref(page + 1) } : {}),
      last: pageHref(pages),
    };
    return {
      account: { iban: account.iban, currency: account.currency },
      transactions: report,
      ...(query.withBalance ? { balances: balancesOf(ledger) } : {}),
    };
  }

  getTransaction(ctx: ReadContext, accountId: string, transactionId: string): Record<string, unknown> | AisError {
    const found = this.accountFor(ctx, accountId, 'transactions');
    if ('error' in found) return found;
    const ledger = this.ledger(found.account, this.today());
    const entry = findEntry(ledger, transactionId);
    if (!entry) return aisError(SandboxErrorCode.ResourceUnknown, `Transaction ${transactionId} is unknown for this account`, 'transactionId');
    const limited = this.countRead(found.consent, ctx, 'transaction', accountId);
    if (limited) return limited;
    return { transactionsDetails: { transactionDetails: transactionJson(ledger, entry) } };
  }

  // ── internals: consents ─────────────────────────────────────────────────

  private checkConsentBody(body: unknown, psuId: string): { problems: FieldProblem[] } | GrantedTerms {
    if (!isRecord(body)) return { problems: [{ text: 'The request body must be a JSON object (Content-Type: application/json)' }] };
    const problems: FieldProblem[] = [];
    const known = new Set(['access', 'recurringIndicator', 'validUntil', 'frequencyPerDay', 'combinedServiceIndicator']);
    for (const key of Object.keys(body)) if (!known.has(key)) problems.push({ path: key, text: `Unknown field ${key}` });
    for (const key of ['recurringIndicator', 'combinedServiceIndicator'] as const) {
      if (typeof body[key] !== 'boolean') problems.push({ path: key, text: `${key} must be true or false` });
    }
    const today = this.today();
    let validUntilDay = parseIsoDate(body.validUntil);
    if (validUntilDay === undefined) problems.push({ path: 'validUntil', text: 'validUntil must be an ISO date (YYYY-MM-DD)' });
    else if (validUntilDay < today) problems.push({ path: 'validUntil', text: `validUntil ${String(body.validUntil)} is in the past` });
    else if (body.validUntil === FAR_FUTURE || validUntilDay > today + MAX_CONSENT_DAYS) validUntilDay = today + MAX_CONSENT_DAYS;
    const frequency = body.frequencyPerDay;
    if (typeof frequency !== 'number' || !Number.isInteger(frequency) || frequency < 1) {
      problems.push({ path: 'frequencyPerDay', text: 'frequencyPerDay must be an integer of at least 1' });
    }
    const scope = checkAccess(body.access, accountsOf(psuId), problems);
    if (problems.length || !scope) return { problems };
    return {
      scope,
      recurringIndicator: body.recurringIndicator as boolean,
      validUntilDay: validUntilDay!,
      // A one-off consent allows one access without the PSU (BG: frequencyPerDay "1").
      frequencyPerDay: body.recurringIndicator ? (frequency as number) : 1,
      combinedServiceIndicator: body.combinedServiceIndicator as boolean,
    };
  }

  private findConsent(consentId: string): ConsentRecord | AisError {
    const record = this.consents.get(consentId);
    return record ?? aisError(AisErrorCode.ConsentUnknown, `Consent ${consentId} is unknown`, 'consentId');
  }

  private statusOf(record: ConsentRecord): ConsentStatus {
    if (record.ended) return record.ended.status;
    const outcome = this.scaOutcomeOf(record);
    if (outcome === 'deny') return 'rejected';
    if (this.today() > record.validUntilDay) return 'expired';
    return outcome === 'approve' ? 'valid' : 'received';
  }

  private grantedAccessOf(record: ConsentRecord): Record<string, unknown> {
    const { scope } = record;
    const accounts = accountsOf(record.psuId);
    const refs = (ids: Set<string>) => accounts.filter((a) => ids.has(a.resourceId)).map((a) => ({ iban: a.iban, currency: a.currency }));
    const allForm: AllAccounts = scope.withOwnerName ? 'allAccountsWithOwnerName' : 'allAccounts';
    if (scope.kind === 'availableAccounts' || scope.kind === 'availableAccountsWithBalance') return { [scope.kind]: allForm };
    return {
      accounts: refs(scope.accounts),
      balances: refs(scope.balances),
      transactions: refs(scope.transactions),
      ...(scope.kind === 'allPsd2' ? { allPsd2: allForm } : {}),
    };
  }

  private viewOf(record: ConsentRecord): SandboxConsentView {
    const { scope } = record;
    const services = (id: string): Service[] =>
      (['accounts', 'balances', 'transactions'] as const).filter((service) => scope[service].has(id));
    const available = scope.kind === 'availableAccounts' || scope.kind === 'availableAccountsWithBalance';
    return {
      consentId: record.consentId,
      psuId: record.psuId,
      consentStatus: this.statusOf(record),
      scaApproach: record.scaApproach,
      validUntil: isoDate(record.validUntilDay),
      frequencyPerDay: record.frequencyPerDay,
      access: this.grantedAccessOf(record),
      accounts: accountsOf(record.psuId)
        .filter((a) => available || scope.accounts.has(a.resourceId))
        .map((a) => ({ iban: a.iban, currency: a.currency, name: a.name, services: available ? ['accounts'] : services(a.resourceId) })),
      ...(scope.kind === 'dedicated' ? {} : { allAccounts: { form: scope.kind, ownerName: scope.withOwnerName } }),
      authorisationIds: [...record.authorisationIds],
    };
  }

  // ── internals: authorisations ───────────────────────────────────────────

  private addAuthorisation(
    record: Pick<ConsentRecord, 'consentId' | 'scaApproach' | 'authorisationIds'>,
    request: { tppRedirectUri?: string; tppNokRedirectUri?: string },
  ): ConsentAuthorisation {
    const authorisation: ConsentAuthorisation = {
      authorisationId: randomUUID(),
      consentId: record.consentId,
      approach: record.scaApproach,
      createdAt: this.now(),
      pageOpened: false,
      ...(record.scaApproach === 'EMBEDDED' ? { embedded: { step: 'received' as const } } : {}),
      tppRedirectUri: request.tppRedirectUri,
      tppNokRedirectUri: request.tppNokRedirectUri,
    };
    this.authorisations.set(authorisation.authorisationId, authorisation);
    record.authorisationIds.push(authorisation.authorisationId);
    return authorisation;
  }

  private findAuthorisation(consentId: string, authorisationId: string): { record: ConsentRecord; authorisation: ConsentAuthorisation } | AisError {
    const record = this.findConsent(consentId);
    if ('error' in record) return record;
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.consentId !== consentId) {
      return aisError(SandboxErrorCode.ResourceUnknown, `Authorisation ${authorisationId} is unknown for consent ${consentId}`, 'authorisationId');
    }
    return { record, authorisation };
  }

  private redirectAuthorisation(authorisationId: string): { record: ConsentRecord; authorisation: ConsentAuthorisation } | undefined {
    const authorisation = this.authorisations.get(authorisationId);
    if (!authorisation || authorisation.approach !== 'REDIRECT') return undefined;
    return { record: this.consents.get(authorisation.consentId)!, authorisation };
  }

  private decisionBlockedReason(record: ConsentRecord, authorisation: ConsentAuthorisation): string | undefined {
    if (authorisation.decision) return `This consent request was already ${authorisation.decision.outcome === 'approve' ? 'approved' : 'denied'}.`;
    const status = this.statusOf(record);
    if (status !== 'received') return `The consent is ${status}: nothing to authorise.`;
    return undefined;
  }

  private decisionOf(record: ConsentRecord, authorisation: ConsentAuthorisation): { outcome: ConsentDecision; at: number } | undefined {
    if (authorisation.decision) return authorisation.decision;
    if (authorisation.approach !== 'DECOUPLED') return undefined;
    const at = authorisation.createdAt + this.decoupledDelayMs;
    if (at > this.now()) return undefined;
    if (record.ended && record.ended.at <= at) return undefined;
    return { outcome: record.decoupledDecision, at };
  }

  /** The first authorisation to finish decides the consent. */
  private scaOutcomeOf(record: ConsentRecord): ConsentDecision | undefined {
    let first: { outcome: ConsentDecision; at: number } | undefined;
    for (const id of record.authorisationIds) {
      const decision = this.decisionOf(record, this.authorisations.get(id)!);
      if (decision && (!first || decision.at < first.at)) first = decision;
    }
    return first?.outcome;
  }

  private scaStatusOf(authorisation: ConsentAuthorisation): ScaStatus {
    const record = this.consents.get(authorisation.consentId)!;
    const decision = this.decisionOf(record, authorisation);
    if (decision) return decision.outcome === 'approve' ? 'finalised' : 'failed';
    if (record.ended) return 'failed';
    if (authorisation.embedded) return authorisation.embedded.step;
    if (authorisation.approach === 'DECOUPLED') return 'started';
    return authorisation.pageOpened ? 'started' : 'received';
  }

  private embeddedBody(authorisation: ConsentAuthorisation, self: string): Record<string, unknown> {
    const scaStatus = this.scaStatusOf(authorisation);
    const chosen = SCA_METHODS.find((m) => m.authenticationMethodId === authorisation.embedded?.chosenMethodId);
    switch (scaStatus) {
      case 'received':
        return { scaStatus, _links: { updatePsuAuthentication: { href: self }, scaStatus: { href: self } } };
      case 'psuAuthenticated':
        return { scaStatus, scaMethods: SCA_METHODS.map((m) => ({ ...m })), _links: { selectAuthenticationMethod: { href: self }, scaStatus: { href: self } } };
      case 'scaMethodSelected':
        return {
          scaStatus,
          chosenScaMethod: { ...chosen! },
          challengeData: {
            otpMaxLength: 6,
            otpFormat: 'integer',
            additionalInformation: `Enter the ${chosen!.authenticationType === 'SMS_OTP' ? 'code from the SMS' : 'code shown in the app'} (sandbox: ${SANDBOX_OTP})`,
          },
          _links: { authoriseTransaction: { href: self }, scaStatus: { href: self } },
        };
      default:
        return { scaStatus, _links: { scaStatus: { href: self } } };
    }
  }

  // ── internals: reads ────────────────────────────────────────────────────

  private usableConsent(consentId: string | undefined): ConsentRecord | AisError {
    if (!consentId) return aisError(SandboxErrorCode.FormatError, 'Header Consent-ID is missing', 'Consent-ID');
    const record = this.consents.get(consentId);
    if (!record) return aisError(AisErrorCode.ConsentUnknown, `Consent ${consentId} is unknown`, 'Consent-ID');
    const status = this.statusOf(record);
    if (status === 'expired') return aisError(AisErrorCode.ConsentExpired, `Consent expired after ${isoDate(record.validUntilDay)}`, 'Consent-ID');
    if (status !== 'valid') return aisError(AisErrorCode.ConsentInvalid, `Consent is ${status}`, 'Consent-ID');
    return record;
  }

  /** Consent usable, account the PSU's, in the consent, and the service granted for it. */
  private accountFor(ctx: ReadContext, accountId: string, service: Service): { consent: ConsentRecord; account: SandboxAccount } | AisError {
    const consent = this.usableConsent(ctx.consentId);
    if ('error' in consent) return consent;
    const account = findAccount(consent.psuId, accountId);
    if (!account) return aisError(SandboxErrorCode.ResourceUnknown, `Account ${accountId} is unknown`, 'account-id');
    const { scope } = consent;
    if (scope.kind === 'availableAccounts' || scope.kind === 'availableAccountsWithBalance') {
      return aisError(SandboxErrorCode.ServiceInvalid, `A ${scope.kind} consent only grants the account list`);
    }
    if (!scope.accounts.has(accountId)) return aisError(AisErrorCode.ConsentInvalid, `The consent does not cover account ${accountId}`, 'account-id');
    if (!scope[service].has(accountId)) return aisError(SandboxErrorCode.ServiceInvalid, `The consent does not grant ${service} of account ${accountId}`);
    return { consent, account };
  }

  private mayReadBalances(scope: ConsentScope, account: SandboxAccount): boolean {
    return scope.kind === 'availableAccountsWithBalance' || scope.balances.has(account.resourceId);
  }

  /** Counts a served read without the PSU; refuses the one beyond frequencyPerDay. */
  private countRead(consent: ConsentRecord, ctx: ReadContext, endpoint: AisEndpoint, accountId: string): AisError | undefined {
    const today = this.today();
    consent.lastActionDay = today;
    if (ctx.psuPresent) return undefined;
    const key = `${today}|${endpoint}|${accountId}`;
    const count = consent.reads.get(key) ?? 0;
    if (count >= consent.frequencyPerDay) {
      return aisError(
        SandboxErrorCode.AccessExceeded,
        `frequencyPerDay ${consent.frequencyPerDay} reached for ${endpoint} of ${accountId === '*' ? 'the account list' : accountId} today (reads without PSU-IP-Address)`,
      );
    }
    consent.reads.set(key, count + 1);
    return undefined;
  }

  private accountJson(account: SandboxAccount, scope: ConsentScope, baseUrl: string, withBalance: boolean, today: number): Record<string, unknown> {
    const self = `${baseUrl}/v1/accounts/${account.resourceId}`;
    const available = scope.kind === 'availableAccounts' || scope.kind === 'availableAccountsWithBalance';
    const links: Record<string, { href: string }> = {};
    if (!available && scope.balances.has(account.resourceId)) links.balances = { href: `${self}/balances` };
    if (!available && scope.transactions.has(account.resourceId)) links.transactions = { href: `${self}/transactions` };
    return {
      resourceId: account.resourceId,
      iban: account.iban,
      currency: account.currency,
      ...(scope.withOwnerName ? { ownerName: account.ownerName } : {}),
      name: account.name,
      product: account.product,
      cashAccountType: account.cashAccountType,
      status: 'enabled',
      bic: SANDBOX_BIC,
      usage: 'PRIV',
      ...(withBalance ? { balances: balancesOf(this.ledger(account, today)) } : {}),
      ...(Object.keys(links).length ? { _links: links } : {}),
    };
  }

  // ── links ────────────────────────────────────────────────────────────────

  private consentUrl(baseUrl: string, consentId: string): string {
    return `${baseUrl}/v1/consents/${consentId}`;
  }

  private authorisationUrl(baseUrl: string, consentId: string, authorisationId: string): string {
    return `${this.consentUrl(baseUrl, consentId)}/authorisations/${authorisationId}`;
  }

  private scaRedirectUrl(baseUrl: string, authorisationId: string): string {
    return `${baseUrl}/sca/consents/${authorisationId}`;
  }
}

const DECOUPLED_PSU_MESSAGE = 'Please confirm the access to your accounts in your Clearway Sandbox Bank app.';

function passwordAccepted(password: unknown): boolean {
  return typeof password === 'string' && password !== '' && password !== WRONG_PASSWORD;
}

const ACCESS_KEYS = new Set(['accounts', 'balances', 'transactions', 'availableAccounts', 'availableAccountsWithBalance', 'allPsd2']);
const ALL_ACCOUNTS_VALUES = new Set(['allAccounts', 'allAccountsWithOwnerName']);

/** BG `accountAccess` → scope over the PSU's accounts; pushes problems and returns undefined when invalid. */
function checkAccess(access: unknown, accounts: readonly SandboxAccount[], problems: FieldProblem[]): ConsentScope | undefined {
  if (!isRecord(access)) {
    problems.push({ path: 'access', text: 'access must be an object' });
    return undefined;
  }
  const keys = Object.keys(access);
  for (const key of keys) {
    if (!ACCESS_KEYS.has(key)) problems.push({ path: `access.${key}`, text: `access.${key} is not supported by this sandbox (known: ${[...ACCESS_KEYS].join(', ')})` });
  }
  const listKeys = (['accounts', 'balances', 'transactions'] as const).filter((k) => k in access);
  const allKeys = (['availableAccounts', 'availableAccountsWithBalance', 'allPsd2'] as const).filter((k) => k in access);
  if (listKeys.length === 0 && allKeys.length === 0) {
    problems.push({ path: 'access', text: 'access must name accounts, balances or transactions, or one of availableAccounts, availableAccountsWithBalance, allPsd2' });
  }
  if (allKeys.length > 1 || (allKeys.length && listKeys.length)) {
    problems.push({ path: 'access', text: `access mixes ${[...listKeys, ...allKeys].join(', ')}: use account lists or exactly one of the all-accounts forms` });
  }
  if (problems.length) return undefined;

  const all = new Set(accounts.map((a) => a.resourceId));
  if (allKeys.length) {
    const kind = allKeys[0];
    const value = access[kind];
    if (typeof value !== 'string' || !ALL_ACCOUNTS_VALUES.has(value)) {
      problems.push({ path: `access.${kind}`, text: `access.${kind} must be allAccounts or allAccountsWithOwnerName` });
      return undefined;
    }
    const granted = kind === 'allPsd2' ? all : new Set<string>();
    return { kind, accounts: granted, balances: granted, transactions: granted, withOwnerName: value === 'allAccountsWithOwnerName' };
  }

  const scope: ConsentScope = { kind: 'dedicated', accounts: new Set(), balances: new Set(), transactions: new Set(), withOwnerName: false };
  for (const key of listKeys) {
    const list = access[key];
    if (!Array.isArray(list)) {
      problems.push({ path: `access.${key}`, text: `access.${key} must be an array of account references` });
      continue;
    }
    // BG: an empty array asks for all accessible accounts; the sandbox PSU grants all of them.
    if (list.length === 0) for (const id of all) scope[key].add(id);
    list.forEach((reference, i) => {
      const path = `access.${key}[${i}]`;
      if (!isRecord(reference) || typeof reference.iban !== 'string') {
        problems.push({ path, text: `${path} must reference the account by iban (the only reference this sandbox supports)` });
        return;
      }
      const account = accounts.find((a) => a.iban === reference.iban);
      if (!account) {
        problems.push({ path: `${path}.iban`, text: `${path}.iban is not an account of this PSU (GET /_sandbox/psus/{psuId}/accounts lists them)` });
      } else if (reference.currency !== undefined && reference.currency !== account.currency) {
        problems.push({ path: `${path}.currency`, text: `${path}.currency does not match the account (${account.currency})` });
      } else {
        scope[key].add(account.resourceId);
      }
    });
  }
  // Balances or transactions of an account include its details.
  for (const id of [...scope.balances, ...scope.transactions]) scope.accounts.add(id);
  return problems.length ? undefined : scope;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
