/**
 * TLS towards banks, per ASPSP: which client certificate Clearway presents (its eIDAS QWAC, or
 * another a bank issued) and which CAs it trusts for the bank's server besides the system's.
 * The directory row names a certificate by reference (`aspsps.client_certificate_ref` →
 * `BankConnection.clientCertificateRef`); the material itself comes from configuration and never
 * leaves this process. Protocol-neutral: any adapter's HTTP client asks {@link BankTls.fetchFor}.
 */
import { rootCertificates } from 'node:tls';
import type { Agent } from 'undici';
import type { BankConnection } from './bank-adapter';
import { bankFetch } from './bank-fetch';
import { tppIdentityOf } from '../security/qwac';

export interface ClientCertificate {
  /** PEM of the certificate (and its chain, leaf first). */
  certPem: string;
  /** PEM of its private key. */
  keyPem: string;
}

export interface BankTlsMaterial {
  /** Client certificates by reference. */
  clientCertificates: Readonly<Record<string, ClientCertificate>>;
  /** PEM of CAs trusted for banks besides the system's (the dev CA that signed the sandbox banks). */
  extraCaPem?: string;
}

/** The reference of Clearway's own QWAC (QWAC_CERT_FILE / QWAC_KEY_FILE). */
export const QWAC_REF = 'qwac';

/** Whether `fetch` failing to even start is a missing certificate, a configuration fault. */
export class UnknownClientCertificateError extends Error {
  override readonly name = 'UnknownClientCertificateError';
}

/**
 * One undici Agent per (client certificate, trust) pair, made on first use and kept: an Agent is a
 * connection pool, so a bank's TLS sessions are reused across requests. Holds no business state.
 */
export class BankTls {
  /** By certificate reference: its Agent (a connection pool) and the fetch over it. */
  private readonly pools = new Map<string, { agent: Agent; fetch: typeof fetch }>();

  constructor(private readonly material: BankTlsMaterial) {}

  /**
   * The fetch for this bank: {@link bankFetch} over its Agent when the bank needs a client certificate or the
   * extra CA; undefined means "the caller's default fetch will do" (plain system trust, no client
   * certificate). A reference with no material configured throws: sending without the certificate
   * would only earn a refusal from the bank, and hides the configuration fault.
   */
  fetchFor(conn: Pick<BankConnection, 'bicFi' | 'clientCertificateRef' | 'baseUrl'>): typeof fetch | undefined {
    const ref = conn.clientCertificateRef;
    const https = conn.baseUrl.startsWith('https:');
    if (!ref && !(https && this.material.extraCaPem)) return undefined;
    const certificate = ref ? this.material.clientCertificates[ref] : undefined;
    if (ref && !certificate) {
      throw new UnknownClientCertificateError(`ASPSP ${conn.bicFi} needs client certificate "${ref}", which is not configured`);
    }
    const key = ref ?? '';
    let pool = this.pools.get(key);
    if (!pool) {
      // Required here, not imported: loading undici installs its global dispatcher (see bank-fetch.ts).
      const undici = require('undici') as typeof import('undici');
      const agent = new undici.Agent({
        connect: {
          ...(this.material.extraCaPem ? { ca: [...rootCertificates, this.material.extraCaPem] } : {}),
          ...(certificate ? { cert: certificate.certPem, key: certificate.keyPem } : {}),
        },
      });
      pool = { agent, fetch: bankFetch(agent) };
      this.pools.set(key, pool);
    }
    return pool.fetch;
  }

  /** Our OAuth client_id at a bank that identifies TPPs by certificate: the QWAC's organizationIdentifier. */
  clientIdFor(conn: Pick<BankConnection, 'clientCertificateRef'>): string | undefined {
    const certificate = conn.clientCertificateRef ? this.material.clientCertificates[conn.clientCertificateRef] : undefined;
    if (!certificate) return undefined;
    try {
      return tppIdentityOf(certificate.certPem)?.organizationIdentifier;
    } catch {
      return undefined;
    }
  }

  /** The PEM of the client certificate this bank is shown (its `clientCertificateRef`), if any. */
  clientCertificatePemFor(conn: Pick<BankConnection, 'clientCertificateRef'>): string | undefined {
    return conn.clientCertificateRef ? this.material.clientCertificates[conn.clientCertificateRef]?.certPem : undefined;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.agent.close()));
  }
}
