/**
 * Test-only helpers for the AIS side: an HTTP call that contract-checks request bodies and JSON
 * responses against the BG spec (like `../test-helpers.ts` does for payments), and consent factories.
 */
import { randomUUID } from 'node:crypto';
import { expectValidRequestBody, expectValidResponse } from '../../../../test/support/openapi-contract';
import { bgSpec, bgSpecLooseOneOf, TPP_NOK, TPP_OK, type SandboxResponse } from '../test-helpers';

/** AIS path templates, exactly as spelled in psd2-api-1.3.12.json. */
export const AIS = {
  consents: '/v1/consents',
  consent: '/v1/consents/{consentId}',
  consentStatus: '/v1/consents/{consentId}/status',
  authorisations: '/v1/consents/{consentId}/authorisations',
  authorisation: '/v1/consents/{consentId}/authorisations/{authorisationId}',
  accounts: '/v1/accounts',
  account: '/v1/accounts/{account-id}',
  balances: '/v1/accounts/{account-id}/balances',
  transactions: '/v1/accounts/{account-id}/transactions',
  transaction: '/v1/accounts/{account-id}/transactions/{transactionId}',
} as const;

export type AisTemplate = (typeof AIS)[keyof typeof AIS];

export async function aisCall(
  method: string,
  url: string,
  options: { template: AisTemplate; headers?: Record<string, string>; body?: unknown; skipRequestValidation?: boolean; looseOneOf?: boolean },
): Promise<SandboxResponse> {
  const spec = options.looseOneOf ? bgSpecLooseOneOf : bgSpec;
  const headers: Record<string, string> = { 'X-Request-ID': randomUUID(), ...options.headers };
  if (options.body !== undefined && !options.skipRequestValidation) {
    expectValidRequestBody(spec, { method, path: options.template, body: options.body });
  }
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: options.body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('application/json') && text ? JSON.parse(text) : undefined;
  expectValidResponse(spec, { method, path: options.template, status: res.status, body: json, headers: res.headers });
  expect(res.headers.get('x-request-id')).toBe(headers['X-Request-ID']);
  return { status: res.status, headers: res.headers, text, json };
}

export interface ConsentBody {
  access: Record<string, unknown>;
  recurringIndicator: boolean;
  validUntil: string;
  frequencyPerDay: number;
  combinedServiceIndicator: boolean;
}

export function consentBody(overrides: Partial<ConsentBody> = {}): ConsentBody {
  return {
    access: { allPsd2: 'allAccounts' },
    recurringIndicator: true,
    validUntil: '9999-12-31',
    frequencyPerDay: 4,
    combinedServiceIndicator: false,
    ...overrides,
  };
}

export function consentHeaders(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'PSU-IP-Address': '192.168.8.78',
    'TPP-Redirect-URI': TPP_OK,
    'TPP-Nok-Redirect-URI': TPP_NOK,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The BG operations of one sandbox, spelled out. */
export function aisClient(baseUrl: string) {
  const consentUrl = (id: string) => `${baseUrl}/v1/consents/${id}`;
  const read = (consentId: string, psuPresent = false) => ({
    'Consent-ID': consentId,
    ...(psuPresent ? { 'PSU-IP-Address': '192.168.8.78' } : {}),
  });
  return {
    createConsent: (body: unknown, headers = consentHeaders(), opts: { skipRequestValidation?: boolean } = {}) =>
      aisCall('POST', `${baseUrl}/v1/consents`, { template: AIS.consents, headers, body, ...opts }),
    getConsent: (id: string) => aisCall('GET', consentUrl(id), { template: AIS.consent }),
    status: (id: string) => aisCall('GET', `${consentUrl(id)}/status`, { template: AIS.consentStatus }),
    deleteConsent: (id: string) => aisCall('DELETE', consentUrl(id), { template: AIS.consent }),
    startAuthorisation: (id: string, body: unknown = {}) =>
      aisCall('POST', `${consentUrl(id)}/authorisations`, { template: AIS.authorisations, body, looseOneOf: true }),
    listAuthorisations: (id: string) => aisCall('GET', `${consentUrl(id)}/authorisations`, { template: AIS.authorisations }),
    scaStatus: (id: string, authorisationId: string) =>
      aisCall('GET', `${consentUrl(id)}/authorisations/${authorisationId}`, { template: AIS.authorisation }),
    updatePsuData: (id: string, authorisationId: string, body: unknown) =>
      aisCall('PUT', `${consentUrl(id)}/authorisations/${authorisationId}`, { template: AIS.authorisation, body, looseOneOf: true }),
    /** Any href the bank handed out, contract-checked against the given template. */
    follow: (href: string, template: AisTemplate, consentId: string, psuPresent = false) =>
      aisCall('GET', href, { template, headers: read(consentId, psuPresent) }),
    accounts: (consentId: string, query = '', psuPresent = false) =>
      aisCall('GET', `${baseUrl}/v1/accounts${query}`, { template: AIS.accounts, headers: read(consentId, psuPresent) }),
    account: (consentId: string, accountId: string, query = '', psuPresent = false) =>
      aisCall('GET', `${baseUrl}/v1/accounts/${accountId}${query}`, { template: AIS.account, headers: read(consentId, psuPresent) }),
    balances: (consentId: string, accountId: string, psuPresent = false) =>
      aisCall('GET', `${baseUrl}/v1/accounts/${accountId}/balances`, { template: AIS.balances, headers: read(consentId, psuPresent) }),
    transactions: (consentId: string, accountId: string, query: string, psuPresent = false) =>
      aisCall('GET', `${baseUrl}/v1/accounts/${accountId}/transactions${query}`, { template: AIS.transactions, headers: read(consentId, psuPresent) }),
    transaction: (consentId: string, accountId: string, transactionId: string, psuPresent = false) =>
      aisCall('GET', `${baseUrl}/v1/accounts/${accountId}/transactions/${transactionId}`, { template: AIS.transaction, headers: read(consentId, psuPresent) }),
  };
}
