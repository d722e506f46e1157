import { CLEARWAY_ID_NAMESPACE, deriveUuid, isUuid } from './ids';

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

describe('deriveUuid', () => {
  test.each([
    [DNS, 'www.example.com', '2ed6657d-e927-568b-95e1-2665a8aea6a2'],
    [DNS, 'python.org', '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    [DNS.toUpperCase(), 'python.org', '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    [URL, 'https://clearway.example/', '254a19c1-c0d3-5199-9d79-17eb590fd608'],
  ])('uuidv5(%s, %j) = %s', (namespace, name, expected) => {
    expect(deriveUuid(namespace, name)).toBe(expected);
  });

  it('is deterministic and version 5, RFC 4122 variant', () => {
    const id = deriveUuid(CLEARWAY_ID_NAMESPACE, 'tenant-1', 'idempotency-key');
    expect(id).toBe(deriveUuid(CLEARWAY_ID_NAMESPACE, 'tenant-1', 'idempotency-key'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test.each([
    [['a', 'b'], ['b', 'a']],
    [['a', 'b'], ['ab']],
    [['a\u001fb', 'c'], ['a', 'b\u001fc']],
    [['a\\', 'b'], ['a', '\\b']],
    [['a\\\u001f', 'b'], ['a\\', '\u001fb']],
    [['', 'a'], ['a', '']],
  ])('parts %j and %j give different ids', (left, right) => {
    expect(deriveUuid(CLEARWAY_ID_NAMESPACE, ...left)).not.toBe(deriveUuid(CLEARWAY_ID_NAMESPACE, ...right));
  });

  it('depends on the namespace', () => {
    expect(deriveUuid(DNS, 'x')).not.toBe(deriveUuid(URL, 'x'));
  });

  test.each(['', 'not-a-uuid', '6ba7b8109dad11d180b400c04fd430c8'])('throws on namespace %j', (namespace) => {
    expect(() => deriveUuid(namespace, 'x')).toThrow(TypeError);
  });
});

describe('isUuid', () => {
  test.each([
    CLEARWAY_ID_NAMESPACE,
    DNS,
    DNS.toUpperCase(),
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '01890a5d-ac96-774b-bcce-b302099a8057', // v7
  ])('accepts %s', (s) => {
    expect(isUuid(s)).toBe(true);
  });

  test.each([
    '',
    '6ba7b8109dad11d180b400c04fd430c8',
    '{6ba7b810-9dad-11d1-80b4-00c04fd430c8}',
    'urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    ' 6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    '6ba7b810-9dad-11d1-80b4-00c04fd430c8\n',
    '6ba7b810-9dad-11d1-80b4-00c04fd430c',
    '6ba7b810-9dad-11d1-80b4-00c04fd430c8a',
    '6ba7b810-9dad-11d1-80b4_00c04fd430c8',
    'gba7b810-9dad-11d1-80b4-00c04fd430c8',
    null,
    undefined,
    42,
  ])('rejects %p', (s) => {
    expect(isUuid(s)).toBe(false);
  });
});
