/**
 * A development certificate authority and a server certificate it signed, so the sandbox ASE can
 * serve https in development as every real wallet does, and the dev stack can trust it by adding
 * this one CA to what Clearway's Open Payments client trusts (`OPEN_PAYMENTS_EXTRA_CA_FILE`).
 * Certificate verification stays on; nothing here is for production.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate, webcrypto } from 'node:crypto';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;

export interface DevTls {
  /** PEM of the CA to trust (share this, never the key). */
  caPem: string;
  /** PEM of the server certificate and its private key (PKCS#8), for `https.createServer`. */
  certPem: string;
  keyPem: string;
}

/** Where {@link loadOrCreateDevTls} keeps them under a data directory. */
export function devTlsFiles(dataDir: string) {
  const dir = path.join(dataDir, 'dev-ca');
  return { dir, ca: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca-key.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem') };
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/**
 * A fresh CA (valid `caDays`) and a server certificate for `hosts` (DNS names or IP addresses)
 * signed by it, valid `serverDays` (browsers refuse server certificates valid over 398 days).
 */
export async function createDevTls(hosts: string[], opts: { caDays?: number; serverDays?: number; now?: Date } = {}): Promise<DevTls> {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - DAY_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=Clearway development CA, O=Clearway (development only)',
    notBefore,
    notAfter: new Date(now.getTime() + (opts.caDays ?? 3650) * DAY_MS),
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${hosts[0] ?? 'localhost'}`,
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(now.getTime() + (opts.serverDays ?? 365) * DAY_MS),
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h }))),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  return { caPem: ca.toString('pem') + '\n', certPem: server.toString('pem') + '\n', keyPem: await pkcs8Pem(serverKeys.privateKey) };
}

/**
 * The dev stack's CA and server certificate under `{dataDir}/dev-ca/`: created once, reused while
 * the server certificate still covers `hosts` and has a month left; otherwise made anew. The CA's
 * key is not kept: a new server certificate comes with a new CA.
 */
export async function loadOrCreateDevTls(dataDir: string, hosts: string[]): Promise<DevTls & { caFile: string; certFile: string; keyFile: string }> {
  const files = devTlsFiles(dataDir);
  const paths = { caFile: files.ca, certFile: files.cert, keyFile: files.key };
  if (existsSync(files.ca) && existsSync(files.cert) && existsSync(files.key)) {
    const tls = { caPem: readFileSync(files.ca, 'utf8'), certPem: readFileSync(files.cert, 'utf8'), keyPem: readFileSync(files.key, 'utf8') };
    if (stillGood(tls, hosts)) return { ...tls, ...paths };
  }
  const tls = await createDevTls(hosts);
  mkdirSync(files.dir, { recursive: true });
  writeFileSync(files.ca, tls.caPem);
  writeFileSync(files.cert, tls.certPem);
  writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
  return { ...tls, ...paths };
}

function stillGood(tls: DevTls, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(tls.certPem);
    const ca = new X509Certificate(tls.caPem);
    if (!cert.verify(ca.publicKey) || Date.parse(cert.validTo) - Date.now() < 30 * DAY_MS) return false;
    return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
  } catch {
    return false;
  }
}

function randomSerial(): string {
  // Positive (first bit clear), 16 bytes as RFC 5280 allows.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}
