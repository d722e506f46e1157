import { centsOf, checkPaymentInitiationBody, isPositiveAmount, isValidIban } from './validation';

describe('isValidIban', () => {
  it.each(['DE89370400440532013000', 'GB29NWBK60161331926819', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'de89 3704 0044 0532 0130 00'])(
    'accepts %s',
    (iban) => expect(isValidIban(iban)).toBe(true),
  );
  it.each(['DE89370400440532013001', 'GB28NWBK60161331926819', 'DE8937040044', 'XX', '', 'DE89-3704', 12345])('rejects %p', (iban) =>
    expect(isValidIban(iban)).toBe(false),
  );
});

describe('amounts are strings, never floats', () => {
  it.each([
    ['10.13', true, '13'],
    ['0.01', true, '01'],
    ['7', true, '00'],
    ['7.5', true, '50'],
    ['1.234', true, '23'],
    ['0.00', false, '00'],
    ['0', false, '00'],
    ['-1.00', false, '00'],
    ['1,00', false, '00'],
    ['1.2345', false, '23'],
    ['1e3', false, '00'],
  ])('%s: positive=%s cents=%s', (amount, positive, cents) => {
    expect(isPositiveAmount(amount)).toBe(positive);
    if (positive) expect(centsOf(amount)).toBe(cents);
  });
  it('rejects non-strings', () => expect(isPositiveAmount(10.5)).toBe(false));
});

describe('checkPaymentInitiationBody', () => {
  it('accepts a minimal valid body', () => {
    expect(
      checkPaymentInitiationBody({
        instructedAmount: { currency: 'EUR', amount: '1.00' },
        debtorAccount: { iban: 'DE89370400440532013000' },
        creditorAccount: { iban: 'NL91ABNA0417164300' },
        creditorName: 'A',
      }),
    ).toEqual([]);
  });
  it('names each missing field', () => {
    expect(checkPaymentInitiationBody({}).map((p) => p.path)).toEqual([
      'instructedAmount',
      'debtorAccount',
      'creditorAccount',
      'creditorName',
    ]);
  });
});
