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
    [undefined, undefined],
  ])('%j → %s', (refusal, kind) => {
    expect(bankRefusalKind(refusal)).toBe(kind);
  });
});
