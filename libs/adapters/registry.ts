import type { BankAdapter, BankProtocol } from './bank-adapter';
import { BerlinGroupAdapter } from './berlin-group';
import { UkObieAdapter } from './uk-obie';

/** One entry per protocol; the Record type makes a protocol without an adapter a compile error. */
function defaultAdapters(): Record<BankProtocol, BankAdapter> {
  return {
    'berlin-group': new BerlinGroupAdapter(),
    // Unconfigured here: the worker passes one with Clearway's TPP identity (apps/worker/uk-obie.ts).
    'uk-obie': new UkObieAdapter(),
  };
}

export interface AdapterRegistry {
  /** The adapter for a protocol; throws for a protocol Clearway does not speak (e.g. a bad directory row). */
  adapterFor(protocol: BankProtocol | string): BankAdapter;
  readonly protocols: readonly BankProtocol[];
}

/** Overrides replace single entries, e.g. an adapter with a stubbed `fetch` in tests. */
export function createAdapterRegistry(overrides: Partial<Record<BankProtocol, BankAdapter>> = {}): AdapterRegistry {
  const adapters: Record<BankProtocol, BankAdapter> = { ...defaultAdapters(), ...stripUndefined(overrides) };
  for (const [protocol, adapter] of Object.entries(adapters)) {
    if (adapter.protocol !== protocol) throw new Error(`adapter for '${protocol}' speaks '${adapter.protocol}'`);
  }
  const protocols = Object.keys(adapters) as BankProtocol[];
  return {
    protocols,
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
