/**
 * Wallet addresses the sandbox hosts, their keys, and key resolution for grant clients: a wallet
 * hosted here, a configured foreign client, or a foreign wallet whose `{url}/jwks.json` is fetched.
 */
import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DEFAULT_ASSET, type KnownClient, type SandboxWalletSeed } from './config';
import type { SandboxDatabase } from './database';
import { isEd25519Jwk, type Ed25519Jwk } from '../../../libs/security/http-signatures';

export const WALLET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
/** Path segments the resource and authorization servers use: no wallet can be named like them. */
export const RESERVED_NAMES = new Set(['auth', 'incoming-payments', 'outgoing-payments', 'quotes', 'outgoing-payment-grant', '_sandbox', 'health', 'jwks.json']);
const FEE_ACCOUNT_PREFIX = 'ase-fees-';

/** Names no wallet address may have: the servers' path segments and the ASE's fee accounts. */
export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name) || name.toLowerCase().startsWith(FEE_ACCOUNT_PREFIX);
}

/**
 * The ASE's fee account for an asset: a ledger row beside the wallets (so the sum of all balances
 * stays constant when fees are charged), never served as a wallet address.
 */
export function feeAccountName(asset: { assetCode: string; assetScale: number }): string {
  return `${FEE_ACCOUNT_PREFIX}${asset.assetCode.toLowerCase()}-${asset.assetScale}`;
}

export interface WalletRow {
  name: string;
  publicName: string;
  assetCode: string;
  assetScale: number;
  balance: bigint;
}

export function normaliseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

export function generateSandboxKey(kid = `sandbox-${randomUUID()}`): { publicJwk: Ed25519Jwk; privateJwk: Record<string, string> } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'jwk' }) as { x: string };
  const priv = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  return { publicJwk: { kid, kty: 'OKP', crv: 'Ed25519', x: pub.x, alg: 'EdDSA', use: 'sig' }, privateJwk: { ...priv, kid } };
}

export class WalletDirectory {
  private readonly foreignCache = new Map<string, { keys: Ed25519Jwk[]; at: number }>();
  private readonly known: Map<string, Ed25519Jwk[]>;

  constructor(
    private readonly db: SandboxDatabase,
    private readonly baseUrl: () => string,
    clients: readonly KnownClient[],
    private readonly fetchJwks: (url: string) => Promise<unknown>,
  ) {
    this.known = new Map(clients.map((client) => [normaliseUrl(client.walletAddress), client.jwks.filter(isEd25519Jwk)]));
  }

  urlOf(name: string): string {
    return `${this.baseUrl()}/${name}`;
  }

  /** The hosted wallet's name for a wallet address URL, or undefined when hosted elsewhere. */
  localName(url: string): string | undefined {
    const base = `${this.baseUrl()}/`;
    const clean = normaliseUrl(url);
    if (!clean.startsWith(base)) return undefined;
    const name = clean.slice(base.length);
    return WALLET_NAME.test(name) && !isReservedName(name) ? name : undefined;
  }

  async get(name: string, client: Pool | PoolClient = this.db.pool): Promise<WalletRow | undefined> {
    const { rows } = await client.query(
      `SELECT name, public_name, asset_code, asset_scale, balance FROM ${this.db.table('wallets')} WHERE name = $1`,
      [name],
    );
    return rows[0] ? toWallet(rows[0]) : undefined;
  }

  async all(): Promise<WalletRow[]> {
    const { rows } = await this.db.pool.query(
      `SELECT name, public_name, asset_code, asset_scale, balance FROM ${this.db.table('wallets')} ORDER BY name`,
    );
    return rows.map(toWallet);
  }

  async keysOf(name: string): Promise<Ed25519Jwk[]> {
    const { rows } = await this.db.pool.query<{ public_jwk: Ed25519Jwk }>(
      `SELECT public_jwk FROM ${this.db.table('wallet_keys')} WHERE wallet_name = $1 ORDER BY kid`,
      [name],
    );
    return rows.map((row) => row.public_jwk);
  }

