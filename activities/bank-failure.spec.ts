import { ApplicationFailure } from '@temporalio/common';
import { BankError } from '../libs/adapters/bank-adapter';
import { toActivityFailure } from './bank-failure';

function thrown(err: BankError): ApplicationFailure {
  try {
    toActivityFailure(err);
  } catch (failure) {
    return failure as ApplicationFailure;
  }
  throw new Error('toActivityFailure returned');
}

describe("a bank refusing Clearway's certificate", () => {
  test.each(['ROLE_INVALID', 'CERTIFICATE_INVALID', 'CERTIFICATE_EXPIRED'])('401 %s: non-retryable BankRejected with the protocol-neutral meaning', (code) => {
    const failure = thrown(new BankError('rejected', `POST /v1/payments/sepa-credit-transfers → HTTP 401 (${code})`, { httpStatus: 401, messages: [{ category: 'ERROR', code }] }));
    expect(failure).toMatchObject({ type: 'BankRejected', nonRetryable: true });
    expect(failure.details?.[0]).toEqual({ httpStatus: 401, messages: [{ category: 'ERROR', code }], refusal: 'certificate_refused' });
  });

  test('another 401 (the PSU credentials) carries no certificate meaning', () => {
    const failure = thrown(new BankError('rejected', 'PUT … → HTTP 401', { httpStatus: 401, messages: [{ category: 'ERROR', code: 'PSU_CREDENTIALS_INVALID' }] }));
    expect(failure.details?.[0]).not.toHaveProperty('refusal');
  });
});
