/**
 * The GNAP authorization server's state machine (RFC 9635 as profiled by Open Payments):
 *
 *   non-interactive (incoming-payment, quote) ── request ──► finalized/issued (token at once)
 *   interactive (any outgoing-payment)        ── request ──► pending
 *        pending ── approve ──► approved ── continue(interact_ref) ──► finalized/issued
 *        pending ── deny ─────► finalized/rejected  (continue → 401 request_denied)
 *   any ── DELETE /continue/{id} ──► finalized/revoked (all its tokens revoked)
 *
 * An interact_ref is single-use: the continue that redeems it finalizes the grant under a row lock,
 * so a replay (even the same client retrying after a lost answer) finds a finalized grant and is
 * refused with 401 `request_denied`, as by a current Rafiki.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { SandboxDatabase } from './database';
import { opError, OpenPaymentsErrorCode as E, type OpenPaymentsError } from './errors';
import { isEd25519Jwk, type Ed25519Jwk } from '../../../libs/security/http-signatures';
import { interactionHash } from '../../../libs/security/interaction-hash';
import { parseRepeatingInterval } from '../../../libs/domain/iso8601-interval';
import { normaliseUrl, type WalletDirectory } from './wallets';

export interface Amount {
  value: string;
  assetCode: string;
  assetScale: number;
}

export interface OutgoingLimits {
  debitAmount?: Amount;
  receiveAmount?: Amount;
  receiver?: string;
  interval?: string;
}

export type AccessType = 'incoming-payment' | 'outgoing-payment' | 'quote';

export interface AccessItem {
  type: AccessType;
  actions: string[];
  identifier?: string;
  limits?: OutgoingLimits;
}

const ACTIONS: Record<AccessType, readonly string[]> = {
  'incoming-payment': ['create', 'complete', 'read', 'read-all', 'list', 'list-all'],
  'outgoing-payment': ['create', 'read', 'read-all', 'list', 'list-all'],
  quote: ['create', 'read', 'read-all'],
};

export type GrantState = 'pending' | 'approved' | 'finalized';
export type GrantFinalization = 'issued' | 'rejected' | 'revoked';

export interface Grant {
  id: string;
  /** Client wallet address URL, or `jwk:<kid>` for directed identity. */
  client: string;
  clientJwk?: Ed25519Jwk;
  access: AccessItem[];
  state: GrantState;
  finalization?: GrantFinalization;
  continueToken: string;
  interactId?: string;
  interactNonce?: string;
  clientNonce?: string;
  finishUri?: string;
  interactRef?: string;
  interactRefUsed: boolean;
  createdAt: Date;
}

export interface AccessTokenRow {
  value: string;
  manageId: string;
  grantId: string;
  expiresAt: Date;
  revoked: boolean;
}

/** What a client asked for, after validation: who it is and which keys it signs with. */
export interface ParsedGrantRequest {
  client: string;
  clientJwk?: Ed25519Jwk;
  clientWalletUrl?: string;
  access: AccessItem[];
  interact?: { start: string[]; finish?: { method: 'redirect'; uri: string; nonce: string } };
}

export interface GrantServiceDeps {
  db: SandboxDatabase;
  wallets: WalletDirectory;
  clock: () => Date;
  baseUrl: () => string;
  /** The auth server's tenant: like a current multi-tenant Rafiki, `authServer` is `{base}/auth/{tenantId}`. */
  tenantId: string;
  autoApprove: () => boolean;
  accessTokenTtlSeconds: number;
}

export const CONTINUE_WAIT_SECONDS = 5;

function isAmount(value: unknown): value is Amount {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return (
    typeof a.value === 'string' &&
    /^\d{1,19}$/.test(a.value) &&
    BigInt(a.value) <= 18_446_744_073_709_551_615n &&
    typeof a.assetCode === 'string' &&
    Number.isInteger(a.assetScale) &&
    (a.assetScale as number) >= 0 &&
    (a.assetScale as number) <= 255
  );
}

