import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { ScheduleNotFoundError } from '@temporalio/client';
import { generateIdentityKey } from '../../libs/adapters/open-payments';
import { OpMandateRepository } from '../../libs/persistence/op-mandate.repository';
import { mandateScheduleId, mandateWorkflowId, resolveMandatePeriodUpdate } from '../../workflows/mandate.api';
import { decideOnConsentPage, startTestAse, type TestAse } from '../../apps/sandbox/open-payments/test-helpers';
import type { TestClient } from '../support/factories';
import { TestStack, eventually } from '../support/stack';

/**
 * Recurring Open Payments end to end: one interactive grant with an interval limit, approved once
 * at the wallet; then the `mandate-{id}` Schedule on the real Temporal dev server pays once per
 * period. Periods are driven by triggering the Schedule and moving the sandbox ASE's clock a day
 * forward, so the grant's `P1D` interval rolls over.
 */
let ase: TestAse;
let stack: TestStack;
let client: TestClient;
let token: string;
let mandates: OpMandateRepository;
const MANDATES = '/openpayments/v1/mandates';
const DAY = 24 * 3600_000;

beforeAll(async () => {
  // Tokens expire on the ASE's business clock, which this test moves days ahead.
  ase = await startTestAse({ accessTokenTtlSeconds: 30 * 24 * 3600 });
  const identity = generateIdentityKey('clearway-test-key');
  await ase.ase.registerWallet({ name: 'clearway', assetCode: 'EUR', assetScale: 2, balance: 0, jwks: [identity.publicJwk] });
  stack = await TestStack.start({
    env: {
      OPEN_PAYMENTS_WALLET_ADDRESS: `${ase.url}/clearway`,
      OPEN_PAYMENTS_KEY_ID: identity.publicJwk.kid,
      OPEN_PAYMENTS_PRIVATE_KEY: Buffer.from(identity.privateKeyPem).toString('base64'),
      OPEN_PAYMENTS_SEND_POLL_INITIAL_MS: '100',
    },
  });
  client = await stack.newClient();
  token = await stack.token(client, 'paymentinitiation private');
  mandates = new OpMandateRepository(stack.dataSource);
});
afterAll(async () => {
  ase?.ase.resetClock();
  await stack?.close();
  await ase?.dispose();
});

const alice = () => `${ase.url}/alice`;
const bob = () => `${ase.url}/bob`;
const eur = (value: string) => ({ value, assetCode: 'EUR', assetScale: 2 });
/** Started a minute ago: the Schedule's next own firing is a day away, so only our triggers run. */
const dailySince = (n: number, start = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000)) => `R${n}/${start.toISOString().replace('.000Z', 'Z')}/P1D`;

function createMandate(body: Record<string, unknown>, requestId = randomUUID()) {
  return stack.call('POST', MANDATES, { token, headers: { 'X-Request-ID': requestId }, body });
}

const getMandate = async (id: string) => (await stack.call('GET', `${MANDATES}/${id}`, { token })).body;

async function approve(created: { body: { mandateId: string; _links: { scaRedirect: { href: string } } } }) {
  const { location } = await decideOnConsentPage(created.body._links.scaRedirect.href, 'approve');
  expect(location!.startsWith(`${stack.baseUrl}/openpayments/callbacks/mandates/${created.body.mandateId}/finish`)).toBe(true);
  await fetch(location!, { redirect: 'manual' });
  return eventually(async () => {
    const m = await getMandate(created.body.mandateId);
    return m.status === 'active' ? m : undefined;
  }, 30_000, 100);
}

let lastTrigger = 0;

/**
 * Triggers the Schedule and waits until that run has decided its period. A run's id carries its
 * nominal time to the second: two triggers within one second are one run, so space them out.
 */
async function runPeriod(mandateId: string) {
  const before = (await mandates.listPeriods(mandateId)).length;
  while (Math.floor(Date.now() / 1000) <= Math.floor(lastTrigger / 1000)) await new Promise((r) => setTimeout(r, 50));
  lastTrigger = Date.now();
  await stack.temporal.schedule.getHandle(mandateScheduleId(mandateId)).trigger();
  return eventually(async () => {
    const periods = await mandates.listPeriods(mandateId);
    const last = periods[periods.length - 1];
    return periods.length > before && last && last.status !== 'sending' ? last : undefined;
  }, 30_000, 100);
}

