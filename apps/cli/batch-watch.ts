import { Presets, SingleBar } from 'cli-progress';
import { FINAL_BATCH_STATUSES, type Batch } from './batch-api';
import type { BatchClient } from './batch-client';
import { groupDigits, progressLine } from './batch-format';

/** Shows a batch's progress while the watch loop polls. */
export interface ProgressDisplay {
  update(batch: Batch): void;
  stop(): void;
}

/** Terminal: one bar, settled (+ rejected, cancelled) of total, redrawn in place on stderr. */
export class ProgressBarDisplay implements ProgressDisplay {
  private readonly bar: SingleBar;
  private started = false;
  // The bar hides the cursor: Ctrl-C while waiting must give it back and say the batch goes on.
  private readonly onInterrupt = () => {
    this.stop();
    this.stream.write('\nStopped waiting; the batch goes on (clearway batch status <batchId> --wait to follow it again).\n');
    process.exit(130);
  };

  constructor(private readonly stream: NodeJS.WritableStream) {
    this.bar = new SingleBar(
      {
        stream: stream as NodeJS.WriteStream,
        format: '{msgId} [{bar}] {settled}/{totalText} settled · {rejected} rejected · {status}',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
        etaBuffer: 20,
      },
      Presets.shades_classic,
    );
  }

  update(batch: Batch): void {
    const p = batch.progress;
    const total = p?.total ?? batch.numberOfTransactions;
    const done = p ? p.settled + p.rejected + p.cancelled : 0;
    const payload = {
      msgId: batch.msgId,
      settled: groupDigits(p?.settled ?? 0),
      totalText: groupDigits(total),
      rejected: groupDigits(p?.rejected ?? 0),
      status: batch.status,
    };
    if (!this.started) {
      this.bar.start(total, done, payload);
      this.started = true;
      process.once('SIGINT', this.onInterrupt);
    } else {
      this.bar.setTotal(total);
      this.bar.update(done, payload);
    }
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    process.off('SIGINT', this.onInterrupt);
    this.bar.stop();
  }
}

/** Not a terminal (CI logs, cron mail): a line whenever the status or the counts change. */
export class ProgressLinesDisplay implements ProgressDisplay {
  private last = '';

  constructor(private readonly stream: NodeJS.WritableStream) {}

  update(batch: Batch): void {
    const line = `${batch.status}${batch.progress ? ` · ${progressLine(batch.progress)}` : ''}`;
    if (line !== this.last) this.stream.write(`${line}\n`);
    this.last = line;
  }

  stop(): void {}
}

/** `--json`: nothing while waiting, the final document at the end. */
export const silentDisplay: ProgressDisplay = { update() {}, stop() {} };

export interface WatchOptions {
  intervalMs: number;
  /** Give up after this long (the batch goes on; only the CLI stops waiting). */
  timeoutMs?: number;
  display: ProgressDisplay;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export class WatchTimeoutError extends Error {
  override readonly name = 'WatchTimeoutError';
}

/** Polls the batch until its status is final; returns the final state. */
export async function watchBatch(client: BatchClient, batchId: string, opts: WatchOptions): Promise<Batch> {
  const deadline = opts.timeoutMs === undefined ? undefined : opts.now() + opts.timeoutMs;
  try {
    for (;;) {
      const batch = await client.batch(batchId);
      opts.display.update(batch);
      if (FINAL_BATCH_STATUSES.has(batch.status)) return batch;
      if (deadline !== undefined && opts.now() >= deadline) {
        throw new WatchTimeoutError(`batch ${batchId} is still ${batch.status} after ${Math.round(opts.timeoutMs! / 1000)} s; it goes on without the CLI`);
      }
      await opts.sleep(opts.intervalMs);
    }
  } finally {
    opts.display.stop();
  }
}
