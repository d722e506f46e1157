import { startBerlinGroupSandbox, type RunningBerlinGroupSandbox } from './index';
import { FaultInjector, NO_FAULTS } from './faults';
import { BG, bgClient, call, initiationHeaders, openScaPage, paymentBody } from './test-helpers';

describe('fault injection over HTTP', () => {
  let sandbox: RunningBerlinGroupSandbox;
  let bg: ReturnType<typeof bgClient>;
  let nextRandom = 0;

  beforeAll(async () => {
    sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 50, random: () => nextRandom });
    bg = bgClient(sandbox.url);
  });
  afterAll(() => sandbox.close());
  afterEach(() => {
    sandbox.bank.resetFaults();
    nextRandom = 0;
  });

  const admin = (method: string, path: string, body?: unknown) =>
    call(method, `${sandbox.url}/_sandbox${path}`, { body });

  it('errorRate 1 → 503 before doing anything; controls and the SCA page are never faulted', async () => {
    const created = await bg.initiate(paymentBody());
    sandbox.bank.setFaults({ errorRate: 1 });
    const before = sandbox.bank.stats().totals;

    const headers = initiationHeaders();
    const res = await bg.initiate(paymentBody(), headers);
    expect(res.status).toBe(503);
    expect(res.headers.get('x-request-id')).toBe(headers['X-Request-ID']);
    expect(res.json.tppMessages).toEqual([expect.objectContaining({ category: 'ERROR', code: 'SERVICE_UNAVAILABLE' })]);
    expect(sandbox.bank.stats().totals).toEqual(before);

    expect((await admin('GET', '/stats')).status).toBe(200);
    expect((await openScaPage(created.json._links.scaRedirect.href)).status).toBe(200);
  });

  it('errorRate is a probability compared with random()', async () => {
    sandbox.bank.setFaults({ errorRate: 0.5 });
    nextRandom = 0.7;
    expect((await bg.initiate(paymentBody())).status).toBe(201);
    nextRandom = 0.3;
    expect((await bg.initiate(paymentBody())).status).toBe(503);
  });

  it('rateLimitEvery N → every Nth request is 429 ACCESS_EXCEEDED with Retry-After', async () => {
    sandbox.bank.setFaults({ rateLimitEvery: 3, retryAfterSeconds: 7 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 6; i += 1) {
      const res = await bg.initiate(paymentBody());
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([201, 201, 429, 201, 201, 429]);
    expect(limited?.headers.get('retry-after')).toBe('7');
    expect(limited?.json.tppMessages[0]).toMatchObject({ category: 'ERROR', code: 'ACCESS_EXCEEDED' });
  });

  it('Retry-After defaults to 1 second', async () => {
    sandbox.bank.setFaults({ rateLimitEvery: 1 });
    const res = await bg.status('anything');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('dropResponseRate 1 → the payment is created but the answer is 503; a repeat creates a second one', async () => {
    sandbox.bank.setFaults({ dropResponseRate: 1 });
    const headers = initiationHeaders();
    const lost = await bg.initiate(paymentBody(), headers);
    expect(lost.status).toBe(503);

    const afterLoss = sandbox.bank.stats().payments.filter((p) => p.requestId === headers['X-Request-ID']);
    expect(afterLoss).toEqual([expect.objectContaining({ initiationRequests: 1, transactionStatus: 'RCVD' })]);

    sandbox.bank.resetFaults();
    const repeat = await bg.initiate(paymentBody(), headers);
    expect(repeat.status).toBe(201);
    expect(repeat.json.paymentId).not.toBe(afterLoss[0].paymentId);
    expect(sandbox.bank.findPaymentsByRequestId(headers['X-Request-ID'])).toHaveLength(2);
  });

  it('dropResponseRate 1 with Sandbox-Deduplicate: true → a repeat returns the payment the lost answer created', async () => {
    sandbox.bank.setFaults({ dropResponseRate: 1 });
    const headers = initiationHeaders({ 'Sandbox-Deduplicate': 'true' });
    expect((await bg.initiate(paymentBody(), headers)).status).toBe(503);
    const [created] = sandbox.bank.findPaymentsByRequestId(headers['X-Request-ID']);

    sandbox.bank.resetFaults();
    const replay = await bg.initiate(paymentBody(), headers);
    expect(replay.status).toBe(201);
    expect(replay.json.paymentId).toBe(created!.paymentId);
    expect(sandbox.bank.getPayment(created!.paymentId)?.initiationRequests).toBe(2);
  });

  it('latencyMs delays /v1 answers', async () => {
    sandbox.bank.setFaults({ latencyMs: 40 });
    const started = Date.now();
    expect((await bg.status('x')).status).toBe(403);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  describe('HTTP controls under /_sandbox', () => {
    it('PUT merges a partial, GET shows it, DELETE resets', async () => {
      const put = await admin('PUT', '/faults', { errorRate: 1, retryAfterSeconds: 3 });
      expect(put.status).toBe(200);
      expect(put.json).toEqual({ ...NO_FAULTS, errorRate: 1, retryAfterSeconds: 3 });
      expect((await bg.status('x')).status).toBe(503);
      expect((await admin('GET', '/faults')).json).toEqual(put.json);

      const reset = await admin('DELETE', '/faults');
      expect(reset.json).toEqual(NO_FAULTS);
      expect((await bg.status('x')).status).toBe(403);
    });

    it.each([
      [{ errorRate: 2 }, 'errorRate'],
      [{ latencyMs: -1 }, 'latencyMs'],
      [{ rateLimitEvery: 1.5 }, 'integer'],
      [{ chaos: 1 }, 'unknown fault'],
      [[], 'object'],
    ])('PUT %j → 400', async (body, text) => {
      const res = await admin('PUT', '/faults', body);
      expect(res.status).toBe(400);
      expect(res.json.message).toContain(text);
    });

    it('GET /stats reports per-payment counts and totals; GET /payments/:id looks one up', async () => {
      const headers = initiationHeaders();
      const created = await bg.initiate(paymentBody(), headers);
      await bg.initiate(paymentBody(), headers);
      const stats = await admin('GET', '/stats');
      expect(stats.json.totals).toEqual({ paymentsCreated: expect.any(Number), initiationRequests: expect.any(Number), paymentsExecuted: expect.any(Number) });
      expect(stats.json.payments).toContainEqual({
        paymentId: created.json.paymentId,
        requestId: headers['X-Request-ID'],
        initiationRequests: 2,
        transactionStatus: 'RCVD',
        scaStatus: 'received',
        executed: false,
      });
      const payment = await admin('GET', `/payments/${created.json.paymentId}`);
      expect(payment.json).toMatchObject({ paymentId: created.json.paymentId, paymentProduct: 'sepa-credit-transfers', scaApproach: 'REDIRECT' });
      expect((await admin('GET', '/payments/nope')).status).toBe(404);
    });
  });

  it('503 and 429 answers are ones the BG spec allows', async () => {
    sandbox.bank.setFaults({ errorRate: 1 });
    await call('GET', `${sandbox.url}/v1/payments/sepa-credit-transfers/x/status`, { template: BG.status });
    sandbox.bank.setFaults({ errorRate: 0, rateLimitEvery: 1 });
    await call('GET', `${sandbox.url}/v1/payments/sepa-credit-transfers/x/status`, { template: BG.status });
  });
});

describe('FaultInjector', () => {
  it('draws randomness only for rates above zero, so injected sequences stay predictable', () => {
    const random = jest.fn(() => 0);
    const sut = new FaultInjector({}, random);
    expect(sut.decide()).toEqual({ kind: 'proceed', dropResponse: false });
    expect(random).not.toHaveBeenCalled();
  });

  it('restarts the rate-limit count when reconfigured and resets to the start-up faults', () => {
    const sut = new FaultInjector({ latencyMs: 5 });
    sut.set({ rateLimitEvery: 2 });
    expect(sut.decide().kind).toBe('proceed');
    sut.set({ rateLimitEvery: 2 });
    expect(sut.decide().kind).toBe('proceed');
    expect(sut.decide().kind).toBe('rateLimited');
    expect(sut.reset()).toEqual({ ...NO_FAULTS, latencyMs: 5 });
    expect(() => sut.set({ errorRate: -1 })).toThrow(RangeError);
  });
});
