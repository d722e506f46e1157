import { findUnstorableText } from './storable-text';

describe('findUnstorableText', () => {
  it.each<[string, unknown, string | undefined]>([
    ['plain text and numbers', { creditorName: 'Enterprise GmbH', n: 1, ok: true, none: null }, undefined],
    ['a well-formed astral character (surrogate pair)', { remittanceInformationUnstructured: 'Rechnung 😀 42' }, undefined],
    ['umlauts and other BMP text', { creditorName: 'Müller & Söhne — Ærø' }, undefined],
    ['NUL in a top-level field', { remittanceInformationUnstructured: 'a\u0000b' }, 'remittanceInformationUnstructured'],
    ['a lone high surrogate', { creditorName: 'E\ud800' }, 'creditorName'],
    ['a lone low surrogate', { creditorName: '\udc00E' }, 'creditorName'],
    ['surrogates in the wrong order', { creditorName: '\ude00\ud83d' }, 'creditorName'],
    ['NUL in a nested field', { creditorAccount: { iban: 'NL91ABNA0417164300\u0000' } }, 'creditorAccount.iban'],
    ['NUL inside an array element', { payments: [{ creditorName: 'a' }, { creditorName: 'b\u0000' }] }, 'payments[1].creditorName'],
    ['a bare string body', 'x\u0000', 'body'],
    ['NUL in a field name', { creditorAccount: { 'ib\u0000an': 'x' } }, 'creditorAccount'],
  ])('%s', (_name, body, path) => {
    const found = findUnstorableText(body);
    if (path === undefined) expect(found).toBeUndefined();
    else expect(found).toEqual({ path, problem: expect.any(String) });
  });

  it('names the field without echoing the key back', () => {
    expect(findUnstorableText({ 'ab\u0000': 1 })!.problem).not.toContain('ab');
  });

  it('walks deeply nested input without recursion', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findUnstorableText(deep)?.path).toMatch(/^(\[0\]){100000}$/);
  });

  it('reports the first offending field in document order', () => {
    expect(findUnstorableText({ a: 'ok', b: 'x\u0000', c: 'y\ud800' })!.path).toBe('b');
  });
});
