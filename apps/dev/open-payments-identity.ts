import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import type { Ed25519Jwk } from '../../libs/security/http-signatures';

export interface DevIdentity {
  keyId: string;
  privateKeyPem: string;
  publicJwk: Ed25519Jwk;
}

/**
 * Clearway's Open Payments client key for development: generated once into `.data/` (never
 * committed) and reused, so grants and registrations survive restarts. Production supplies its
 * own through OPEN_PAYMENTS_WALLET_ADDRESS / _KEY_ID / _PRIVATE_KEY.
 */
export function loadOrCreateDevIdentity(dataDir: string): DevIdentity {
  const file = path.join(dataDir, 'open-payments-client.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevIdentity;
  mkdirSync(dataDir, { recursive: true });
  const { privateKeyPem, publicJwk } = generateIdentityKey('clearway-dev');
  const identity = { keyId: publicJwk.kid, privateKeyPem, publicJwk };
  writeFileSync(file, JSON.stringify(identity, null, 2), { mode: 0o600 });
  return identity;
}

/** Registers Clearway's wallet (its public key) at the sandbox ASE: `${aseUrl}/clearway`. */
export async function registerDevWallet(aseUrl: string, identity: DevIdentity, fetchImpl: typeof fetch = fetch): Promise<string> {
  const res = await fetchImpl(`${aseUrl}/_sandbox/wallets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'clearway', publicName: 'Clearway', assetCode: 'EUR', assetScale: 2, jwks: [identity.publicJwk] }),
  });
  if (res.status !== 201) throw new Error(`registering Clearway's wallet at the sandbox ASE failed: ${res.status} ${await res.text()}`);
  return `${aseUrl}/clearway`;
}
