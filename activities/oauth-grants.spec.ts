import { BankError, type BankConnection } from '../libs/adapters/bank-adapter';
import type { BankGrant } from '../libs/adapters/oauth-sca';
import type { BankGrants } from '../libs/security/bank-grants';
import { consentGrantForReads, REFRESH_MARGIN_MS } from './oauth-grants';

/** An in-memory stand-in for the sealed grant store (the real one is BankGrants over PostgreSQL). */
function store(initial?: BankGrant) {
  let current = initial;
  const saved: BankGrant[] = [];
  const grants = {
    load: async () => current,
    save: async (_o: string, _id: string, _t: string, g: BankGrant) => {
      current = g;
      saved.push(g);
    },
    discard: async () => undefined,
  } as unknown as BankGrants;
  return { grants, saved, set: (g: BankGrant) => (current = g) };
}

const conn: BankConnection = { bicFi: 'SANDLT21XXX', baseUrl: 'https://bank.example/psd2' };
const consent = { id: 'c1', tenantId: 't1' };
const NOW = 1_700_000_000_000;

describe('consentGrantForReads', () => {
  it('no stored grant: reads go without a token', async () => {
    const { grants } = store();
    await expect(consentGrantForReads(grants, {}, conn, consent, () => NOW)).resolves.toBeUndefined();
  });

  it('a grant valid beyond the margin is used as it is, nothing refreshed', async () => {
    const grant = { accessToken: 'a1', refreshToken: 'r1', expiresAt: NOW + REFRESH_MARGIN_MS + 1000 };
    const refreshGrant = jest.fn();
    const { grants, saved } = store(grant);
    await expect(consentGrantForReads(grants, { refreshGrant }, conn, consent, () => NOW)).resolves.toBe(grant);
    expect(refreshGrant).not.toHaveBeenCalled();
    expect(saved).toHaveLength(0);
  });

  it('an expiring grant with a refresh token is refreshed at the bank and stored again', async () => {
    const fresh = { accessToken: 'a2', refreshToken: 'r2', expiresAt: NOW + 300_000 };
    const refreshGrant = jest.fn().mockResolvedValue(fresh);
    const { grants, saved } = store({ accessToken: 'a1', refreshToken: 'r1', expiresAt: NOW + 1000 });
    await expect(consentGrantForReads(grants, { refreshGrant }, conn, consent, () => NOW)).resolves.toBe(fresh);
    expect(refreshGrant).toHaveBeenCalledWith(conn, expect.objectContaining({ refreshToken: 'r1' }));
    expect(saved).toEqual([fresh]);
  });

  it('refused because another read rotated the refresh token first: that read\'s grant is used', async () => {
    const { grants, set } = store({ accessToken: 'a1', refreshToken: 'r1', expiresAt: NOW });
    const rotated = { accessToken: 'a2', refreshToken: 'r2', expiresAt: NOW + 300_000 };
    const refreshGrant = jest.fn().mockImplementation(async () => {
      set(rotated);
      throw new BankError('rejected', 'invalid_grant');
    });
    await expect(consentGrantForReads(grants, { refreshGrant }, conn, consent, () => NOW)).resolves.toEqual(rotated);
  });

  it('refused with nobody else having refreshed: the refusal stands', async () => {
    const { grants } = store({ accessToken: 'a1', refreshToken: 'r1', expiresAt: NOW });
    const refreshGrant = jest.fn().mockRejectedValue(new BankError('rejected', 'invalid_grant'));
    await expect(consentGrantForReads(grants, { refreshGrant }, conn, consent, () => NOW)).rejects.toMatchObject({ kind: 'rejected' });
  });
});