  /** The private key the sandbox generated for a hosted wallet (alice, bob), to act as that client. */
  async privateKeyOf(name: string): Promise<{ keyId: string; privateKey: KeyObject } | undefined> {
    const { rows } = await this.db.pool.query<{ kid: string; private_jwk: Record<string, string> }>(
      `SELECT kid, private_jwk FROM ${this.db.table('wallet_keys')} WHERE wallet_name = $1 AND private_jwk IS NOT NULL ORDER BY kid LIMIT 1`,
      [name],
    );
    if (!rows[0]) return undefined;
    const { kid, ...jwk } = rows[0].private_jwk;
    void kid;
    return { keyId: rows[0].kid, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) };
  }

  /**
   * Creates a wallet (opening balance applied only then) or updates its name and keys. Without
   * `jwks` a new wallet gets a sandbox-generated key; an existing one keeps its keys.
   */
  async upsert(seed: SandboxWalletSeed): Promise<WalletRow> {
    if (!WALLET_NAME.test(seed.name) || isReservedName(seed.name)) throw new RangeError(`Invalid wallet name "${seed.name}"`);
    const assetCode = seed.assetCode ?? DEFAULT_ASSET.assetCode;
    const assetScale = seed.assetScale ?? DEFAULT_ASSET.assetScale;
    if (!/^[A-Z0-9]{3,12}$/.test(assetCode) || !Number.isInteger(assetScale) || assetScale < 0 || assetScale > 255) {
      throw new RangeError('assetCode must be 3-12 upper-case letters or digits and assetScale an integer 0..255');
    }
    const balance = BigInt(seed.balance ?? 0);
    if (balance < 0n) throw new RangeError('balance must not be negative');
    if (seed.jwks && !seed.jwks.every(isEd25519Jwk)) throw new RangeError('jwks must be Ed25519 public JWKs with kid, kty OKP, crv Ed25519, x');
    await this.db.transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO ${this.db.table('wallets')} (name, public_name, asset_code, asset_scale, balance) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING`,
        [seed.name, seed.publicName ?? seed.name, assetCode, assetScale, balance.toString()],
      );
      await client.query(
        `INSERT INTO ${this.db.table('wallets')} (name, public_name, asset_code, asset_scale, balance) VALUES ($1, $2, $3, $4, 0)
         ON CONFLICT (name) DO NOTHING`,
        [feeAccountName({ assetCode, assetScale }), `ASE fees ${assetCode}/${assetScale}`, assetCode, assetScale],
      );
      if (inserted.rowCount === 0 && seed.publicName) {
        await client.query(`UPDATE ${this.db.table('wallets')} SET public_name = $2 WHERE name = $1`, [seed.name, seed.publicName]);
      }
      if (seed.jwks) {
        await client.query(`DELETE FROM ${this.db.table('wallet_keys')} WHERE wallet_name = $1`, [seed.name]);
        for (const jwk of seed.jwks) {
          await client.query(`INSERT INTO ${this.db.table('wallet_keys')} (wallet_name, kid, public_jwk) VALUES ($1, $2, $3)`, [
            seed.name,
            jwk.kid,
            JSON.stringify(publicPart(jwk)),
          ]);
        }
      } else if (inserted.rowCount === 1) {
        const key = generateSandboxKey(`${seed.name}-key-1`);
        await client.query(
          `INSERT INTO ${this.db.table('wallet_keys')} (wallet_name, kid, public_jwk, private_jwk) VALUES ($1, $2, $3, $4)`,
          [seed.name, key.publicJwk.kid, JSON.stringify(key.publicJwk), JSON.stringify(key.privateJwk)],
        );
      }
    });
    return (await this.get(seed.name))!;
  }

  /**
   * The keys a grant client may sign with: a hosted wallet's, a configured client's, or those
   * served at `{client}/jwks.json` (fetched, cached for a minute). undefined when unknown.
   */
  async clientKeys(clientUrl: string): Promise<Ed25519Jwk[] | undefined> {
    const clean = normaliseUrl(clientUrl);
    const local = this.localName(clean);
    if (local) return (await this.get(local)) ? this.keysOf(local) : undefined;
    const known = this.known.get(clean);
    if (known) return known;
    const cached = this.foreignCache.get(clean);
    if (cached && Date.now() - cached.at < 60_000) return cached.keys;
    try {
      const document = (await this.fetchJwks(`${clean}/jwks.json`)) as { keys?: unknown };
      if (!document || !Array.isArray(document.keys)) return undefined;
      const keys = document.keys.filter(isEd25519Jwk);
      this.foreignCache.set(clean, { keys, at: Date.now() });
      return keys;
    } catch {
      return undefined;
    }
  }

  registerKnownClient(client: KnownClient): void {
    this.known.set(normaliseUrl(client.walletAddress), client.jwks.filter(isEd25519Jwk));
    this.foreignCache.delete(normaliseUrl(client.walletAddress));
  }
}

function publicPart(jwk: Ed25519Jwk): Ed25519Jwk {
  return { kid: jwk.kid, kty: 'OKP', crv: 'Ed25519', x: jwk.x, alg: 'EdDSA', use: 'sig' };
}

function toWallet(row: Record<string, unknown>): WalletRow {
  return {
    name: row.name as string,
    publicName: row.public_name as string,
    assetCode: row.asset_code as string,
    assetScale: Number(row.asset_scale),
    balance: BigInt(row.balance as string),
  };
}

export async function defaultFetchJwks(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json();
}