export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Validates the grant request body (auth-server.yaml `POST /`); a refusal or the parsed request. */
export function parseGrantRequest(body: unknown): ParsedGrantRequest | OpenPaymentsError {
  const bad = (text: string) => opError(E.InvalidRequest, text);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('The grant request must be a JSON object');
  const b = body as Record<string, unknown>;

  let client: string;
  let clientJwk: Ed25519Jwk | undefined;
  let clientWalletUrl: string | undefined;
  if (isHttpUrl(b.client)) {
    clientWalletUrl = normaliseUrl(b.client);
    client = clientWalletUrl;
  } else if (typeof b.client === 'object' && b.client !== null && isHttpUrl((b.client as Record<string, unknown>).walletAddress)) {
    clientWalletUrl = normaliseUrl((b.client as { walletAddress: string }).walletAddress);
    client = clientWalletUrl;
  } else if (typeof b.client === 'object' && b.client !== null && isEd25519Jwk((b.client as Record<string, unknown>).jwk)) {
    clientJwk = (b.client as { jwk: Ed25519Jwk }).jwk;
    client = `jwk:${clientJwk.kid}`;
  } else {
    return opError(E.InvalidClient, 'client must be a wallet address URL, { walletAddress } or { jwk }', 400);
  }

  if (b.subject !== undefined) return bad('subject grants are not offered by this sandbox');
  const token = b.access_token as Record<string, unknown> | undefined;
  if (typeof token !== 'object' || token === null || !Array.isArray(token.access) || token.access.length === 0) {
    return bad('access_token.access must be a non-empty array');
  }
  if (token.access.length > 3) return bad('access_token.access has at most 3 items');
  const access: AccessItem[] = [];
  for (const [i, raw] of (token.access as unknown[]).entries()) {
    const where = `access_token.access[${i}]`;
    if (typeof raw !== 'object' || raw === null) return bad(`${where} must be an object`);
    const item = raw as Record<string, unknown>;
    const type = item.type as AccessType;
    if (!(type in ACTIONS)) return bad(`${where}.type must be incoming-payment, outgoing-payment or quote`);
    if (!Array.isArray(item.actions) || item.actions.length === 0 || !item.actions.every((a) => ACTIONS[type].includes(a as string))) {
      return bad(`${where}.actions must be some of ${ACTIONS[type].join(', ')}`);
    }
    if (new Set(item.actions).size !== item.actions.length) return bad(`${where}.actions must be unique`);
    if (item.identifier !== undefined && !isHttpUrl(item.identifier)) return bad(`${where}.identifier must be a wallet address URL`);
    if (type === 'quote' && item.identifier !== undefined) return bad(`${where}: quote access has no identifier`);
    if (type === 'outgoing-payment' && item.identifier === undefined) return bad(`${where}.identifier is required for outgoing-payment`);
    const parsed: AccessItem = { type, actions: item.actions as string[] };
    if (item.identifier !== undefined) parsed.identifier = normaliseUrl(item.identifier as string);
    if (item.limits !== undefined) {
      if (type !== 'outgoing-payment') return bad(`${where}.limits are only defined for outgoing-payment`);
      const limits = item.limits as Record<string, unknown>;
      if (typeof limits !== 'object' || limits === null) return bad(`${where}.limits must be an object`);
      const unknown = Object.keys(limits).filter((k) => !['debitAmount', 'receiveAmount', 'receiver', 'interval'].includes(k));
      if (unknown.length) return bad(`${where}.limits: unknown ${unknown.join(', ')}`);
      if (limits.debitAmount !== undefined && limits.receiveAmount !== undefined) return bad('Only one of debitAmount or receiveAmount may be specified');
      if (limits.debitAmount !== undefined && !isAmount(limits.debitAmount)) return bad(`${where}.limits.debitAmount is not an amount`);
      if (limits.receiveAmount !== undefined && !isAmount(limits.receiveAmount)) return bad(`${where}.limits.receiveAmount is not an amount`);
      if (limits.receiver !== undefined && !(isHttpUrl(limits.receiver) && /\/incoming-payments\/.+$/.test(limits.receiver))) {
        return bad(`${where}.limits.receiver must be an incoming payment URL`);
      }
      if (limits.interval !== undefined && (typeof limits.interval !== 'string' || !parseRepeatingInterval(limits.interval))) {
        return bad(`${where}.limits.interval must be an ISO 8601 repeating interval like R12/2027-01-01T00:00:00Z/P1M`);
      }
      parsed.limits = limits as OutgoingLimits;
    }
    access.push(parsed);
  }

  let interact: ParsedGrantRequest['interact'];
  if (b.interact !== undefined) {
    const i = b.interact as Record<string, unknown>;
    if (typeof i !== 'object' || i === null || !Array.isArray(i.start) || !i.start.every((s) => s === 'redirect')) {
      return bad('interact.start must be ["redirect"]');
    }
    interact = { start: i.start as string[] };
    if (i.finish !== undefined) {
      const f = i.finish as Record<string, unknown>;
      if (typeof f !== 'object' || f === null || f.method !== 'redirect' || !isHttpUrl(f.uri) || typeof f.nonce !== 'string' || f.nonce === '') {
        return bad('interact.finish must be { method: "redirect", uri, nonce }');
      }
      interact.finish = { method: 'redirect', uri: f.uri, nonce: f.nonce };
    }
  }
  if (access.some((a) => a.type === 'outgoing-payment')) {
    if (!interact || !interact.start.includes('redirect')) return bad('outgoing-payment grants need interaction: interact.start ["redirect"]');
    if (clientJwk) return bad('a client identified by jwk (directed identity) may only request non-interactive grants');
  }
  return { client, clientJwk, clientWalletUrl, access, interact };
}

