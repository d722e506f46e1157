/**
 * A development certificate authority and a server certificate it signed, so the sandbox ASE can
 * serve https in development as every real wallet does, and the dev stack can trust it by adding
 * this one CA to what Clearway's Open Payments client trusts (`OPEN_PAYMENTS_EXTRA_CA_FILE`).
 * The same CA signs Clearway's test QWAC (a TLS client certificate carrying PSD2 roles), which the
 * Paysera-profile sandbox bank requires; in production the QWAC comes from configuration.
 * Certificate verification stays on; nothing here is for production.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate, webcrypto } from 'node:crypto';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { encodeQcStatements, ORGANIZATION_IDENTIFIER_OID, QC_STATEMENTS_OID, type Psd2QcStatement } from './qwac';

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
  /**
   * Clearway's test QWAC (TLS client certificate with the PSD2 qcStatement, roles PSP_PI, PSP_AI,
   * PSP_IC) and its key, signed by the same CA: what the Paysera-profile sandbox bank asks for.
   */
  qwacPem: string;
  qwacKeyPem: string;
}

/** A CA whose key is kept in memory only, to issue certificates in dev and in tests. */
export interface TestCa {
  caPem: string;
  issue(spec: IssueSpec): Promise<{ certPem: string; keyPem: string }>;
}

export type IssueSpec =
  | { kind: 'server'; hosts: string[]; days?: number }
  | {
      kind: 'qwac';
      /** Subject CN and organizationIdentifier (`PSD<country>-<NCA>-<number>`). */
      commonName?: string;
      organizationIdentifier?: string;
      /** Left out: a plain client certificate without any PSD2 statement. */
      psd2?: Psd2QcStatement;
      days?: number;
    };

/** The roles Clearway holds as a TPP, and the NCA named in its dev QWAC. */
export const DEV_QWAC_STATEMENT: Psd2QcStatement = { roles: ['PSP_PI', 'PSP_AI', 'PSP_IC'], ncaName: 'Bank of Lithuania', ncaId: 'LT-BOL' };
export const DEV_QWAC_ORGANIZATION_IDENTIFIER = 'PSDLT-BOL-DEV0001';

/** Where {@link loadOrCreateDevTls} keeps them under a data directory. */
export function devTlsFiles(dataDir: string) {
  const dir = path.join(dataDir, 'dev-ca');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server-key.pem'),
    qwac: path.join(dir, 'clearway-qwac.pem'),
    qwacKey: path.join(dir, 'clearway-qwac-key.pem'),
  };
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

/** A fresh CA valid `days` (default ten years), named `name`. */
export async function createTestCa(opts: { days?: number; now?: Date; name?: string } = {}): Promise<TestCa> {
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - DAY_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: opts.name ?? 'CN=Clearway development CA, O=Clearway (development only)',
    notBefore,
    notAfter: new Date(now.getTime() + (opts.days ?? 3650) * DAY_MS),
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (spec: IssueSpec): Promise<{ certPem: string; keyPem: string }> => {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
    const common = {
      serialNumber: randomSerial(),
      issuer: ca.subject,
      notBefore,
      signingKey: caKeys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALGORITHM,
    };
    const cert =
      spec.kind === 'server'
        ? await x509.X509CertificateGenerator.create({
            ...common,
            subject: `CN=${spec.hosts[0] ?? 'localhost'}`,
            notAfter: new Date(now.getTime() + (spec.days ?? 365) * DAY_MS),
            extensions: [
              new x509.BasicConstraintsExtension(false, undefined, true),
              new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
              new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
              new x509.SubjectAlternativeNameExtension(spec.hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h }))),
              await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
            ],
          })
        : await x509.X509CertificateGenerator.create({
            ...common,
            subject: [
              `CN=${spec.commonName ?? 'Clearway (development)'}`,
              'O=Clearway',
              `${ORGANIZATION_IDENTIFIER_OID}=${spec.organizationIdentifier ?? DEV_QWAC_ORGANIZATION_IDENTIFIER}`,
              'C=LT',
            ].join(', '),
            notAfter: new Date(now.getTime() + (spec.days ?? 365) * DAY_MS),
            extensions: [
              new x509.BasicConstraintsExtension(false, undefined, true),
              new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
              new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
              ...(spec.psd2 ? [new x509.Extension(QC_STATEMENTS_OID, false, encodeQcStatements(spec.psd2))] : []),
              await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
            ],
          });
    return { certPem: cert.toString('pem') + '\n', keyPem: await pkcs8Pem(keys.privateKey) };
  };
  return { caPem: ca.toString('pem') + '\n', issue };
}

/**
 * A fresh CA (valid `caDays`), a server certificate for `hosts` (DNS names or IP addresses)
 * signed by it, valid `serverDays` (browsers refuse server certificates valid over 398 days), and
 * Clearway's test QWAC with its PSD2 roles.
 */
export async function createDevTls(hosts: string[], opts: { caDays?: number; serverDays?: number; now?: Date } = {}): Promise<DevTls> {
  const ca = await createTestCa({ days: opts.caDays, now: opts.now });
  const server = await ca.issue({ kind: 'server', hosts, days: opts.serverDays });
  const qwac = await ca.issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
  return { caPem: ca.caPem, certPem: server.certPem, keyPem: server.keyPem, qwacPem: qwac.certPem, qwacKeyPem: qwac.keyPem };
}

export interface DevTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  qwacFile: string;
  qwacKeyFile: string;
}

/**
 * The dev stack's CA, server certificate and QWAC under `{dataDir}/dev-ca/`: created once, reused
 * while the server certificate still covers `hosts` and everything has a month left; otherwise made
 * anew. The CA's key is not kept: new certificates come with a new CA.
 */
export async function loadOrCreateDevTls(dataDir: string, hosts: string[]): Promise<DevTls & DevTlsFiles> {
  const files = devTlsFiles(dataDir);
  const paths = { caFile: files.ca, certFile: files.cert, keyFile: files.key, qwacFile: files.qwac, qwacKeyFile: files.qwacKey };
  if ([files.ca, files.cert, files.key, files.qwac, files.qwacKey].every((f) => existsSync(f))) {
    const tls = {
      caPem: readFileSync(files.ca, 'utf8'),
      certPem: readFileSync(files.cert, 'utf8'),
      keyPem: readFileSync(files.key, 'utf8'),
      qwacPem: readFileSync(files.qwac, 'utf8'),
      qwacKeyPem: readFileSync(files.qwacKey, 'utf8'),
    };
    if (stillGood(tls, hosts)) return { ...tls, ...paths };
  }
  const tls = await createDevTls(hosts);
  mkdirSync(files.dir, { recursive: true });
  writeFileSync(files.ca, tls.caPem);
  writeFileSync(files.cert, tls.certPem);
  writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
  writeFileSync(files.qwac, tls.qwacPem);
  writeFileSync(files.qwacKey, tls.qwacKeyPem, { mode: 0o600 });
  return { ...tls, ...paths };
}

function stillGood(tls: DevTls, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(tls.certPem);
    const qwac = new X509Certificate(tls.qwacPem);
    const ca = new X509Certificate(tls.caPem);
    for (const c of [cert, qwac]) if (!c.verify(ca.publicKey) || Date.parse(c.validTo) - Date.now() < 30 * DAY_MS) return false;
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
