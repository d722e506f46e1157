/**
 * The sandbox ASE's own PostgreSQL schema (default `sandbox_open_payments`) and a tiny migration
 * runner with its own `migrations` table inside that schema, so it never touches Clearway's tables
 * or Clearway's TypeORM migration history. Amounts are bigint minor units.
 */
import { Pool, type PoolClient } from 'pg';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** In order. Never edit a shipped migration: add a new one. */
const MIGRATIONS: { id: string; sql: (s: string) => string }[] = [
  {
    id: '0001-ledger-grants-payments',
    sql: (s) => `
      CREATE TABLE ${s}.wallets (
        name text PRIMARY KEY,
        public_name text NOT NULL,
        asset_code text NOT NULL,
        asset_scale smallint NOT NULL CHECK (asset_scale BETWEEN 0 AND 255),
        balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${s}.wallet_keys (
        wallet_name text NOT NULL REFERENCES ${s}.wallets(name) ON DELETE CASCADE,
        kid text NOT NULL,
        public_jwk jsonb NOT NULL,
        -- Only for keys the sandbox generated itself (alice, bob): test mode, no real money.
        private_jwk jsonb,
        PRIMARY KEY (wallet_name, kid)
      );
      CREATE TABLE ${s}.grants (
        id uuid PRIMARY KEY,
        client text NOT NULL,
        client_jwk jsonb,
        access jsonb NOT NULL,
        state text NOT NULL,
        finalization text,
        continue_token text NOT NULL UNIQUE,
        interact_id uuid UNIQUE,
        interact_nonce text,
        client_nonce text,
        finish_uri text,
        interact_ref text UNIQUE,
        interact_ref_used boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE ${s}.access_tokens (
        value text PRIMARY KEY,
        manage_id uuid NOT NULL UNIQUE,
        grant_id uuid NOT NULL REFERENCES ${s}.grants(id),
        expires_at timestamptz NOT NULL,
        revoked boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE ${s}.incoming_payments (
        id uuid PRIMARY KEY,
        wallet_name text NOT NULL REFERENCES ${s}.wallets(name),
        client text,
        incoming_amount bigint CHECK (incoming_amount > 0),
        received_amount bigint NOT NULL DEFAULT 0 CHECK (received_amount >= 0),
        completed boolean NOT NULL DEFAULT false,
        expires_at timestamptz NOT NULL,
        metadata jsonb,
        created_at timestamptz NOT NULL,
        seq bigserial UNIQUE
      );
      CREATE INDEX ON ${s}.incoming_payments (wallet_name, seq);
      CREATE TABLE ${s}.quotes (
        id uuid PRIMARY KEY,
        wallet_name text NOT NULL REFERENCES ${s}.wallets(name),
        client text,
        receiver text NOT NULL,
        incoming_payment_id uuid NOT NULL REFERENCES ${s}.incoming_payments(id),
        debit_amount bigint NOT NULL CHECK (debit_amount > 0),
        receive_amount bigint NOT NULL CHECK (receive_amount > 0),
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE ${s}.outgoing_payments (
        id uuid PRIMARY KEY,
        wallet_name text NOT NULL REFERENCES ${s}.wallets(name),
        client text,
        grant_id uuid REFERENCES ${s}.grants(id),
        -- A quote pays at most once.
        quote_id uuid UNIQUE REFERENCES ${s}.quotes(id),
        receiver text NOT NULL,
        incoming_payment_id uuid NOT NULL REFERENCES ${s}.incoming_payments(id),
        debit_amount bigint NOT NULL CHECK (debit_amount > 0),
        receive_amount bigint NOT NULL CHECK (receive_amount > 0),
        sent_amount bigint NOT NULL DEFAULT 0 CHECK (sent_amount >= 0 AND sent_amount <= debit_amount),
        state text NOT NULL,
        failure text,
        metadata jsonb,
        idempotency_key text,
        created_at timestamptz NOT NULL,
        seq bigserial UNIQUE,
        UNIQUE (client, idempotency_key)
      );
      CREATE INDEX ON ${s}.outgoing_payments (wallet_name, seq);
      CREATE INDEX ON ${s}.outgoing_payments (grant_id, created_at);
      -- Double entry: one row per settled outgoing payment. The unique key makes settlement exactly-once.
      CREATE TABLE ${s}.ledger_entries (
        id bigserial PRIMARY KEY,
        outgoing_payment_id uuid NOT NULL UNIQUE REFERENCES ${s}.outgoing_payments(id),
        debit_wallet text NOT NULL REFERENCES ${s}.wallets(name),
        credit_wallet text NOT NULL REFERENCES ${s}.wallets(name),
        amount bigint NOT NULL CHECK (amount > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // Fees (a fee account per asset) and Idempotency-Key deduplication as an opt-in scenario.
    id: '0002-fees-and-optional-idempotency',
    sql: (s) => `
      -- A settlement now writes a 'transfer' entry (to the receiver) and, when there is a fee, a
      -- 'fee' entry (to the asset's fee account): still exactly once per payment and kind.
      ALTER TABLE ${s}.ledger_entries DROP CONSTRAINT ledger_entries_outgoing_payment_id_key;
      ALTER TABLE ${s}.ledger_entries ADD COLUMN kind text NOT NULL DEFAULT 'transfer' CHECK (kind IN ('transfer', 'fee'));
      ALTER TABLE ${s}.ledger_entries ADD CONSTRAINT ledger_entries_payment_kind_key UNIQUE (outgoing_payment_id, kind);
      -- Without deduplication two creates may carry one key: kept for inspection, no longer unique.
      ALTER TABLE ${s}.outgoing_payments DROP CONSTRAINT outgoing_payments_client_idempotency_key_key;
      CREATE INDEX ON ${s}.outgoing_payments (client, idempotency_key);
    `,
  },
];

export interface SandboxDatabase {
  pool: Pool;
  /** Quoted, schema-qualified table name. */
  table(name: string): string;
  schema: string;
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openSandboxDatabase(opts: { url: string; schema: string; poolSize?: number }): Promise<SandboxDatabase> {
  if (!SCHEMA_NAME.test(opts.schema)) throw new Error(`Invalid schema name "${opts.schema}"`);
  const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, application_name: 'clearway-sandbox-open-payments' });
  const s = `"${opts.schema}"`;
  const transaction = async <T>(work: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  try {
    await transaction(async (client) => {
      // Serialises concurrent start-ups (several sandbox processes on one database).
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sandbox-open-payments:${opts.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${s}.migrations`);
      const applied = new Set(rows.map((row) => row.id));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.id)) continue;
        await client.query(migration.sql(s));
        await client.query(`INSERT INTO ${s}.migrations (id) VALUES ($1)`, [migration.id]);
      }
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    pool,
    schema: opts.schema,
    table: (name) => `${s}."${name}"`,
    transaction,
    close: () => pool.end(),
  };
}
