import { existsSync, readFileSync } from 'node:fs';
import { BankError } from '../bank-adapter';
import { CONSENT_STATUSES, FINAL_CONSENT_STATUSES } from '../../domain/consent';
import { classifyHttpError } from './client';
import {
  BG_CONSENT_STATUSES,
  BG_CONSENT_STATUS_MAP,
  PAGE_TOKEN_PREFIX,
  consentGoneCode,
  decodePageToken,
  encodePageToken,
  mapConsentStatus,
  parseConsentInformationResponse,
  parsePsuDataUpdateResponse,
  parseTransactionsResponse,
  toBgPsuDataUpdate,
  toBgTransactionsQuery,
} from './ais-transformers';

// The spec is read where it lives (never copied into the repo); skipped where it is absent.
const SPEC_PATH = '/work/shared/specs/berlin-group/psd2-api-1.3.12.json';
const describeWithSpec = existsSync(SPEC_PATH) ? describe : describe.skip;

describeWithSpec('against the BG 1.3.12 spec', () => {
  const schemas = existsSync(SPEC_PATH) ? JSON.parse(readFileSync(SPEC_PATH, 'utf8')).components.schemas : {};

  it('knows every consentStatus code of the spec, and no others', () => {
    expect([...BG_CONSENT_STATUSES].sort()).toEqual([...schemas.consentStatus.enum].sort());
  });

  it.each((existsSync(SPEC_PATH) ? (schemas.consentStatus.enum as string[]) : []).map((code) => [code]))(
    'spec code %s has a mapping that is one of our statuses',
    (code) => {
      expect(CONSENT_STATUSES).toContain(mapConsentStatus(code).normalised);
      expect(mapConsentStatus(code).raw).toBe(code);
    },
  );
});

describe('mapConsentStatus', () => {
  it('has a mapping for exactly the BG codes', () => {
    expect(Object.keys(BG_CONSENT_STATUS_MAP).sort()).toEqual([...BG_CONSENT_STATUSES].sort());
  });

  it.each(BG_CONSENT_STATUSES.map((code) => [code, BG_CONSENT_STATUS_MAP[code]]))('%s → %s', (code, expected) => {
    expect(mapConsentStatus(code)).toEqual({ raw: code, normalised: expected });
  });

  it.each(['', 'VALID', 'active', 'revoked', 'toString', '__proto__', 'hasOwnProperty'])(
    'unknown %j → received (neither valid nor final), raw kept',
    (raw) => {
      const mapped = mapConsentStatus(raw);
      expect(mapped).toEqual({ raw, normalised: 'received' });
      expect(mapped.normalised).not.toBe('valid');
      expect(FINAL_CONSENT_STATUSES.has(mapped.normalised)).toBe(false);
    },
  );
});

describe('AIS error classification', () => {
  const tpp = (code: string, text?: string) => ({ tppMessages: [{ category: 'ERROR', code, ...(text ? { text } : {}) }] });

  it.each([
    [401, 'CONSENT_INVALID', 'rejected'],
    [401, 'CONSENT_EXPIRED', 'rejected'],
    [403, 'CONSENT_UNKNOWN', 'rejected'],
    [400, 'CONSENT_UNKNOWN', 'rejected'],
    [401, 'PSU_CREDENTIALS_INVALID', 'rejected'],
    [429, 'ACCESS_EXCEEDED', 'rate_limited'],
    [403, 'RESOURCE_UNKNOWN', 'not_found'],
  ])('HTTP %i %s → %s', (status, code, kind) => {
    const err = classifyHttpError(status, new Headers(), tpp(code), 'GET /v1/accounts');
    expect(err.kind).toBe(kind);
    expect(err.details.messages).toEqual([{ category: 'ERROR', code }]);
  });

  it('a consent code wins over RESOURCE_UNKNOWN: the consent is gone, not the account', () => {
    const body = { tppMessages: [{ category: 'ERROR', code: 'RESOURCE_UNKNOWN' }, { category: 'ERROR', code: 'CONSENT_UNKNOWN' }] };
    const err = classifyHttpError(403, new Headers(), body, 'GET /v1/accounts');
    expect(err.kind).toBe('rejected');
    expect(consentGoneCode(err)).toBe('CONSENT_UNKNOWN');
  });

  it('429 ACCESS_EXCEEDED carries Retry-After', () => {
    const err = classifyHttpError(429, new Headers({ 'Retry-After': '60' }), tpp('ACCESS_EXCEEDED'), 'GET /v1/accounts');
    expect(err).toMatchObject({ kind: 'rate_limited', retryable: true, details: { retryAfterMs: 60_000 } });
  });

  it.each<[string, unknown, string | undefined]>([
    ['a CONSENT_EXPIRED BankError', new BankError('rejected', 'x', { messages: [{ category: 'ERROR', code: 'CONSENT_EXPIRED' }] }), 'CONSENT_EXPIRED'],
    ['a FORMAT_ERROR BankError', new BankError('rejected', 'x', { messages: [{ category: 'ERROR', code: 'FORMAT_ERROR' }] }), undefined],
    ['a BankError without messages', new BankError('rejected', 'x'), undefined],
    ['a plain Error', new Error('CONSENT_INVALID'), undefined],
  ])('consentGoneCode(%s) → %s', (_what, err, code) => {
    expect(consentGoneCode(err)).toBe(code);
  });
});

