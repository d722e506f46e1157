import { CURRENCY_MINOR_UNITS, isIsoCurrency, minorUnits } from './currency';

describe('currency', () => {
  test.each([
    ['EUR', 2],
    ['SEK', 2],
    ['GBP', 2],
    ['USD', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['ISK', 0],
    ['XOF', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['TND', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['XCG', 2],
    ['ZWG', 2],
    ['SLE', 2],
    ['VED', 2],
  ])('%s has %i minor units', (code, units) => {
    expect(isIsoCurrency(code)).toBe(true);
    expect(minorUnits(code)).toBe(units);
  });

  test.each([
    ['eur', 'lowercase'],
    ['Eur', 'mixed case'],
    [' EUR', 'padded'],
    ['EU', 'too short'],
    ['EURO', 'too long'],
    ['', 'empty'],
    ['ABC', 'not assigned'],
    ['XAU', 'gold: no minor unit'],
    ['XAG', 'silver: no minor unit'],
    ['XDR', 'SDR: no minor unit'],
    ['XTS', 'testing code'],
    ['XXX', 'no currency'],
    ['HRK', 'withdrawn 2023'],
    ['ZWL', 'replaced by ZWG'],
    ['ANG', 'replaced by XCG'],
    ['BGN', 'replaced by EUR'],
    ['DEM', 'historic'],
    ['toString', 'prototype key'],
    ['__proto__', 'prototype key'],
  ])('rejects %j (%s)', (code) => {
    expect(isIsoCurrency(code)).toBe(false);
    expect(minorUnits(code)).toBeUndefined();
  });

  test.each([undefined, null, 978, {}])('rejects non-string %p', (code) => {
    expect(isIsoCurrency(code)).toBe(false);
  });

  it('holds only three-letter uppercase codes with a 0–4 exponent', () => {
    const entries = Object.entries(CURRENCY_MINOR_UNITS);
    expect(entries.length).toBeGreaterThan(150);
    for (const [code, units] of entries) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(units);
    }
  });
});
