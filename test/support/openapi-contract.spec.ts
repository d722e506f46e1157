import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BERLIN_GROUP_SPEC,
  expectValidRequestBody,
  expectValidResponse,
  loadOpenApi,
  matchPathTemplate,
  OPEN_PAYMENTS_EUROPE_SPEC,
  validateRequestBody,
  validateResponse,
} from './openapi-contract';

const INITIATE = '/v1/{payment-service}/{payment-product}';

const validPayment = {
  instructedAmount: { currency: 'EUR', amount: '10.00' },
  debtorAccount: { iban: 'DE89370400440532013000' },
  creditorAccount: { iban: 'NL91ABNA0417164300' },
  creditorName: 'Merchant',
};

const created201 = {
  transactionStatus: 'RCVD',
  paymentId: 'p-1',
  _links: { scaRedirect: { href: 'https://bank.example/sca/1' }, self: { href: '/v1/payments/sepa-credit-transfers/p-1' } },
};

describe('openapi-contract (Berlin Group JSON)', () => {
  const sut = loadOpenApi(BERLIN_GROUP_SPEC);

  it('accepts a response that matches the spec', () => {
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 201, body: created201 })).toEqual([]);
  });

  it('reports readable errors for a broken response body', () => {
    const errors = validateResponse(sut, {
      method: 'POST',
      path: INITIATE,
      status: 201,
      body: { transactionStatus: 'DONE', _links: {} },
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining("must have required property 'paymentId'"),
        expect.stringContaining('/transactionStatus must be equal to one of the allowed values'),
      ]),
    );
    expect(() => expectValidResponse(sut, { method: 'POST', path: INITIATE, status: 201, body: {} })).toThrow(
      /paymentId/,
    );
  });

  it('reports a broken BG error body (unknown message code for the status)', () => {
    const body = { tppMessages: [{ category: 'ERROR', code: 'PRODUCT_UNKNOWN', text: 'x' }] };
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 404, body })).toEqual([]);
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 403, body })).not.toEqual([]);
  });

  it('validates request bodies through components/requestBodies', () => {
    expect(validateRequestBody(sut, { method: 'POST', path: INITIATE, body: validPayment })).toEqual([]);
    const { creditorName: _omitted, ...withoutCreditor } = validPayment;
    const errors = validateRequestBody(sut, { method: 'POST', path: INITIATE, body: withoutCreditor });
    expect(errors.join('\n')).toContain('creditorName');
    expect(() => expectValidRequestBody(sut, { method: 'POST', path: INITIATE, body: { ...validPayment, instructedAmount: { amount: 10 } } })).toThrow();
  });

  it('matches concrete paths to templates, preferring literal segments', () => {
    expect(matchPathTemplate(sut, '/v1/payments/sepa-credit-transfers')).toBe(INITIATE);
    expect(matchPathTemplate(sut, '/v1/payments/sepa-credit-transfers/abc/status')).toBe(
      '/v1/{payment-service}/{payment-product}/{paymentId}/status',
    );
    expect(matchPathTemplate(sut, '/v1/payments/sepa-credit-transfers/abc/authorisations')).toBe(
      '/v1/{payment-service}/{payment-product}/{paymentId}/authorisations',
    );
    expect(validateResponse(sut, { method: 'GET', path: '/v1/payments/sepa-credit-transfers/abc/status', status: 200, body: { transactionStatus: 'ACSC' } })).toEqual([]);
  });

  it('reports unknown paths, methods, statuses, content types and missing required headers', () => {
    expect(validateResponse(sut, { method: 'GET', path: '/nope', status: 200, body: {} })[0]).toMatch(/no matching path/);
    expect(validateResponse(sut, { method: 'PATCH', path: INITIATE, status: 200, body: {} })[0]).toMatch(/method not defined/);
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 418, body: {} })[0]).toMatch(/status not defined/);
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 201, body: created201, contentType: 'text/plain' })[0]).toMatch(/content type/);
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 201, body: created201, headers: {} })).toEqual([
      expect.stringContaining('missing required header X-Request-ID'),
    ]);
    expect(
      validateResponse(sut, { method: 'POST', path: INITIATE, status: 201, body: created201, headers: { 'x-request-id': 'a', 'ASPSP-SCA-Approach': 'SMOKE' } }),
    ).toEqual([expect.stringContaining('ASPSP-SCA-Approach=SMOKE')]);
  });

  it('accepts statuses the spec defines without a body (BG 429/503)', () => {
    expect(validateResponse(sut, { method: 'POST', path: INITIATE, status: 429, body: { tppMessages: [] } })).toEqual([]);
  });
});

describe('openapi-contract (Open Payments Europe YAML)', () => {
  const sut = loadOpenApi(OPEN_PAYMENTS_EUROPE_SPEC);

  it('loads the YAML spec and validates against it', () => {
    const statusPath = '/paymentinitiation/v1/payments/sepa-credit-transfers/abc/status';
    expect(validateResponse(sut, { method: 'GET', path: statusPath, status: 200, body: { transactionStatus: 'ACSC' } })).toEqual([]);
    expect(validateResponse(sut, { method: 'GET', path: statusPath, status: 200, body: { transactionStatus: 'NOPE' } })).not.toEqual([]);
  });
});

describe('openapi-contract (OpenAPI 3.0 dialect)', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-contract-')), 'spec.yaml');
  fs.writeFileSync(
    file,
    `openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /things/{id}:
    put:
      requestBody: { $ref: '#/components/requestBodies/Thing' }
      responses:
        '200': { $ref: '#/components/responses/Thing' }
components:
  requestBodies:
    Thing:
      content:
        application/json:
          schema: { $ref: '#/components/schemas/Thing' }
  responses:
    Thing:
      description: ok
      content:
        application/json:
          schema: { $ref: '#/components/schemas/Thing' }
  schemas:
    Thing:
      type: object
      required: [name, kind, parent]
      properties:
        name: { type: string, nullable: true }
        kind: { type: string, enum: [a, b], nullable: true }
        parent: { $ref: '#/components/schemas/Parent' }
        count: { type: integer, minimum: 0, exclusiveMinimum: true }
    Parent:
      nullable: true
      allOf: [{ $ref: '#/components/schemas/Thing' }]
`,
  );
  const sut = loadOpenApi(file);
  const request = (body: unknown) => validateRequestBody(sut, { method: 'PUT', path: '/things/1', body });
  const response = (body: unknown) => validateResponse(sut, { method: 'PUT', path: '/things/{id}', status: 200, body });

  it('honours nullable (typed, enum and ref-only schemas) and recursive refs', () => {
    expect(request({ name: null, kind: null, parent: null })).toEqual([]);
    expect(response({ name: 'x', kind: 'a', parent: { name: 'p', kind: 'b', parent: null } })).toEqual([]);
  });

  it('still rejects what is wrong', () => {
    expect(request({ name: 1, kind: 'c', parent: null }).length).toBeGreaterThanOrEqual(2);
    expect(response({ name: 'x', kind: 'a', parent: null, count: 0 })).toEqual([expect.stringContaining('/count')]);
  });
});