function token(): string {
  return randomBytes(20).toString('hex').toUpperCase();
}

export class GrantService {
  constructor(private readonly deps: GrantServiceDeps) {}

  /**
   * The wallet addresses' `authServer`, shaped like a current multi-tenant Rafiki's: a URL with a
   * path and no trailing slash. It is also the grant endpoint, and the interaction hash is computed
   * over it exactly as written (RFC 9635 §4.2.3): a client that appends `/` fails the hash check,
   * as it would against a real wallet.
   */
  get tenantId(): string {
    return this.deps.tenantId;
  }

  get authServerUrl(): string {
    return `${this.deps.baseUrl()}/auth/${this.deps.tenantId}`;
  }

  continueUri(grant: Pick<Grant, 'id'>): string {
    return `${this.authServerUrl}/continue/${grant.id}`;
  }

  interactUrl(grant: Pick<Grant, 'interactId' | 'interactNonce'>): string {
    return `${this.authServerUrl}/interact/${grant.interactId}/${grant.interactNonce}`;
  }

  /** Keys the grant's client signs with (directed identity: the JWK it sent). */
  async clientKeys(grant: Pick<Grant, 'client' | 'clientJwk'>): Promise<Ed25519Jwk[] | undefined> {
    return grant.clientJwk ? [grant.clientJwk] : this.deps.wallets.clientKeys(grant.client);
  }

  /** Checks the access against hosted wallets (identifiers, assets), then stores the grant. */
  async request(request: ParsedGrantRequest): Promise<{ status: number; body: unknown } | OpenPaymentsError> {
    for (const item of request.access) {
      if (!item.identifier) continue;
      const name = this.deps.wallets.localName(item.identifier);
      const wallet = name ? await this.deps.wallets.get(name) : undefined;
      if (!wallet) return opError(E.InvalidRequest, `identifier ${item.identifier} is not a wallet address of this ASE`);
      for (const amount of [item.limits?.debitAmount].filter((a): a is Amount => !!a)) {
        if (amount.assetCode !== wallet.assetCode || amount.assetScale !== wallet.assetScale) {
          return opError(E.InvalidRequest, `limits.debitAmount must be in ${wallet.assetCode} scale ${wallet.assetScale}`);
        }
      }
    }
    const interactive = request.access.some((a) => a.type === 'outgoing-payment');
    const now = this.deps.clock();
    const grant: Grant = {
      id: randomUUID(),
      client: request.client,
      clientJwk: request.clientJwk,
      access: request.access,
      state: interactive ? 'pending' : 'finalized',
      finalization: interactive ? undefined : 'issued',
      continueToken: token(),
      interactRefUsed: false,
      createdAt: now,
    };
    if (interactive) {
      grant.interactId = randomUUID();
      grant.interactNonce = randomUUID();
      grant.clientNonce = request.interact?.finish?.nonce;
      grant.finishUri = request.interact?.finish?.uri;
      if (this.deps.autoApprove()) {
        grant.state = 'approved';
        grant.interactRef = randomUUID();
      }
    }
    return this.deps.db.transaction(async (client) => {
      await this.insertGrant(client, grant);
      const continuation = { access_token: { value: grant.continueToken }, uri: this.continueUri(grant) };
      if (!interactive) {
        const issued = await this.issueToken(client, grant);
        return { status: 200, body: { access_token: issued, continue: continuation } };
      }
      return {
        status: 200,
        body: {
          interact: { redirect: this.interactUrl(grant), finish: grant.interactNonce },
          continue: { ...continuation, wait: CONTINUE_WAIT_SECONDS },
        },
      };
    });
  }