describe('request bodies and queries', () => {
  it.each([
    [{ kind: 'credentials', psuId: 'embedded', password: 'pw' } as const, { psuData: { password: 'pw' } }],
    [{ kind: 'selectMethod', authenticationMethodId: 'sms' } as const, { authenticationMethodId: 'sms' }],
    [{ kind: 'otp', scaAuthenticationData: '123456' } as const, { scaAuthenticationData: '123456' }],
  ])('PSU data %j → %j (PSU-ID is a header, not a body field)', (update, body) => {
    expect(toBgPsuDataUpdate(update)).toEqual(body);
  });

  it('sends booleans only when true', () => {
    expect(toBgTransactionsQuery({ bookingStatus: 'booked', dateFrom: '2026-01-01', deltaList: false, withBalance: true })).toEqual({
      bookingStatus: 'booked',
      dateFrom: '2026-01-01',
      dateTo: undefined,
      entryReferenceFrom: undefined,
      deltaList: undefined,
      withBalance: 'true',
    });
  });
});

describe('response mapping', () => {
  it('maps the embedded SCA responses', () => {
    expect(
      parsePsuDataUpdateResponse({
        scaStatus: 'psuAuthenticated',
        scaMethods: [
          { authenticationType: 'SMS_OTP', authenticationMethodId: 'sms', name: 'SMS to +49 ***12', explanation: 'x' },
          { authenticationType: 'PUSH_OTP', authenticationMethodId: 'push' },
        ],
        _links: { selectAuthenticationMethod: { href: '/v1/consents/c/authorisations/a' } },
      }),
    ).toEqual({
      scaStatus: { raw: 'psuAuthenticated', normalised: 'psuAuthenticated' },
      scaMethods: [
        { authenticationType: 'SMS_OTP', authenticationMethodId: 'sms', name: 'SMS to +49 ***12' },
        { authenticationType: 'PUSH_OTP', authenticationMethodId: 'push' },
      ],
    });
    expect(
      parsePsuDataUpdateResponse({
        scaStatus: 'scaMethodSelected',
        chosenScaMethod: { authenticationType: 'SMS_OTP', authenticationMethodId: 'sms' },
        challengeData: { otpMaxLength: 6, otpFormat: 'integer', additionalInformation: 'Enter the code', imageLink: 'https://x' },
        psuMessage: 'Code sent',
      }),
    ).toEqual({
      scaStatus: { raw: 'scaMethodSelected', normalised: 'scaMethodSelected' },
      chosenScaMethod: { authenticationType: 'SMS_OTP', authenticationMethodId: 'sms' },
      challengeData: { otpMaxLength: 6, otpFormat: 'integer', additionalInformation: 'Enter the code' },
      psuMessage: 'Code sent',
    });
    expect(parsePsuDataUpdateResponse({ scaStatus: 'finalised' })).toEqual({ scaStatus: { raw: 'finalised', normalised: 'finalised' } });
  });

  it.each([undefined, {}, { scaStatus: 'psuAuthenticated', scaMethods: [{ authenticationType: 'SMS_OTP' }] }, { scaStatus: 'x', scaMethods: 'sms' }])(
    'a PSU data response %j it cannot use is a protocol error',
    (body) => {
      expect(() => parsePsuDataUpdateResponse(body)).toThrow(expect.objectContaining({ kind: 'protocol' }));
    },
  );

  it('maps consent information, keeping only the BG access fields', () => {
    expect(
      parseConsentInformationResponse({
        access: { allPsd2: 'allAccounts', extra: 1 },
        recurringIndicator: true,
        validUntil: '2027-02-21',
        frequencyPerDay: 4,
        lastActionDate: '2026-11-24',
        consentStatus: 'valid',
      }),
    ).toEqual({
      access: { allPsd2: 'allAccounts' },
      recurringIndicator: true,
      validUntil: '2027-02-21',
      frequencyPerDay: 4,
      lastActionDate: '2026-11-24',
      consentStatus: 'valid',
    });
  });

  it.each([
    { access: {}, validUntil: '2027-02-21', consentStatus: 'valid' },
    { access: {}, validUntil: '2027-02-21', frequencyPerDay: 0, consentStatus: 'valid' },
    { access: {}, validUntil: 'tomorrow', frequencyPerDay: 4, consentStatus: 'valid' },
    { validUntil: '2027-02-21', frequencyPerDay: 4, consentStatus: 'valid' },
  ])('consent information %j → protocol error', (body) => {
    expect(() => parseConsentInformationResponse(body)).toThrow(expect.objectContaining({ kind: 'protocol' }));
  });
});