/** The sandbox ASE's default fee on a payment of `amount` (5 + 30 bps, rounded down). */
const fee = (amount: bigint) => 5n + (amount * 30n) / 10_000n;

/** Incoming payments at the ASE, by URL: whether the wallet still waits for money on them. */
async function incomingPayments(): Promise<Map<string, { completed: boolean; received: bigint }>> {
  const pg = new PgClient({ connectionString: process.env.CLEARWAY_TEST_DATABASE_URL });
  await pg.connect();
  try {
    const { rows } = await pg.query(`SELECT id, completed, received_amount::text AS received FROM "${ase.schema}".incoming_payments`);
    return new Map(rows.map((r) => [`${ase.url}/incoming-payments/${r.id}`, { completed: r.completed, received: BigInt(r.received) }]));
  } finally {
    await pg.end();
  }
}

test('a daily mandate: the first period runs at its start, one payment per period, limit enforced, pause/resume, cancel', async () => {
  const before = await ase.ase.balances();
  const interval = dailySince(5);
  const created = await createMandate({
    senderWalletAddress: alice(),
    receiver: bob(),
    debitAmount: eur('1000'),
    interval,
    redirectUri: 'https://shop.example/subscribed',
    metadata: { plan: 'gold' },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ mandateId: expect.any(String), status: 'awaiting_authorisation' });
  const id: string = created.body.mandateId;

  const active = await approve(created);
  expect(active.schedule).toMatchObject({ scheduleId: `mandate-${id}`, paused: false });
  expect(new Date(active.schedule.nextRunTimes[0]).getTime()).toBeGreaterThan(Date.now() + DAY - 5 * 60_000);
  const schedule = stack.temporal.schedule.getHandle(mandateScheduleId(id));
  const described = await schedule.describe();
  expect(described.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3_600_000, pauseOnFailure: false });
  expect(described.spec.intervals?.[0]?.every).toBe(DAY);

  // The mandate started a minute before it was approved: the Schedule never fires for the past, so
  // the period under way runs at once, as of its own start (the Schedule's nominal time).
  const first = await eventually(async () => {
    const [p] = await mandates.listPeriods(id);
    return p && p.status !== 'sending' ? p : undefined;
  }, 30_000, 100);
  expect(first.periodStart.toISOString()).toBe(interval.split('/')[1]!.replace('Z', '.000Z'));
  expect(first.status).toBe('completed');
  // Sent in full, net of the wallet's fee: completed, not failed for falling short of debitAmount.
  expect(first.sentAmount).toEqual(eur(String(1000n - fee(1000n))));

  // Two more periods, the grant's interval rolling over between them.
  for (let i = 1; i < 3; i++) {
    ase.ase.advanceClock(DAY);
    const period = await runPeriod(id);
    expect(period.status).toBe('completed');
    expect(period.sentAmount).toEqual(eur(String(1000n - fee(1000n))));
  }
  let after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-3000n);
  expect(after.bob! - before.bob!).toBe(3n * (1000n - fee(1000n)));

  // A second payment within the same grant period: 403 from the wallet, reported, not retried.
  const refused = await runPeriod(id);
  expect(refused.status).toBe('failed');
  expect(refused.reason).toMatch(/limit/i);
  expect((await ase.ase.balances()).alice).toBe(after.alice);

  // Paused: the Schedule is paused, and even a manual trigger pays nothing.
  expect((await stack.call('POST', `${MANDATES}/${id}/pause`, { token })).body).toEqual({ mandateId: id, status: 'paused' });
  expect((await schedule.describe()).state.paused).toBe(true);
  ase.ase.advanceClock(DAY);
  const skipped = await runPeriod(id);
  expect(skipped.status).toBe('skipped');
  expect((await ase.ase.balances()).alice).toBe(after.alice);
  expect((await stack.call('POST', `${MANDATES}/${id}/pause`, { token })).body.status).toBe('paused');

  // Resumed: payments continue.
  expect((await stack.call('POST', `${MANDATES}/${id}/resume`, { token })).body).toEqual({ mandateId: id, status: 'active' });
  expect((await schedule.describe()).state.paused).toBe(false);
  expect((await runPeriod(id)).status).toBe('completed');
  after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-4000n);
  expect(after.bob! - before.bob!).toBe(4n * (1000n - fee(1000n)));
  const sum = (b: Record<string, bigint>) => Object.values(b).reduce((a, v) => a + v, 0n);
  expect(sum(after)).toBe(sum(before));

  const view = await getMandate(id);
  expect(view.periods.map((p: { status: string }) => p.status)).toEqual(['completed', 'completed', 'completed', 'failed', 'skipped', 'completed']);
  const row = (await mandates.findById(id))!;
  expect(row.accessTokenSealed).toMatch(/^v2\.dev\./); // sealed with the encryption key ring's current key (libs/security/secret-box.ts)

  // Every incoming payment Clearway created is completed once its period is decided, the refused
  // one included: none is left open at bob's wallet (current Rafiki would keep it PROCESSING).
  const atWallet = await incomingPayments();
  const periods = await mandates.listPeriods(id);
  const created_ = periods.filter((p) => p.incomingPaymentUrl);
  expect(created_).toHaveLength(5);
  for (const p of created_) {
    expect({ period: p.periodStart.toISOString(), status: p.status, completed: atWallet.get(p.incomingPaymentUrl!)?.completed }).toEqual({
      period: p.periodStart.toISOString(),
      status: p.status,
      completed: true,
    });
    expect(p.incomingPaymentClosedAt).toBeInstanceOf(Date);
  }
  expect(atWallet.get(refused.incomingPaymentUrl!)!.received).toBe(0n);

  // Cancelled: grant revoked, Schedule deleted; a resume is refused.
  const del = await stack.call('DELETE', `${MANDATES}/${id}`, { token });
  expect(del.status).toBe(200);
  expect(del.body).toEqual({ mandateId: id, status: 'cancelled' });
  await expect(schedule.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  const cancelled = (await mandates.findById(id))!;
  expect(cancelled.continueTokenSealed).toBeNull();
  expect(cancelled.accessTokenSealed).toBeNull();
  expect((await getMandate(id)).status).toBe('cancelled');
  expect((await stack.call('POST', `${MANDATES}/${id}/resume`, { token })).status).toBeGreaterThanOrEqual(400);
});

