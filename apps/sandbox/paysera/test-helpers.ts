/**
 * Test kit for the Paysera-profile sandbox: a CA, the bank's server certificate, TPP certificates
 * with chosen roles (and ones a bank must refuse), and fetch over mTLS with each.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { createTestCa, DEV_QWAC_STATEMENT } from '../../../libs/security/dev-certificates';
import type { Psd2Role } from '../../../libs/security/qwac';
import { startPayseraSandbox, type PayseraSandboxOptions, type RunningPayseraSandbox } from '.';

export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** A fetch Response whose JSON the tests read freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export interface PayseraTestKit {
  sandbox: RunningPayseraSandbox;
  caPem: string;
  /** Clearway's QWAC (PSP_PI, PSP_AI, PSP_IC). */
  qwac: CertPair;
  /** Clearway's QWAC renewed: same organizationIdentifier (client id) and roles, a new key and certificate. */
  qwacRenewed: CertPair;
  /** A QWAC with only these roles, from the trusted CA. */
  withRoles(roles: Psd2Role[]): Promise<CertPair>;
  /** A client certificate from the trusted CA without any PSD2 statement. */
  plain: CertPair;
  /** A full-role QWAC from a CA the bank does not trust. */
  foreign: CertPair;
  /** fetch over TLS trusting the bank, presenting `cert` (none: like a browser). */
  fetchAs(cert?: CertPair): (url: string, init?: RequestInit) => Promise<TestResponse>;
  close(): Promise<void>;
}

export async function startPayseraTestKit(options: PayseraSandboxOptions = {}): Promise<PayseraTestKit> {
  const ca = await createTestCa();
  const server = await ca.issue({ kind: 'server', hosts: ['127.0.0.1', 'localhost'] });
  const qwac = await ca.issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
  const qwacRenewed = await ca.issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
  const plain = await ca.issue({ kind: 'qwac', organizationIdentifier: 'PSDLT-BOL-PLAIN01' });
  const otherCa = await createTestCa({ name: 'CN=Unknown QTSP' });
  const foreign = await otherCa.issue({ kind: 'qwac', psd2: DEV_QWAC_STATEMENT });
  const sandbox = await startPayseraSandbox({ ...options, tls: { certPem: server.certPem, keyPem: server.keyPem, clientCaPem: ca.caPem } });
  const agents: Agent[] = [];
  return {
    sandbox,
    caPem: ca.caPem,
    qwac,
    qwacRenewed,
    plain,
    foreign,
    withRoles: (roles) => ca.issue({ kind: 'qwac', organizationIdentifier: `PSDLT-BOL-${roles.join('').slice(0, 8) || 'NONE'}`, psd2: { ...DEV_QWAC_STATEMENT, roles } }),
    fetchAs(cert) {
      const agent = new Agent({ connect: { ca: ca.caPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) } });
      agents.push(agent);
      return (url, init) => undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<TestResponse>;
    },
    async close() {
      await Promise.allSettled(agents.map((a) => a.close()));
      await sandbox.close();
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function bgHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Content-Type': 'application/json', 'X-Request-ID': randomUUID(), 'PSU-IP-Address': '192.0.2.10', ...extra };
}

/** A SEPA credit transfer without a debtor account (the PSU picks it at the bank). */
export function paymentWithoutDebtor(amount = '12.34'): Record<string, unknown> {
  return {
    instructedAmount: { currency: 'EUR', amount },
    creditorAccount: { iban: 'LT121000011101001000' },
    creditorName: 'Vilnius Coffee UAB',
    remittanceInformationUnstructured: 'Invoice 42',
  };
}
