import { createHash } from 'node:crypto';
import { escapeLiteral } from 'pg';
import type { DataSource } from 'typeorm';

/** A parameterised statement (`$1`, `$2`… as in `DataSource.query`). */
export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/**
 * Runs statements as one transaction in one round trip. PostgreSQL executes the statements of one
 * simple-protocol Query message as a single implicit transaction (all of them or, when one fails,
 * none), each with a snapshot of its own under READ COMMITTED: a lock taken by one statement is held
 * before the next one's snapshot. `BEGIN`, the statements and `COMMIT` were one round trip each
 * (issue 12: on this machine a round trip costs the worker ~0.2–1 ms of CPU, most of it in the
 * socket's system calls).
 *
 * The simple protocol carries no parameters and prepares nothing, so each statement is sent once
 * per connection as an SQL `PREPARE` (in the first message that uses it on that connection) and
 * then as `EXECUTE name(…)` with each `$n` an SQL literal escaped by the driver
 * (`pg.escapeLiteral`): PostgreSQL parses and plans it once per connection instead of on every
 * call, which was most of its CPU for a status record (issue 7, thirteenth pass). A statement whose
 * placeholders are not exactly `$1`…`$n` for its n values is sent inline, as before.
 *
 * A `PREPARE` is not undone when its message fails, and a connection may not be the session it
 * seems (the development stack's PGlite serves every connection through one session). So when a
 * message fails because a name is already prepared, or not prepared, this connection's names are
 * read back from `pg_prepared_statements` and the message is sent again: safe, because the failed
 * message did nothing else (one transaction, rolled back). A statement PostgreSQL will not prepare
 * (a parameter whose type only its literal gives) is sent inline from then on, the same way. And
 * a statement whose result's row type a migration changed under it (0A000, "cached plan must not
 * change result type": every later `EXECUTE` of it would fail until the connection closed) is
 * deallocated and prepared again.
 * Returns each statement's rows, in order.
 */
export async function runAsOneTransaction(ds: DataSource, statements: readonly Statement[]): Promise<unknown[][]> {
  const runner = ds.createQueryRunner();
  try {
    const client = (await runner.connect()) as SimpleQueryClient;
    for (let attempt = 1; ; attempt++) {
      const message = messageFor(client, statements);
      try {
        const result = await client.query(message.sql);
        message.prepared();
        return (Array.isArray(result) ? result : [result]).slice(message.skip).map((r) => r.rows);
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS) throw err;
        if (isPreparedNameError(err)) await resyncPrepared(client);
        else if (isStalePlan(err)) await deallocate(client, message.executing);
        else if (message.preparing.length && isUnpreparable(err)) message.preparing.forEach((name) => sentInline.add(name));
        else throw err;
      }
    }
  } finally {
    await runner.release();
  }
}

/** One statement, one round trip, prepared once per connection as in {@link runAsOneTransaction}; its rows. */
export async function runPrepared(ds: DataSource, statement: Statement): Promise<unknown[]> {
  return (await runAsOneTransaction(ds, [statement]))[0]!;
}

/** A message is sent again after a resync or a stale statement deallocated; another session may prepare in between (PGlite). */
const MAX_ATTEMPTS = 3;

interface SimpleQueryClient {
  query(text: string): Promise<QueryResult | QueryResult[]>;
}

interface QueryResult {
  rows: unknown[];
}

/**
 * Statements sent inline from then on, by every connection: those a message was preparing when
 * PostgreSQL would not prepare one of them (a parameter whose type it cannot infer from the text
 * alone, where the inline literal gives it one). Which of them failed is not known; in practice a
 * statement is first prepared alone or beside the few of its own caller.
 */
const sentInline = new Set<string>();

/** The names this process knows are prepared on each connection (its `pg` client object). */
const preparedOn = new WeakMap<object, Set<string>>();

/**
 * At most this many statements are prepared on a connection; others are sent inline. The callers'
 * texts are a fixed handful (the outbox's lock and fan-out, the status records' changes), so this
 * only bounds a session's memory should a caller ever build texts that vary.
 */
const MAX_PREPARED_PER_CONNECTION = 64;

const names = new Map<string, string>();
const MAX_NAMES_CACHED = 256;