  async byId(id: string): Promise<Grant | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.deps.db.pool.query(`SELECT * FROM ${this.deps.db.table('grants')} WHERE id = $1`, [id]);
    return rows[0] ? toGrant(rows[0]) : undefined;
  }

  async byInteraction(interactId: string, nonce: string): Promise<Grant | undefined> {
    if (!isUuid(interactId)) return undefined;
    const { rows } = await this.deps.db.pool.query(
      `SELECT * FROM ${this.deps.db.table('grants')} WHERE interact_id = $1 AND interact_nonce = $2`,
      [interactId, nonce],
    );
    return rows[0] ? toGrant(rows[0]) : undefined;
  }

  /**
   * The person's decision on the consent page. Returns where to send the browser: the client's
   * finish URI with `hash` and `interact_ref` (approved) or `result=grant_rejected` (denied), or
   * undefined when the client asked for no finish redirect.
   */
  async decide(interactId: string, nonce: string, decision: 'approve' | 'deny'): Promise<{ redirect?: string; grant: Grant } | OpenPaymentsError> {
    return this.deps.db.transaction(async (client) => {
      const { rows } = await client.query(
        `SELECT * FROM ${this.deps.db.table('grants')} WHERE interact_id = $1 AND interact_nonce = $2 FOR UPDATE`,
        [interactId, nonce],
      );
      if (!rows[0]) return opError(E.UnknownInteraction, 'unknown interaction');
      const grant = toGrant(rows[0]);
      if (grant.state !== 'pending') return opError(E.InvalidInteraction, 'this grant was already decided');
      if (decision === 'approve') {
        grant.state = 'approved';
        grant.interactRef = randomUUID();
      } else {
        grant.state = 'finalized';
        grant.finalization = 'rejected';
      }
      await client.query(`UPDATE ${this.deps.db.table('grants')} SET state = $2, finalization = $3, interact_ref = $4 WHERE id = $1`, [
        grant.id,
        grant.state,
        grant.finalization ?? null,
        grant.interactRef ?? null,
      ]);
      return { grant, redirect: this.finishRedirect(grant) };
    });
  }

  /** The finish redirect for a decided grant (also used by autoApprove when the page is opened). */
  finishRedirect(grant: Grant): string | undefined {
    if (!grant.finishUri) return undefined;
    const url = new URL(grant.finishUri);
    if (grant.state === 'approved' && grant.interactRef && grant.clientNonce && grant.interactNonce) {
      url.searchParams.set('hash', interactionHash({ clientNonce: grant.clientNonce, finishNonce: grant.interactNonce, interactRef: grant.interactRef, grantEndpoint: this.authServerUrl }));
      url.searchParams.set('interact_ref', grant.interactRef);
    } else if (grant.finalization === 'rejected') {
      url.searchParams.set('result', 'grant_rejected');
    } else {
      url.searchParams.set('result', 'grant_invalid');
    }
    return url.toString();
  }

  /**
   * `POST /continue/{id}`: the continuation token was checked by the caller. With an
   * `interact_ref`, answers as a current Rafiki does (packages/auth/src/grant/routes.ts):
   * - a reference that is not this grant's, or a rejected or revoked grant → 404 `invalid_continuation`;
   * - a grant that is not `approved` → 401 `request_denied`. That includes a **repeated continuation**:
   *   the first one finalized the grant and issued a token, and that answer is never given again,
   *   not even to the same client with the same reference (RFC 9635 §5.1 has the interaction
   *   reference single-use and answers `too_many_attempts`; Rafiki answers `request_denied`). A client
   *   that lost the first answer cannot get the token; it can only revoke the grant.
   * Without one (polling), the sandbox's older rules stay: pending → `wait`, autoApprove → token.
   */
  async continue(grantId: string, interactRef: string | undefined): Promise<{ status: number; body: unknown } | OpenPaymentsError> {
    return this.deps.db.transaction(async (client) => {
      const { rows } = await client.query(`SELECT * FROM ${this.deps.db.table('grants')} WHERE id = $1 FOR UPDATE`, [grantId]);
      if (!rows[0]) return opError(E.InvalidContinuation, 'grant not found', 404);
      const grant = toGrant(rows[0]);
      const continuation = { access_token: { value: grant.continueToken }, uri: this.continueUri(grant) };
      if (interactRef !== undefined) {
        if (interactRef !== grant.interactRef || grant.finalization === 'rejected' || grant.finalization === 'revoked') {
          return opError(E.InvalidContinuation, 'grant not found', 404);
        }
        if (grant.state !== 'approved') return opError(E.RequestDenied, 'grant interaction not approved');
      } else {
        if (grant.finalization === 'rejected') return opError(E.RequestDenied, 'the resource owner denied the grant');
        if (grant.state === 'finalized') return opError(E.RequestDenied, 'grant cannot be continued');
        if (grant.state === 'pending') return { status: 200, body: { continue: { ...continuation, wait: CONTINUE_WAIT_SECONDS } } };
        if (grant.finishUri && !this.deps.autoApprove()) return opError(E.InvalidRequest, 'interact_ref is required');
      }
      grant.state = 'finalized';
      grant.finalization = 'issued';
      await client.query(
        `UPDATE ${this.deps.db.table('grants')} SET state = 'finalized', finalization = 'issued', interact_ref_used = true WHERE id = $1`,
        [grant.id],
      );
      const issued = await this.issueToken(client, grant);
      return { status: 200, body: { access_token: issued, continue: continuation } };
    });
  }

  /** `DELETE /continue/{id}`: revokes the grant and every token issued under it. */
  async revoke(grantId: string): Promise<void> {
    await this.deps.db.transaction(async (client) => {
      await client.query(
        `UPDATE ${this.deps.db.table('grants')} SET state = 'finalized', finalization = CASE WHEN finalization = 'rejected' THEN 'rejected' ELSE 'revoked' END WHERE id = $1`,
        [grantId],
      );
      await client.query(`UPDATE ${this.deps.db.table('access_tokens')} SET revoked = true WHERE grant_id = $1`, [grantId]);
    });
  }

  async tokenByManageId(manageId: string): Promise<(AccessTokenRow & { grant: Grant }) | undefined> {
    if (!isUuid(manageId)) return undefined;
    const { rows } = await this.deps.db.pool.query(
      `SELECT t.value, t.manage_id, t.grant_id, t.expires_at, t.revoked, g.* FROM ${this.deps.db.table('access_tokens')} t
       JOIN ${this.deps.db.table('grants')} g ON g.id = t.grant_id WHERE t.manage_id = $1`,
      [manageId],
    );
    return rows[0] ? { ...toToken(rows[0]), grant: toGrant(rows[0]) } : undefined;
  }

  async tokenByValue(value: string): Promise<(AccessTokenRow & { grant: Grant }) | undefined> {
    const { rows } = await this.deps.db.pool.query(
      `SELECT t.value, t.manage_id, t.grant_id, t.expires_at, t.revoked, g.* FROM ${this.deps.db.table('access_tokens')} t
       JOIN ${this.deps.db.table('grants')} g ON g.id = t.grant_id WHERE t.value = $1`,
      [value],
    );
    return rows[0] ? { ...toToken(rows[0]), grant: toGrant(rows[0]) } : undefined;
  }

  /** `POST /token/{id}`: a new token for the same grant; the old one stops working. Expired tokens may rotate. */
  async rotate(manageId: string): Promise<{ access_token: unknown } | OpenPaymentsError> {
    return this.deps.db.transaction(async (client) => {
      const { rows } = await client.query(
        `SELECT t.value, t.manage_id, t.grant_id, t.expires_at, t.revoked, g.* FROM ${this.deps.db.table('access_tokens')} t
         JOIN ${this.deps.db.table('grants')} g ON g.id = t.grant_id WHERE t.manage_id = $1 FOR UPDATE OF t`,
        [manageId],
      );
      if (!rows[0]) return opError(E.InvalidRotation, 'unknown token', 404);
      const current = toToken(rows[0]);
      const grant = toGrant(rows[0]);
      if (current.revoked || grant.finalization !== 'issued') return opError(E.InvalidRotation, 'the token was revoked');
      await client.query(`UPDATE ${this.deps.db.table('access_tokens')} SET revoked = true WHERE manage_id = $1`, [manageId]);
      return { access_token: await this.issueToken(client, grant) };
    });
  }

  /** `DELETE /token/{id}`: idempotent. */
  async revokeToken(manageId: string): Promise<void> {
    await this.deps.db.pool.query(`UPDATE ${this.deps.db.table('access_tokens')} SET revoked = true WHERE manage_id = $1`, [manageId]);
  }

  /** A token is usable while not revoked, not expired (business clock) and its grant is issued. */
  isTokenActive(token: AccessTokenRow & { grant: Grant }): boolean {
    return !token.revoked && token.expiresAt.getTime() > this.deps.clock().getTime() && token.grant.finalization === 'issued';
  }

  private async insertGrant(client: PoolClient, grant: Grant): Promise<void> {
    await client.query(
      `INSERT INTO ${this.deps.db.table('grants')}
        (id, client, client_jwk, access, state, finalization, continue_token, interact_id, interact_nonce, client_nonce, finish_uri, interact_ref, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        grant.id,
        grant.client,
        grant.clientJwk ? JSON.stringify(grant.clientJwk) : null,
        JSON.stringify(grant.access),
        grant.state,
        grant.finalization ?? null,
        grant.continueToken,
        grant.interactId ?? null,
        grant.interactNonce ?? null,
        grant.clientNonce ?? null,
        grant.finishUri ?? null,
        grant.interactRef ?? null,
        grant.createdAt,
      ],
    );
  }

  private async issueToken(client: PoolClient, grant: Grant): Promise<{ value: string; manage: string; expires_in: number; access: AccessItem[] }> {
    const value = token();
    const manageId = randomUUID();
    const now = this.deps.clock();
    await client.query(
      `INSERT INTO ${this.deps.db.table('access_tokens')} (value, manage_id, grant_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [value, manageId, grant.id, new Date(now.getTime() + this.deps.accessTokenTtlSeconds * 1000), now],
    );
    return { value, manage: `${this.authServerUrl}/token/${manageId}`, expires_in: this.deps.accessTokenTtlSeconds, access: grant.access };
  }
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

function toGrant(row: Record<string, unknown>): Grant {
  return {
    id: row.id as string,
    client: row.client as string,
    clientJwk: (row.client_jwk as Ed25519Jwk | null) ?? undefined,
    access: row.access as AccessItem[],
    state: row.state as GrantState,
    finalization: (row.finalization as GrantFinalization | null) ?? undefined,
    continueToken: row.continue_token as string,
    interactId: (row.interact_id as string | null) ?? undefined,
    interactNonce: (row.interact_nonce as string | null) ?? undefined,
    clientNonce: (row.client_nonce as string | null) ?? undefined,
    finishUri: (row.finish_uri as string | null) ?? undefined,
    interactRef: (row.interact_ref as string | null) ?? undefined,
    interactRefUsed: row.interact_ref_used as boolean,
    createdAt: row.created_at as Date,
  };
}

function toToken(row: Record<string, unknown>): AccessTokenRow {
  return {
    value: row.value as string,
    manageId: row.manage_id as string,
    grantId: row.grant_id as string,
    expiresAt: row.expires_at as Date,
    revoked: row.revoked as boolean,
  };
}
