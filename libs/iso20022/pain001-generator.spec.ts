import { createHash } from 'node:crypto';
import { isValidIban } from '../domain/iban';
import { PAIN001_VERSIONS } from './pain001';
import { defaultAmount, defaultCreditorIban, generatePain001, type GeneratePain001Spec } from './pain001-generator';
import { readPain001 } from './pain001-reader';
import { nullSink, writtenBytes } from './testing';
import { validateXsd } from './xsd';

describe.each(PAIN001_VERSIONS)('generatePain001 %s', (version) => {
  const spec: GeneratePain001Spec = {
    version,
    msgId: 'MSG-GEN-1',
    paymentInformations: [
      { pmtInfId: 'PMT-A', debtorIban: 'DE89370400440532013000', debtorAgentBic: 'SANDDEB0XXX', transactions: 250 },
      { pmtInfId: 'PMT-B', debtorIban: 'NL91ABNA0417164300', transactions: 120, instant: true, creditorAgentBic: (i) => (i % 2 ? 'ABNANL2AXXX' : undefined) },
      { pmtInfId: 'PMT-C', debtorIban: 'DE89370400440532013000', transactions: 5, currency: 'JPY', amount: (i) => String(1000 + i) },
    ],
  };

  it('writes an XSD-valid file that passes every semantic check, and says what it wrote', async () => {
    let generated;
    const file = await writtenBytes(async (out) => (generated = await generatePain001(out, spec)));
    expect((await validateXsd(file, version)).valid).toBe(true);
    const result = await readPain001(file, nullSink);
    expect(result.issues).toEqual([]);
    expect(generated).toEqual({ bytes: file.length, numberOfTransactions: 375, controlSum: result.controlSum });
    expect(result.totals.map((t) => [t.currency, t.numberOfTransactions])).toEqual([
      ['EUR', 370],
      ['JPY', 5],
    ]);
  });

  it('is deterministic', async () => {
    const sha = async () => createHash('sha256').update(await writtenBytes((out) => generatePain001(out, spec))).digest('hex');
    expect(await sha()).toBe(await sha());
  });
});

describe('generator defaults', () => {
  it('amounts avoid the sandbox scenarios (cents 13 and 42) and IBANs are valid', () => {
    for (let i = 0; i < 10_000; i++) {
      expect(['13', '42']).not.toContain(defaultAmount(i).slice(-2));
      if (i < 500) expect(isValidIban(defaultCreditorIban(i))).toBe(true);
    }
  });
});
