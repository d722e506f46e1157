import { randomUUID } from 'node:crypto';
import { paymentWorkflowId } from '../../workflows/payment-initiation.api';
import { BIC, PIS } from '../support/payments';
import { sepaPayment, type TestClient } from '../support/factories';
import { freePort, isPolling, workerEnv } from '../support/observability';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { TestStack, eventually } from '../support/stack';
import { API_MAIN, WorkerProcess, withWorkerLogsOnFailure } from '../support/worker-process';

/**
 * One payment's trace, end to end, as production exports it: the real API and worker processes
 * (dist/), tracing switched on only by the standard variables (OTEL_TRACES_EXPORTER=otlp and the
 * OTLP endpoint), spans collected in memory by an OTLP/HTTP receiver in this test.
 * HTTP server span → StartWorkflow (Temporal client) → RunWorkflow → StartActivity → RunActivity →
 * outbound HTTP to the sandbox bank, all in one trace.
 */
let stack: TestStack;
let receiver: OtlpReceiver;
let client: TestClient;
let api: WorkerProcess;
let worker: WorkerProcess;
let apiUrl: string;

beforeAll(async () => {
  stack = await TestStack.start({ worker: false });
  receiver = await OtlpReceiver.start();
  client = await stack.newClient();
  const otel = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' };
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = WorkerProcess.spawn(
    'api',
    workerEnv(stack, { ...otel, API_HOST: '127.0.0.1', API_PORT: String(port), PUBLIC_BASE_URL: apiUrl, RATE_LIMIT_PER_CLIENT: '100000', TOKEN_RATE_LIMIT_PER_ADDRESS: '100000', TOKEN_RATE_LIMIT_PER_CLIENT: '100000' }),
    API_MAIN,
  );
  worker = WorkerProcess.spawn('worker', workerEnv(stack, { ...otel, PUBLIC_BASE_URL: apiUrl }));
  await Promise.race([
    Promise.all([eventually(async () => (await fetch(`${apiUrl}/health/ready`)).ok, 60_000, 200), eventually(() => isPolling(stack, worker.pid), 60_000, 200)]),
    api.unexpectedExit,
    worker.unexpectedExit,
  ]);
});

afterAll(async () => {
  await api?.kill();
  await worker?.kill();
  await receiver?.close();
  await stack?.close();
});

test('HTTP request → Temporal client → workflow → activity → bank call: one trace', async () => {
  await withWorkerLogsOnFailure([api, worker], async () => {
    const tokenRes = await fetch(`${apiUrl}/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'paymentinitiation private' }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const res = await fetch(`${apiUrl}${PIS}/sepa-credit-transfers`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Request-ID': randomUUID(), 'X-BicFi': BIC, 'PSU-IP-Address': '192.0.2.10', 'PSU-ID': 'exempt' },
      body: JSON.stringify(sepaPayment()),
    });
    expect(res.status).toBe(201);
    const { paymentId } = (await res.json()) as { paymentId: string };
    await eventually(async () => (await stack.temporal.workflow.getHandle(paymentWorkflowId(paymentId)).describe()).status.name === 'COMPLETED', 60_000, 200);

    const route = `POST ${PIS}/:paymentProduct`;
    const server = await eventually(async () => receiver.spans.find((s) => s.name === route), 20_000, 100);
    const inTrace = () => receiver.spans.filter((s) => s.traceId === server.traceId);
    const byName = (name: string, where: (s: ReceivedSpan) => boolean = () => true) => inTrace().find((s) => s.name === name && where(s));
    const parentOf = (s: ReceivedSpan) => inTrace().find((p) => p.spanId === s.parentSpanId);

    // The bank call's span arrives last (the worker's batch): wait for the whole chain.
    const bankCall = await eventually(
      async () =>
        inTrace().find((s) => s.kind === 3 && String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '').startsWith(`${stack.sandbox.url}/v1/payments/sepa-credit-transfers`) && s.service === 'clearway-worker'),
      20_000,
      100,
    );
    expect(server).toMatchObject({ kind: 2, service: 'clearway-api' });
    expect(server.attributes['http.route']).toBe(`${PIS}/:paymentProduct`);

    // The API starts the workflow with an update-with-start (it waits for the bank's answer).
    const start = byName('UpdateWithStartWorkflow:initiationResult')!;
    expect(start).toMatchObject({ service: 'clearway-api' });
    // The workflow's span is exported when its task completes (the sink), so possibly after the activities'.
    const run = await eventually(async () => byName('RunWorkflow:paymentInitiationWorkflow'), 20_000, 100).catch((err) => {
      throw new Error(`${(err as Error).message}\n${inTrace().map((s) => `${s.service} ${s.spanId} <- ${s.parentSpanId} ${s.kind} ${s.name}`).join('\n')}`);
    });
    expect(run).toMatchObject({ service: 'clearway-worker' });
    const runActivity = parentOf(bankCall)!;
    expect(runActivity).toMatchObject({ name: 'RunActivity:initiatePaymentAtBank', service: 'clearway-worker' });
    const startActivity = parentOf(runActivity)!;
    expect(startActivity.name).toBe('StartActivity:initiatePaymentAtBank');

    // Each link of the chain, child → parent.
    expect(parentOf(start)?.spanId).toBe(server.spanId);
    expect(parentOf(run)?.spanId).toBe(start.spanId);
    expect(parentOf(startActivity)?.spanId).toBe(run.spanId);
    expect(bankCall.attributes['http.request.method'] ?? bankCall.attributes['http.method']).toBe('POST');

    // Status polls are traced under the same workflow too.
    expect(byName('RunActivity:readAndRecordPaymentStatus') ?? byName('RunActivity:confirmBankPayment')).toBeDefined();
    // No personal data in any span of the trace.
    const all = JSON.stringify(inTrace());
    for (const secret of ['DE89370400440532013000', 'NL91ABNA0417164300', 'Enterprise GmbH', token]) expect(all).not.toContain(secret);
  });
});

test('tracing is off by default: the processes without OTEL_TRACES_EXPORTER export nothing', async () => {
  // The in-process API of the stack runs without the variables; its requests reach no receiver.
  const before = receiver.spans.length;
  expect((await fetch(`${stack.baseUrl}/health/live`)).status).toBe(200);
  await stack.call('GET', '/psd2/aspspinformation/v1/aspsps', { contract: false });
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.spans.slice(before).filter((s) => s.service !== 'clearway-worker')).toEqual([]);
});
