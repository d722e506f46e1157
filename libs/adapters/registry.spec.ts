import { generateIdentityKey, loadIdentity, OpenPaymentsHttpAdapter } from './open-payments';
import { BerlinGroupAdapter } from './berlin-group';
import { createAdapterRegistry } from './registry';

describe('adapter registry: the one way every protocol is reached', () => {
  const openPayments = new OpenPaymentsHttpAdapter(loadIdentity({ walletAddress: 'https://clearway.example/clearway', keyId: 'k1', privateKeyPem: generateIdentityKey('k1').privateKeyPem }));

  it('names the bank protocols (by directory row) and the wallet protocols', () => {
    const sut = createAdapterRegistry();
    expect(sut.protocols).toEqual(['berlin-group', 'uk-obie']);
    expect(sut.walletProtocols).toEqual(['open-payments']);
  });

  it('holds Open Payments only when the deployment configured a client identity', () => {
    expect(createAdapterRegistry().walletAdapters['open-payments']).toBeUndefined();
    const sut = createAdapterRegistry({ 'open-payments': openPayments });
    expect(sut.walletAdapters['open-payments']).toBe(openPayments);
    expect(Object.isFrozen(sut.walletAdapters)).toBe(true);
  });

  it('keeps wallets and banks apart: a wallet protocol is no bank adapter, bank overrides still apply', () => {
    const stub = new BerlinGroupAdapter({ fetch: async () => new Response('{}') });
    const sut = createAdapterRegistry({ 'berlin-group': stub, 'open-payments': openPayments });
    expect(sut.adapterFor('berlin-group')).toBe(stub);
    expect(() => sut.adapterFor('open-payments')).toThrow(/no bank adapter/);
  });
});
