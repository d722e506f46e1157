/**
 * Test-only helpers: a tiny HTTP client for the sandbox that checks every request body it sends and
 * every JSON response it gets against the Berlin Group spec, plus factories for valid requests.
 */
import { randomUUID } from 'node:crypto';
import type { PaymentInitiationBody } from '../../../libs/domain/payment';
import {
  BERLIN_GROUP_SPEC,
  expectValidRequestBody,
  expectValidResponse,
  loadOpenApi,
} from '../../../test/support/openapi-contract';

export const bgSpec = loadOpenApi(BERLIN_GROUP_SPEC);
/**
 * BG's `OK_200_UpdatePsuData` and the authorisation request bodies are `oneOf`s of overlapping
 * shapes (no `additionalProperties: false`) that no instance satisfies strictly; read them as anyOf.
 */
export const bgSpecLooseOneOf = loadOpenApi(BERLIN_GROUP_SPEC, { oneOfAsAnyOf: true });

/** BG path templates, exactly as spelled in psd2-api-1.3.12.json. */
export const BG = {
  initiate: '/v1/{payment-service}/{payment-product}',
  payment: '/v1/{payment-service}/{payment-product}/{paymentId}',
  status: '/v1/{payment-service}/{payment-product}/{paymentId}/status',
  authorisations: '/v1/{payment-service}/{payment-product}/{paymentId}/authorisations',
  authorisation: '/v1/{payment-service}/{payment-product}/{paymentId}/authorisations/{authorisationId}',
} as const;

export type BgTemplate = (typeof BG)[keyof typeof BG];

export const TPP_OK = 'https://tpp.example/callback/ok';
export const TPP_NOK = 'https://tpp.example/callback/nok';

export function paymentBody(overrides: Partial<PaymentInitiationBody> = {}): PaymentInitiationBody {
  return {
    endToEndIdentification: 'E2E-1',
    debtorAccount: { iban: 'DE89370400440532013000' },
    instructedAmount: { currency: 'EUR', amount: '10.00' },
    creditorAccount: { iban: 'NL91ABNA0417164300' },
    creditorName: 'Fietsenwinkel <Utrecht> & Co',
    remittanceInformationUnstructured: 'Order 4711',
    ...overrides,
  };
}

export function amount(value: string): Partial<PaymentInitiationBody> {
  return { instructedAmount: { currency: 'EUR', amount: value } };
}

export function initiationHeaders(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'Content-Type': 'application/json',
    'X-Request-ID': randomUUID(),
    'PSU-IP-Address': '192.168.8.78',
    'TPP-Redirect-URI': TPP_OK,
    'TPP-Nok-Redirect-URI': TPP_NOK,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export interface SandboxResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary response fields
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  /** Spec template of the operation: request body and JSON response are checked against it. */
  template?: BgTemplate;
  /** Set for requests that are meant to be invalid. */
  skipRequestValidation?: boolean;
  looseOneOf?: boolean;
  /** Send no X-Request-ID at all (by default a fresh one is added). */
  withoutRequestId?: boolean;
}

/** One HTTP call; the response is contract-checked whenever a template is given. */
export async function call(method: string, url: string, options: CallOptions = {}): Promise<SandboxResponse> {
  const spec = options.looseOneOf ? bgSpecLooseOneOf : bgSpec;
  const headers: Record<string, string> = { 'X-Request-ID': randomUUID(), ...options.headers };
  if (options.withoutRequestId) delete headers['X-Request-ID'];
  if (options.body !== undefined && options.template && !options.skipRequestValidation) {
    expectValidRequestBody(spec, { method, path: options.template, body: options.body });
  }
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: hasBody ? { 'Content-Type': 'application/json', ...headers } : headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').includes('application/json');
  const json = isJson && text ? JSON.parse(text) : undefined;
  if (options.template) {
    expectValidResponse(spec, {
      method,
      path: options.template,
      status: res.status,
      body: json,
      // X-Request-ID is a required response header; it can only be echoed when it was sent.
      headers: headers['X-Request-ID'] ? res.headers : undefined,
    });
    if (headers['X-Request-ID']) expect(res.headers.get('x-request-id')).toBe(headers['X-Request-ID']);
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Sandbox bound to one base URL, with the BG operations spelled out. */
export function bgClient(baseUrl: string, product = 'sepa-credit-transfers') {
  const paymentUrl = (paymentId: string) => `${baseUrl}/v1/payments/${product}/${paymentId}`;
  return {
    initiate: (body: unknown, headers: Record<string, string> = initiationHeaders()) =>
      call('POST', `${baseUrl}/v1/payments/${product}`, { headers, body, template: BG.initiate }),
    getPayment: (paymentId: string) => call('GET', paymentUrl(paymentId), { template: BG.payment }),
    status: (paymentId: string) => call('GET', `${paymentUrl(paymentId)}/status`, { template: BG.status }),
    cancel: (paymentId: string) => call('DELETE', paymentUrl(paymentId), { template: BG.payment }),
    startAuthorisation: (paymentId: string, body: unknown = {}, headers: Record<string, string> = {}) =>
      call('POST', `${paymentUrl(paymentId)}/authorisations`, { body, headers, template: BG.authorisations }),
    listAuthorisations: (paymentId: string) =>
      call('GET', `${paymentUrl(paymentId)}/authorisations`, { template: BG.authorisations }),
    scaStatus: (paymentId: string, authorisationId: string) =>
      call('GET', `${paymentUrl(paymentId)}/authorisations/${authorisationId}`, { template: BG.authorisation }),
    updatePsuData: (paymentId: string, authorisationId: string, body: unknown = {}) =>
      call('PUT', `${paymentUrl(paymentId)}/authorisations/${authorisationId}`, {
        body,
        template: BG.authorisation,
        looseOneOf: true,
      }),
  };
}

/** Follows an href the sandbox handed out: its status read (`_links.scaStatus`) is a BG operation too. */
export async function followScaStatus(href: string): Promise<string> {
  const res = await call('GET', href, { template: BG.authorisation });
  expect(res.status).toBe(200);
  return res.json.scaStatus;
}

/** The PSU on the redirect page: GET it, then press a button. */
export async function openScaPage(href: string): Promise<{ status: number; html: string }> {
  const res = await fetch(href);
  return { status: res.status, html: await res.text() };
}

export async function submitScaDecision(href: string, decision: string): Promise<{ status: number; location: string | null; html: string }> {
  const res = await fetch(href, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }).toString(),
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
