import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { FINAL_BATCH_STATUSES, type Batch, type SinglePayment } from './batch-api';
import { BatchClient, ClearwayApiError, ClearwayUnreachableError, type ClientSettings } from './batch-client';
import { formatList, formatPayments, formatStatus, formatSubmitted, formatTppMessages, groupDigits } from './batch-format';
import { ProgressBarDisplay, ProgressLinesDisplay, silentDisplay, watchBatch, WatchTimeoutError, type ProgressDisplay } from './batch-watch';
import { generatePain001, PAIN001_VERSIONS, type Pain001Version } from '../../libs/iso20022';
import { SAMPLE_ACCOUNTS, sampleFileName, sampleMsgId, sampleProblems, sampleSpec } from './batch-sample';

/**
 * `clearway`: the batch API from the command line, for ERP operators and their schedulers.
 *
 * Exit codes a scheduler can act on:
 *   0  every transaction settled (or, without --wait, the request succeeded)
 *   2  the batch finished with rejections or cancellations
 *   1  error: bad file (its tppMessages are printed), bad arguments, Clearway unreachable, timeout
 * `batch cancel`: 0 cancelled (nothing executed), 2 partially completed (some had executed), 1 error
 * (a final batch cannot be cancelled: 409).
 */
export const EXIT = { ok: 0, error: 1, rejections: 2 } as const;

export const DEFAULTS = { url: 'http://127.0.0.1:3000', clientId: 'sandbox', clientSecret: 'sandbox', psuIpAddress: '127.0.0.1' };

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export function processDeps(): CliDeps {
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    fetch,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: Date.now,
  };
}

interface GlobalOptions {
  url?: string;
  clientId?: string;
  clientSecret?: string;
  json?: boolean;
}

interface WaitOptions {
  wait?: boolean;
  interval: number;
  timeout?: number;
}

