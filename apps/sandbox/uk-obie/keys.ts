import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface SigningKeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh PS256 (RSA 2048) key with its public JWK, as a bank or directory would publish it. */
export async function newSigningKey(kid: string): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'PS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}
