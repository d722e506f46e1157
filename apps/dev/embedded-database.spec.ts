import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './dev-stack';

/**
 * `npm run dev`'s database (PGlite over the wire protocol) runs what the worker sends to
 * PostgreSQL: here the multi-statement, one-round-trip transactions of a payment's status change
 * (`runAsOneTransaction`), and its statements prepared once per session although every connection
 * shares that one session there. PGlite loads as an ES module, which jest's CommonJS runtime cannot
 * import, so the check runs in a child process on the build in dist/ (globalSetup).
 */
const DIST = path.resolve(__dirname, '../../dist');

const script = `
const { startEmbeddedDatabase } = require(${JSON.stringify(`${DIST}/apps/dev/embedded-database.js`)});
const { createDataSource } = require(${JSON.stringify(`${DIST}/libs/persistence/data-source.js`)});
const { runAsOneTransaction } = require(${JSON.stringify(`${DIST}/libs/persistence/one-round-trip.js`)});
(async () => {
  const db = await startEmbeddedDatabase({ dataDir: process.env.DATA_DIR, port: Number(process.env.PORT), maxConnections: 4 });
  const ds = await createDataSource({ url: db.url, poolSize: 2 }).initialize();
  const out = {};
  try {
    await ds.query('CREATE TABLE notes (id int PRIMARY KEY, note text)');
    out.together = await runAsOneTransaction(ds, [
      { sql: 'SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', params: ['subject'] },
      { sql: 'INSERT INTO notes (id, note) VALUES ($1, $2)', params: [1, "it's"] },
      { sql: 'SELECT note FROM notes WHERE id = $1', params: [1] },
    ]);
    out.failure = await runAsOneTransaction(ds, [
      { sql: 'INSERT INTO notes (id, note) VALUES ($1, $2)', params: [2, 'undone'] },
      { sql: 'INSERT INTO notes (id, note) VALUES ($1, $2)', params: [1, 'duplicate'] },
    ]).then(() => 'none', (err) => err.message);
    // Two DataSources, one PGlite session underneath: a statement one prepared is there for the other.
    const other = await createDataSource({ url: db.url, poolSize: 1 }).initialize();
    out.shared = [];
    out.sessions = [];
    try {
      for (const [d, id] of [[ds, 3], [other, 4], [ds, 5], [other, 6]]) {
        out.shared.push(await runAsOneTransaction(d, [{ sql: 'INSERT INTO notes (id, note) VALUES ($1::int, $2::text) RETURNING id', params: [id, 'shared'] }]));
        out.sessions.push(await d.query('SELECT pg_backend_pid() AS pid'));
      }
    } finally {
      await other.destroy();
    }
    out.after = await ds.query('SELECT id, note FROM notes ORDER BY id');
  } finally {
    await ds.destroy();
    await db.stop();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
`;

test('PGlite runs a one-round-trip transaction as PostgreSQL does: all of it, or nothing of it', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clearway-pglite-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env: { ...process.env, DATA_DIR: dataDir, PORT: String(await freePort()) }, timeout: 60_000 });
    const out = JSON.parse(stdout) as { together: unknown[][]; failure: string; shared: unknown[][][]; sessions: { pid: number }[][]; after: unknown[] };
    expect(out.together.slice(1)).toEqual([[], [{ note: "it's" }]]);
    expect(out.failure).toMatch(/duplicate key/);
    // One session behind both (what makes names collide), and each insert made once all the same.
    expect(new Set(out.sessions.map(([s]) => s!.pid)).size).toBe(1);
    expect(out.shared).toEqual([[[{ id: 3 }]], [[{ id: 4 }]], [[{ id: 5 }]], [[{ id: 6 }]]]);
    expect(out.after).toEqual([{ id: 1, note: "it's" }, ...[3, 4, 5, 6].map((id) => ({ id, note: 'shared' }))]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
