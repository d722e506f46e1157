import { interactionHash } from './grants';

describe('GNAP interaction hash', () => {
  it('is base64 SHA-256 of client nonce, server nonce, interact_ref and grant endpoint URI, one per line', () => {
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    expect(interactionHash('c-nonce', 's-nonce', 'ref', 'https://auth.example/')).toBe(
      createHash('sha256').update('c-nonce\ns-nonce\nref\nhttps://auth.example/').digest('base64'),
    );
  });
});
