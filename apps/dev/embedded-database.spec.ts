import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './dev-stack';

/**
 * `npm run dev`'s database (PGlite over the wire protocol) runs what the worker sends to
 * PostgreSQL: here the multi-statement, one-round-trip transactions of a payment's status change
 * (`runAsOneTransaction`). PGlite loads as an ES module, which jest's CommonJS runtime cannot
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
    const out = JSON.parse(stdout) as { together: unknown[][]; failure: string; after: unknown[] };
    expect(out.together.slice(1)).toEqual([[], [{ note: "it's" }]]);
    expect(out.failure).toMatch(/duplicate key/);
    expect(out.after).toEqual([{ id: 1, note: "it's" }]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
