/**
 * PSD2 roles in an eIDAS certificate (QWAC or QSealC): the ETSI TS 119 495 QCStatement
 * (`id-etsi-psd2-qcStatement`, 0.4.0.19495.2) inside the RFC 3739 `qcStatements` extension.
 *
 * ```asn1
 * QCStatements ::= SEQUENCE OF QCStatement
 * QCStatement  ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }
 * PSD2QcType   ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName NCAName, nCAId NCAId }
 * RolesOfPSP   ::= SEQUENCE OF RoleOfPSP
 * RoleOfPSP    ::= SEQUENCE { roleOfPspOid RoleOfPspOid, roleOfPspName RoleOfPspName }
 * RoleOfPspName ::= UTF8String (SIZE(1..256))   NCAName ::= UTF8String   NCAId ::= UTF8String
 * ```
 *
 * A bank identifies the TPP by the certificate it presented in the TLS handshake and allows it
 * only the services its roles name. Encoding and decoding go through `asn1js`.
 */
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';

/** RFC 3739 `id-pe-qcStatements`. */
export const QC_STATEMENTS_OID = '1.3.6.1.5.5.7.1.3';
/** ETSI TS 119 495 `id-etsi-psd2-qcStatement`. */
export const PSD2_QC_STATEMENT_OID = '0.4.0.19495.2';
/** ETSI EN 319 412-5 `esi4-qcStatement-1` (QcCompliance) and `-6` (QcType) with `id-etsi-qct-web`. */
export const QC_COMPLIANCE_OID = '0.4.0.1862.1.1';
export const QC_TYPE_OID = '0.4.0.1862.1.6';
export const QC_TYPE_WEB_OID = '0.4.0.1862.1.6.3';
/** X.520 organizationIdentifier: for a PSD2 TPP, `PSD` + country + `-` + NCA id + `-` + authorisation number. */
export const ORGANIZATION_IDENTIFIER_OID = '2.5.4.97';

/** ETSI TS 119 495 §5.1 roles and their OIDs. */
export const PSD2_ROLE_OIDS = {
  PSP_AS: '0.4.0.19495.1.1', // account servicing
  PSP_PI: '0.4.0.19495.1.2', // payment initiation
  PSP_AI: '0.4.0.19495.1.3', // account information
  PSP_IC: '0.4.0.19495.1.4', // issuing of card-based payment instruments
} as const;

export type Psd2Role = keyof typeof PSD2_ROLE_OIDS;

const ROLE_BY_OID: ReadonlyMap<string, Psd2Role> = new Map(Object.entries(PSD2_ROLE_OIDS).map(([role, oid]) => [oid, role as Psd2Role]));

export interface Psd2QcStatement {
  roles: Psd2Role[];
  /** The national competent authority, e.g. "Bank of Lithuania". */
  ncaName: string;
  /** Its id, e.g. "LT-BOL". */
  ncaId: string;
}

/** What a bank learns about a TPP from its certificate. */
export interface TppIdentity extends Psd2QcStatement {
  /** organizationIdentifier of the subject (e.g. `PSDLT-BOL-12345`), when present. */
  organizationIdentifier?: string;
  subject: string;
  serialNumber: string;
}

/** DER of the `qcStatements` extension value: QcCompliance, QcType web, and the PSD2 statement. */
export function encodeQcStatements(statement: Psd2QcStatement): ArrayBuffer {
  const roles = statement.roles.map(
    (role) =>
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: PSD2_ROLE_OIDS[role] }), new asn1js.Utf8String({ value: role })],
      }),
  );
  const psd2 = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: PSD2_QC_STATEMENT_OID }),
      new asn1js.Sequence({
        value: [new asn1js.Sequence({ value: roles }), new asn1js.Utf8String({ value: statement.ncaName }), new asn1js.Utf8String({ value: statement.ncaId })],
      }),
    ],
  });
  return new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: QC_COMPLIANCE_OID })] }),
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: QC_TYPE_OID }), new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: QC_TYPE_WEB_OID })] })],
      }),
      psd2,
    ],
  }).toBER();
}

