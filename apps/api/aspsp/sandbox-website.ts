import { bankConnectionFor } from '../../../libs/adapters/connection';
import type { ClearwayConfig } from '../../../libs/config/config';
import type { AspspEntity } from '../../../libs/persistence/entities/aspsp.entity';
import { PAYSERA_SANDBOX_BIC } from '../../../libs/config/sandbox-banks';

/**
 * Where this deployment serves a sandbox bank, as people reach it: the bank's own sandbox (Berlin
 * Group, UK, the https Paysera profile), at its configured public URL, port and scheme, plus the
 * row's `sandbox_path` (the NL bank under the Berlin Group sandbox), by the same rule the worker
 * uses to call it (`bankConnectionFor`). Directory rows of sandbox banks carry no website: their
 * host and port differ per deployment (migration 1732450000800).
 */
export function sandboxWebsiteUrl(
  aspsp: Pick<AspspEntity, 'bicFi' | 'protocol' | 'isSandbox'> & Partial<Pick<AspspEntity, 'sandboxPath'>>,
  config: Pick<ClearwayConfig, 'sandbox' | 'ukObie'>,
): string | undefined {
  if (!aspsp.isSandbox) return undefined;
  const publicUrls = {
    'berlin-group': config.sandbox.bgPublicUrl,
    'uk-obie': config.ukObie.sandboxPublicUrl,
    byBic: { [PAYSERA_SANDBOX_BIC]: config.sandbox.payseraPublicUrl },
  };
  try {
    return bankConnectionFor({ ...aspsp, apiBaseUrl: null }, publicUrls).baseUrl;
  } catch {
    return undefined; // a protocol without a sandbox here: no website rather than a wrong one
  }
}
