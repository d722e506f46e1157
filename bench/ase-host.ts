/**
 * The Open Payments sandbox ASE in a process of its own, for the transfers bench: the counterparty
 * wallet is not one of our processes, so its CPU is measured apart from the engine's and left out of
 * "our CPU", as the Berlin Group bank's is (bench/sandbox-host.ts). Started with `fork` by
 * `BenchSystem`; `BENCH_ASE` (JSON, {@link AseHostOptions}) says how. Sends `{ type: 'listening', url }`
 * once it accepts requests, answers `{ type: 'balances' }` with the ledger's balances (minor units as
 * strings) and closes on SIGTERM.
 */
import { startOpenPaymentsSandbox } from '../apps/sandbox/open-payments';
import type { Ed25519Jwk } from '../libs/security/http-signatures';

export interface AseHostOptions {
  /** Its own database: its PostgreSQL backends must not count among the engine's. */
  databaseUrl: string;
  autoApprove: boolean;
  settlementDelayMs: number;
  /** Balances in minor units, as decimal strings (JSON has no bigint). */
  wallets: Array<{ name: string; publicName: string; balance: string }>;
  /** Clearway's client wallet and its public key. */
  clearwayJwk: Ed25519Jwk;
}

export type AseHostMessage = { type: 'listening'; url: string } | { type: 'balances'; balances: Record<string, string> };

async function main(): Promise<void> {
  const opts = JSON.parse(process.env.BENCH_ASE ?? '') as AseHostOptions;
  const sandbox = await startOpenPaymentsSandbox({
    databaseUrl: opts.databaseUrl,
    port: 0,
    autoApprove: opts.autoApprove,
    settlementDelayMs: opts.settlementDelayMs,
    wallets: opts.wallets.map((w) => ({ ...w, balance: BigInt(w.balance) })),
  });
  await sandbox.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [opts.clearwayJwk] });
  process.once('SIGTERM', () => void sandbox.close().finally(() => process.exit(0)));
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'balances') return;
    void sandbox.ase.balances().then((balances) => send({ type: 'balances', balances: Object.fromEntries(Object.entries(balances).map(([k, v]) => [k, String(v)])) }));
  });
  send({ type: 'listening', url: sandbox.url });
}

function send(message: AseHostMessage): void {
  process.send!(message);
}

main().catch((err: unknown) => {
  process.stderr.write(`the Open Payments ASE failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
