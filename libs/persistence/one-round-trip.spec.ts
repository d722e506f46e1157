import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { inlineParameters, runAsOneTransaction } from './one-round-trip';

describe('inlineParameters', () => {
  it('renders each value as an SQL literal', () => {
    expect(inlineParameters('SELECT $1, $2::int, $3, $4, $5, $10', [null, -1, true, "O'Brien", new Date(Date.UTC(2026, 11, 2)), 0, 0, 0, 0, 'ten'])).toBe(
      "SELECT NULL, (-1)::int, TRUE, 'O''Brien', '2026-12-02T00:00:00.000Z', 'ten'",
    );
  });

  it('renders an array of scalars as an ARRAY constructor, and an empty one as the empty array literal (the statement casts both)', () => {
    expect(inlineParameters('SELECT $1::varchar[], $2::int[]', [["a'b", 'c'], []])).toBe("SELECT ARRAY['a''b', 'c']::varchar[], '{}'::int[]");
  });

  it('refuses a placeholder without a value, and values it cannot render', () => {
    expect(() => inlineParameters('SELECT $2', ['a'])).toThrow('$2');
    expect(() => inlineParameters('SELECT $1', [{ a: 1 }])).toThrow(TypeError);
    expect(() => inlineParameters('SELECT $1', [Number.NaN])).toThrow(RangeError);
  });
});

