import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const sut = new SecretBox('a-deployment-secret-of-enough-length');

  test('opens what it sealed, for the same purpose', () => {
    const sealed = sut.seal('123456', 'consent-otp');
    expect(sealed).not.toContain('123456');
    expect(sut.open(sealed, 'consent-otp')).toBe('123456');
  });

  test('two seals of the same secret differ (random IV)', () => {
    expect(sut.seal('pw', 'p')).not.toBe(sut.seal('pw', 'p'));
  });

  test.each([
    ['another purpose', (s: string) => sut.open(s, 'payment-otp')],
    ['another key', (s: string) => new SecretBox('another-secret').open(s, 'consent-otp')],
    ['a flipped byte', (s: string) => sut.open(s.slice(0, -3) + (s.at(-3) === 'A' ? 'B' : 'A') + s.slice(-2), 'consent-otp')],
    ['garbage', () => sut.open('v1.x', 'consent-otp')],
  ])('refuses %s', (_name, open) => {
    const sealed = sut.seal('123456', 'consent-otp');
    expect(() => open(sealed)).toThrow();
  });
});
