import { existsSync, readFileSync } from 'node:fs';
import { BankError } from '../bank-adapter';
import { SCA_STATUSES, TRANSACTION_STATUSES, FINAL_SCA_STATUSES } from '../../domain/transaction-status';
import {
  BG_SCA_STATUSES,
  BG_SCA_STATUS_MAP,
  BG_TRANSACTION_STATUSES,
  BG_TRANSACTION_STATUS_MAP,
  authorisationIdFromLink,
  extractLinks,
  mapScaStatus,
  mapTransactionStatus,
  parseCreatedResponse,
  parseInitiationResponse,
  parseRetryAfter,
  parseScaApproach,
  parseStartScaProcessResponse,
  parseTppMessages,
  redactIbans,
  resolveHref,
  toBgPaymentInitiation,
} from './transformers';

// The spec is read where it lives (never copied into the repo); skipped where it is absent.
const SPEC_PATH = '/work/shared/specs/berlin-group/psd2-api-1.3.12.json';
const describeWithSpec = existsSync(SPEC_PATH) ? describe : describe.skip;

describeWithSpec('against the BG 1.3.12 spec', () => {
  const schemas = existsSync(SPEC_PATH) ? JSON.parse(readFileSync(SPEC_PATH, 'utf8')).components.schemas : {};

  it('knows every transactionStatus code of the spec, and no others', () => {
    expect([...BG_TRANSACTION_STATUSES].sort()).toEqual([...schemas.transactionStatus.enum].sort());
  });

  it('knows every scaStatus code of the spec, and no others', () => {
    expect([...BG_SCA_STATUSES].sort()).toEqual([...schemas.scaStatus.enum].sort());
  });
});

describe('mapTransactionStatus', () => {
  it('has a mapping for exactly the BG codes', () => {
    expect(Object.keys(BG_TRANSACTION_STATUS_MAP).sort()).toEqual([...BG_TRANSACTION_STATUSES].sort());
  });

  it.each(BG_TRANSACTION_STATUSES.map((code) => [code, BG_TRANSACTION_STATUS_MAP[code]]))('%s → %s', (code, expected) => {
    expect(mapTransactionStatus(code)).toEqual({ raw: code, normalised: expected });
    expect(TRANSACTION_STATUSES).toContain(expected);
  });

  it.each(['', 'acsc', 'ACSC ', 'DONE', 'ACCEPTED', 'toString', '__proto__', 'constructor'])(
    'unknown %j → PDNG, raw kept',
    (raw) => {
      expect(mapTransactionStatus(raw)).toEqual({ raw, normalised: 'PDNG' });
    },
  );
});

