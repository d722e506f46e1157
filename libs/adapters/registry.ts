import type { BankAdapter, BankProtocol } from './bank-adapter';
import { BerlinGroupAdapter } from './berlin-group';
import type { OpenPaymentsAdapter } from './open-payments/types';
import { UkObieAdapter } from './uk-obie';

/**
 * Wallet protocols: reached by wallet address (not through the ASPSP directory), each through its
 * own adapter interface. Undefined where the deployment has no client identity for it.
 */
export interface WalletAdapters {
  'open-payments'?: OpenPaymentsAdapter;
}
export type WalletProtocol = keyof WalletAdapters;
const WALLET_PROTOCOLS = Object.keys({ 'open-payments': true } satisfies Record<WalletProtocol, true>) as WalletProtocol[];

/** One entry per protocol; the Record type makes a protocol without an adapter a compile error. */
function defaultAdapters(): Record<BankProtocol, BankAdapter> {
  return {
    'berlin-group': new BerlinGroupAdapter(),
    // Unconfigured here: the worker passes one with Clearway's TPP identity (apps/worker/uk-obie.ts).
    'uk-obie': new UkObieAdapter(),
  };
}

/** The one way Clearway reaches any protocol: banks by their directory row's protocol, wallets by protocol name. */
export interface AdapterRegistry {
  /** The adapter for a protocol; throws for a protocol Clearway does not speak (e.g. a bad directory row). */
  adapterFor(protocol: BankProtocol | string): BankAdapter;
  readonly protocols: readonly BankProtocol[];
  /** Wallet protocols' adapters (Open Payments): configured ones only. */
  readonly walletAdapters: Readonly<WalletAdapters>;
  readonly walletProtocols: readonly WalletProtocol[];
}

/**
 * Overrides replace single entries, e.g. an adapter with a stubbed `fetch` in tests, or add the
 * wallet adapters built from this deployment's client identity (the worker's `open-payments`).
 */
export function createAdapterRegistry(overrides: Partial<Record<BankProtocol, BankAdapter>> & WalletAdapters = {}): AdapterRegistry {
  const { 'open-payments': openPayments, ...bankOverrides } = overrides;
  const walletAdapters: WalletAdapters = Object.freeze(stripUndefined({ 'open-payments': openPayments }));
  const adapters: Record<BankProtocol, BankAdapter> = { ...defaultAdapters(), ...stripUndefined(bankOverrides) };
  for (const [protocol, adapter] of Object.entries(adapters)) {
    if (adapter.protocol !== protocol) throw new Error(`adapter for '${protocol}' speaks '${adapter.protocol}'`);
  }
  const protocols = Object.keys(adapters) as BankProtocol[];
  return {
    protocols,
    walletAdapters,
    walletProtocols: WALLET_PROTOCOLS,
    adapterFor(protocol) {
      if (!Object.prototype.hasOwnProperty.call(adapters, protocol)) throw new Error(`no bank adapter for protocol '${protocol}'`);
      return adapters[protocol as BankProtocol];
    },
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

let defaultRegistry: AdapterRegistry | undefined;

/** The process-wide registry with the real adapters (they are stateless, so sharing is safe). */
export function adapterFor(protocol: BankProtocol | string): BankAdapter {
  defaultRegistry ??= createAdapterRegistry();
  return defaultRegistry.adapterFor(protocol);
}
