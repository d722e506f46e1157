import { exportPKCS8, generateKeyPair } from 'jose';

let key: Promise<string> | undefined;

/**
 * Clearway's UK signing key for tests: one per test process, passed as configuration, so every
 * worker of a test (in-process or a child process) signs with the key the bank registered.
 */
export async function ukTestSigningKeyEnv(): Promise<Record<string, string>> {
  key ??= generateKeyPair('PS256', { extractable: true }).then(({ privateKey }) => exportPKCS8(privateKey));
  return { UK_OBIE_SIGNING_KEY: Buffer.from(await key).toString('base64') };
}