describe('runAsOneTransaction (real PostgreSQL)', () => {
  let ds: DataSource;
  const table = `one_round_trip_${randomUUID().replace(/-/g, '')}`;
  beforeAll(async () => {
    ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 2 }).initialize();
    await ds.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
  });
  afterAll(async () => {
    await ds?.query(`DROP TABLE IF EXISTS ${table}`);
    await ds?.destroy();
  });

  it('returns each statement\'s rows, and any text comes back exactly as it was sent', async () => {
    const hostile = "'); DROP TABLE x; -- \\ \\' $1 \u00e9 \n end";
    const results = await runAsOneTransaction(ds, [
      { sql: `INSERT INTO ${table} (id, note) VALUES ($1, $2)`, params: [1, hostile] },
      { sql: `SELECT note FROM ${table} WHERE id = $1`, params: [1] },
    ]);
    expect(results).toEqual([[], [{ note: hostile }]]);
  });

  it('is one transaction: when a later statement fails, the earlier ones are undone', async () => {
    await expect(
      runAsOneTransaction(ds, [
        { sql: `INSERT INTO ${table} (id, note) VALUES ($1, $2)`, params: [2, 'kept?'] },
        { sql: `INSERT INTO ${table} (id, note) VALUES ($1, $2)`, params: [1, 'duplicate key'] },
      ]),
    ).rejects.toThrow('duplicate key');
    expect(await ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = 2`)).toEqual([{ n: 0 }]);
  });

  describe('statements prepared once per connection', () => {
    let one: DataSource;
    let sent: string[];
    let spy: jest.SpyInstance;
    beforeAll(async () => {
      one = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 1 }).initialize();
    });
    afterAll(async () => {
      await one?.destroy();
    });
    beforeEach(() => {
      sent = [];
      const original = Client.prototype.query;
      spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
        if (typeof args[0] === 'string') sent.push(args[0]);
        return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
      });
    });
    afterEach(() => spy.mockRestore());

    const insert = (id: number, note: string) => ({ sql: `INSERT INTO ${table} (id, note) VALUES ($1::int, $2::text) RETURNING id, note`, params: [id, note] });
    const count = async (id: number) => ((await one.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [id])) as { n: number }[])[0]!.n;
    const preparedNames = async () => ((await one.query(`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'cw\_%'`)) as { name: string; statement: string }[]);

    it('sends PREPARE with the first message on a connection, then EXECUTE alone, with the same rows', async () => {
      const first = await runAsOneTransaction(one, [insert(10, 'first'), { sql: `SELECT note FROM ${table} WHERE id = $1::int`, params: [10] }]);
      const second = await runAsOneTransaction(one, [insert(11, "it's"), { sql: `SELECT note FROM ${table} WHERE id = $1::int`, params: [11] }]);
      expect(first).toEqual([[{ id: 10, note: 'first' }], [{ note: 'first' }]]);
      expect(second).toEqual([[{ id: 11, note: "it's" }], [{ note: "it's" }]]);
      expect(sent[0]).toMatch(/^PREPARE cw_\w+ AS INSERT[\s\S]*;\nPREPARE cw_\w+ AS SELECT[\s\S]*;\nEXECUTE cw_\w+\(\(10\), 'first'\);\nEXECUTE cw_\w+\(\(10\)\)$/);
      expect(sent[1]).not.toContain('PREPARE');
      expect(sent[1]).toMatch(/^EXECUTE cw_\w+\(\(11\), 'it''s'\);\nEXECUTE cw_\w+\(\(11\)\)$/);
      expect((await preparedNames()).length).toBeGreaterThanOrEqual(2);
    });

    it('executes with arrays, empty or not, where the statement casts them', async () => {
      const sql = 'SELECT cardinality($1::varchar[]) AS n, $2::int = ANY ($3::int[]) AS hit';
      expect(await runAsOneTransaction(one, [{ sql, params: [['x', "y'z"], 2, [1, 2]] }])).toEqual([[{ n: 2, hit: true }]]);
      expect(await runAsOneTransaction(one, [{ sql, params: [[], 2, []] }])).toEqual([[{ n: 0, hit: false }]]);
      expect(sent[1]).toMatch(/^EXECUTE cw_\w+\('\{\}', \(2\), '\{\}'\)$/);
    });

    it('sends a statement inline when its placeholders are not exactly $1…$n (no type to infer for a missing one)', async () => {
      expect(await runAsOneTransaction(one, [{ sql: 'SELECT $2::int AS b', params: [1, 2] }])).toEqual([[{ b: 2 }]]);
      expect(sent).toEqual(['SELECT (2)::int AS b']);
    });

    it('a name no longer prepared on the session (26000): reads the names back and sends the message again, which changed nothing the first time', async () => {
      await runAsOneTransaction(one, [insert(20, 'before')]);
      await one.query('DEALLOCATE ALL');
      sent = [];
      expect(await runAsOneTransaction(one, [insert(21, 'again'), insert(22, 'again')])).toEqual([[{ id: 21, note: 'again' }], [{ id: 22, note: 'again' }]]);
      expect(sent[0]).toMatch(/^EXECUTE/);
      expect(sent[1]).toContain('pg_prepared_statements');
      expect(sent[2]).toMatch(/^PREPARE cw_\w+ AS INSERT/);
      expect([await count(21), await count(22)]).toEqual([1, 1]);
    });

    it('a name another connection of the session prepared (42P05, PGlite serves all through one): reads the names back and executes it', async () => {
      await runAsOneTransaction(one, [insert(30, 'seen')]);
      const [prepared] = (await preparedNames()).filter((p) => p.statement.includes(`INSERT INTO ${table}`));
      const other = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 1 }).initialize();
      try {
        // The same name, prepared on this connection by someone other than this DataSource.
        await other.query(`PREPARE ${prepared!.name} AS ${insert(0, '').sql}`);
        sent = [];
        expect(await runAsOneTransaction(other, [insert(31, 'other')])).toEqual([[{ id: 31, note: 'other' }]]);
        expect(sent[0]).toMatch(/^PREPARE/);
        expect(sent[1]).toContain('pg_prepared_statements');
        expect(sent[2]).toMatch(/^EXECUTE cw_\w+\(\(31\), 'other'\)$/);
        expect(await count(31)).toBe(1);
      } finally {
        await other.destroy();
      }
    });

    it('a statement PostgreSQL will not prepare (a parameter only its literal types) is sent inline, then and from then on', async () => {
      const untyped = { sql: 'SELECT $1 IS NULL AS empty', params: [null] };
      expect(await runAsOneTransaction(one, [insert(50, 'with it'), untyped])).toEqual([[{ id: 50, note: 'with it' }], [{ empty: true }]]);
      expect(sent[0]).toMatch(/^PREPARE cw_\w+ AS SELECT \$1 IS NULL AS empty/);
      expect(sent[1]).toMatch(/^EXECUTE cw_\w+\(\(50\), 'with it'\);\nSELECT NULL IS NULL AS empty$/);
      expect(await count(50)).toBe(1);
      sent = [];
      expect(await runAsOneTransaction(one, [untyped])).toEqual([[{ empty: true }]]);
      expect(sent).toEqual(['SELECT NULL IS NULL AS empty']);
    });

    it('a statement whose result type a migration changed (0A000): deallocated, prepared again, and the message sent again, which changed nothing the first time', async () => {
      const migrated = `one_round_trip_migrated_${randomUUID().replace(/-/g, '')}`;
      await one.query(`CREATE TABLE ${migrated} (id int PRIMARY KEY, note text)`);
      try {
        const insertMigrated = (id: number) => ({ sql: `INSERT INTO ${migrated} (id, note) VALUES ($1::int, 'x')`, params: [id] });
        const read = (id: number) => ({ sql: `SELECT note FROM ${migrated} WHERE id = $1::int`, params: [id] });
        expect(await runAsOneTransaction(one, [insertMigrated(1), read(1)])).toEqual([[], [{ note: 'x' }]]);
        await one.query(`ALTER TABLE ${migrated} ALTER COLUMN note TYPE varchar(10)`);
        sent = [];
        expect(await runAsOneTransaction(one, [insertMigrated(2), read(2)])).toEqual([[], [{ note: 'x' }]]);
        expect(sent[0]).toMatch(/^EXECUTE/);
        expect(sent.some((m) => /^DEALLOCATE cw_/.test(m))).toBe(true);
        expect(sent.at(-1)).toMatch(/PREPARE cw_\w+ AS SELECT note/);
        expect(await one.query(`SELECT id FROM ${migrated} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
        sent = [];
        expect(await runAsOneTransaction(one, [read(2)])).toEqual([[{ note: 'x' }]]);
        expect(sent).toEqual([expect.stringMatching(/^EXECUTE cw_\w+\(\(2\)\)$/)]);
      } finally {
        await one.query(`DROP TABLE IF EXISTS ${migrated}`);
      }
    });

    it('other failures are not sent again, and undo the whole message', async () => {
      await runAsOneTransaction(one, [insert(40, 'once')]);
      sent = [];
      await expect(runAsOneTransaction(one, [insert(41, 'undone'), insert(40, 'duplicate')])).rejects.toMatchObject({ code: '23505' });
      expect(sent).toHaveLength(1);
      expect(await count(41)).toBe(0);
    });
  });
});
