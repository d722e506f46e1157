import { mkdirSync } from 'node:fs';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WASM) persisted under `.data/pglite`, served over the Postgres
 * wire protocol so the api and worker use the same `pg` driver and migrations as in production.
 * It is one connection underneath: good for development, never for load or locking tests.
 */
export async function startEmbeddedDatabase(opts: { dataDir: string; port: number; maxConnections: number }): Promise<EmbeddedDatabase> {
  mkdirSync(opts.dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(opts.dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port, maxConnections: opts.maxConnections });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${opts.port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