describe('mapScaStatus', () => {
  it('has a mapping for exactly the BG codes', () => {
    expect(Object.keys(BG_SCA_STATUS_MAP).sort()).toEqual([...BG_SCA_STATUSES].sort());
  });

  it.each(BG_SCA_STATUSES.map((code) => [code, BG_SCA_STATUS_MAP[code]]))('%s → %s', (code, expected) => {
    expect(mapScaStatus(code)).toEqual({ raw: code, normalised: expected });
    expect(SCA_STATUSES).toContain(expected);
  });

  it.each(['', 'FINALISED', 'finalized', 'approved', 'hasOwnProperty'])('unknown %j → received (not final), raw kept', (raw) => {
    const mapped = mapScaStatus(raw);
    expect(mapped).toEqual({ raw, normalised: 'received' });
    expect(FINAL_SCA_STATUSES.has(mapped.normalised)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  it.each<[string | null | undefined, number | undefined]>([
    ['7', 7000],
    [' 0 ', 0],
    ['120', 120_000],
    ['Tue, 24 Nov 2026 12:00:30 GMT', 30_000],
    ['Tue, 24 Nov 2026 11:59:00 GMT', 0], // in the past: retry now
    [null, undefined],
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['1.5', undefined],
    ['-3', undefined],
  ])('%j → %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('links', () => {
  const base = 'https://bank.example/psd2';

  it.each([
    ['https://other.example/sca/1', 'https://other.example/sca/1'],
    ['/v1/payments/sepa-credit-transfers/p1', 'https://bank.example/psd2/v1/payments/sepa-credit-transfers/p1'],
    ['/psd2/v1/payments/p1/status', 'https://bank.example/psd2/v1/payments/p1/status'],
    ['/sca/page', 'https://bank.example/sca/page'],
    ['v1/payments/p1', 'https://bank.example/psd2/v1/payments/p1'],
  ])('resolves %s', (href, expected) => {
    expect(resolveHref(href, base)).toBe(expected);
  });

  it('extracts scaRedirect, scaStatus, self (hrefType objects and bare strings)', () => {
    const links = extractLinks(
      {
        scaRedirect: { href: 'https://bank.example/sca?id=1' },
        scaStatus: { href: '/psd2/v1/payments/sepa-credit-transfers/p1/authorisations/a-1' },
        self: '/psd2/v1/payments/sepa-credit-transfers/p1',
        startAuthorisationWithPsuIdentification: { href: '/v1/payments/sepa-credit-transfers/p1/authorisations' },
        bogus: { nohref: true },
      },
      base,
    );
    expect(links).toEqual({
      scaRedirect: 'https://bank.example/sca?id=1',
      scaStatus: 'https://bank.example/psd2/v1/payments/sepa-credit-transfers/p1/authorisations/a-1',
      self: 'https://bank.example/psd2/v1/payments/sepa-credit-transfers/p1',
      startAuthorisation: 'https://bank.example/psd2/v1/payments/sepa-credit-transfers/p1/authorisations',
    });
  });

  it.each([undefined, null, 'x', 42])('tolerates _links = %j', (raw) => {
    expect(extractLinks(raw, base)).toEqual({});
  });

  it.each<[string | undefined, string | undefined]>([
    ['/v1/payments/sepa-credit-transfers/p1/authorisations/123auth456', '123auth456'],
    ['https://b.example/v1/payments/p1/authorisations/a%2Fb?x=1', 'a/b'],
    ['/v1/payments/p1/authorisations/a-1/', 'a-1'],
    ['/v1/payments/p1/cancellation-authorisations/c-1', 'c-1'],
    ['/v1/payments/p1/status', undefined],
    ['/v1/payments/p1/authorisations', undefined],
    [undefined, undefined],
  ])('authorisationId from %s → %s', (href, expected) => {
    expect(authorisationIdFromLink(href)).toBe(expected);
  });
});

describe('parseScaApproach', () => {
  it.each([
    ['REDIRECT', {}, 'REDIRECT'],
    ['decoupled', { scaRedirect: 'x' }, 'DECOUPLED'], // the header wins
    ['EMBEDDED', {}, 'EMBEDDED'],
    [null, { scaRedirect: 'x', scaStatus: 'y' }, 'REDIRECT'],
    [null, { scaOAuth: 'x' }, 'OAUTH'],
    [null, { scaStatus: 'y' }, 'DECOUPLED'],
    ['WEIRD', { scaStatus: 'y' }, 'DECOUPLED'],
    [undefined, {}, 'REDIRECT'],
  ] as const)('header %j with links %j → %s', (header, links, expected) => {
    expect(parseScaApproach(header, links)).toBe(expected);
  });

  it('infers EMBEDDED from PSU-authentication upload links', () => {
    expect(parseScaApproach(undefined, {}, { startAuthorisationWithPsuAuthentication: { href: '/x' } })).toBe('EMBEDDED');
  });
});

describe('parseTppMessages', () => {
  it('reads NextGenPSD2 tppMessages', () => {
    expect(
      parseTppMessages({
        tppMessages: [
          { category: 'ERROR', code: 'FORMAT_ERROR', text: 'bad creditorAccount', path: 'creditorAccount.iban' },
          { category: 'WARNING', code: 'WARNING' },
          { category: 'ERROR' }, // no code: dropped
        ],
      }),
    ).toEqual([
      { category: 'ERROR', code: 'FORMAT_ERROR', text: 'bad creditorAccount', path: 'creditorAccount.iban' },
      { category: 'WARNING', code: 'WARNING' },
    ]);
  });

  it('reads RFC 7807 errors with additionalErrors', () => {
    expect(
      parseTppMessages({ type: 'about:blank', code: 'PARAMETER_NOT_SUPPORTED', detail: 'd', additionalErrors: [{ code: 'FORMAT_ERROR' }] }),
    ).toEqual([
      { category: 'ERROR', code: 'PARAMETER_NOT_SUPPORTED', text: 'd' },
      { category: 'ERROR', code: 'FORMAT_ERROR' },
    ]);
  });

  it.each([undefined, null, 'text', [], { tppMessages: 'nope' }])('tolerates %j', (body) => {
    expect(parseTppMessages(body)).toEqual([]);
  });

  it('redacts IBANs the bank echoes in texts', () => {
    const [m] = parseTppMessages({ tppMessages: [{ category: 'ERROR', code: 'FORMAT_ERROR', text: 'IBAN DE89370400440532013000 invalid' }] });
    expect(m!.text).toBe('IBAN DE89****3000 invalid');
    expect(redactIbans('DE89 3704 0044 0532 0130 00 is wrong')).not.toContain('0532');
  });
});

describe('2xx body validation', () => {
  it('accepts a spec initiation response', () => {
    expect(parseInitiationResponse({ transactionStatus: 'RCVD', paymentId: 'p1', _links: {} })).toMatchObject({ paymentId: 'p1' });
  });

  it.each([null, 'x', [], {}, { paymentId: 'p1' }, { transactionStatus: 'RCVD' }, { paymentId: 7, transactionStatus: 'RCVD' }])(
    'initiation body %j → protocol error',
    (body) => {
      expect(() => parseInitiationResponse(body)).toThrow(expect.objectContaining({ kind: 'protocol' }) as unknown as BankError);
    },
  );

  it.each([
    { body: { paymentId: 'p1' }, resourceId: 'p1' },
    { body: { paymentId: 7, transactionStatus: 'RCVD' }, resourceId: undefined },
    { body: 'not json', resourceId: undefined },
  ])('an unreadable 201 ($body) is ambiguous, naming what the bank created when it can', ({ body, resourceId }) => {
    const err = (() => {
      try {
        parseCreatedResponse(body, 'paymentId', parseInitiationResponse);
      } catch (e) {
        return e as BankError;
      }
      throw new Error('expected a failure');
    })();
    expect(err).toBeInstanceOf(BankError);
    expect(err).toMatchObject({ kind: 'protocol', fate: 'ambiguous' });
    expect(err.details.resourceId).toBe(resourceId);
  });

  it('takes the authorisationId from the scaStatus link when the body lacks it', () => {
    const parsed = parseStartScaProcessResponse({
      scaStatus: 'received',
      _links: { scaStatus: { href: '/v1/payments/sepa-credit-transfers/p1/authorisations/auth-9' } },
    });
    expect(parsed.authorisationId).toBe('auth-9');
  });

  it('rejects a start-authorisation response without any authorisation id', () => {
    expect(() => parseStartScaProcessResponse({ scaStatus: 'received', _links: {} })).toThrow(BankError);
  });
});

describe('toBgPaymentInitiation', () => {
  it('copies only the fields we send and drops undefined ones', () => {
    const body = toBgPaymentInitiation({
      debtorAccount: { iban: 'DE89370400440532013000' },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: 'Ada',
      instructedAmount: { currency: 'EUR', amount: '1.00' },
      remittanceInformationUnstructured: undefined,
      ...({ internalNote: 'must not leave' } as object),
    });
    expect(body).toEqual({
      debtorAccount: { iban: 'DE89370400440532013000' },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: 'Ada',
      instructedAmount: { currency: 'EUR', amount: '1.00' },
    });
  });
});
