import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { inlineParameters, runAsOneTransaction } from './one-round-trip';

describe('inlineParameters', () => {
  it('renders each value as an SQL literal', () => {
    expect(inlineParameters('SELECT $1, $2::int, $3, $4, $5, $10', [null, -1, true, "O'Brien", new Date(Date.UTC(2026, 11, 2)), 0, 0, 0, 0, 'ten'])).toBe(
      "SELECT NULL, (-1)::int, TRUE, 'O''Brien', '2026-12-02T00:00:00.000Z', 'ten'",
    );
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
});
