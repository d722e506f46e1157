import type { AspspEntity } from '../persistence/entities/aspsp.entity';
import type { BankConnection, BankProtocol } from './bank-adapter';

/** Where each protocol's sandbox bank runs in this deployment. */
export type SandboxUrls = Record<BankProtocol, string>;

/** Builds the connection for one bank: its own base URL, or the sandbox bank's for sandbox ASPSPs. */
export function bankConnectionFor(
  aspsp: Pick<AspspEntity, 'bicFi' | 'protocol' | 'apiBaseUrl' | 'isSandbox'> & Partial<Pick<AspspEntity, 'notProcessedErrorCodes' | 'sandboxPath'>>,
  sandboxUrls: SandboxUrls,
): BankConnection {
  const baseUrl = aspsp.apiBaseUrl ?? (aspsp.isSandbox ? `${sandboxUrls[aspsp.protocol]}${aspsp.sandboxPath ?? ''}` : undefined);
  if (!baseUrl) throw new Error(`ASPSP ${aspsp.bicFi} has no API base URL configured`);
  return { bicFi: aspsp.bicFi, baseUrl, ...(aspsp.notProcessedErrorCodes?.length ? { notProcessedCodes: aspsp.notProcessedErrorCodes } : {}) };
}
