import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportPKCS8, generateKeyPair } from 'jose';

/**
 * Clearway's UK Open Banking signing key in development: made once into `.data/`, so the client
 * the UK sandbox bank registered keeps working across restarts of the worker.
 */
export async function loadOrCreateDevUkSigningKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'uk-obie-signing-key.pem');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const { privateKey } = await generateKeyPair('PS256', { extractable: true });
    writeFileSync(file, await exportPKCS8(privateKey), { mode: 0o600 });
  }
  return file;
}
