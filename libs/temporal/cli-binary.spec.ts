import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findTemporalCli,
  findTemporalTestServer,
  repoRoot,
  resolveTemporalBinary,
  temporalExecutable,
  temporalTestServerExecutable,
} from './cli-binary';

describe('Temporal binary lookup', () => {
  let sandbox: string;
  const savedEnv = { ...process.env };

  beforeEach(() => {
    sandbox = mkdtempSync(join(tmpdir(), 'clearway-cli-binary-'));
  });

  afterEach(() => {
    process.env = { ...savedEnv };
    rmSync(sandbox, { recursive: true, force: true });
  });

  function executable(...segments: string[]): string {
    const file = join(sandbox, ...segments);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o755);
    return file;
  }

  /** A project root with every tier populated, so each test removes tiers by what it passes. */
  function everyTier() {
    return {
      onPath: executable('path', 'temporal'),
      local: executable('project', '.tools', 'temporal', 'bin', 'temporal'),
      sdkCache: executable('tmp', 'temporal-sdk-typescript-1.24.0'),
      ctx: { root: join(sandbox, 'project'), tmpDir: join(sandbox, 'tmp'), sdkVersion: '1.24.0' },
    };
  }

  it('prefers TEMPORAL_CLI_PATH over everything else', () => {
    const { ctx } = everyTier();
    const fromEnv = executable('env', 'my-temporal');
    expect(resolveTemporalBinary('cli', { ...ctx, env: { TEMPORAL_CLI_PATH: fromEnv, PATH: join(sandbox, 'path') } })).toBe(
      fromEnv,
    );
  });

  it('throws when the env var points at nothing runnable, instead of silently picking another binary', () => {
    const { ctx } = everyTier();
    expect(() => resolveTemporalBinary('cli', { ...ctx, env: { TEMPORAL_CLI_PATH: join(sandbox, 'missing') } })).toThrow(
      /TEMPORAL_CLI_PATH=.*missing is not an executable file/,
    );
  });

  it('then looks on PATH, skipping non-executable files and empty entries', () => {
    const { onPath, ctx } = everyTier();
    const notExecutable = join(sandbox, 'noexec', 'temporal');
    mkdirSync(join(sandbox, 'noexec'));
    writeFileSync(notExecutable, '');
    const PATH = ['', join(sandbox, 'noexec'), join(sandbox, 'path')].join(':');
    expect(resolveTemporalBinary('cli', { ...ctx, env: { PATH } })).toBe(onPath);
  });

  it('then the project-local venv from ensure-tools', () => {
    const { local, ctx } = everyTier();
    expect(resolveTemporalBinary('cli', { ...ctx, env: { PATH: join(sandbox, 'empty') } })).toBe(local);
  });

  it("then the SDK's cached download for the installed @temporalio/testing version", () => {
    const sdkCache = executable('tmp', 'temporal-sdk-typescript-1.24.0');
    const ctx = { root: join(sandbox, 'project'), tmpDir: join(sandbox, 'tmp'), env: {} };
    expect(resolveTemporalBinary('cli', { ...ctx, sdkVersion: '1.24.0' })).toBe(sdkCache);
    expect(resolveTemporalBinary('cli', { ...ctx, sdkVersion: '1.25.0' })).toBeUndefined();
    expect(resolveTemporalBinary('cli', { ...ctx, sdkVersion: null })).toBeUndefined();
  });

  it('finds the test server by its own names', () => {
    const fromEnv = executable('env', 'ts');
    const local = executable('project', '.tools', 'temporal', 'bin', 'temporal-test-server');
    const cached = executable('tmp', 'temporal-test-server-sdk-typescript-1.24.0');
    const ctx = { root: join(sandbox, 'project'), tmpDir: join(sandbox, 'tmp'), sdkVersion: '1.24.0' };
    expect(resolveTemporalBinary('test-server', { ...ctx, env: { TEMPORAL_TEST_SERVER_PATH: fromEnv } })).toBe(fromEnv);
    expect(resolveTemporalBinary('test-server', { ...ctx, env: {} })).toBe(local);
    rmSync(local);
    expect(resolveTemporalBinary('test-server', { ...ctx, env: {} })).toBe(cached);
  });

  it('public helpers read process.env', () => {
    const cli = executable('env', 'temporal');
    const testServer = executable('env', 'temporal-test-server');
    process.env.TEMPORAL_CLI_PATH = cli;
    process.env.TEMPORAL_TEST_SERVER_PATH = testServer;
    expect(findTemporalCli()).toBe(cli);
    expect(findTemporalTestServer()).toBe(testServer);
    expect(temporalExecutable()).toEqual({ type: 'existing-path', path: cli });
    expect(temporalTestServerExecutable()).toEqual({ type: 'existing-path', path: testServer });
  });

  it('repoRoot walks up to package.json, from sources and from dist/', () => {
    mkdirSync(join(sandbox, 'app', 'dist', 'libs', 'temporal'), { recursive: true });
    writeFileSync(join(sandbox, 'app', 'package.json'), '{}');
    expect(repoRoot(join(sandbox, 'app', 'dist', 'libs', 'temporal'))).toBe(join(sandbox, 'app'));
    expect(repoRoot()).toBe(join(__dirname, '..', '..'));
  });
});
