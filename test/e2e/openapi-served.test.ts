import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { routeLister } from '../../apps/api/docs/api-docs';
import { buildOpenApiDocument } from '../../apps/api/docs/openapi-document';
import { OPEN_PAYMENTS_EUROPE_SPEC, documentsOperation, openApiFromDocument, validateResponse } from '../support/openapi-contract';
import { TestStack } from '../support/stack';

/**
 * `GET /openapi.json` and `GET /docs`. The e2e suite validates every response it receives against
 * the served document (test/support/stack.ts); here: the document covers exactly the app's routes,
 * carries OPE's operations verbatim, marks Clearway's extensions, and Swagger UI is served locally.
 */
let stack: TestStack;
let doc: any;

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
  const res = await fetch(`${stack.baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await res.json();
});

afterAll(async () => {
  await stack?.close();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const sample = (template: string) => template.replace(/\{([^}]+)\}/g, (_, n: string) => (n === 'payment-service' ? 'payments' : n === 'payment-product' ? 'sepa-credit-transfers' : 'x'));

test('built from the OPE contract at startup: its operations and schemas verbatim, under /psd2', () => {
  const ope = parseYaml(fs.readFileSync(OPEN_PAYMENTS_EUROPE_SPEC, 'utf8'));
  expect(doc.openapi).toBe('3.0.1');
  expect(doc['x-clearway-nextgenpsd2-source']).toBe('open-payments-europe-1.3.3');
  for (const [name, schema] of Object.entries(ope.components.schemas)) expect({ name, schema: doc.components.schemas[name] }).toEqual({ name, schema });
  const initiation = doc.paths['/psd2/paymentinitiation/v1/{payment-service}/{payment-product}'].post;
  const opeInitiation = ope.paths['/paymentinitiation/v1/{payment-service}/{payment-product}'].post;
  expect(initiation.requestBody).toEqual(opeInitiation.requestBody);
  expect(initiation.responses).toEqual(opeInitiation.responses);
  expect(initiation['x-clearway-deviation']).toMatch(/503/);
  // Deviations are listed once and marked where they apply.
  expect(doc['x-clearway-deviations']).toEqual(expect.arrayContaining([expect.stringMatching(/IPv6/)]));
  const psuIp = initiation.parameters.find((p: any) => p.name === 'PSU-IP-Address' || p.$ref);
  expect(psuIp).toBeDefined();
  // OPE operations Clearway does not route are not offered, but named.
  for (const op of doc['x-clearway-not-implemented'] ?? []) expect(op).toMatch(/^(GET|PUT|POST|DELETE|PATCH) \/psd2\//);
});

test('every route of the app is documented, and every documented operation is routed (batches: marked when absent)', () => {
  const contract = openApiFromDocument(doc, 'served', { oneOfAsAnyOf: true });
  const routes = routeLister(stack.app);
  const undocumented: string[] = [];
  for (const route of routes.all()) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, 'x').replace('/payments/x', '/payments/sepa-credit-transfers');
    for (const method of route.methods) if (!documentsOperation(contract, method, path)) undocumented.push(`${method} ${route.path}`);
  }
  expect(undocumented).toEqual([]);

  const notRouted: string[] = [];
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      // Served by middleware, not by a controller route.
      if (['/docs', '/openapi.json', '/metrics'].includes(template)) continue;
      if (item[method]['x-clearway-availability']) continue;
      if (!routes(sample(template)).includes(method.toUpperCase())) notRouted.push(`${method.toUpperCase()} ${template}`);
    }
  }
  expect(notRouted).toEqual([]);
});

test("Clearway's own endpoints are marked as extensions: token, Open Payments, webhooks, batches", () => {
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    if (template.startsWith('/psd2/')) continue;
    for (const method of METHODS) if (item[method]) expect({ op: `${method} ${template}`, ext: item[method]['x-clearway-extension'] }).toEqual({ op: `${method} ${template}`, ext: true });
  }
  for (const p of ['/connect/token', '/openpayments/v1/transfers', '/openpayments/v1/mandates', '/webhooks/v1/endpoints', '/batches/v1/batches', '/batches/v1/batches/{batchId}/report']) {
    expect(doc.paths[p]).toBeDefined();
  }
});

test('the served document really constrains responses (a wrong body is refused)', () => {
  const contract = openApiFromDocument(doc, 'served', { oneOfAsAnyOf: true });
  const path = '/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/3f1d6a38-3f8e-4f55-9c25-0a0b6f3c1f00/status';
  expect(validateResponse(contract, { method: 'GET', path, status: 200, body: { transactionStatus: 'ACSC' } })).toEqual([]);
  expect(validateResponse(contract, { method: 'GET', path, status: 200, body: { transactionStatus: 12 } }).length).toBeGreaterThan(0);
  expect(validateResponse(contract, { method: 'GET', path: '/webhooks/v1/endpoints', status: 400, body: { error: 'x' } }).length).toBeGreaterThan(0);
});

test('GET /docs: Swagger UI from swagger-ui-dist, no CDN, pointed at /openapi.json', async () => {
  const redirect = await fetch(`${stack.baseUrl}/docs`, { redirect: 'manual' });
  expect(redirect.status).toBe(301);
  expect(redirect.headers.get('location')).toBe('/docs/');
  const page = await fetch(`${stack.baseUrl}/docs/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('swagger-ui-bundle.js');
  expect(html).not.toMatch(/https?:\/\//);
  const init = await (await fetch(`${stack.baseUrl}/docs/swagger-initializer.js`)).text();
  expect(init).toContain("url: '../openapi.json'");
  expect(init).not.toMatch(/https?:\/\//);
  const bundle = await fetch(`${stack.baseUrl}/docs/swagger-ui-bundle.js`);
  expect(bundle.status).toBe(200);
  expect(bundle.headers.get('content-type')).toMatch(/javascript/);
  expect((await fetch(`${stack.baseUrl}/docs/swagger-ui.css`)).status).toBe(200);
});

test('without the contract (a deployed image): NextGenPSD2 routes listed with a pointer, extensions complete, and it says so', () => {
  const bare = buildOpenApiDocument({ routes: routeLister(stack.app), specsDir: '/nonexistent-specs' });
  expect(bare['x-clearway-nextgenpsd2-source']).toBe('unavailable');
  expect(bare.info.description).toMatch(/not part of this deployment/);
  const op = bare.paths['/psd2/paymentinitiation/v1/payments/{paymentProduct}']?.post;
  expect(op).toMatchObject({ 'x-clearway-spec-unavailable': true });
  expect(bare.paths['/openpayments/v1/transfers'].post['x-clearway-extension']).toBe(true);
  expect(JSON.stringify(bare)).not.toContain('PaymentInitiation_json');
});