/** Runs one command line (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  let exitCode: number = EXIT.ok;
  const setExit = (code: number) => (exitCode = code);
  const program = buildProgram(deps, setExit);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.error; // help, version, usage errors
    deps.stderr.write(`${describeError(err)}\n`);
    // Scripts get the tppMessages as data too.
    if (argv.includes('--json')) deps.stdout.write(`${JSON.stringify(errorJson(err), null, 2)}\n`);
    return EXIT.error;
  }
}

function buildProgram(deps: CliDeps, setExit: (code: number) => void): Command {
  const program = new Command('clearway')
    .description('Clearway from the command line: submit pain.001 payment batches, watch them settle, fetch the pain.002 report.')
    .option('--url <url>', `Clearway API base URL (env CLEARWAY_URL, default ${DEFAULTS.url})`)
    .option('--client-id <id>', `OAuth2 client id (env CLEARWAY_CLIENT_ID, default ${DEFAULTS.clientId})`)
    .option('--client-secret <secret>', 'OAuth2 client secret; prefer env CLEARWAY_CLIENT_SECRET, flags show in process lists (default the sandbox one)')
    .option('--json', 'machine-readable output on stdout, no progress bar')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s) });
  program.addHelpText(
    'after',
    '\nExit codes: 0 all settled (or request done), 2 finished with rejections, 1 error.\n  batch cancel: 0 cancelled, 2 partially completed, 1 error.\nExample: clearway batch submit payments.xml --wait',
  );

  const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();
  const clientFor = (cmd: Command) => new BatchClient(settings(globals(cmd), deps.env), deps.fetch);
  const print = (cmd: Command, human: () => string, json: unknown) =>
    deps.stdout.write(`${globals(cmd).json ? JSON.stringify(json, null, 2) : human()}\n`);
  const display = (cmd: Command): ProgressDisplay =>
    globals(cmd).json ? silentDisplay : deps.stderr.isTTY ? new ProgressBarDisplay(deps.stderr) : new ProgressLinesDisplay(deps.stderr);
  const watch = (cmd: Command, client: BatchClient, batchId: string, o: WaitOptions) =>
    watchBatch(client, batchId, {
      intervalMs: o.interval,
      timeoutMs: o.timeout === undefined ? undefined : o.timeout * 1000,
      display: display(cmd),
      sleep: deps.sleep,
      now: deps.now,
    });

  const batch = program.command('batch').description('payment batches (pain.001 in, pain.002 out)');

  withWaitOptions(
    batch
      .command('submit')
      .description('upload a pain.001.001.03/.09 file; prints where to authorise each bulk')
      .argument('<file>', 'the pain.001 XML file')
      .option('--psu-id <id>', 'PSU-ID passed to the banks (sandbox scenarios such as "decoupled"; env CLEARWAY_PSU_ID)')
      .option('--psu-ip <address>', `PSU-IP-Address (env CLEARWAY_PSU_IP, default ${DEFAULTS.psuIpAddress})`)
      .option('--redirect-uri <uri>', 'TPP-Redirect-URI: where the bank sends the PSU after SCA')
      .option('--nok-redirect-uri <uri>', 'TPP-Nok-Redirect-URI'),
  ).action(async (file: string, o: WaitOptions & { psuId?: string; psuIp?: string; redirectUri?: string; nokRedirectUri?: string }, cmd: Command) => {
    const client = clientFor(cmd);
    const { created, batch: submitted } = await client.submit(file, {
      psuId: o.psuId ?? deps.env.CLEARWAY_PSU_ID,
      psuIpAddress: o.psuIp ?? deps.env.CLEARWAY_PSU_IP ?? DEFAULTS.psuIpAddress,
      redirectUri: o.redirectUri,
      nokRedirectUri: o.nokRedirectUri,
    });
    if (!o.wait) {
      print(cmd, () => formatSubmitted(submitted, created), submitted);
      return setExit(exitCodeFor(submitted));
    }
    if (!globals(cmd).json) deps.stdout.write(`${formatSubmitted(submitted, created)}\n\n`);
    const final = await watch(cmd, client, submitted.batchId, o);
    print(cmd, () => formatStatus(final), final);
    setExit(exitCodeFor(final));
  });

  withWaitOptions(
    batch.command('status').description("a batch's status and progress per bulk").argument('<batchId>'),
  ).action(async (batchId: string, o: WaitOptions, cmd: Command) => {
    const client = clientFor(cmd);
    const current = o.wait ? await watch(cmd, client, batchId, o) : await client.batch(batchId);
    print(cmd, () => formatStatus(current), current);
    setExit(exitCodeFor(current));
  });

  batch
    .command('cancel')
    .description('cancel what has not executed, then wait for the final status (cancelled, or partially_completed when some payments had executed)')
    .argument('<batchId>')
    .option('--interval <ms>', 'how often to poll while waiting', positiveInt, 1000)
    .option('--timeout <seconds>', 'stop waiting after this long (exit 1; the cancel goes on)', positiveInt)
    .action(async (batchId: string, o: WaitOptions, cmd: Command) => {
      const client = clientFor(cmd);
      const answer = await client.cancel(batchId);
      const c = answer.cancellation;
      if (!globals(cmd).json && c) {
        deps.stdout.write(
          `Cancelling batch ${batchId}: ${c.unstarted} not started (never will be), ${c.cancelled} cancelled at the bank` +
            (c.awaitingCancellationAuthorisation.length ? `, ${c.awaitingCancellationAuthorisation.length} awaiting the PSU's cancellation authorisation` : '') +
            (c.notCancelled.length ? `, ${c.notCancelled.length} already executing` : '') +
            '\n',
        );
      }
      const final = await watch(cmd, client, batchId, o);
      print(cmd, () => formatStatus(final), { ...final, cancellation: c });
      setExit(final.status === 'cancelled' ? EXIT.ok : EXIT.rejections);
    });

  batch
    .command('list')
    .description("the tenant's batches, newest first")
    .option('--limit <n>', 'batches per page', positiveInt, 50)
    .option('--after <cursor>', 'continue after this cursor (from the previous page)')
    .action(async (o: { limit: number; after?: string }, cmd: Command) => {
      const page = await clientFor(cmd).list({ limit: o.limit, after: o.after });
      const next = page._links?.next?.href;
      print(cmd, () => formatList(page) + (next ? `\nmore: clearway batch list --after ${new URL(next, 'http://x').searchParams.get('after')}` : ''), page);
    });

  batch
    .command('report')
    .description('download the pain.002.001.10 status report')
    .argument('<batchId>')
    .requiredOption('-o, --output <file>', 'where to write the pain.002 ("-" for stdout)')
    .action(async (batchId: string, o: { output: string }, cmd: Command) => {
      const client = clientFor(cmd);
      if (o.output === '-') {
        await client.report(batchId, deps.stdout);
        return;
      }
      const out = createWriteStream(o.output);
      try {
        const bytes = await client.report(batchId, out);
        out.end();
        await once(out, 'finish');
        print(cmd, () => `Wrote the pain.002 report of batch ${batchId} to ${o.output} (${bytes} bytes)`, { batchId, file: o.output, bytes });
      } catch (err) {
        out.destroy();
        throw err;
      }
    });

  batch
    .command('payments')
    .description('the single payments of a bulk routed as singles, each with its SCA link')
    .argument('<batchId>')
    .requiredOption('--pmt-inf <pmtInfId>', 'the PmtInfId of the bulk')
    .action(async (batchId: string, o: { pmtInf: string }, cmd: Command) => {
      const client = clientFor(cmd);
      let href: string | undefined = `/batches/v1/batches/${encodeURIComponent(batchId)}/payments?pmtInfId=${encodeURIComponent(o.pmtInf)}`;
      const all: SinglePayment[] = [];
      while (href) {
        const page = await client.payments(href);
        all.push(...page.payments);
        href = page._links?.next?.href;
      }
      print(cmd, () => formatPayments(all), { payments: all });
    });

  batch
    .command('sample')
    .description('write a pain.001 payment run for the dev sandbox, to try the batch flow before your ERP exports one')
    .option('-o, --output <file>', 'where to write it ("-" for stdout; default <MsgId>.xml, other characters than letters, digits, "." and "-" as "-")')
    .option('--transactions <n>', `credit transfers in the bulk payment at ${SAMPLE_ACCOUNTS.bulk.debtorAgentBic}`, positiveInt, 10)
    .option('--singles <n>', `single payments at ${SAMPLE_ACCOUNTS.singles.debtorAgentBic}, a bank without bulk payments (0 for none)`, nonNegativeInt, 3)
    .option('--rejected <n>', 'how many of the bulk the sandbox bank rejects (cents 13, reason AM04)', nonNegativeInt, 0)
    .option('--pain <version>', 'pain.001.001.09 or pain.001.001.03', painVersion, 'pain.001.001.09' as Pain001Version)
    .option('--msg-id <id>', 'the file\'s MsgId (default SAMPLE-<UTC time>; the same MsgId twice is the same batch)')
    .action(async (o: { output?: string; transactions: number; singles: number; rejected: number; pain: Pain001Version; msgId?: string }, cmd: Command) => {
      const now = new Date(deps.now());
      const msgId = o.msgId ?? sampleMsgId(now);
      const problems = sampleProblems({ ...o, msgId });
      if (problems.length) throw new Error(problems.join('; '));
      const spec = sampleSpec({ version: o.pain, transactions: o.transactions, singles: o.singles, rejected: o.rejected, msgId, now });
      const file = o.output ?? sampleFileName(msgId);
      if (file === '-') {
        await generatePain001(deps.stdout, spec);
        return;
      }
      const handle = await open(file, 'wx'); // never overwrite an operator's file
      const out = handle.createWriteStream();
      let written;
      try {
        written = await generatePain001(out, spec);
        out.end();
        await once(out, 'close');
      } catch (err) {
        out.destroy();
        throw err;
      }
      const summary = {
        file,
        msgId,
        version: o.pain,
        numberOfTransactions: written.numberOfTransactions,
        controlSum: written.controlSum,
        bytes: written.bytes,
        paymentInformations: spec.paymentInformations.map((p) => ({ pmtInfId: p.pmtInfId, bicFi: p.debtorAgentBic, numberOfTransactions: p.transactions })),
        rejectedBySandbox: o.rejected,
      };
      print(
        cmd,
        () =>
          [
            `Wrote ${file}: ${o.pain}, ${msgId} · ${groupDigits(written.numberOfTransactions)} transactions · ${groupDigits(written.controlSum)} EUR`,
            `  ${SAMPLE_ACCOUNTS.bulk.pmtInfId}  ${SAMPLE_ACCOUNTS.bulk.debtorAgentBic}  bulk  ${groupDigits(o.transactions)} tx` +
              (o.rejected ? ` (${groupDigits(o.rejected)} with cents 13: rejected AM04)` : ''),
            ...(o.singles ? [`  ${SAMPLE_ACCOUNTS.singles.pmtInfId}  ${SAMPLE_ACCOUNTS.singles.debtorAgentBic}  single payments  ${groupDigits(o.singles)} tx`] : []),
            `Next: clearway batch submit ${file} --psu-id decoupled --wait`,
          ].join('\n'),
        summary,
      );
    });

  return program;
}

function withWaitOptions(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait until every bulk is final, showing progress')
    .option('--interval <ms>', 'how often to poll while waiting', positiveInt, 1000)
    .option('--timeout <seconds>', 'stop waiting after this long (exit 1; the batch goes on)', positiveInt);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return n;
}

function painVersion(value: string): Pain001Version {
  const version = (PAIN001_VERSIONS as readonly string[]).find((v) => v === value || v.endsWith(`.${value}`));
  if (!version) throw new InvalidArgumentError(`must be one of ${PAIN001_VERSIONS.join(', ')}`);
  return version as Pain001Version;
}

function settings(o: GlobalOptions, env: NodeJS.ProcessEnv): ClientSettings {
  return {
    baseUrl: o.url ?? env.CLEARWAY_URL ?? DEFAULTS.url,
    clientId: o.clientId ?? env.CLEARWAY_CLIENT_ID ?? DEFAULTS.clientId,
    clientSecret: o.clientSecret ?? env.CLEARWAY_CLIENT_SECRET ?? DEFAULTS.clientSecret,
  };
}

/** 0 settled or still going, 2 final with rejections or cancellations. */
export function exitCodeFor(batch: Batch): number {
  if (!FINAL_BATCH_STATUSES.has(batch.status) || batch.status === 'completed') return EXIT.ok;
  return EXIT.rejections;
}

function errorJson(err: unknown): { error: string; status?: number; tppMessages?: unknown[] } {
  const error = err instanceof Error ? err.message : String(err);
  return err instanceof ClearwayApiError ? { error, status: err.status, tppMessages: err.tppMessages } : { error };
}

function describeError(err: unknown): string {
  if (err instanceof ClearwayApiError) {
    const { codes, lines } = formatTppMessages(err.tppMessages);
    return `clearway: ${err.message}${codes ? ` ${codes}` : ''}${lines ? `\n${lines}` : ''}`;
  }
  if (err instanceof ClearwayUnreachableError) return `clearway: ${err.message} (is it running? npm run dev)`;
  if (err instanceof WatchTimeoutError) return `clearway: ${err.message}`;
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `clearway: ${(err as Error).message}`;
  if ((err as NodeJS.ErrnoException).code === 'EEXIST') return `clearway: ${(err as Error).message} (not overwritten: choose another file with -o)`;
  return `clearway: ${err instanceof Error ? err.message : String(err)}`;
}
