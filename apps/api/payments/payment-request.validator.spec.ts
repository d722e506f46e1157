import { ApiError } from '../common/api-error';
import { validatePaymentInitiation } from './payment-request.validator';

const body = (overrides: Record<string, unknown> = {}) => ({
  instructedAmount: { currency: 'EUR', amount: '10.00' },
  creditorAccount: { iban: 'LT121000011101001000' },
  creditorName: 'Vilnius Coffee UAB',
  ...overrides,
});

describe('validatePaymentInitiation: debtor account', () => {
  it('is required where the bank does not let the PSU pick it (400 naming debtorAccount)', () => {
    const err = (() => {
      try {
        validatePaymentInitiation('sepa-credit-transfers', body());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toContain('debtorAccount');
  });

  it('may be left out where the bank lets the PSU pick it; the body then has none', () => {
    const { body: parsed } = validatePaymentInitiation('sepa-credit-transfers', body(), { debtorAccountOptional: true });
    expect(parsed.debtorAccount).toBeUndefined();
    expect('debtorAccount' in parsed).toBe(false);
  });

  it('when given anyway it is still checked', () => {
    expect(() => validatePaymentInitiation('sepa-credit-transfers', body({ debtorAccount: { iban: 'LT00' } }), { debtorAccountOptional: true })).toThrow(/debtorAccount.iban/);
  });
});

test('a UK bank\'s PSU may pay an international payment from a sort code and account number; elsewhere the debtor needs an IBAN', () => {
  const raw = { instructedAmount: { currency: 'EUR', amount: '40.00' }, debtorAccount: { bban: '20000010000000' }, creditorAccount: { iban: 'FR1420041010050500013M02606' }, creditorName: 'Societe' };
  expect(validatePaymentInitiation('international', raw, { ukDebtor: true }).body.debtorAccount).toEqual({ bban: '20000010000000' });
  expect(() => validatePaymentInitiation('international', raw)).toThrow(/debtorAccount.iban/);
  expect(() => validatePaymentInitiation('international', { ...raw, debtorAccount: { bban: '2000' } }, { ukDebtor: true })).toThrow(/debtorAccount.bban/);
});
