/**
 * The AIS half of the adapter against a scriptable local "bank": what goes on the wire (headers,
 * bodies, queries) and how answers are mapped. The real sandbox bank is in the `.sandbox.spec`.
 */
import { json, useScriptedBank } from '../../../test/support/scripted-bank';
import { BankError, type AccountReadRef, type BankConnection, type CreateConsentCommand } from '../bank-adapter';
import { consentGoneCode } from './ais-transformers';
import { BerlinGroupAdapter } from '.';

const bank = useScriptedBank();
const { requests } = bank;
let conn: BankConnection;
let origin: string;
beforeAll(() => {
  origin = bank.origin;
  conn = { bicFi: 'TESTDEFFXXX', baseUrl: `${origin}/psd2`, timeoutMs: 1_000 };
});

const sut = new BerlinGroupAdapter();
const readRef = (over: Partial<AccountReadRef> = {}): AccountReadRef => ({ bankConsentId: 'consent-1', requestId: 'req-read-1', ...over });

function createCommand(): CreateConsentCommand {
  return {
    idempotencyKey: 'idem-consent-1',
    consent: {
      access: { allPsd2: 'allAccounts' },
      recurringIndicator: true,
      validUntil: '9999-12-31',
      frequencyPerDay: 4,
      combinedServiceIndicator: false,
    },
    psu: { psuId: 'psu-1', psuIpAddress: '192.0.2.10' },
    redirect: { okUri: 'https://tpp.example/ok', nokUri: 'https://tpp.example/nok' },
    redirectPreferred: false,
  };
}

async function caught(p: Promise<unknown>): Promise<BankError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BankError) return err;
    throw err;
  }
  throw new Error('expected a BankError');
}

