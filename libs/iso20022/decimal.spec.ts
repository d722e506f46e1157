import { formatScaled, toScaled } from './decimal';

describe('toScaled', () => {
  it.each([
    ['12', 3, 12000n],
    ['12.5', 3, 12500n],
    ['012.500', 3, 12500n],
    ['0.001', 3, 1n],
    ['12.50000000', 3, 12500n],
    ['99999999999999.999', 3, 99999999999999999n],
  ])('%s at scale %d is %s', (decimal, scale, expected) => {
    expect(toScaled(decimal, scale)).toBe(expected);
  });

  it.each(['', '1.', '.5', '-1', '+1', '1e3', ' 1', '12.0001', 'abc'])('refuses %p', (decimal) => {
    expect(toScaled(decimal, 3)).toBeUndefined();
  });
});

describe('formatScaled', () => {
  it.each([
    [12500n, 3, 2, '12.50'],
    [12345n, 3, 2, '12.345'],
    [1n, 3, 2, '0.001'],
    [0n, 3, 2, '0.00'],
    [-150n, 2, 2, '-1.50'],
    [12000n, 3, 0, '12'],
    [7n, 0, 2, '7'],
  ])('%s at scale %d (min %d decimals) is %s', (value, scale, min, expected) => {
    expect(formatScaled(value, scale, min)).toBe(expected);
  });
});
