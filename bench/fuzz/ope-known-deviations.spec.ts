import { OPE_KNOWN_DEVIATIONS, triage } from './ope-known-deviations';
import type { FuzzFailure, FuzzRun } from './schemathesis';

const failure = (f: Partial<FuzzFailure>): FuzzFailure => ({
  operation: 'GET /consent/v1/consents/{consentId}',
  check: 'response_headers_conformance',
  code: 'ST107',
  title: 'Missing required response headers',
  message: 'The following required headers are missing from the response:\n- `X-Request-ID`',
  status: 400,
  phase: 'fuzzing',
  requestHeaders: {},
  ...f,
});
const run = (failures: FuzzFailure[]): FuzzRun => ({ seed: '1', runningTimeSeconds: 1, testCases: 1, exitCode: 1, failures, errors: [] });
const explainedBy = (f: FuzzFailure) => OPE_KNOWN_DEVIATIONS.find((d) => d.matches(f))?.id;

describe('the documented OPE defects explain only what they say', () => {
  test.each([
    ['no X-Request-ID sent, none echoed', failure({}), 'x-request-id-echo-without-a-request-id'],
    ['an empty X-Request-ID sent, none echoed', failure({ requestHeaders: { 'X-Request-ID': '' } }), 'x-request-id-echo-without-a-request-id'],
    ['an X-Request-ID sent but not echoed', failure({ requestHeaders: { 'X-Request-ID': '99391c7e-ad88-49ec-a2ad-99ddcb1f7721' } }), undefined],
    ['no X-Request-ID echoed on a 200', failure({ status: 200 }), undefined],
    [
      'an ASPSP-information error object',
      failure({ operation: 'GET /aspspinformation/v1/countries', code: 'ST108', check: 'response_schema_conformance', status: 404, message: '{"tppMessages":[…]} is not of type "array"' }),
      'aspsp-information-errors-as-bare-array',
    ],
    [
      'a payments error that is not an array',
      failure({ operation: 'GET /paymentinitiation/v1/{payment-service}/{payment-product}/{paymentId}', code: 'ST108', status: 404, message: '{"tppMessages":[…]} is not of type "array"' }),
      undefined,
    ],
    ['an ASPSP-information 200 that breaks its schema', failure({ operation: 'GET /aspspinformation/v1/countries', code: 'ST108', status: 200, message: 'is not of type "array"' }), undefined],
    [
      'the payment 201 matching two oneOf branches',
      failure({ operation: 'POST /paymentinitiation/v1/{payment-service}/{payment-product}', code: 'ST108', status: 201, message: "… is valid under more than one of the schemas listed in the 'oneOf' keyword" }),
      'payment-201-overlapping-oneof',
    ],
    [
      'the payment 201 missing a required field',
      failure({ operation: 'POST /paymentinitiation/v1/{payment-service}/{payment-product}', code: 'ST108', status: 201, message: "'paymentId' is a required property" }),
      undefined,
    ],
    ['a server error', failure({ code: 'ST100', check: 'not_a_server_error', status: 500, message: 'Server error' }), undefined],
  ])('%s → %s', (_name, f, id) => {
    expect(explainedBy(f)).toBe(id);
  });

  test('triage counts the known and returns the rest', () => {
    const unexpected = failure({ status: 500, code: 'ST100' });
    expect(triage(run([failure({}), failure({}), unexpected]))).toEqual({
      unexpected: [unexpected],
      known: { 'x-request-id-echo-without-a-request-id': 2, 'aspsp-information-errors-as-bare-array': 0, 'payment-201-overlapping-oneof': 0 },
    });
  });
});
