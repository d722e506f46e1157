import { IBAN_LENGTHS, ibanFromBban, isValidIban, maskIban, normaliseIban } from './iban';

const VALID = [
  'DE89370400440532013000',
  'GB82WEST12345698765432',
  'GB29NWBK60161331926819',
  'SE4550000000058398257466',
  'LT121000011101001000',
  'NL91ABNA0417164300',
  'FR1420041010050500013M02606',
  'BE68539007547034',
  'NO9386011117947',
  'CH9300762011623852957',
  'AT611904300234573201',
  'ES9121000418450200051332',
  'IT60X0542811101000000123456',
  'PL61109010140000071219812874',
  'MT84MALT011000012345MTLCAST001S',
  'PT50000201231234567890154',
  'IE29AIBK93115212345678',
  'FI2112345600000785',
  'DK5000400440116243',
  'LU280019400644750000',
  'HR1210010051863000160',
  'BG80BNBG96611020345678',
  'LC55HEMM000100010012001200023015',
  'DE02370400440000000024', // lowest check digits
  'DE98370400440000000042', // highest check digits
];

describe('isValidIban', () => {
  test.each(VALID)('accepts %s', (iban) => {
    expect(isValidIban(iban)).toBe(true);
  });

  test.each([
    ['DE89370400440532013001', 'one digit changed'],
    ['GB82WEST12345698765433', 'one digit changed'],
    ['SE4550000000058398257467', 'one digit changed'],
    ['LT121000011101001001', 'one digit changed'],
    ['NL91ABNA0417164301', 'one digit changed'],
    ['FR1420041010050500013M02607', 'one digit changed'],
    ['FR1420041010050500013N02606', 'one letter changed'],
    ['DE88370400440532013000', 'check digits changed'],
    ['DE89370400440532010300', 'adjacent digits swapped'],
    ['DE01370400440000000042', 'check digits 01 (≡ 98 mod 97)'],
    ['DE99370400440000000024', 'check digits 99 (≡ 02 mod 97)'],
    ['XX89370400440532013000', 'unknown country'],
    ['US64SVBKUS6S3300958879', 'country without IBAN'],
    ['DE8937040044053201300', 'too short for DE'],
    ['DE893704004405320130000', 'too long for DE'],
    ['NL91ABNA04171643', 'too short for NL'],
    ['de89370400440532013000', 'lowercase'],
    ['DE89 3704 0044 0532 0130 00', 'print format'],
    ['DE89-3704-0044-0532-0130', 'punctuation'],
    ['DE8937040044053201300Ä', 'non-ASCII letter'],
    ['DEAB370400440532013000', 'letters as check digits'],
    ['89DE370400440532013000', 'digits as country'],
    ['', 'empty'],
  ])('rejects %j (%s)', (iban) => {
    expect(isValidIban(iban)).toBe(false);
  });

  test.each([undefined, null, 89370400440532013000, ['DE89370400440532013000']])('rejects non-string %p', (iban) => {
    expect(isValidIban(iban)).toBe(false);
  });

  it('accepts print format once normalised', () => {
    expect(isValidIban(normaliseIban(' de89 3704 0044 0532 0130 00 '))).toBe(true);
  });

  it('knows every SEPA country', () => {
    const sepa = [
      'AD', 'AL', 'AT', 'BE', 'BG', 'CH', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GB', 'GI', 'GR',
      'HR', 'HU', 'IE', 'IS', 'IT', 'LI', 'LT', 'LU', 'LV', 'MC', 'MD', 'ME', 'MK', 'MT', 'NL', 'NO', 'PL',
      'PT', 'RO', 'RS', 'SE', 'SI', 'SK', 'SM', 'VA',
    ];
    expect(sepa.filter((country) => IBAN_LENGTHS[country] === undefined)).toEqual([]);
  });
});

describe('normaliseIban', () => {
  test.each([
    ['DE89 3704 0044 0532 0130 00', 'DE89370400440532013000'],
    ['gb82 west 1234 5698 7654 32', 'GB82WEST12345698765432'],
    ['\tnl91abna0417164300\n', 'NL91ABNA0417164300'],
  ])('%j → %j', (input, expected) => {
    expect(normaliseIban(input)).toBe(expected);
  });
});

describe('maskIban', () => {
  test.each([
    ['DE89370400440532013000', 'DE89 **** **** 3000'],
    ['DE89 3704 0044 0532 0130 00', 'DE89 **** **** 3000'],
    ['NO9386011117947', 'NO93 **** **** 7947'],
    ['MT84MALT011000012345MTLCAST001S', 'MT84 **** **** 001S'],
    ['DE89', '****'],
    ['', '****'],
  ])('%j → %j', (iban, masked) => {
    expect(maskIban(iban)).toBe(masked);
  });
});

describe('ibanFromBban', () => {
  it.each(VALID)('recomputes the check digits of %s', (iban) => {
    expect(ibanFromBban(iban.slice(0, 2), iban.slice(4))).toBe(iban);
  });
});
