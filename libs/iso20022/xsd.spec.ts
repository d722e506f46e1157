import { join, resolve } from 'node:path';
import { assertXsdsAvailable, Iso20022XsdUnavailableError, loadXsd, parseXmllintErrors, xsdDirectory } from './xsd';

describe('xsdDirectory', () => {
  it('prefers ISO20022_XSD_DIR, then SPECS_DIR/iso20022, then ../shared/specs next to the checkout', () => {
    expect(xsdDirectory({ ISO20022_XSD_DIR: '/etc/xsd', SPECS_DIR: '/specs' })).toBe('/etc/xsd');
    expect(xsdDirectory({ SPECS_DIR: '/specs' })).toBe('/specs/iso20022');
    expect(xsdDirectory({})).toBe(resolve(__dirname, '..', '..', '..', 'shared', 'specs', 'iso20022'));
  });

  it('finds the three schemas where tests keep them', () => {
    expect(assertXsdsAvailable()).toBe(xsdDirectory());
    expect(loadXsd('pain.002.001.10')).toContain('urn:iso:std:iso:20022:tech:xsd:pain.002.001.10');
  });

  it('says what to set when a schema is missing', () => {
    const dir = join(__dirname, 'no-such-directory');
    expect(() => loadXsd('pain.001.001.09', dir)).toThrow(Iso20022XsdUnavailableError);
    expect(() => assertXsdsAvailable(dir)).toThrow(/pain\.001\.001\.03\.xsd not found in .*no-such-directory\. Set ISO20022_XSD_DIR/);
  });
});

describe('parseXmllintErrors', () => {
  it('keeps line, element and attribute, and drops namespaces and offending values', () => {
    const stderr = [
      "message.xml:5: Schemas validity error : Element '{urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}IBAN': [facet 'pattern'] The value 'de89 secret' is not accepted by the pattern '[A-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30}'.",
      "message.xml:9: Schemas validity error : Element '{urn:x}InstdAmt', attribute 'Ccy': [facet 'pattern'] The value 'eur' is not accepted by the pattern '[A-Z]{3,3}'.",
      "message.xml:12: Schemas validity error : Element '{urn:x}NbOfTxs': 'Müller' is not a valid value of the atomic type 'Max15NumericText'.",
      'message.xml fails to validate',
      '',
    ].join('\n');
    expect(parseXmllintErrors(stderr)).toEqual([
      {
        line: 5,
        element: 'IBAN',
        attribute: undefined,
        message: "Element 'IBAN': [facet 'pattern'] The value is not accepted by the pattern '[A-Z]{2,2}[0-9]{2,2}[a-zA-Z0-9]{1,30}'.",
      },
      { line: 9, element: 'InstdAmt', attribute: 'Ccy', message: "Element 'InstdAmt', attribute 'Ccy': [facet 'pattern'] The value is not accepted by the pattern '[A-Z]{3,3}'." },
      { line: 12, element: 'NbOfTxs', attribute: undefined, message: "Element 'NbOfTxs': the value is not a valid value of the atomic type 'Max15NumericText'." },
    ]);
  });
});
