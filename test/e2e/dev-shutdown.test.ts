import path from 'node:path';
import { startDevStack, type DevStack } from '../../apps/dev/dev-stack';

/**
 * `npm run dev`, then Ctrl-C, as a new user does it (issue 11 §5): the terminal sends SIGINT to the
 * whole foreground process group; everything stops, in order, with exit code 0 and nothing that
 * looks like an error (it used to print `IllegalStateError: Not running. Current state: DRAINING`
 * from the worker, which got SIGINT from the terminal and SIGTERM from the launcher).
 */
const ROOT = path.resolve(__dirname, '../..');
let dev: DevStack | undefined;

afterAll(async () => {
  await dev?.dispose();
});

test('Ctrl-C on npm run dev stops the whole stack cleanly and quietly', async () => {
  dev = await startDevStack({ root: ROOT });
  // The stack works: the API answers through the worker's Temporal server.
  expect((await fetch(`${dev.apiUrl}/health`)).status).toBe(200);
  const before = dev.lines.length;

  const code = await dev.interrupt();
  const afterCtrlC = dev.lines.slice(before);
  expect(code).toBe(0);
  expect(afterCtrlC).toContain('[dev] stopping…');
  expect(afterCtrlC[afterCtrlC.length - 1]).toBe('[dev] stopped');
  const noisy = afterCtrlC.filter((l) => /error|exception|DRAINING|unhandled|warn|"level":(40|50|60)/i.test(l));
  expect(noisy).toEqual([]);
  // Nothing left listening.
  await expect(fetch(`${dev.apiUrl}/health`)).rejects.toThrow();
}, 240_000);
