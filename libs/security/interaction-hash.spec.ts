import { interactionHash, verifyInteractionHash, type InteractionHashInput } from './interaction-hash';

/**
 * Known-answer vectors. The first is RFC 9635 §4.2.3's own example (the RFC prints the digest in
 * base64url: `x-gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY`). The others were computed independently
 * with Python's hashlib and base64 over a multi-tenant authServer, with and without a trailing
 * slash: the two differ, which is exactly the mistake that failed every approved transfer against
 * a current Rafiki.
 */
const TENANT_AUTH_SERVER = 'https://auth.wallet.example/cf5fd7d3-1eb1-4041-8e43-ba45747e9e5d';
const NONCES = {
  clientNonce: 'c7a1f3b0e2d94b5a8f6e1d2c3b4a5968',
  finishNonce: '2f0e9d8c7b6a5f4e3d2c1b0a99887766',
  interactRef: '6d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
};

const VECTORS: [string, InteractionHashInput, string][] = [
  [
    'RFC 9635 §4.2.3 example',
    { clientNonce: 'VJLO6A4CATR0KRO', finishNonce: 'MBDOFXG4Y5CVJCX821LH', interactRef: '4IFWWIKYB2PQ6U56NL1', grantEndpoint: 'https://server.example.com/tx' },
    'x+gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY=',
  ],
  ['multi-tenant authServer, as given (no trailing slash)', { ...NONCES, grantEndpoint: TENANT_AUTH_SERVER }, 'F1ht/AhWAqiU+ywus8eLl9Hd/Nw90km9vbwyz8BJAo8='],
  ['the same authServer with a slash appended', { ...NONCES, grantEndpoint: `${TENANT_AUTH_SERVER}/` }, 'mWwgBNWB8qf4uxSQawAFAnEU22voV/5SIzK/oatlZs4='],
];

describe('interactionHash', () => {
  it.each(VECTORS)('%s', (_name, input, expected) => {
    expect(interactionHash(input)).toBe(expected);
    expect(verifyInteractionHash(input, expected)).toBe(true);
  });

  it('the RFC example is the RFC digest in base64url once re-encoded', () => {
    const [, input] = VECTORS[0]!;
    expect(Buffer.from(interactionHash(input), 'base64').toString('base64url')).toBe('x-gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBffY');
  });

  it('a hash over authServer + "/" does not verify for the authServer as given', () => {
    const slashed = interactionHash({ ...NONCES, grantEndpoint: `${TENANT_AUTH_SERVER}/` });
    expect(verifyInteractionHash({ ...NONCES, grantEndpoint: TENANT_AUTH_SERVER }, slashed)).toBe(false);
  });

  it.each([[undefined], [null], [''], ['x+gguKWTj8rQf7d7i3w3UhzvuJ5bpOlKyAlVpLxBff'], ['F1ht/AhWAqiU+ywus8eLl9Hd/Nw90km9vbwyz8BJAo8=']])(
    'refuses a missing, truncated or foreign hash (%p)',
    (hash) => {
      expect(verifyInteractionHash(VECTORS[0]![1], hash)).toBe(false);
    },
  );
});