describe('BerlinGroupAdapter AIS over HTTP', () => {
  it('createConsent: POST /v1/consents with the idempotency key, PSU and TPP redirect headers', async () => {
    bank.responder = (_req, res) =>
      json(res, 201, {
        consentStatus: 'received',
        consentId: 'consent-1',
        _links: { scaStatus: { href: '/psd2/v1/consents/consent-1/authorisations/auth-1' } },
      });

    const result = await sut.createConsent(conn, createCommand());

    expect(result).toEqual({
      bankConsentId: 'consent-1',
      status: { raw: 'received', normalised: 'received' },
      scaApproach: 'DECOUPLED',
      authorisationId: 'auth-1',
    });
    const [req] = requests;
    expect(req).toMatchObject({ method: 'POST', url: '/psd2/v1/consents' });
    expect(req!.headers).toMatchObject({
      'x-request-id': 'idem-consent-1',
      'psu-id': 'psu-1',
      'psu-ip-address': '192.0.2.10',
      'tpp-redirect-uri': 'https://tpp.example/ok',
      'tpp-nok-redirect-uri': 'https://tpp.example/nok',
      'tpp-redirect-preferred': 'false',
    });
    expect(JSON.parse(req!.body)).toEqual(createCommand().consent);
  });

  it('reads carry Consent-ID and the ref request id, and no PSU-IP-Address unless given', async () => {
    bank.responder = (_req, res) => json(res, 200, { accounts: [{ resourceId: 'acc-1', currency: 'EUR' }] });

    await sut.listAccounts(conn, readRef(), { withBalance: true });
    await sut.listAccounts(conn, readRef({ psu: { psuIpAddress: '192.0.2.7' } }), { withBalance: false });

    expect(requests[0]!.url).toBe('/psd2/v1/accounts?withBalance=true');
    expect(requests[0]!.headers).toMatchObject({ 'consent-id': 'consent-1', 'x-request-id': 'req-read-1' });
    expect(requests[0]!.headers).not.toHaveProperty('psu-ip-address');
    expect(requests[1]!.url).toBe('/psd2/v1/accounts');
    expect(requests[1]!.headers).toMatchObject({ 'consent-id': 'consent-1', 'psu-ip-address': '192.0.2.7' });
  });

  it('getConsent maps what the bank granted', async () => {
    bank.responder = (_req, res) =>
      json(res, 200, {
        access: { allPsd2: 'allAccounts' },
        recurringIndicator: true,
        validUntil: '2027-02-22',
        frequencyPerDay: 4,
        lastActionDate: '2026-11-24',
        consentStatus: 'valid',
      });
    expect(await sut.getConsent(conn, { bankConsentId: 'consent-1', requestId: 'r' })).toEqual({
      status: { raw: 'valid', normalised: 'valid' },
      validUntil: '2027-02-22',
      frequencyPerDay: 4,
      access: { allPsd2: 'allAccounts' },
      lastActionDate: '2026-11-24',
    });
    expect(requests[0]).toMatchObject({ method: 'GET', url: '/psd2/v1/consents/consent-1' });
  });

  it('deleteConsent: DELETE, 204', async () => {
    bank.responder = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    await expect(sut.deleteConsent(conn, { bankConsentId: 'c/1', requestId: 'r' })).resolves.toBeUndefined();
    expect(requests[0]).toMatchObject({ method: 'DELETE', url: '/psd2/v1/consents/c%2F1' });
  });

  it('updateConsentPsuData: credentials as a PUT with PSU-ID, and 401 PSU_CREDENTIALS_INVALID → rejected', async () => {
    bank.responder = (_req, res) =>
      json(res, 401, { tppMessages: [{ category: 'ERROR', code: 'PSU_CREDENTIALS_INVALID', text: 'Wrong password' }] });
    const err = await caught(
      sut.updateConsentPsuData(
        conn,
        { bankConsentId: 'consent-1', authorisationId: 'auth-1', requestId: 'r' },
        { kind: 'credentials', psuId: 'embedded', password: 'secret' },
      ),
    );
    expect(err).toMatchObject({
      kind: 'rejected',
      details: { httpStatus: 401, messages: [{ category: 'ERROR', code: 'PSU_CREDENTIALS_INVALID', text: 'Wrong password' }] },
    });
    expect(err.message).not.toContain('secret');
    expect(requests[0]).toMatchObject({ method: 'PUT', url: '/psd2/v1/consents/consent-1/authorisations/auth-1' });
    expect(requests[0]!.headers['psu-id']).toBe('embedded');
    expect(JSON.parse(requests[0]!.body)).toEqual({ psuData: { password: 'secret' } });
  });

  it('getTransactions: first page from the query, the next from the token, both on this account', async () => {
    bank.responder = (req, res) =>
      json(res, 200, {
        account: { iban: 'DE89370400440532013000' },
        transactions: {
          booked: [{ transactionId: req.url.includes('page=2') ? 't2' : 't1' }],
          _links: {
            account: { href: '/psd2/v1/accounts/acc-1' },
            next: { href: `${origin}/psd2/v1/accounts/acc-1/transactions?bookingStatus=booked&page=2&cursor=a%2Bb` },
          },
        },
      });

    const first = await sut.getTransactions(conn, readRef(), 'acc-1', { bookingStatus: 'booked', dateFrom: '2025-01-01', withBalance: true });
    expect(requests[0]!.url).toBe('/psd2/v1/accounts/acc-1/transactions?bookingStatus=booked&dateFrom=2025-01-01&withBalance=true');
    expect(requests[0]!.headers['consent-id']).toBe('consent-1');
    expect(first.booked).toEqual([{ transactionId: 't1' }]);

    const second = await sut.getTransactions(conn, readRef(), 'acc-1', { bookingStatus: 'both', page: first.pages.next });
    // The bank's query, verbatim (its cursor encoding untouched); the caller's other fields ignored.
    expect(requests[1]!.url).toBe('/psd2/v1/accounts/acc-1/transactions?bookingStatus=booked&page=2&cursor=a%2Bb');
    expect(second.booked).toEqual([{ transactionId: 't2' }]);

    const err = await caught(sut.getTransactions(conn, readRef(), 'acc-2', { bookingStatus: 'booked', page: first.pages.next }));
    expect(err.kind).toBe('rejected');
    expect(requests).toHaveLength(2);
  });

  it.each([
    [401, 'CONSENT_INVALID'],
    [401, 'CONSENT_EXPIRED'],
    [403, 'CONSENT_UNKNOWN'],
  ])('HTTP %i %s on a read → rejected, the code kept for the caller', async (status, code) => {
    bank.responder = (_req, res) => json(res, status, { tppMessages: [{ category: 'ERROR', code }] });
    const err = await caught(sut.getBalances(conn, readRef(), 'acc-1'));
    expect(err).toMatchObject({ kind: 'rejected', retryable: false });
    expect(consentGoneCode(err)).toBe(code);
  });

  it('429 ACCESS_EXCEEDED → rate_limited with the Retry-After', async () => {
    bank.responder = (_req, res) => json(res, 429, { tppMessages: [{ category: 'ERROR', code: 'ACCESS_EXCEEDED' }] }, { 'Retry-After': '3600' });
    const err = await caught(sut.getAccount(conn, readRef(), 'acc-1', { withBalance: false }));
    expect(err).toMatchObject({ kind: 'rate_limited', retryable: true, details: { retryAfterMs: 3_600_000 } });
  });

  it('bank texts with IBANs are redacted in errors', async () => {
    bank.responder = (_req, res) =>
      json(res, 400, { tppMessages: [{ category: 'ERROR', code: 'FORMAT_ERROR', text: 'Account DE89370400440532013000 not in consent' }] });
    const err = await caught(sut.createConsent(conn, createCommand()));
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain('0532013000');
  });
});
