/**
 * What a call into a `vm` context costs with and without `timeout` (issue 12, ninth pass).
 *
 *   npm run bench:vm-watchdog -- [--calls 20000]
 *
 * The Temporal SDK runs workflow code in a reused V8 context and enters it several times per
 * activation (activate, each round of unblocked conditions, concludeActivation, the sinks), every
 * time with `timeout: isolateExecutionTimeout` (5 s by default) so that a workflow stuck in a loop
 * cannot hold its thread. Node enforces such a timeout with a watchdog: a new event loop and a new
 * native thread started and joined for every call (nodejs/node#47739 proposes one per thread; not
 * merged). This prints the CPU and wall time per call of a trivial script both ways, on one thread.
 * docs/benchmarks.md (ninth pass) has the figures and what dropping the timeout did to a payment.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import { intOption, loadAverage, round } from './measure';

function main(): void {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' } } });
  const calls = intOption('calls', values.calls, 100);
  const context = vm.createContext({ n: 0 });
  const script = new vm.Script('n += 1');
  console.log(`vm.Script#runInContext, ${calls} calls each way; load average before: ${loadAverage()}`);
  for (const [name, options] of [
    ['no timeout', {}],
    ['timeout: 5000 (as the SDK)', { timeout: 5_000 }],
  ] as const) {
    for (let i = 0; i < Math.min(calls, 1_000); i++) script.runInContext(context, options);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) script.runInContext(context, options);
    const wallUs = ((performance.now() - t0) * 1_000) / calls;
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = (cpu.user + cpu.system) / calls;
    console.log(`${name.padEnd(28)} CPU ${round(cpuUs, 1)} µs a call (user+system, all threads), wall ${round(wallUs, 1)} µs`);
  }
}

main();