/** A statement's name on every connection: derived from its text, so equal texts share one. */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `cw_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    if (names.size < MAX_NAMES_CACHED) names.set(sql, name);
  }
  return name;
}

function messageFor(client: object, statements: readonly Statement[]): { sql: string; skip: number; preparing: string[]; executing: string[]; prepared(): void } {
  const known = preparedOn.get(client) ?? new Set<string>();
  const toPrepare = new Map<string, string>();
  const executing: string[] = [];
  const parts = statements.map((s) => {
    if (!numberedExactly(s.sql, s.params.length)) return inlineParameters(s.sql, s.params);
    const name = statementName(s.sql);
    if (sentInline.has(name)) return inlineParameters(s.sql, s.params);
    if (!known.has(name)) {
      if (known.size + toPrepare.size >= MAX_PREPARED_PER_CONNECTION && !toPrepare.has(name)) return inlineParameters(s.sql, s.params);
      toPrepare.set(name, s.sql);
    }
    executing.push(name);
    return s.params.length ? `EXECUTE ${name}(${s.params.map(literal).join(', ')})` : `EXECUTE ${name}`;
  });
  const prepares = [...toPrepare].map(([name, sql]) => `PREPARE ${name} AS ${sql}`);
  return {
    sql: [...prepares, ...parts].join(';\n'),
    skip: prepares.length,
    preparing: [...toPrepare.keys()],
    executing,
    prepared() {
      if (!toPrepare.size) return;
      for (const name of toPrepare.keys()) known.add(name);
      preparedOn.set(client, known);
    },
  };
}

/** `$1`…`$n` each appear, and no other: PREPARE can then infer every parameter's type from its use. */
function numberedExactly(sql: string, n: number): boolean {
  const seen = new Set<number>();
  for (const m of sql.matchAll(/\$(\d+)/g)) seen.add(Number(m[1]));
  if (seen.size !== n) return false;
  for (let i = 1; i <= n; i++) if (!seen.has(i)) return false;
  return true;
}

/** 42P05: the name is prepared already; 26000: it is not (`pg_prepared_statements` knows). */
function isPreparedNameError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '42P05' || code === '26000';
}

/**
 * 42P18, 42P08: a parameter's type cannot be determined, or is ambiguous. Raised by a `PREPARE`,
 * which comes first in its message, so nothing of the message ran.
 */
function isUnpreparable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '42P18' || code === '42P08';
}

/**
 * 0A000 with this message: a migration changed the row type a prepared statement returns. Raised by
 * its `EXECUTE`, so the message's transaction, with whatever ran before it, is rolled back.
 */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}

/** Deallocates those of `names` the session holds (which one went stale is not said), so the message prepares them again. */
async function deallocate(client: SimpleQueryClient, names: readonly string[]): Promise<void> {
  await resyncPrepared(client);
  const known = preparedOn.get(client)!;
  const held = [...new Set(names)].filter((name) => known.has(name));
  if (!held.length) return;
  await client.query(held.map((name) => `DEALLOCATE ${name}`).join(';\n'));
  held.forEach((name) => known.delete(name));
}

async function resyncPrepared(client: SimpleQueryClient): Promise<void> {
  const result = await client.query(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'cw\\_%'`);
  const rows = (Array.isArray(result) ? result[0]!.rows : result.rows) as { name: string }[];
  preparedOn.set(client, new Set(rows.map((r) => r.name)));
}

/** `sql` with each `$n` replaced by the literal of `params[n - 1]`. */
export function inlineParameters(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) throw new RangeError(`The statement names $${n}, but ${params.length} values were given`);
    return literal(params[index]);
  });
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`${value} has no SQL literal`);
      // Parenthesised: `$2::int` with -1 must read (-1)::int.
      return `(${value})`;
    case 'bigint':
      return `(${value})`;
    case 'string':
      return escapeLiteral(value);
    default:
      if (value instanceof Date) return escapeLiteral(value.toISOString());
      // An array of scalars: its type comes from the statement (`$4::varchar[]`), as for `'{}'`.
      if (Array.isArray(value)) return value.length ? `ARRAY[${value.map(literal).join(', ')}]` : "'{}'";
      // Objects are the caller's to serialise (JSON.stringify for jsonb), as with DataSource.query.
      throw new TypeError(`A ${typeof value} value has no SQL literal here; serialise it first`);
  }
}
