import type { BankError } from '../bank-adapter';
import {
  ACCOUNT_CONSENT_MAP,
  CONSENT_AS_SCA,
  OBIE_ACCOUNT_CONSENT_STATUSES,
  OBIE_CONSENT_STATUSES,
  OBIE_PAYMENT_CONSENT_STATUSES,
  OBIE_PAYMENT_STATUSES,
  PAYMENT_STATUS_MAP,
  clearwayFieldOf,
  signedAmount,
  toConsentStatus,
  toScaStatus,
  toInternationalInitiation,
  toTransactionStatus,
} from './transformers';

describe('OBIE status maps', () => {
  test.each([
    ['Pending', 'PDNG'],
    ['AcceptedSettlementInProcess', 'ACSP'],
    ['AcceptedSettlementCompleted', 'ACSC'],
    ['AcceptedCreditSettlementCompleted', 'ACCC'],
    ['AcceptedWithoutPosting', 'ACWP'],
    ['Rejected', 'RJCT'],
  ])('payment %s → %s', (raw, normalised) => {
    expect(toTransactionStatus(raw)).toEqual({ raw, normalised });
  });

  test('every payment status of the spec is mapped (3.1.11 enum)', () => {
    expect(Object.keys(PAYMENT_STATUS_MAP).sort()).toEqual([...OBIE_PAYMENT_STATUSES].sort());
  });

  test('every consent status of both consent kinds is mapped, for SCA and for account consents', () => {
    const union = new Set([...OBIE_PAYMENT_CONSENT_STATUSES, ...OBIE_ACCOUNT_CONSENT_STATUSES]);
    expect([...union].sort()).toEqual([...OBIE_CONSENT_STATUSES].sort());
    expect(Object.keys(CONSENT_AS_SCA).sort()).toEqual([...OBIE_CONSENT_STATUSES].sort());
    expect(Object.keys(ACCOUNT_CONSENT_MAP).sort()).toEqual([...OBIE_CONSENT_STATUSES].sort());
  });

  test.each([
    ['AwaitingAuthorisation', 'started', 'received'],
    ['Authorised', 'psuAuthenticated', 'valid'],
    ['Consumed', 'finalised', 'expired'],
    ['Rejected', 'failed', 'rejected'],
    ['Revoked', 'failed', 'revokedByPsu'],
  ])('consent %s → SCA %s, account consent %s', (raw, sca, consent) => {
    expect(toScaStatus(raw)).toEqual({ raw, normalised: sca });
    expect(toConsentStatus(raw)).toEqual({ raw, normalised: consent });
  });

  test('unknown statuses are pending, never success, and keep the raw value', () => {
    expect(toTransactionStatus('InitiationCompletedSomehow')).toEqual({ raw: 'InitiationCompletedSomehow', normalised: 'PDNG' });
    expect(toScaStatus('Weird')).toEqual({ raw: 'Weird', normalised: 'started' });
    expect(toConsentStatus('Weird')).toEqual({ raw: 'Weird', normalised: 'received' });
  });

  test('amounts keep their digits; a debit is negative, zero is never "-0"', () => {
    expect(signedAmount('12.30', 'Debit')).toBe('-12.30');
    expect(signedAmount('12.30', 'Credit')).toBe('12.30');
    expect(signedAmount('0.00', 'Debit')).toBe('0.00');
  });

  test('bank error paths name the field the client sent', () => {
    expect(clearwayFieldOf('Data.Initiation.RemittanceInformation.Reference')).toBe('remittanceInformationUnstructured');
    expect(clearwayFieldOf('Data.Initiation.CreditorAccount.Identification')).toBe('creditorAccount');
    expect(clearwayFieldOf('Data.Initiation.CreditorAccount.Name')).toBe('creditorName');
    expect(clearwayFieldOf('x-jws-signature')).toBeUndefined();
  });
});

describe('toInternationalInitiation (OBIE 3.1.11 OBWriteInternationalConsent5)', () => {
  const body = {
    instructedAmount: { currency: 'GBP', amount: '30.00' },
    creditorAccount: { bban: '021000021123456789', currency: 'USD' },
    creditorAgent: 'CHASUS33XXX',
    creditorName: 'Acme Inc',
    creditorAddress: { townName: 'New York', country: 'US' },
    remittanceInformationUnstructured: 'INVOICE 20261203 for services',
  };
  test('currency of transfer from the creditor account, BBAN with its BICFI agent, creditor address, reference', () => {
    expect(toInternationalInitiation(body, 'abc')).toEqual({
      InstructionIdentification: 'abc',
      EndToEndIdentification: 'abc',
      CurrencyOfTransfer: 'USD',
      InstructedAmount: { Amount: '30.00', Currency: 'GBP' },
      Creditor: { Name: 'Acme Inc', PostalAddress: { TownName: 'New York', Country: 'US' } },
      CreditorAgent: { SchemeName: 'UK.OBIE.BICFI', Identification: 'CHASUS33XXX' },
      CreditorAccount: { SchemeName: 'UK.OBIE.BBAN', Identification: '021000021123456789', Name: 'Acme Inc' },
      RemittanceInformation: { Reference: 'INVOICE 20261203 for services', Unstructured: 'INVOICE 20261203 for services' },
    });
  });
  test('without a creditor account currency, the instructed currency is transferred; IBAN scheme', () => {
    const i = toInternationalInitiation({ ...body, creditorAccount: { iban: 'FR1420041010050500013M02606' }, instructedAmount: { currency: 'EUR', amount: '5.00' } }, 'x');
    expect(i).toMatchObject({ CurrencyOfTransfer: 'EUR', CreditorAccount: { SchemeName: 'UK.OBIE.IBAN' } });
  });
  test('refusals name the Clearway field', () => {
    const path = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as BankError).details.messages?.[0]?.path;
      }
      return 'not refused';
    };
    expect(path(() => toInternationalInitiation({ ...body, requestedExecutionDate: '2099-01-01' }, 'x'))).toBe('requestedExecutionDate');
    expect(path(() => toInternationalInitiation({ ...body, creditorAgent: undefined }, 'x'))).toBe('creditorAgent');
    expect(clearwayFieldOf('Data.Initiation.CurrencyOfTransfer')).toBe('creditorAccount.currency');
    expect(clearwayFieldOf('Data.Initiation.CreditorAgent.Identification')).toBe('creditorAgent');
  });
});
