import { randomUUID } from 'node:crypto';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import { AIS, CONSENTS, aisGet, consentBody, createConsent, waitForConsentStatus } from '../support/consents';
import { sepaPayment, type TestClient } from '../support/factories';
import { registerClearwayWallet } from '../support/open-payments';
import { BIC, PIS, getStatus, initiate } from '../support/payments';
import { TestStack, eventually } from '../support/stack';
import { pain001Bytes } from '../../libs/iso20022/testing';

/**
 * Every client resource, across tenants and across spellings of one X-Request-ID, through HTTP on
 * the real stack (Temporal, PostgreSQL, the Berlin Group sandbox and the Open Payments sandbox ASE).
 *
 * Both tests are tables: a new resource (batches, webhooks…) adds a row to each.
 */
let ase: TestAse;
let stack: TestStack;
let owner: TestClient;
let intruder: TestClient;
let ownerToken: string;
let intruderToken: string;

const ALL_SCOPES = 'aspspinformation paymentinitiation accountinformation webhooks private';
const TRANSFERS = '/openpayments/v1/transfers';
const MANDATES = '/openpayments/v1/mandates';
const WEBHOOKS = '/webhooks/v1/endpoints';
const BATCHES = '/batches/v1/batches';

beforeAll(async () => {
  ase = await startTestAse();
  stack = await TestStack.start({ env: await registerClearwayWallet(ase) });
  owner = await stack.newClient();
  intruder = await stack.newClient();
  ownerToken = await stack.token(owner, ALL_SCOPES);
  intruderToken = await stack.token(intruder, ALL_SCOPES);
});
afterAll(async () => {
  await stack?.close();
  await ase?.dispose();
});

const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
const transferBody = () => ({ senderWalletAddress: `${ase.url}/alice`, receiver: `${ase.url}/bob`, debitAmount: eur('150'), redirectUri: 'https://shop.example/done' });
/** Fixed for the file: a repeated request must be the same request, to the second. */
const MANDATE_START = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const mandateBody = () => ({
  senderWalletAddress: `${ase.url}/alice`,
  receiver: `${ase.url}/bob`,
  debitAmount: eur('100'),
  interval: `R3/${MANDATE_START}/P1D`,
  redirectUri: 'https://shop.example/subscribed',
});

interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One resource kind: how its owner makes one, and every call a client can make on it. */
interface ScopedResource {
  resource: string;
  create(): Promise<{ id: string; authorisationId?: string }>;
  calls(r: { id: string; authorisationId?: string }): Call[];
  /** The owner's view after the intruder tried everything: nothing changed. */
  unchanged(r: { id: string }): Promise<void>;
}