/** The PSD2 statement of a `qcStatements` extension value; undefined when it has none or is malformed. */
export function decodePsd2QcStatement(der: ArrayBuffer | Uint8Array): Psd2QcStatement | undefined {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const parsed = asn1js.fromBER(bytes);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  for (const statement of parsed.result.valueBlock.value) {
    if (!(statement instanceof asn1js.Sequence)) continue;
    const [id, info] = statement.valueBlock.value;
    if (!(id instanceof asn1js.ObjectIdentifier) || id.valueBlock.toString() !== PSD2_QC_STATEMENT_OID) continue;
    if (!(info instanceof asn1js.Sequence)) return undefined;
    const [rolesSeq, ncaName, ncaId] = info.valueBlock.value;
    if (!(rolesSeq instanceof asn1js.Sequence) || !(ncaName instanceof asn1js.Utf8String) || !(ncaId instanceof asn1js.Utf8String)) return undefined;
    const roles: Psd2Role[] = [];
    for (const entry of rolesSeq.valueBlock.value) {
      if (!(entry instanceof asn1js.Sequence)) return undefined;
      const [oid, name] = entry.valueBlock.value;
      if (!(oid instanceof asn1js.ObjectIdentifier) || !(name instanceof asn1js.Utf8String)) return undefined;
      // The OID decides; a name that contradicts it is a malformed statement.
      const role = ROLE_BY_OID.get(oid.valueBlock.toString());
      if (!role) continue; // a role a later edition adds: not one this bank grants anything for
      if (name.valueBlock.value !== role) return undefined;
      if (!roles.includes(role)) roles.push(role);
    }
    return { roles, ncaName: ncaName.valueBlock.value, ncaId: ncaId.valueBlock.value };
  }
  return undefined;
}

/**
 * The TPP a client certificate identifies, or undefined when it carries no (well-formed) PSD2
 * statement. Validity and the chain are the TLS layer's business: this reads what a certificate
 * that TLS already accepted says.
 */
export function tppIdentityOf(certificate: X509Certificate | string | Buffer): TppIdentity | undefined {
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const extension = findExtension(Buffer.from(cert.raw), QC_STATEMENTS_OID);
  if (!extension) return undefined;
  const statement = decodePsd2QcStatement(extension);
  if (!statement) return undefined;
  const organizationIdentifier = cert.subject
    .split('\n')
    .map((line) => /^(?:organizationIdentifier|2\.5\.4\.97)=(.*)$/.exec(line)?.[1])
    .find((v): v is string => v !== undefined);
  return { ...statement, ...(organizationIdentifier ? { organizationIdentifier } : {}), subject: cert.subject, serialNumber: cert.serialNumber };
}

/** The DER value (inside the OCTET STRING) of one extension of a certificate. */
function findExtension(certDer: Buffer, oid: string): Uint8Array | undefined {
  const parsed = asn1js.fromBER(new Uint8Array(certDer));
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  const tbs = parsed.result.valueBlock.value[0];
  if (!(tbs instanceof asn1js.Sequence)) return undefined;
  // extensions are [3] EXPLICIT in TBSCertificate
  const tagged = tbs.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 3) as asn1js.Constructed | undefined;
  const extensions = tagged?.valueBlock.value[0];
  if (!(extensions instanceof asn1js.Sequence)) return undefined;
  for (const ext of extensions.valueBlock.value) {
    if (!(ext instanceof asn1js.Sequence)) continue;
    const parts = ext.valueBlock.value;
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id instanceof asn1js.ObjectIdentifier && id.valueBlock.toString() === oid && value instanceof asn1js.OctetString) {
      return new Uint8Array(value.valueBlock.valueHexView);
    }
  }
  return undefined;
}
