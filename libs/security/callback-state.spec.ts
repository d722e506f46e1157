import { mandateFinishUrl, scaCallbackUrl, transferFinishUrl, verifyCallbackState } from './callback-state';
import { HmacSigner } from './hmac-signer';
import { KeyRing } from './key-ring';

const ID = '0b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87';
const LEGACY = 'a-legacy-deployment-secret-of-enough-length';
const OLD_KEY = { id: 'h2025', secret: 'the-2025-hmac-key-of-enough-length-xxxx' };
const NEW_KEY = { id: 'h2026', secret: 'the-2026-hmac-key-of-enough-length-xxxx' };

/** `state` values issued by earlier releases (one secret, no key id) with {@link LEGACY}, for {@link ID}. */
const ISSUED_BEFORE_KEY_IDS = {
  payments: 'NGHGPpfGUVjqSUo_F73nT2igo8V2bmcJXCV851_uVOs',
  consents: 'w8199kIB5cjC2c1WQiV4A-pvdv70GtaChs-9B2Lfsuw',
  transfers: 'Sr9lOBbn26k4c0YhGLyXHXM6DgazITc5B0SvCpAko9g',
} as const;

const stateOf = (url: string) => new URL(url).searchParams.get('state')!;

describe('callback state', () => {
  const before = new HmacSigner(new KeyRing('hmac', [OLD_KEY], LEGACY));
  const after = new HmacSigner(new KeyRing('hmac', [NEW_KEY, OLD_KEY], LEGACY));
  const retired = new HmacSigner(new KeyRing('hmac', [NEW_KEY]));

  test('links name the current key and verify for their own resource only', () => {
    const state = stateOf(scaCallbackUrl('https://api.example', after, ID, 'ok'));
    expect(state.startsWith('h2026.')).toBe(true);
    expect(verifyCallbackState(after, 'payments', ID, state)).toBe(ID);
    expect(verifyCallbackState(after, 'consents', ID, state)).toBeUndefined();
    expect(verifyCallbackState(after, 'payments', '1b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87', state)).toBeUndefined();
  });

  test.each([
    ['consents', (s: HmacSigner) => stateOf(scaCallbackUrl('https://a', s, ID, 'nok', 'consents'))],
    ['transfers', (s: HmacSigner) => stateOf(transferFinishUrl('https://a', s, ID))],
    ['mandates', (s: HmacSigner) => stateOf(mandateFinishUrl('https://a', s, ID))],
  ] as const)('a %s link issued before a rotation verifies after it, and not once its key is retired', (kind, link) => {
    const state = link(before);
    expect(verifyCallbackState(after, kind, ID, state)).toBe(ID);
    expect(verifyCallbackState(retired, kind, ID, state)).toBeUndefined();
  });

  test.each(Object.entries(ISSUED_BEFORE_KEY_IDS))('a %s link issued before keys had ids verifies with the legacy secret', (kind, state) => {
    expect(verifyCallbackState(after, kind as keyof typeof ISSUED_BEFORE_KEY_IDS, ID, state)).toBe(ID);
    expect(verifyCallbackState(retired, kind as keyof typeof ISSUED_BEFORE_KEY_IDS, ID, state)).toBeUndefined();
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['forged', 'forged'],
    ['an unknown key id', 'h1999.NGHGPpfGUVjqSUo_F73nT2igo8V2bmcJXCV851_uVOs'],
    ['a truncated mac', `h2026.${'A'.repeat(10)}`],
  ])('refuses a state that is %s', (_name, state) => {
    expect(verifyCallbackState(after, 'payments', ID, state)).toBeUndefined();
  });
});

describe('OAuth callback state', () => {
  const { oauthState, verifyOAuthState } = require('./callback-state') as typeof import('./callback-state');
  const signer = new HmacSigner(new KeyRing('hmac', [NEW_KEY]));
  const other = new HmacSigner(new KeyRing('hmac', [{ id: 'h2026', secret: 'another-deployment-hmac-key-of-length-x' }]));

  test('names its payment or consent, and only the signer that made it accepts it', () => {
    const forPayment = oauthState(signer, { resource: 'payments', id: ID });
    expect(verifyOAuthState(signer, forPayment)).toEqual({ resource: 'payments', id: ID });
    expect(verifyOAuthState(signer, oauthState(signer, { resource: 'consents', id: ID }))).toEqual({ resource: 'consents', id: ID });
    expect(verifyOAuthState(other, forPayment)).toBeUndefined();
  });

  test.each([
    ['another resource kind', (s: string) => `c${s.slice(1)}`],
    ['another id', (s: string) => s.replace(ID, '1b7c2a3e-8d1f-4c59-a6f0-3e2d1c0b9a87')],
    ['no signature', (s: string) => s.split('.').slice(0, 2).join('.')],
    ['garbage', () => 'x.y.z'],
    ['empty', () => ''],
  ])('refuses %s', (_name, tamper) => {
    expect(verifyOAuthState(signer, tamper(oauthState(signer, { resource: 'payments', id: ID })))).toBeUndefined();
  });
});
