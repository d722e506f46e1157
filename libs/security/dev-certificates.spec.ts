import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDevTls, loadOrCreateDevTls } from './dev-certificates';

describe('dev certificates', () => {
  it('a CA and a server certificate it signed, for the hosts asked (DNS names and IPs), fit for TLS servers', async () => {
    const sut = await createDevTls(['127.0.0.1', 'localhost', '::1']);
    const ca = new X509Certificate(sut.caPem);
    const cert = new X509Certificate(sut.certPem);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBeDefined();
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('wallet.example')).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThanOrEqual(398 * 24 * 3600_000);
    expect(sut.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('kept under .data/dev-ca: reused while it covers the hosts, made anew when it does not', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dev-ca-'));
    const first = await loadOrCreateDevTls(dataDir, ['127.0.0.1']);
    expect(first.caFile).toBe(path.join(dataDir, 'dev-ca', 'ca.pem'));
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateDevTls(dataDir, ['127.0.0.1']);
    expect(again.certPem).toBe(first.certPem);
    const wider = await loadOrCreateDevTls(dataDir, ['127.0.0.1', 'sandbox']);
    expect(wider.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(readFileSync(wider.certFile)).checkHost('sandbox')).toBe('sandbox');
  });
});
