import type { Response } from 'express';
import type { MigrationInterface } from 'typeorm';
import { HealthController } from '../../apps/api/health/health.controller';
import { MIGRATIONS, createDataSource } from '../../libs/persistence/data-source';
import { TestStack } from '../support/stack';

/** `/health/live` and `/health/ready`: ready only with the database and Temporal up and no migration pending. */
let stack: TestStack;

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
});

afterAll(async () => {
  await stack?.close();
});

test('live and ready answer 200 on a migrated database with Temporal up', async () => {
  const live = await fetch(`${stack.baseUrl}/health/live`);
  expect(live.status).toBe(200);
  const ready = await fetch(`${stack.baseUrl}/health/ready`);
  expect({ status: ready.status, body: await ready.json() }).toEqual({
    status: 200,
    body: { status: 'up', database: 'up', temporal: 'up', migrations: 'applied' },
  });
});

/** What the controller answers, through a minimal express Response. */
async function readiness(controller: HealthController): Promise<{ status: number; body: any }> {
  let status = 0;
  let body: unknown;
  const res = {
    status(code: number) {
      status = code;
      return this;
    },
    json(value: unknown) {
      body = value;
      return this;
    },
  } as unknown as Response;
  await controller.ready(res);
  return { status, body };
}

test('a migration this build knows but the database lacks: not ready, and named', async () => {
  class NotYetApplied1732450000549 implements MigrationInterface {
    name = 'NotYetApplied1732450000549';
    async up(): Promise<void> {}
    async down(): Promise<void> {}
  }
  const ds = createDataSource({ url: stack.config.databaseUrl!, poolSize: 1 });
  (ds.options as { migrations: unknown[] }).migrations = [...MIGRATIONS, NotYetApplied1732450000549];
  await ds.initialize();
  try {
    const { status, body } = await readiness(new HealthController(ds, stack.temporal));
    expect(status).toBe(503);
    expect(body).toEqual({ status: 'down', database: 'up', temporal: 'up', migrations: 'pending', pendingMigrations: ['NotYetApplied1732450000549'] });
  } finally {
    await ds.destroy();
  }
});

test('database unreachable: not ready, database down', async () => {
  const url = new URL(stack.config.databaseUrl!);
  url.pathname = '/clearway_no_such_database';
  const ds = createDataSource({ url: url.toString(), poolSize: 1 });
  // Never initialised: every query fails as it would with the database gone.
  const { status, body } = await readiness(new HealthController(ds, stack.temporal));
  expect(status).toBe(503);
  expect(body).toMatchObject({ status: 'down', database: 'down', temporal: 'up' });
});
