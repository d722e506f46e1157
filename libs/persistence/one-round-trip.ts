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
 * The simple protocol carries no parameters, so each `$n` becomes an SQL literal escaped by the
 * driver (`pg.escapeLiteral`). Returns each statement's rows, in order.
 */
export async function runAsOneTransaction(ds: DataSource, statements: readonly Statement[]): Promise<unknown[][]> {
  const sql = statements.map((s) => inlineParameters(s.sql, s.params)).join(';\n');
  const runner = ds.createQueryRunner();
  try {
    const client = (await runner.connect()) as { query(text: string): Promise<QueryResult | QueryResult[]> };
    const result = await client.query(sql);
    return (Array.isArray(result) ? result : [result]).map((r) => r.rows);
  } finally {
    await runner.release();
  }
}

interface QueryResult {
  rows: unknown[];
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
      // Objects are the caller's to serialise (JSON.stringify for jsonb), as with DataSource.query.
      throw new TypeError(`A ${typeof value} value has no SQL literal here; serialise it first`);
  }
}