describe('transaction page tokens', () => {
  const base = 'https://bank.example/psd2';
  const account = 'acc-1';
  const path = '/v1/accounts/acc-1/transactions?bookingStatus=booked&page=2';
  const token = (relative: string) => `${PAGE_TOKEN_PREFIX}${Buffer.from(relative, 'utf8').toString('base64url')}`;

  it.each([
    ['a relative /v1 link', path],
    ['an origin-relative link with the base path', `/psd2${path}`],
    ['an absolute link on the bank host', `https://bank.example/psd2${path}`],
    ['a bare relative link', path.slice(1)],
  ])('encodes %s as base64url of the bank-relative path and query', (_what, href) => {
    const t = encodePageToken(href, base, account);
    expect(t).toBe(token(path));
    expect(t).toMatch(/^bg1\.[A-Za-z0-9_-]+$/);
    expect(decodePageToken(t, base, account)).toBe('bookingStatus=booked&page=2');
  });

  it('round-trips account ids that need escaping and opaque bank cursors', () => {
    const href = '/v1/accounts/a%2Fb%20c/transactions?cursor=eyJ4IjoxfQ%3D%3D&bookingStatus=both';
    expect(decodePageToken(encodePageToken(href, base, 'a/b c'), base, 'a/b c')).toBe('cursor=eyJ4IjoxfQ%3D%3D&bookingStatus=both');
  });

  it.each([
    ['another host', `https://evil.example/psd2${path}`],
    ['another port', `https://bank.example:8443/psd2${path}`],
    ['another scheme', `http://bank.example/psd2${path}`],
    ['userinfo', `https://user:pw@bank.example/psd2${path}`],
    ['another account', '/v1/accounts/acc-2/transactions?page=2'],
    ['another resource', '/v1/accounts/acc-1/balances'],
    ['one transaction', '/v1/accounts/acc-1/transactions/tx-1'],
    ['outside the base path', `https://bank.example/other${path}`],
  ])('refuses to encode a link to %s (protocol)', (_what, href) => {
    expect(() => encodePageToken(href, base, account)).toThrow(expect.objectContaining({ kind: 'protocol' }));
  });

  it.each([
    ['garbage', 'not a token'],
    ['no prefix', Buffer.from(path).toString('base64url')],
    ['an empty token', 'bg1.'],
    ['a huge token', token(`${path}&x=${'a'.repeat(5000)}`)],
    ['another account', token('/v1/accounts/acc-2/transactions?page=2')],
    ['another resource', token('/v1/accounts/acc-1/balances')],
    ['an absolute URL', token('https://evil.example/v1/accounts/acc-1/transactions')],
    ['a protocol-relative URL', token('//evil.example/v1/accounts/acc-1/transactions')],
    ['dot segments', token('/v1/accounts/acc-2/../acc-1/transactions?page=2')],
    ['encoded dot segments', token('/v1/accounts/acc-2/%2e%2e/acc-1/transactions')],
    ['a backslash', token('/v1/accounts/acc-1/transactions\\..\\x')],
    ['a fragment', token(`${path}#x`)],
    ['whitespace', token('/v1/accounts/acc-1/transactions? page=2')],
    ['an @', token('/v1/accounts/acc-1/transactions@evil.example')],
    ['no /v1 root', token('/admin?x=/v1/accounts/acc-1/transactions')],
  ])('refuses to decode %s (rejected)', (_what, t) => {
    let err: unknown;
    try {
      decodePageToken(t, base, account);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BankError);
    expect(err).toMatchObject({ kind: 'rejected', retryable: false });
    expect((err as Error).message).not.toContain('evil');
  });

  it('a token holds no host: it is resolved against the connection it is used with, for its account only', () => {
    const t = encodePageToken(path, base, account);
    expect(Buffer.from(t.slice(PAGE_TOKEN_PREFIX.length), 'base64url').toString()).toBe(path);
    expect(decodePageToken(t, 'https://bank.example/psd2/', account)).toBe('bookingStatus=booked&page=2');
    expect(() => decodePageToken(t, base, 'acc-2')).toThrow(expect.objectContaining({ kind: 'rejected' }));
  });

  it('maps a transactions page, turning every paging link into a token', () => {
    const booked = [{ transactionId: 't1', transactionAmount: { currency: 'EUR', amount: '-1.00' } }];
    const page = parseTransactionsResponse(
      {
        account: { iban: 'DE89370400440532013000' },
        transactions: {
          booked,
          pending: [],
          _links: {
            account: { href: '/v1/accounts/acc-1' },
            first: { href: '/psd2/v1/accounts/acc-1/transactions?bookingStatus=booked&page=1' },
            next: { href: 'https://bank.example/psd2/v1/accounts/acc-1/transactions?bookingStatus=booked&page=3' },
            previous: '/v1/accounts/acc-1/transactions?bookingStatus=booked&page=1',
          },
        },
        balances: [{ balanceType: 'closingBooked', balanceAmount: { currency: 'EUR', amount: '10.00' } }],
      },
      base,
      account,
    );
    expect(page).toEqual({
      account: { iban: 'DE89370400440532013000' },
      booked,
      pending: [],
      balances: [{ balanceType: 'closingBooked', balanceAmount: { currency: 'EUR', amount: '10.00' } }],
      pages: {
        first: token('/v1/accounts/acc-1/transactions?bookingStatus=booked&page=1'),
        next: token('/v1/accounts/acc-1/transactions?bookingStatus=booked&page=3'),
        previous: token('/v1/accounts/acc-1/transactions?bookingStatus=booked&page=1'),
      },
    });
  });

  it('a paging link to elsewhere fails the page (protocol) and names the relation, not the URL', () => {
    const body = { transactions: { booked: [], _links: { next: { href: 'https://evil.example/steal' } } } };
    expect(() => parseTransactionsResponse(body, base, account)).toThrow(
      expect.objectContaining({ kind: 'protocol', message: "transactions response: next link leaves this account's transactions" }),
    );
  });

  it('a page without transactions has no pages', () => {
    expect(parseTransactionsResponse({}, base, account)).toEqual({ pages: {} });
    expect(() => parseTransactionsResponse({ transactions: { booked: 'x' } }, base, account)).toThrow(
      expect.objectContaining({ kind: 'protocol' }),
    );
  });
});
