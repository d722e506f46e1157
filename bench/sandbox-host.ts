/**
 * The Berlin Group sandbox bank in a process of its own, for the benches: a real bank is not one of
 * our processes, so its CPU is measured apart from the engine's and left out of "our CPU" (issue 12's
 * CPU-cost ratio counts our processes only). Prints `listening <url>` once it accepts requests and
 * closes on SIGTERM. `BENCH_DECOUPLED_DELAY_MS`: the banking app's approval delay for decoupled SCA.
 */
import { startBerlinGroupSandbox } from '../apps/sandbox/berlin-group';

async function main(): Promise<void> {
  const decoupledDelayMs = Number(process.env.BENCH_DECOUPLED_DELAY_MS ?? 0);
  if (!Number.isInteger(decoupledDelayMs) || decoupledDelayMs < 0) throw new Error(`BENCH_DECOUPLED_DELAY_MS must be a whole number of ms, got "${process.env.BENCH_DECOUPLED_DELAY_MS}"`);
  const sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs });
  process.once('SIGTERM', () => void sandbox.close().finally(() => process.exit(0)));
  process.stdout.write(`listening ${sandbox.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox bank failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
