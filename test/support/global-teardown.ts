import { rmSync } from 'node:fs';
import { dropDatabase } from './test-database';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__clearwayTemporal?.stop();
  if (process.env.CLEARWAY_TEST_DATABASE_NAME) await dropDatabase(process.env.CLEARWAY_TEST_DATABASE_NAME);
  if (process.env.CLEARWAY_TEST_WORKFLOW_BUNDLE) rmSync(process.env.CLEARWAY_TEST_WORKFLOW_BUNDLE, { force: true });
}
