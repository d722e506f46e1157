import { bankRefusalKind } from './bank-refusal';

describe('bankRefusalKind', () => {
  test.each([
    [{ httpStatus: 401, messages: [{ code: 'CONSENT_INVALID' }] }, 'consent_invalid'],
    [{ httpStatus: 400, messages: [{ code: 'CONSENT_UNKNOWN' }] }, 'consent_invalid'],
    [{ httpStatus: 401, messages: [{ code: 'CONSENT_EXPIRED' }] }, 'consent_expired'],
    [{ httpStatus: 403, messages: [{ code: 'RESOURCE_UNKNOWN' }, { code: 'CONSENT_EXPIRED' }] }, 'consent_expired'],
    [{ httpStatus: 429, messages: [{ code: 'ACCESS_EXCEEDED' }] }, 'access_exceeded'],
    [{ httpStatus: 404, messages: [] }, 'resource_unknown'],
    [{ httpStatus: 400, messages: [{ code: 'FORMAT_ERROR' }] }, undefined],
    [{ httpStatus: 401, messages: [{ code: 'ROLE_INVALID' }] }, 'certificate_refused'],
    [{ httpStatus: 401, messages: [{ code: 'CERTIFICATE_INVALID' }] }, 'certificate_refused'],
    [{ httpStatus: 401, messages: [{ code: 'CERTIFICATE_EXPIRED' }] }, 'certificate_refused'],
    [{ httpStatus: 401, messages: [{ code: 'CONSENT_INVALID' }, { code: 'CERTIFICATE_REVOKED' }] }, 'certificate_refused'],
    [{ messages: [{ code: 'CERTIFICATE_MISSING' }] }, 'certificate_refused'],
    [undefined, undefined],
  ])('%j → %s', (refusal, kind) => {
    expect(bankRefusalKind(refusal)).toBe(kind);
  });
});
