import { createHash, X509Certificate } from 'node:crypto';

/**
 * A certificate's subject as an RFC 4514 string (most specific RDN first, comma-separated), the form
 * RFC 8705 `tls_client_auth_subject_dn` registers and a bank compares with what the TLS client
 * presented. Bank and TPP derive it the same way, so the comparison is exact.
 */
export function subjectDnOf(certificate: X509Certificate | string | Buffer): string {
  const x509 = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  return x509.subject.split('\n').filter(Boolean).reverse().join(',');
}

/** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the certificate's DER. */
export function certificateThumbprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64url');
}
