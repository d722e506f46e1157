import { condition } from '@temporalio/workflow';
import { FINAL_SCA_STATUSES, type ScaStatus } from '../../libs/domain/transaction-status';

export type ScaOutcome = 'finalised' | 'failed' | 'timeout' | 'interrupted';

export interface ScaWaitOptions {
  /** Workflow time (ms) at which the PSU's chance to authorise is over. */
  deadline: number;
  pollInitialMs: number;
  pollMaxMs: number;
  /** Something else ended the wait (cancellation, termination): stop without another bank call. */
  interrupted: () => boolean;
  /** Asks the bank (`n`: the how-manieth check, for the UI's activity summary); undefined when it could not be asked this time. */
  check: (n: number) => Promise<ScaStatus | undefined>;
  /** Runs after every check, e.g. continue-as-new when suggested (awaited only when it returns a promise). */
  afterCheck?: () => Promise<void> | void;
}

/**
 * Waiting for strong customer authentication, shared by payments and consents: poll the bank's
 * SCA status with backoff, check at once when woken (the PSU came back from the bank's page, or a
 * new authorisation was started), and give up at the deadline. The redirect callback is only a
 * hint: the bank's answer decides.
 */
export class ScaWait {
  private woken = false;

  wakeUp(): void {
    this.woken = true;
  }

  async until(opts: ScaWaitOptions): Promise<ScaOutcome> {
    let interval = opts.pollInitialMs;
    let n = 0;
    for (;;) {
      const remaining = opts.deadline - Date.now();
      if (remaining <= 0) return 'timeout';
      n += 1;
      // The timer's summary in the Temporal UI: the last wait is the SCA timeout itself.
      const summary = interval >= remaining ? 'SCA timeout' : `Wait before SCA check ${n}`;
      const woken = await condition(() => this.woken || opts.interrupted(), Math.min(interval, remaining), { summary });
      if (opts.interrupted()) return 'interrupted';
      this.woken = false;
      const sca = await opts.check(n);
      if (opts.interrupted()) return 'interrupted';
      if (sca && FINAL_SCA_STATUSES.has(sca)) return sca === 'failed' ? 'failed' : 'finalised';
      interval = woken ? opts.pollInitialMs : Math.min(Math.ceil(interval * 1.5), opts.pollMaxMs);
      // Not `await undefined`: every promise costs a stack trace in the SDK's promise hook (docs/benchmarks.md).
      const after = opts.afterCheck?.();
      if (after) await after;
    }
  }
}
