import { constants, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { CompactSign, base64url, generateKeyPair, importSPKI } from 'jose';
import { OB_IAT, OB_ISS, OB_TAN, signDetached, verifyDetached, JwsSignatureError, type JwsProfile } from './jws';

/**
 * OBIE detached JWS. Known answers: signatures made once (PS256 is randomised, so they are pinned
 * rather than recomputed) and checked here with Node's own RSA-PSS verifier over the signing input
 * each rule set prescribes, independently of jose and of our code; plus signatures made directly
 * with jose's CompactSign, checked with our verifier.
 */
const PUBLIC_KEY_PEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqqygiR4p4uFhIN363aRM
aw3bl7EKscykdVqtB98R2/YpJskbbcfiJeRWQvdauvwCLyHvntTslVQvC6aOB1zr
mCzpk4lUtuacOBcWAhEELH9vNPq2gH4IP74oSxXwBeCZiCSjOSS0omNol46VV9P2
MqX3M7rytAqYsZXtsyfkttubLmL+4pZ40kz1JV43YSASjg6uavp4/MaDlnRw/ZCk
oGgOQ1vuFNUhVMjR6C5rIzAb8nhT2jCGDSvupoZ47vqSsSjK+uYnnk5wfjIHGNV7
7QuBrAprF96xMJsjKyTY0wseaFe7I1BL27GPDiGCjv1DVzZhhC5xZiBOqR5it+mM
0wIDAQAB
-----END PUBLIC KEY-----`;
const PAYLOAD = '{"Data":{"ConsentId":"pdc-1","Status":"AwaitingAuthorisation"},"Risk":{}}';
const ISS = '0015800001041REAAY/abcdefghij';
const IAT = 1796000000;
const VECTORS: Record<JwsProfile, string> = {
  '3.1.4+': 'eyJhbGciOiJQUzI1NiIsImtpZCI6ImthdC0xIiwidHlwIjoiSk9TRSIsImN0eSI6ImFwcGxpY2F0aW9uL2pzb24iLCJodHRwOi8vb3BlbmJhbmtpbmcub3JnLnVrL2lhdCI6MTc5NjAwMDAwMCwiaHR0cDovL29wZW5iYW5raW5nLm9yZy51ay9pc3MiOiIwMDE1ODAwMDAxMDQxUkVBQVkvYWJjZGVmZ2hpaiIsImh0dHA6Ly9vcGVuYmFua2luZy5vcmcudWsvdGFuIjoib3BlbmJhbmtpbmcub3JnLnVrIiwiY3JpdCI6WyJodHRwOi8vb3BlbmJhbmtpbmcub3JnLnVrL2lhdCIsImh0dHA6Ly9vcGVuYmFua2luZy5vcmcudWsvaXNzIiwiaHR0cDovL29wZW5iYW5raW5nLm9yZy51ay90YW4iXX0..eXXH3id3qxqH1GBKMaRaFKCe-qQta3MeHbR8kjVAX6L0Jyj1nwbFdA-FosviKc_Mj1Lsyzs5ofdXWGGGvjTaUAwoK4FMdwXHSa7AMCr_aZETdF7hCVX4tE_lmAZ0c_jNilIVHc9_hw73QCH8WYiU_nIm_J-zRFPU8LaIXz8swPNud6Cewbf7M8ORQCtmC4eELCo9RbZ3fO25dvu2A4pl1RbTydHuyv8d5XSWM2hjnifKEL_RXI_1IjV3Inxi7AMXxp3i_7CJ7GkOwpAZuwJ5UzIz1iY0Eds6e78_B3eyZcZEYm_JXDCa40eEtOHlSTsITzBrYf3wbVfSnhEv7WY-hw',
  '3.1.2': 'eyJhbGciOiJQUzI1NiIsImtpZCI6ImthdC0xIiwiYjY0IjpmYWxzZSwiaHR0cDovL29wZW5iYW5raW5nLm9yZy51ay9pYXQiOjE3OTYwMDAwMDAsImh0dHA6Ly9vcGVuYmFua2luZy5vcmcudWsvaXNzIjoiMDAxNTgwMDAwMTA0MVJFQUFZL2FiY2RlZmdoaWoiLCJodHRwOi8vb3BlbmJhbmtpbmcub3JnLnVrL3RhbiI6Im9wZW5iYW5raW5nLm9yZy51ayIsImNyaXQiOlsiYjY0IiwiaHR0cDovL29wZW5iYW5raW5nLm9yZy51ay9pYXQiLCJodHRwOi8vb3BlbmJhbmtpbmcub3JnLnVrL2lzcyIsImh0dHA6Ly9vcGVuYmFua2luZy5vcmcudWsvdGFuIl19..fzRgeDig99uW4RUw8Ibu-weC2GmeXoUagi9EiJDspRoLEb-mOH-iXAzYpw8yRDUPJ3-JdOB3nZ0427AIDde_ZChFeRXyB1LkNpujcAGqCCJ5J4HHj6qb_gNo724oKfUCDmL6fmTCTJeZbqjxET4Vl86j4hAhsiX33cscWS345XH3LD20M9hRpdhkzK---PiNDsMbaMLE3zmH3f_n4BqbFS1TKRjAgCpC4XMYyZyextaE51kCuvHVIT7t_gkyndlE_hpxALzJUGypPo-nE2OGETHimzn5vRP5rg34igvjxfZLefw_oYTVVxMv5xsFtSoQeC1PcB_oARMInRq4kunm2Q',
};
const AT_IAT = () => IAT * 1000;
const opts = (profile: JwsProfile) => ({ profile, iss: ISS, tans: ['openbanking.org.uk'], now: AT_IAT });
const keyFor = async () => importSPKI(PUBLIC_KEY_PEM, 'PS256');

/** RFC 7515 signing input; RFC 7797 with b64 false: the payload as it is. */
function nodeVerifies(signature: string, signingPayload: string): boolean {
  const [header, , sig] = signature.split('.');
  return nodeVerify('sha256', Buffer.from(`${header}.${signingPayload}`), { key: createPublicKey(PUBLIC_KEY_PEM), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(sig!, 'base64url'));
}

describe('OBIE x-jws-signature', () => {
  test('3.1.4+ known answer: the payload is base64url-encoded in the signing input, no b64 header', async () => {
    const v = VECTORS['3.1.4+'];
    expect(nodeVerifies(v, base64url.encode(PAYLOAD))).toBe(true);
    expect(nodeVerifies(v, PAYLOAD)).toBe(false);
    expect(JSON.parse(Buffer.from(v.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'PS256', kid: 'kat-1', typ: 'JOSE', cty: 'application/json', [OB_IAT]: IAT, [OB_ISS]: ISS, [OB_TAN]: 'openbanking.org.uk', crit: [OB_IAT, OB_ISS, OB_TAN],
    });
    await expect(verifyDetached(v, PAYLOAD, keyFor, opts('3.1.4+'))).resolves.toEqual({ kid: 'kat-1', iss: ISS, iat: IAT });
  });

  test('3.1.2 known answer: b64 false and critical, the payload unencoded in the signing input', async () => {
    const v = VECTORS['3.1.2'];
    expect(nodeVerifies(v, PAYLOAD)).toBe(true);
    expect(nodeVerifies(v, base64url.encode(PAYLOAD))).toBe(false);
    expect(JSON.parse(Buffer.from(v.split('.')[0]!, 'base64url').toString())).toMatchObject({ b64: false, crit: ['b64', OB_IAT, OB_ISS, OB_TAN] });
    await expect(verifyDetached(v, PAYLOAD, keyFor, opts('3.1.2'))).resolves.toMatchObject({ kid: 'kat-1' });
  });

  test.each([
    ['a changed body', VECTORS['3.1.4+'], PAYLOAD.replace('Awaiting', 'Being'), opts('3.1.4+'), /does not verify/],
    ['another signer', VECTORS['3.1.4+'], PAYLOAD, { ...opts('3.1.4+'), iss: 'someone/else' }, /another signer/],
    ['an untrusted anchor', VECTORS['3.1.4+'], PAYLOAD, { ...opts('3.1.4+'), tans: ['other.example'] }, /trusted anchor/],
    ['a stale signature', VECTORS['3.1.4+'], PAYLOAD, { ...opts('3.1.4+'), now: () => (IAT + 3600) * 1000 }, /away from now/],
    ['3.1.2 rules on a 3.1.4+ signature', VECTORS['3.1.4+'], PAYLOAD, opts('3.1.2'), /b64 must be false/],
    ['3.1.4+ rules on a 3.1.2 signature', VECTORS['3.1.2'], PAYLOAD, opts('3.1.4+'), /b64 must not be present/],
    ['an attached payload', VECTORS['3.1.4+'].replace('..', `.${base64url.encode(PAYLOAD)}.`), PAYLOAD, opts('3.1.4+'), /detached/],
    ['no signature', undefined, PAYLOAD, opts('3.1.4+'), /missing/],
  ] as const)('refuses %s', async (_name, signature, payload, o, why) => {
    const err = await verifyDetached(signature, payload, keyFor, o).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JwsSignatureError);
    expect((err as Error).message).toMatch(why);
  });

  test('a signature made independently with jose (CompactSign) verifies; one without the OBIE crit claims does not', async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256');
    const header = { alg: 'PS256', kid: 'k2', typ: 'JOSE', cty: 'application/json', [OB_IAT]: IAT, [OB_ISS]: ISS, [OB_TAN]: 'openbanking.org.uk', crit: [OB_IAT, OB_ISS, OB_TAN] };
    const compact = await new CompactSign(new TextEncoder().encode(PAYLOAD)).setProtectedHeader(header).sign(privateKey, { crit: { [OB_IAT]: true, [OB_ISS]: true, [OB_TAN]: true } });
    const [h, , s] = compact.split('.');
    await expect(verifyDetached(`${h}..${s}`, PAYLOAD, async () => publicKey, opts('3.1.4+'))).resolves.toMatchObject({ kid: 'k2' });
    const plain = await new CompactSign(new TextEncoder().encode(PAYLOAD)).setProtectedHeader({ alg: 'PS256', kid: 'k2' }).sign(privateKey);
    const [ph, , ps] = plain.split('.');
    await expect(verifyDetached(`${ph}..${ps}`, PAYLOAD, async () => publicKey, opts('3.1.4+'))).rejects.toThrow(/crit must name/);
  });

  test('our signatures verify with Node\'s verifier over the prescribed signing input, both rule sets', async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
    const pem = (await import('jose')).exportSPKI(publicKey);
    for (const profile of ['3.1.4+', '3.1.2'] as const) {
      const sig = await signDetached(PAYLOAD, privateKey, { kid: 'k3', iss: ISS, tan: 'openbanking.org.uk', profile, iat: IAT });
      const [header, empty, s] = sig.split('.');
      expect(empty).toBe('');
      const input = `${header}.${profile === '3.1.2' ? PAYLOAD : base64url.encode(PAYLOAD)}`;
      expect(nodeVerify('sha256', Buffer.from(input), { key: createPublicKey(await pem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(s!, 'base64url'))).toBe(true);
    }
  });
});
