import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findTemporalCli } from './cli-binary';
import { registerSearchAttributes, startTemporalDevServer, TemporalDevServer, waitForTemporal } from './dev-server';
import { CUSTOM_SEARCH_ATTRIBUTES } from './search-attributes';

// Really runs the CLI from scripts/ensure-tools.mjs; without it, this suite cannot say anything.
const describeWithCli = findTemporalCli() ? describe : describe.skip;

describeWithCli('startTemporalDevServer', () => {
  let server: TemporalDevServer;
  let connection: Connection;

  beforeAll(async () => {
    server = await startTemporalDevServer({ port: 0, headless: true, startTimeoutMs: 90_000 });
    connection = await Connection.connect({ address: server.address });
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  it('serves on an ephemeral loopback port, without UI', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe('127.0.0.1:7233');
    expect(server.uiUrl).toBeUndefined();
  });

  it('registers every custom search attribute as Keyword', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const name of Object.keys(CUSTOM_SEARCH_ATTRIBUTES)) {
      expect(customAttributes?.[name]).toBe(2); // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    }
  });

  it('registerSearchAttributes adds missing attributes and is idempotent', async () => {
    await registerSearchAttributes(server.address, { ClearwaySpecAttr: 'Int' });
    await registerSearchAttributes(server.address, { ClearwaySpecAttr: 'Int', ...CUSTOM_SEARCH_ATTRIBUTES });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(customAttributes?.ClearwaySpecAttr).toBe(3); // INDEXED_VALUE_TYPE_INT
  });

  it('waitForTemporal resolves for a running server', async () => {
    await expect(waitForTemporal(server.address, 5_000)).resolves.toBeUndefined();
  });
});

describeWithCli('startTemporalDevServer lifecycle', () => {
  it('creates a non-default namespace, and stop() ends the process (twice is fine)', async () => {
    const server = await startTemporalDevServer({
      port: 0,
      headless: true,
      namespace: 'clearway-spec',
      startTimeoutMs: 90_000,
    });
    try {
      const connection = await Connection.connect({ address: server.address });
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'clearway-spec' });
      expect(namespaceInfo?.name).toBe('clearway-spec');
      await connection.close();
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
    await server.stop();
  }, 120_000);
});

describe('startTemporalDevServer failures', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'clearway-dev-server-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the stderr tail when the server exits early', async () => {
    const fake = join(dir, 'temporal');
    writeFileSync(fake, '#!/bin/sh\necho "bind: address already in use" >&2\nexit 3\n');
    chmodSync(fake, 0o755);
    await expect(startTemporalDevServer({ executable: fake, port: 0, headless: true })).rejects.toThrow(
      /exited before it was ready \(code 3\):\nbind: address already in use/,
    );
  });

  it('reports a binary that cannot be run', async () => {
    await expect(startTemporalDevServer({ executable: join(dir, 'missing'), port: 0 })).rejects.toThrow(/cannot run/);
  });

  it('waitForTemporal gives up after its timeout with the last error', async () => {
    await expect(waitForTemporal('127.0.0.1:1', 1_000)).rejects.toThrow(/not ready after 1000 ms/);
  });
});