test('a period whose create answer is lost is found by a lookup and paid once; an operator rules on an unknown period, audited', async () => {
  const before = await ase.ase.balances();
  // The wallet creates the first period's payment, but its answer never arrives.
  ase.ase.failOutgoingPaymentCreates({ lostResponses: 1 });
  const created = await createMandate({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('700'), interval: dailySince(3) });
  const id: string = created.body.mandateId;
  await approve(created);
  const first = await eventually(async () => {
    const [p] = await mandates.listPeriods(id);
    return p && p.status !== 'sending' ? p : undefined;
  }, 60_000, 200);
  expect(first.status).toBe('completed');
  expect(first.paymentRequestedAt).toBeInstanceOf(Date);
  const after = await ase.ase.balances();
  expect(after.alice! - before.alice!).toBe(-700n);
  expect(after.bob! - before.bob!).toBe(700n - fee(700n));
  const pg = new PgClient({ connectionString: process.env.CLEARWAY_TEST_DATABASE_URL });
  await pg.connect();
  try {
    const { rows } = await pg.query(`SELECT id FROM "${ase.schema}".outgoing_payments WHERE metadata->>'clearwayMandateId' = $1`, [id]);
    expect(rows.map((r) => `${ase.url}/outgoing-payments/${r.id}`)).toEqual([first.outgoingPaymentUrl]);

    // An operator rules on a period left unknown (here: marked so), naming the wallet's payment.
    await mandates.updatePeriod(id, first.periodStart, { status: 'unknown', reason: 'not confirmed by the deadline' });
    const handle = stack.temporal.workflow.getHandle(mandateWorkflowId(id));
    const ruling = { periodStart: first.periodStart.toISOString(), decision: 'paid' as const, operator: 'ops@clearway', note: 'Seen in the wallet (ticket 7)' };
    const stranger = `${ase.url}/outgoing-payments/${randomUUID()}`;
    await expect(handle.executeUpdate(resolveMandatePeriodUpdate, { args: [{ ...ruling, outgoingPaymentUrl: stranger }] })).rejects.toThrow();
    const result = await handle.executeUpdate(resolveMandatePeriodUpdate, { args: [{ ...ruling, outgoingPaymentUrl: first.outgoingPaymentUrl! }] });
    expect(result).toEqual({ periodStart: ruling.periodStart, status: 'completed' });
    expect((await mandates.findPeriod(id, first.periodStart))!.reason).toBe('Confirmed by ops@clearway: Seen in the wallet (ticket 7)');
    const audit = await pg.query(`SELECT decision, operator, note, outgoing_payment_url, tenant_id FROM op_outcome_resolutions WHERE mandate_id = $1`, [id]);
    expect(audit.rows).toEqual([{ decision: 'paid', operator: 'ops@clearway', note: 'Seen in the wallet (ticket 7)', outgoing_payment_url: first.outgoingPaymentUrl, tenant_id: client.tenantId }]);
    // Decided: a second ruling is refused.
    await expect(handle.executeUpdate(resolveMandatePeriodUpdate, { args: [{ ...ruling, outgoingPaymentUrl: first.outgoingPaymentUrl! }] })).rejects.toThrow();
  } finally {
    await pg.end();
  }
  await stack.call('DELETE', `${MANDATES}/${id}`, { token });
});

