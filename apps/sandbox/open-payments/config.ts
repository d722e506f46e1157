/**
 * Options of the Open Payments sandbox ASE, and how they are read from the environment.
 *
 * | env                               | default                          |
 * |-----------------------------------|----------------------------------|
 * | SANDBOX_OP_PORT                   | 3002                             |
 * | SANDBOX_HOST                      | 127.0.0.1                        |
 * | SANDBOX_OP_PUBLIC_URL             | http://{host}:{port}             |
 * | DATABASE_URL                      | (required)                       |
 * | SANDBOX_OP_DB_SCHEMA              | sandbox_open_payments            |
 * | SANDBOX_OP_ASSET_CODE             | EUR                              |
 * | SANDBOX_OP_ASSET_SCALE            | 2                                |
 * | SANDBOX_OP_ALICE_BALANCE          | 100000 (minor units: 1,000.00)   |
 * | SANDBOX_OP_BOB_BALANCE            | 0                                |
 * | SANDBOX_OP_AUTO_APPROVE           | false ("true" for benchmarks)    |
 * | SANDBOX_OP_QUOTE_TTL_MS           | 300000 (5 min)                   |
 * | SANDBOX_OP_TOKEN_TTL_SECONDS      | 600                              |
 * | SANDBOX_OP_CLIENTS                | JSON `[{ walletAddress, jwks }]` |
 */
import type { SandboxFaults } from '../berlin-group/faults';
import type { Ed25519Jwk } from '../../../libs/security/http-signatures';

/** A wallet address the sandbox hosts (balances live in PostgreSQL). */
export interface SandboxWalletSeed {
  name: string;
  publicName?: string;
  assetCode?: string;
  assetScale?: number;
  /** Opening balance in minor units, applied only when the wallet is first created. */
  balance?: bigint | number | string;
  /** Public keys; when omitted the sandbox generates an ed25519 key pair (see `walletKeys`). */
  jwks?: Ed25519Jwk[];
}

/** A client whose wallet address is hosted elsewhere, with its keys known in advance. */
export interface KnownClient {
  walletAddress: string;
  jwks: Ed25519Jwk[];
}

export interface OpenPaymentsSandboxOptions {
  databaseUrl: string;
  /** PostgreSQL schema of the sandbox (own migrations table inside it). */
  schema?: string;
  /** Base URL every id is built from, e.g. http://127.0.0.1:3002 (origin only, no path). */
  publicUrl?: string;
  /** The auth server's tenant id: `authServer` is `{publicUrl}/auth/{tenantId}` (default {@link DEFAULT_TENANT_ID}). */
  tenantId?: string;
  /** Defaults to alice (1,000.00) and bob (0.00), EUR scale 2. */
  wallets?: SandboxWalletSeed[];
  clients?: KnownClient[];
  /** Approve interactive grants without a person (benchmarks); see the README of the module. */
  autoApprove?: boolean;
  quoteTtlMs?: number;
  /** Default lifetime of an incoming payment without `expiresAt`. */
  incomingPaymentTtlMs?: number;
  accessTokenTtlSeconds?: number;
  /** Oldest accepted signature `created`, seconds (default 300). */
  signatureMaxAgeSeconds?: number;
  /** 0 = settle before answering the create; > 0 = pending first, settled after this delay. */
  settlementDelayMs?: number;
  /** Business clock (grant intervals, expiries). Signature freshness always uses the wall clock. */
  clock?: () => Date;
  faults?: Partial<SandboxFaults>;
  random?: () => number;
  /** Fetches a foreign client's `jwks.json` (default: global fetch). */
  fetchJwks?: (url: string) => Promise<unknown>;
}

/** The sandbox's one tenant, a UUID as Rafiki's tenants are. */
export const DEFAULT_TENANT_ID = 'cf5fd7d3-1eb1-4041-8e43-ba45747e9e5d';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const DEFAULT_ASSET = { assetCode: 'EUR', assetScale: 2 } as const;

export const DEFAULT_WALLETS: readonly SandboxWalletSeed[] = [
  { name: 'alice', publicName: 'Alice', balance: 100_000n },
  { name: 'bob', publicName: 'Bob', balance: 0n },
];

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function minorUnitsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: bigint): bigint {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,19}$/.test(raw)) throw new Error(`${name} must be an amount in minor units, got "${raw}"`);
  return BigInt(raw);
}

/** Options from the environment; `databaseUrl` is undefined when DATABASE_URL is not set. */
export function openPaymentsOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<OpenPaymentsSandboxOptions, 'databaseUrl'> & {
  databaseUrl: string | undefined;
} {
  const assetCode = env.SANDBOX_OP_ASSET_CODE || DEFAULT_ASSET.assetCode;
  const assetScale = intFromEnv(env, 'SANDBOX_OP_ASSET_SCALE', DEFAULT_ASSET.assetScale);
  let clients: KnownClient[] | undefined;
  if (env.SANDBOX_OP_CLIENTS) {
    const parsed: unknown = JSON.parse(env.SANDBOX_OP_CLIENTS);
    if (!Array.isArray(parsed)) throw new Error('SANDBOX_OP_CLIENTS must be a JSON array of { walletAddress, jwks }');
    clients = parsed as KnownClient[];
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    schema: env.SANDBOX_OP_DB_SCHEMA || undefined,
    publicUrl: env.SANDBOX_OP_PUBLIC_URL || undefined,
    tenantId: tenantIdFromEnv(env),
    wallets: [
      { name: 'alice', publicName: 'Alice', assetCode, assetScale, balance: minorUnitsFromEnv(env, 'SANDBOX_OP_ALICE_BALANCE', 100_000n) },
      { name: 'bob', publicName: 'Bob', assetCode, assetScale, balance: minorUnitsFromEnv(env, 'SANDBOX_OP_BOB_BALANCE', 0n) },
    ],
    clients,
    autoApprove: env.SANDBOX_OP_AUTO_APPROVE === 'true',
    quoteTtlMs: intFromEnv(env, 'SANDBOX_OP_QUOTE_TTL_MS', 300_000),
    accessTokenTtlSeconds: intFromEnv(env, 'SANDBOX_OP_TOKEN_TTL_SECONDS', 600),
  };
}

function tenantIdFromEnv(env: NodeJS.ProcessEnv): string {
  const raw = env.SANDBOX_OP_TENANT_ID;
  if (raw === undefined || raw === '') return DEFAULT_TENANT_ID;
  if (!UUID.test(raw)) throw new Error(`SANDBOX_OP_TENANT_ID must be a UUID, got "${raw}"`);
  return raw.toLowerCase();
}
