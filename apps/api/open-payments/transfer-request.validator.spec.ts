import { ApiError } from '../common/api-error';
import { isInternalHost, validateTransferRequest } from './transfer-request.validator';

const valid = {
  senderWalletAddress: 'https://wallet.example/alice',
  receiver: 'https://wallet.example/bob',
  debitAmount: { value: '1000', assetCode: 'EUR', assetScale: 2 },
};

describe('validateTransferRequest', () => {
  test('accepts a well-formed request', () => {
    expect(validateTransferRequest(valid, { allowHttp: false })).toEqual(valid);
  });

  test.each([
    ['plain http outside development', { ...valid, senderWalletAddress: 'http://wallet.example/alice' }, 'senderWalletAddress'],
    ['a loopback wallet', { ...valid, receiver: 'https://127.0.0.1/bob' }, 'receiver'],
    ['a private-network wallet', { ...valid, receiver: 'https://10.1.2.3/bob' }, 'receiver'],
    ['localhost', { ...valid, senderWalletAddress: 'https://localhost/alice' }, 'senderWalletAddress'],
    ['both amounts', { ...valid, receiveAmount: valid.debitAmount }, 'receiveAmount'],
    ['a negative value', { ...valid, debitAmount: { ...valid.debitAmount, value: '-1' } }, 'debitAmount.value'],
    ['a float value', { ...valid, debitAmount: { ...valid.debitAmount, value: 10.5 } }, 'debitAmount.value'],
    ['a value above int64', { ...valid, debitAmount: { ...valid.debitAmount, value: '9223372036854775808' } }, 'debitAmount.value'],
    ['the largest 19-digit value', { ...valid, receiveAmount: { ...valid.debitAmount, value: '9999999999999999999' }, debitAmount: undefined }, 'receiveAmount.value'],
    ['a lowercase asset', { ...valid, debitAmount: { ...valid.debitAmount, assetCode: 'eur' } }, 'debitAmount.assetCode'],
    ['an unknown field', { ...valid, amount: '10' }, 'amount'],
  ])('refuses %s, naming %s', (_name, body, field) => {
    let error: unknown;
    try {
      validateTransferRequest(body, { allowHttp: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).path).toBe(field);
  });

  test('accepts the largest int64 value', () => {
    const max = { ...valid, debitAmount: { ...valid.debitAmount, value: '9223372036854775807' } };
    expect(validateTransferRequest(max, { allowHttp: false }).debitAmount?.value).toBe('9223372036854775807');
  });

  test('development allows plain http and local wallets', () => {
    const dev = { ...valid, senderWalletAddress: 'http://127.0.0.1:3002/alice', receiver: 'http://127.0.0.1:3002/bob' };
    expect(validateTransferRequest(dev, { allowHttp: true }).receiver).toBe(dev.receiver);
  });

  test.each([
    ['127.0.0.1', true],
    ['192.168.1.10', true],
    ['172.20.0.1', true],
    ['172.32.0.1', false],
    ['169.254.169.254', true],
    ['[::1]', true],
    ['wallet.example', false],
    ['8.8.8.8', false],
  ])('isInternalHost(%s) = %s', (host, internal) => {
    expect(isInternalHost(host)).toBe(internal);
  });
});
