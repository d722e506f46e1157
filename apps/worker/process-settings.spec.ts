import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../libs/temporal/cli-binary';

/** The launchers that cannot import process-settings.ts repeat its defaults: keep them in step. */
describe('worker process settings', () => {
  // The defaults, whatever this test's own environment says.
  let settings: typeof import('./process-settings');
  beforeAll(() => {
    const saved = { heap: process.env.WORKER_MAX_OLD_SPACE_MB, arenas: process.env.MALLOC_ARENA_MAX };
    delete process.env.WORKER_MAX_OLD_SPACE_MB;
    delete process.env.MALLOC_ARENA_MAX;
    jest.isolateModules(() => {
      settings = require('./process-settings');
    });
    if (saved.heap !== undefined) process.env.WORKER_MAX_OLD_SPACE_MB = saved.heap;
    if (saved.arenas !== undefined) process.env.MALLOC_ARENA_MAX = saved.arenas;
  });

  it('docker-compose.yml starts the worker with the same flags and environment', () => {
    const compose = parse(readFileSync(join(repoRoot(), 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: { worker: { command: string[]; environment: Record<string, string | number> } };
    };
    const { command, environment } = compose.services.worker;
    expect(command).toEqual(['node', ...settings.WORKER_NODE_FLAGS, 'dist/apps/worker/main.js']);
    expect(environment).toMatchObject(settings.WORKER_PROCESS_ENV);
  });

  it('npm run start:worker does too, and lets an operator set MALLOC_ARENA_MAX', () => {
    const scripts = (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const env = Object.entries(settings.WORKER_PROCESS_ENV).map(([name, value]) => `${name}=\${${name}:-${value}}`);
    expect(scripts['start:worker']).toBe([...env, 'node', ...settings.WORKER_NODE_FLAGS, 'dist/apps/worker/main.js'].join(' '));
  });

  it('an operator’s own values win', () => {
    const saved = { heap: process.env.WORKER_MAX_OLD_SPACE_MB, arenas: process.env.MALLOC_ARENA_MAX };
    process.env.MALLOC_ARENA_MAX = '4';
    process.env.WORKER_MAX_OLD_SPACE_MB = '512';
    try {
      jest.isolateModules(() => {
        const own = require('./process-settings') as typeof import('./process-settings');
        expect(own.WORKER_PROCESS_ENV).toEqual({ MALLOC_ARENA_MAX: '4' });
        expect(own.WORKER_NODE_FLAGS).toEqual(['--max-old-space-size=512']);
      });
    } finally {
      for (const [name, value] of [['WORKER_MAX_OLD_SPACE_MB', saved.heap], ['MALLOC_ARENA_MAX', saved.arenas]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
