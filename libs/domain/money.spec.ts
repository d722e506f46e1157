import { centsOf, formatMinor, parseDecimalAmount } from './money';

describe('parseDecimalAmount', () => {
  test.each([
    ['142.66', 'EUR', 14266n],
    ['1', 'EUR', 100n],
    ['0.5', 'EUR', 50n],
    ['0.01', 'EUR', 1n],
    ['01.00', 'EUR', 100n], // leading zeros are allowed by the BG pattern
    ['99999999999999.99', 'EUR', 9999999999999999n],
    ['5', 'JPY', 5n],
    ['1.234', 'KWD', 1234n],
    ['1.5', 'BHD', 1500n],
    ['0.001', 'CLF', 10n],
    ['12345678901234', 'JPY', 12345678901234n],
  ])('%j %s → %p', (amount, currency, minor) => {
    expect(parseDecimalAmount(amount, currency)).toEqual({ ok: true, minor });
  });

  test.each([
    ['', 'EUR', 'format'],
    [' 1', 'EUR', 'format'],
    ['1 ', 'EUR', 'format'],
    ['+1', 'EUR', 'format'],
    ['1e3', 'EUR', 'format'],
    ['1.', 'EUR', 'format'],
    ['.5', 'EUR', 'format'],
    ['1,50', 'EUR', 'format'],
    ['1.2.3', 'EUR', 'format'],
    ['--1', 'EUR', 'format'],
    ['-', 'EUR', 'format'],
    ['NaN', 'EUR', 'format'],
    ['Infinity', 'EUR', 'format'],
    ['0x10', 'EUR', 'format'],
    ['١٢', 'EUR', 'format'], // Arabic-Indic digits
    ['-1', 'EUR', 'not_positive'],
    ['-0.01', 'EUR', 'not_positive'],
    ['-1.234', 'EUR', 'not_positive'],
    ['0', 'EUR', 'not_positive'],
    ['0.00', 'EUR', 'not_positive'],
    ['-0', 'EUR', 'not_positive'],
    ['1.001', 'EUR', 'too_many_decimals'],
    ['5.000', 'EUR', 'too_many_decimals'],
    ['1.0', 'JPY', 'too_many_decimals'],
    ['1.2345', 'KWD', 'too_many_decimals'],
    ['1.2345', 'CLF', 'too_many_decimals'], // CLF has 4, but the BG pattern stops at 3
    ['123456789012345', 'EUR', 'too_large'],
    ['000000000000001', 'EUR', 'too_large'],
    ['1', 'eur', 'unknown_currency'],
    ['1', 'XAU', 'unknown_currency'],
    ['1', '', 'unknown_currency'],
  ])('%j %s → %s', (amount, currency, reason) => {
    expect(parseDecimalAmount(amount, currency)).toEqual({ ok: false, reason });
  });

  test.each([142.66, 1, 100n, null, undefined, { amount: '1' }])('rejects non-string %p', (amount) => {
    expect(parseDecimalAmount(amount, 'EUR')).toEqual({ ok: false, reason: 'not_a_string' });
  });
});

describe('formatMinor', () => {
  test.each([
    [14266n, 'EUR', '142.66'],
    [1n, 'EUR', '0.01'],
    [50n, 'EUR', '0.50'],
    [100n, 'EUR', '1.00'],
    [0n, 'EUR', '0.00'],
    [-5n, 'EUR', '-0.05'],
    [5n, 'JPY', '5'],
    [0n, 'JPY', '0'],
    [1234n, 'KWD', '1.234'],
    [7n, 'CLF', '0.0007'],
    [9999999999999999n, 'EUR', '99999999999999.99'],
    [123456789012345678901234567890n, 'EUR', '1234567890123456789012345678.90'],
  ])('%p %s → %j', (minor, currency, expected) => {
    expect(formatMinor(minor, currency)).toBe(expected);
  });

  test.each([
    ['142.66', 'EUR'],
    ['0.01', 'EUR'],
    ['5', 'JPY'],
    ['1.234', 'KWD'],
    ['99999999999999.99', 'EUR'],
  ])('round-trips %j %s', (amount, currency) => {
    const parsed = parseDecimalAmount(amount, currency);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(formatMinor(parsed.minor, currency)).toBe(amount);
  });

  it('throws on an unknown currency', () => {
    expect(() => formatMinor(1n, 'XAU')).toThrow(RangeError);
  });
});

describe('centsOf', () => {
  test.each([
    ['142.66', '66'],
    ['10.13', '13'],
    ['7.42', '42'],
    ['0.5', '50'],
    ['1', '00'],
    ['1.234', '23'],
    ['-3.42', '42'],
    ['', '00'],
    ['abc', '00'],
  ])('%j → %j', (amount, cents) => {
    expect(centsOf(amount)).toBe(cents);
  });
});