const SCOPED_RESOURCES: ScopedResource[] = [
  {
    resource: 'payments',
    async create() {
      const created = await initiate(stack, { token: ownerToken, psuId: 'erin', redirectUri: 'https://shop.example/ok' });
      expect(created.status).toBe(201);
      const list = await stack.call('GET', `${PIS}/sepa-credit-transfers/${created.body.paymentId}/authorisations`, { token: ownerToken, headers: { 'X-BicFi': BIC } });
      return { id: created.body.paymentId, authorisationId: list.body.authorisationIds[0] };
    },
    calls: ({ id, authorisationId }) => {
      const base = `${PIS}/sepa-credit-transfers/${id}`;
      const h = { 'X-BicFi': BIC };
      return [
        { method: 'GET', path: base, headers: h },
        { method: 'GET', path: `${base}/status`, headers: h },
        { method: 'DELETE', path: base, headers: h },
        { method: 'POST', path: `${base}/authorisations`, headers: h },
        { method: 'GET', path: `${base}/authorisations`, headers: h },
        { method: 'GET', path: `${base}/authorisations/${authorisationId}`, headers: h },
        { method: 'PUT', path: `${base}/authorisations/${authorisationId}`, headers: h, body: { scaAuthenticationData: '123456' } },
      ];
    },
    async unchanged({ id }) {
      expect((await getStatus(stack, ownerToken, id)).body.transactionStatus).toBe('RCVD');
    },
  },
  {
    resource: 'consents',
    async create() {
      const created = await createConsent(stack, { token: ownerToken, psuId: 'decoupled' });
      expect(created.status).toBe(201);
      await waitForConsentStatus(stack, ownerToken, created.body.consentId, 'valid');
      const list = await stack.call('GET', `${CONSENTS}/${created.body.consentId}/authorisations`, { token: ownerToken, headers: { 'X-BicFi': BIC } });
      return { id: created.body.consentId, authorisationId: list.body.authorisationIds[0] };
    },
    calls: ({ id, authorisationId }) => {
      const h = { 'X-BicFi': BIC };
      return [
        { method: 'GET', path: `${CONSENTS}/${id}`, headers: h },
        { method: 'GET', path: `${CONSENTS}/${id}/status`, headers: h },
        { method: 'DELETE', path: `${CONSENTS}/${id}`, headers: h },
        { method: 'POST', path: `${CONSENTS}/${id}/authorisations`, headers: h },
        { method: 'GET', path: `${CONSENTS}/${id}/authorisations`, headers: h },
        { method: 'GET', path: `${CONSENTS}/${id}/authorisations/${authorisationId}`, headers: h },
        { method: 'PUT', path: `${CONSENTS}/${id}/authorisations/${authorisationId}`, headers: h, body: { psuData: { password: 'x' } } },
      ];
    },
    async unchanged({ id }) {
      expect((await stack.call('GET', `${CONSENTS}/${id}/status`, { token: ownerToken, headers: { 'X-BicFi': BIC } })).body.consentStatus).toBe('valid');
    },
  },
  {
    resource: 'accounts (AIS through the owner\'s consent)',
    async create() {
      const created = await createConsent(stack, { token: ownerToken, psuId: 'decoupled' });
      await waitForConsentStatus(stack, ownerToken, created.body.consentId, 'valid');
      const accounts = await aisGet(stack, ownerToken, created.body.consentId, '', { psuPresent: true });
      expect(accounts.status).toBe(200);
      return { id: created.body.consentId, authorisationId: accounts.body.accounts[0].resourceId };
    },
    calls: ({ id: consentId, authorisationId: accountId }) => {
      const h = { 'X-BicFi': BIC, 'Consent-ID': consentId };
      return [
        { method: 'GET', path: AIS, headers: h },
        { method: 'GET', path: `${AIS}/${accountId}`, headers: h },
        { method: 'GET', path: `${AIS}/${accountId}/balances`, headers: h },
        { method: 'GET', path: `${AIS}/${accountId}/transactions?dateFrom=2025-01-01`, headers: h },
        { method: 'GET', path: `${AIS}/${accountId}/transactions/tx-1`, headers: h },
      ];
    },
    async unchanged({ id }) {
      // The intruder's reads neither reached the bank nor used the owner's daily allowance.
      expect((await aisGet(stack, ownerToken, id, '')).status).toBe(200);
    },
  },
  {
    resource: 'transfers',
    async create() {
      const created = await stack.call('POST', TRANSFERS, { token: ownerToken, body: transferBody() });
      expect(created.status).toBe(201);
      return { id: created.body.transferId };
    },
    calls: ({ id }) => [
      { method: 'GET', path: `${TRANSFERS}/${id}` },
      { method: 'DELETE', path: `${TRANSFERS}/${id}` },
    ],
    async unchanged({ id }) {
      expect((await stack.call('GET', `${TRANSFERS}/${id}`, { token: ownerToken })).body.status).toBe('awaiting_authorisation');
    },
  },
  {
    resource: 'mandates',
    async create() {
      const created = await stack.call('POST', MANDATES, { token: ownerToken, body: mandateBody() });
      expect(created.status).toBe(201);
      return { id: created.body.mandateId };
    },
    calls: ({ id }) => [
      { method: 'GET', path: `${MANDATES}/${id}` },
      { method: 'POST', path: `${MANDATES}/${id}/pause` },
      { method: 'POST', path: `${MANDATES}/${id}/resume` },
      { method: 'DELETE', path: `${MANDATES}/${id}` },
    ],
    async unchanged({ id }) {
      expect((await stack.call('GET', `${MANDATES}/${id}`, { token: ownerToken })).body.status).toBe('awaiting_authorisation');
    },
  },
  {
    resource: 'webhook endpoints and their deliveries',
    async create() {
      const created = await stack.call('POST', WEBHOOKS, { token: ownerToken, body: { url: 'http://127.0.0.1:9/hooks', description: 'owner' } });
      expect(created.status).toBe(201);
      return { id: created.body.endpointId, authorisationId: randomUUID() };
    },
    calls: ({ id, authorisationId: deliveryId }) => [
      { method: 'GET', path: `${WEBHOOKS}/${id}` },
      { method: 'PATCH', path: `${WEBHOOKS}/${id}`, body: { enabled: false } },
      { method: 'POST', path: `${WEBHOOKS}/${id}/rotate-secret` },
      { method: 'GET', path: `${WEBHOOKS}/${id}/deliveries` },
      { method: 'GET', path: `${WEBHOOKS}/${id}/deliveries/${deliveryId}` },
      { method: 'POST', path: `${WEBHOOKS}/${id}/deliveries/${deliveryId}/retry` },
      { method: 'POST', path: `${WEBHOOKS}/${id}/replay?since=2026-01-01T00:00:00Z` },
      { method: 'DELETE', path: `${WEBHOOKS}/${id}` },
    ],
    async unchanged({ id }) {
      expect((await stack.call('GET', `${WEBHOOKS}/${id}`, { token: ownerToken })).body).toMatchObject({ endpointId: id, enabled: true });
    },
  },
  {
    resource: 'batches, their single payments and report',
    async create() {
      const file = await pain001Bytes({
        version: 'pain.001.001.09',
        msgId: `MSG-SCOPE-${randomUUID().slice(0, 8)}`,
        paymentInformations: [{ pmtInfId: 'PMT-NL', debtorIban: 'NL91ABNA0417164300', debtorAgentBic: 'SANDNL2AXXX', transactions: 2 }],
      });
      const created = await stack.call('POST', BATCHES, {
        token: ownerToken,
        headers: { 'Content-Type': 'application/xml', 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'erin' },
        rawBody: file.toString('utf8'),
      });
      expect(created.status).toBe(201);
      return { id: created.body.batchId };
    },
    calls: ({ id }) => [
      { method: 'GET', path: `${BATCHES}/${id}` },
      { method: 'GET', path: `${BATCHES}/${id}/payments?pmtInfId=PMT-NL` },
      { method: 'GET', path: `${BATCHES}/${id}/report` },
    ],
    async unchanged({ id }) {
      expect((await stack.call('GET', `${BATCHES}/${id}`, { token: ownerToken })).body).toMatchObject({ batchId: id, numberOfTransactions: 2 });
      const listed = await stack.call('GET', BATCHES, { token: intruderToken });
      expect(listed.body.batches.map((b: { batchId: string }) => b.batchId)).not.toContain(id);
    },
  },
];

