import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { temporalConnectionOptions } from './connection-options';

describe('temporalConnectionOptions', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'temporal-tls-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('plain gRPC by default', () => {
    expect(temporalConnectionOptions('temporal:7233', {})).toEqual({ address: 'temporal:7233' });
  });

  it('TLS with the system CAs, or a CA bundle and a server name', () => {
    expect(temporalConnectionOptions('t:7233', { TEMPORAL_TLS: 'true' })).toEqual({ address: 't:7233', tls: {} });
    const ca = file('ca.pem', 'CA');
    expect(temporalConnectionOptions('t:7233', { TEMPORAL_TLS_CA_FILE: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' })).toEqual({
      address: 't:7233',
      tls: { serverNameOverride: 'temporal.internal', serverRootCACertificate: Buffer.from('CA') },
    });
  });

  it('mTLS needs both the certificate and its key', () => {
    const crt = file('c.pem', 'CRT');
    const key = file('k.pem', 'KEY');
    expect(temporalConnectionOptions('t:7233', { TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: key }).tls).toEqual({ clientCertPair: { crt: Buffer.from('CRT'), key: Buffer.from('KEY') } });
    expect(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS_CERT_FILE: crt })).toThrow(/go together/);
  });

  it('an API key implies TLS; TLS=false with credentials is refused', () => {
    expect(temporalConnectionOptions('ns.acct.tmprl.cloud:7233', { TEMPORAL_API_KEY: 'secret' })).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'secret' });
    expect(() => temporalConnectionOptions('t:7233', { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'secret' })).toThrow(/cannot be combined/);
  });
});
