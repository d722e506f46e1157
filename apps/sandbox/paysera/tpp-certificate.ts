/**
 * Who is calling: the TPP as its TLS client certificate says (mTLS), checked per request against
 * the PSD2 role the service needs. Refusals follow Berlin Group 1.3.12 (401 with
 * CERTIFICATE_MISSING, CERTIFICATE_INVALID, CERTIFICATE_EXPIRED or ROLE_INVALID).
 */
import { X509Certificate } from 'node:crypto';
import { certificateThumbprint } from '../../../libs/security/certificate-dn';
import type { TLSSocket } from 'node:tls';
import type { Request } from 'express';
import { tppIdentityOf, type Psd2Role, type TppIdentity } from '../../../libs/security/qwac';

export type CertificateRefusal = { code: 'CERTIFICATE_MISSING' | 'CERTIFICATE_INVALID' | 'CERTIFICATE_EXPIRED' | 'ROLE_INVALID'; text: string };

/** The TPP behind this request's TLS connection, or why there is none. */
export function tppOf(req: Request): { tpp: TppIdentity & { clientId: string; name: string; x5tS256: string } } | CertificateRefusal {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return { code: 'CERTIFICATE_MISSING', text: 'This API is served over mutual TLS only' };
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) return { code: 'CERTIFICATE_MISSING', text: 'No client certificate was presented (QWAC required)' };
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? 'untrusted');
    if (reason === 'CERT_HAS_EXPIRED') return { code: 'CERTIFICATE_EXPIRED', text: 'The client certificate has expired' };
    return { code: 'CERTIFICATE_INVALID', text: `The client certificate is not issued by a trusted QTSP (${reason})` };
  }
  const identity = tppIdentityOf(new X509Certificate(peer.raw));
  if (!identity) return { code: 'CERTIFICATE_INVALID', text: 'The client certificate carries no PSD2 qcStatement (ETSI TS 119 495)' };
  if (!identity.organizationIdentifier) return { code: 'CERTIFICATE_INVALID', text: 'The client certificate has no organizationIdentifier' };
  const name = /^CN=(.*)$/m.exec(identity.subject)?.[1] ?? identity.organizationIdentifier;
  return { tpp: { ...identity, clientId: identity.organizationIdentifier, name, x5tS256: certificateThumbprint(peer.raw) } };
}


/** The refusal when the TPP lacks `role`, else undefined. */
export function missingRole(tpp: TppIdentity, role: Psd2Role): CertificateRefusal | undefined {
  if (tpp.roles.includes(role)) return undefined;
  return { code: 'ROLE_INVALID', text: `The client certificate lacks the PSD2 role ${role} this service requires` };
}
