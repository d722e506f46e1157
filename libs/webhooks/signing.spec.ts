import { Webhook } from 'standardwebhooks';
import { isSigningSecret, newSigningSecret, signWebhook } from './signing';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ type: 'payment.status_changed', id: 'e1', data: { paymentId: 'p1', transactionStatus: 'ACSC' } });
  const at = new Date();

  it('makes whsec_ secrets of 32 random bytes', () => {
    const a = newSigningSecret();
    expect(isSigningSecret(a)).toBe(true);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(a);
  });

  it('verifies with the same secret and refuses another or a changed body', () => {
    const secret = newSigningSecret();
    const headers = signWebhook([secret], 'msg-1', at, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toMatchObject({ type: 'payment.status_changed' });
    expect(() => new Webhook(newSigningSecret()).verify(body, { ...headers })).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('ACSC', 'RJCT'), { ...headers })).toThrow();
  });

  it('signs with both secrets during a rotation: either one verifies', () => {
    const [oldSecret, newSecret] = [newSigningSecret(), newSigningSecret()];
    const headers = signWebhook([newSecret, oldSecret], 'msg-2', at, body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, { ...headers })).not.toThrow();
  });
});