test('the same X-Request-ID returns the same mandate; a different body is PARAMETER_NOT_CONSISTENT', async () => {
  const requestId = randomUUID();
  const body = { senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('100'), interval: dailySince(2) };
  const first = await createMandate(body, requestId);
  const second = await createMandate(body, requestId);
  expect(second.status).toBe(201);
  expect(second.body.mandateId).toBe(first.body.mandateId);
  const other = await createMandate({ ...body, debitAmount: eur('200') }, requestId);
  expect(other.status).toBe(400);
  expect(other.body.tppMessages[0].code).toBe('PARAMETER_NOT_CONSISTENT');
  const del = await stack.call('DELETE', `${MANDATES}/${first.body.mandateId}`, { token });
  expect(del.body.status).toBe('cancelled');
});

test('a refused mandate repeated with the same X-Request-ID gets the first answer again, not a 409 naming the wallet', async () => {
  const requestId = randomUUID();
  const body = { senderWalletAddress: alice(), receiver: `${stack.baseUrl}/health`, debitAmount: eur('100'), interval: dailySince(2) };
  const first = await createMandate(body, requestId);
  expect(first.status).toBe(400);
  const repeat = await createMandate(body, requestId);
  expect({ status: repeat.status, body: repeat.body }).toEqual({ status: first.status, body: first.body });
  expect(JSON.stringify(repeat.body)).not.toContain(new URL(ase.url).host);
});

describe('bad input: clear 4xx', () => {
  test.each([
    ['an interval that does not parse', { interval: 'monthly' }, 'interval'],
    ['an interval without repetitions part', { interval: '2027-01-01T00:00:00Z/P1M' }, 'interval'],
    ['an interval with a bad duration', { interval: 'R3/2027-01-01T00:00:00Z/P1X' }, 'interval'],
    ['no interval', { interval: undefined }, 'interval'],
    ['value 0', { debitAmount: { value: '0', assetCode: 'EUR', assetScale: 2 } }, 'debitAmount.value'],
  ])('%s', async (_name, override, field) => {
    const res = await createMandate({ senderWalletAddress: alice(), receiver: bob(), debitAmount: eur('100'), interval: dailySince(3), ...override });
    expect(res.status).toBe(400);
    expect(`${res.body.tppMessages[0].path} ${res.body.tppMessages[0].text}`).toContain(field);
  });

  test('an unknown mandate id is 404', async () => {
    expect((await stack.call('GET', `${MANDATES}/${randomUUID()}`, { token })).status).toBe(404);
  });
});