test.each(SCOPED_RESOURCES.map((r) => [r.resource, r] as const))('%s: another tenant gets 404 for every call, and nothing changes', async (_name, row) => {
  const resource = await row.create();
  for (const call of row.calls(resource)) {
    const res = await stack.call(call.method, call.path, { token: intruderToken, headers: call.headers, body: call.body });
    expect({ call: `${call.method} ${call.path}`, status: res.status }).toEqual({ call: `${call.method} ${call.path}`, status: 404 });
    expect(res.body.tppMessages?.[0]?.code).toBe('RESOURCE_UNKNOWN');
  }
  await row.unchanged(resource);
});

/** One creatable resource: its POST, and the id in its 201. */
interface IdempotentCreation {
  resource: string;
  post(requestId: string): Promise<{ status: number; body: any }>;
  idOf(body: any): string;
  table: string;
}

const CREATIONS: IdempotentCreation[] = [
  {
    resource: 'payments',
    post: (requestId) => initiate(stack, { token: ownerToken, psuId: 'decoupled', requestId, body: sepaPayment() }),
    idOf: (b) => b.paymentId,
    table: 'payments',
  },
  {
    resource: 'consents',
    post: (requestId) => createConsent(stack, { token: ownerToken, psuId: 'decoupled', requestId, body: consentBody() }),
    idOf: (b) => b.consentId,
    table: 'consents',
  },
  {
    resource: 'transfers',
    post: (requestId) => stack.call('POST', TRANSFERS, { token: ownerToken, headers: { 'X-Request-ID': requestId }, body: transferBody() }),
    idOf: (b) => b.transferId,
    table: 'op_transfers',
  },
  {
    resource: 'mandates',
    post: (requestId) => stack.call('POST', MANDATES, { token: ownerToken, headers: { 'X-Request-ID': requestId }, body: mandateBody() }),
    idOf: (b) => b.mandateId,
    table: 'op_mandates',
  },
];

test.each(CREATIONS.map((c) => [c.resource, c] as const))(
  '%s: the same X-Request-ID in capitals, sent at the same time, is the same request (one resource, one id)',
  async (_name, creation) => {
    const requestId = randomUUID();
    const [lower, upper] = await Promise.all([creation.post(requestId), creation.post(requestId.toUpperCase())]);
    expect([lower.status, upper.status]).toEqual([201, 201]);
    expect(creation.idOf(upper.body)).toBe(creation.idOf(lower.body));
    const rows = await stack.dataSource.query(`SELECT id FROM ${creation.table} WHERE tenant_id = $1 AND request_id = $2`, [owner.tenantId, requestId]);
    expect(rows).toEqual([{ id: creation.idOf(lower.body) }]);
    // And again later, in capitals: still the same.
    const again = await creation.post(requestId.toUpperCase());
    expect(again.status).toBe(201);
    expect(creation.idOf(again.body)).toBe(creation.idOf(lower.body));
  },
);

test('the owner can still approve what the intruder could not touch (the rows above were real)', async () => {
  const created = await stack.call('POST', TRANSFERS, { token: ownerToken, body: transferBody() });
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve');
  await fetch(location!, { redirect: 'manual' });
  await eventually(async () => (await stack.call('GET', `${TRANSFERS}/${created.body.transferId}`, { token: ownerToken })).body.status === 'completed', 30_000, 100);
});
