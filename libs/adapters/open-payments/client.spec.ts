import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../../test/support/openapi-contract';
import { createDevTls } from '../../security/dev-certificates';

/**
 * The extra-CA fetch loads undici, which makes itself the global dispatcher of Node's own fetch.
 * In a plain Node process (jest's module sandbox would hide it), every other fetch must keep
 * working afterwards, signed requests with their explicit Content-Length included: an undici of
 * another major version than Node's own broke exactly that (`invalid content-length header`).
 */
test('after fetchTrusting is used, Node\'s global fetch still sends a POST with Content-Length', async () => {
  const { caPem } = await createDevTls(['127.0.0.1']);
  const client = path.join(repoRoot, 'dist/libs/adapters/open-payments/client.js');
  const script = `
    const http = require('node:http');
    const { fetchTrusting } = require(${JSON.stringify(client)});
    const server = http.createServer((req, res) => { let n = 0; req.on('data', (c) => (n += c.length)); req.on('end', () => res.end(String(n))); });
    server.listen(0, '127.0.0.1', async () => {
      fetchTrusting(process.env.CA);
      const url = 'http://127.0.0.1:' + server.address().port + '/';
      const res = await fetch(url, { method: 'POST', body: '{"a":1}', headers: { 'Content-Type': 'application/json', 'Content-Length': '7' } });
      process.stdout.write(res.status + ' ' + (await res.text()));
      server.close();
    });`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, CA: caPem }, encoding: 'utf8', timeout: 20_000 });
  expect(out).toBe('200 7');
});
