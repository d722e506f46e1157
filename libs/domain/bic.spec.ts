import { isValidBic } from './bic';

describe('isValidBic', () => {
  test.each([
    'DEUTDEFF',
    'DEUTDEFF500',
    'NWBKGB2L',
    'ABNANL2A',
    'BNPAFRPPXXX',
    'SWEDSESS',
    'COBADEFFXXX',
    'DEUTDEF0', // test BIC
    'ESSESESS',
  ])('accepts %s', (bic) => {
    expect(isValidBic(bic)).toBe(true);
  });

  test.each([
    ['', 'empty'],
    ['deutdeff', 'lowercase'],
    ['DEUTDEF', 'seven characters'],
    ['DEUTDEFF5', 'nine characters'],
    ['DEUTDEFF50', 'ten characters'],
    ['DEUTDEFF5000', 'twelve characters'],
    ['DEUT DEFF', 'space'],
    ['DEU1DEFF', 'digit in institution code'],
    ['DEUTD3FF', 'digit in country code'],
    ['DEUTDE0F', 'location starts with 0'],
    ['DEUTDE1F', 'location starts with 1'],
    ['DEUTDEFO', 'location ends with letter O'],
    ['DEUTDEFF-00', 'punctuation in branch'],
    [' DEUTDEFF', 'leading space'],
  ])('rejects %j (%s)', (bic) => {
    expect(isValidBic(bic)).toBe(false);
  });

  test.each([undefined, null, 12345678])('rejects non-string %p', (bic) => {
    expect(isValidBic(bic)).toBe(false);
  });
});
