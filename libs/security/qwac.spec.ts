import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { createDevTls, createTestCa, DEV_QWAC_ORGANIZATION_IDENTIFIER } from './dev-certificates';
import { decodePsd2QcStatement, encodeQcStatements, PSD2_QC_STATEMENT_OID, PSD2_ROLE_OIDS, tppIdentityOf } from './qwac';

describe('QWAC PSD2 roles (ETSI TS 119 495 qcStatement)', () => {
  it("reads Clearway's dev QWAC: roles, NCA, organizationIdentifier; made for TLS client auth", async () => {
    const dev = await createDevTls(['127.0.0.1']);
    const cert = new X509Certificate(dev.qwacPem);
    expect(cert.verify(new X509Certificate(dev.caPem).publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth
    const sut = tppIdentityOf(dev.qwacPem);
    expect(sut).toMatchObject({
      roles: ['PSP_PI', 'PSP_AI', 'PSP_IC'],
      ncaName: 'Bank of Lithuania',
      ncaId: 'LT-BOL',
      organizationIdentifier: DEV_QWAC_ORGANIZATION_IDENTIFIER,
      serialNumber: cert.serialNumber,
    });
  });

  it.each([
    [['PSP_AI'], ['PSP_AI']],
    [['PSP_PI', 'PSP_IC'], ['PSP_PI', 'PSP_IC']],
    [[], []],
  ] as const)('a certificate with roles %j has exactly %j', async (roles, expected) => {
    const ca = await createTestCa();
    const { certPem } = await ca.issue({ kind: 'qwac', psd2: { roles: [...roles], ncaName: 'Bank of Lithuania', ncaId: 'LT-BOL' } });
    expect(tppIdentityOf(certPem)?.roles).toEqual(expected);
  });

  it('a client certificate without the PSD2 statement identifies no TPP', async () => {
    const ca = await createTestCa();
    const { certPem } = await ca.issue({ kind: 'qwac' });
    expect(tppIdentityOf(certPem)).toBeUndefined();
    const server = await ca.issue({ kind: 'server', hosts: ['127.0.0.1'] });
    expect(tppIdentityOf(server.certPem)).toBeUndefined();
  });

  it('the encoding is the ASN.1 the standard gives (checked by walking it independently)', () => {
    const der = encodeQcStatements({ roles: ['PSP_PI'], ncaName: 'Bank of Lithuania', ncaId: 'LT-BOL' });
    const root = asn1js.fromBER(der).result as asn1js.Sequence;
    const psd2 = root.valueBlock.value
      .map((s) => (s as asn1js.Sequence).valueBlock.value)
      .find(([id]) => (id as asn1js.ObjectIdentifier).valueBlock.toString() === PSD2_QC_STATEMENT_OID)!;
    const [roles, ncaName, ncaId] = (psd2[1] as asn1js.Sequence).valueBlock.value;
    const [role] = (roles as asn1js.Sequence).valueBlock.value as asn1js.Sequence[];
    expect((role!.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString()).toBe(PSD2_ROLE_OIDS.PSP_PI);
    expect((role!.valueBlock.value[1] as asn1js.Utf8String).valueBlock.value).toBe('PSP_PI');
    expect((ncaName as asn1js.Utf8String).valueBlock.value).toBe('Bank of Lithuania');
    expect((ncaId as asn1js.Utf8String).valueBlock.value).toBe('LT-BOL');
  });

  it('a role whose name contradicts its OID makes the statement malformed (no roles granted)', () => {
    const forged = new asn1js.Sequence({
      value: [
        new asn1js.Sequence({
          value: [
            new asn1js.ObjectIdentifier({ value: PSD2_QC_STATEMENT_OID }),
            new asn1js.Sequence({
              value: [
                new asn1js.Sequence({
                  value: [
                    new asn1js.Sequence({
                      value: [new asn1js.ObjectIdentifier({ value: PSD2_ROLE_OIDS.PSP_AI }), new asn1js.Utf8String({ value: 'PSP_PI' })],
                    }),
                  ],
                }),
                new asn1js.Utf8String({ value: 'Bank of Lithuania' }),
                new asn1js.Utf8String({ value: 'LT-BOL' }),
              ],
            }),
          ],
        }),
      ],
    }).toBER();
    expect(decodePsd2QcStatement(forged)).toBeUndefined();
    expect(decodePsd2QcStatement(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });
});
